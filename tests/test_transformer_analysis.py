"""transformer.scaling and transformer.complexity: the measurements on known answers, the
verdict rules on constructed outcomes, the 1/sqrt(d_k) option, and the throughput benchmark."""

import importlib.util
import math
import statistics
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from tolerances import assert_close

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.data.text import random_pairs
from paperzoo.papers.transformer import analysis as an
from paperzoo.papers.transformer.model import MultiHeadAttention, Transformer

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]


# --- the model option ---------------------------------------------------------------------------

def test_unscaled_attention_equals_scaled_attention_with_queries_times_sqrt_dk():
    """scaled=False drops exactly the 1/sqrt(d_k): multiplying W^Q by sqrt(d_k) puts it back."""
    torch.manual_seed(0)
    d, h = 32, 2
    unscaled = MultiHeadAttention(d_model=d, num_heads=h, scaled=False).eval()
    scaled = MultiHeadAttention(d_model=d, num_heads=h).eval()
    scaled.load_state_dict(unscaled.state_dict())
    with torch.no_grad():
        scaled.q_proj.weight.mul_(math.sqrt(d // h))
    x, mask = torch.randn(3, 5, d), torch.rand(3, 1, 5, 5) > 0.3
    mask[..., 0] = True
    expected = scaled(x, x, x, mask)
    assert torch.allclose(unscaled(x, x, x, mask), expected, atol=1e-5)
    unscaled.fast = False  # Eq. 1 written out, with scale 1
    assert torch.allclose(unscaled(x, x, x, mask), expected, atol=1e-5)
    scaled.load_state_dict(unscaled.state_dict())  # same weights, with the factor: different output
    assert not torch.allclose(scaled(x, x, x, mask), expected, atol=1e-3)


def test_transformer_passes_scaled_attention_to_every_attention_layer():
    model = Transformer(vocab_size=100, d_model=16, num_layers=2, num_heads=2, d_ff=32, scaled_attention=False)
    scales = [m.scale for m in model.modules() if isinstance(m, MultiHeadAttention)]
    assert scales == [1.0] * 6  # 2 encoder self-attentions, 2 x (self + cross) in the decoder
    default = Transformer(vocab_size=100, d_model=16, num_layers=1, num_heads=2, d_ff=32)
    assert all(m.scale is None for m in default.modules() if isinstance(m, MultiHeadAttention))
    model.eval()
    src, tgt = random_pairs(2, vocab_size=100)
    with torch.no_grad():
        fast = model(src, tgt)
        for m in model.modules():
            if isinstance(m, MultiHeadAttention):
                m.fast = False
        # float32 logits through 2 encoder layers (attention 16 + 8 + 10 + 16, FFN 16 + 32, 2 LayerNorms of 16) and
        # 2 decoder layers (two attentions, FFN, 3 LayerNorms), then the output projection: chained reductions
        assert_close(model(src, tgt), fast, n=2 * (50 + 48 + 2 * 16) + 2 * (48 + 50 + 48 + 3 * 16) + 16)


# --- transformer.scaling: (a) and (b) -------------------------------------------------------------

@pytest.mark.parametrize("d_k", [1, 16, 256])
def test_dot_product_variance_is_d_k(d_k):
    ratio, se = an.variance_probe(d_k, 6000, torch.Generator().manual_seed(d_k))
    assert se == pytest.approx(math.sqrt((2 + 6 / d_k) / 6000))
    assert abs(ratio - 1) < 4 * se


def test_variance_standard_error_matches_the_spread_of_repeated_estimates():
    g = torch.Generator().manual_seed(0)
    estimates = [an.variance_probe(4, 500, g)[0] for _ in range(200)]
    se = math.sqrt((2 + 6 / 4) / 500)
    assert statistics.stdev(estimates) == pytest.approx(se, rel=0.2)


def test_softmax_probe_gradients_equal_autograd_on_the_scores():
    """The softmax backward written in the probe equals autograd's gradient on the scores."""
    for scaled in (True, False):
        g = torch.Generator().manual_seed(1)
        stats = an.softmax_probe(16, queries=8, keys=5, d_v=4, scaled=scaled, generator=g)
        g.manual_seed(1)  # the same draws, in the same order
        q, k, v = (torch.randn(*shape, generator=g) for shape in ((8, 1, 16), (8, 5, 16), (8, 5, 4)))
        scores = (q @ k.transpose(1, 2) * (0.25 if scaled else 1.0)).requires_grad_()  # (Q, 1, n)
        out = scores.softmax(-1) @ v
        (out * torch.randn(out.shape, generator=g)).sum().backward()
        assert torch.allclose(torch.tensor(stats["grad_scores"]), scores.grad[:, 0].norm(dim=-1), atol=1e-6)
        p = scores.detach().softmax(-1)[:, 0]
        assert torch.allclose(torch.tensor(stats["max_prob"]), p.max(-1).values, atol=1e-6)


def test_softmax_saturates_and_its_gradient_vanishes_without_scaling():
    g = torch.Generator().manual_seed(0)
    kw = dict(queries=256, keys=32, d_v=16, generator=g)
    scaled = {d: an.softmax_probe(d, scaled=True, **kw) for d in (4, 512)}
    unscaled = {d: an.softmax_probe(d, scaled=False, **kw) for d in (4, 512)}
    # with the factor the scores are N(0, 1) whatever d_k: the same softmax statistics
    assert statistics.fmean(scaled[4]["max_prob"]) == pytest.approx(statistics.fmean(scaled[512]["max_prob"]), abs=0.03)
    assert statistics.fmean(unscaled[512]["max_prob"]) > 0.85 > 0.3 > statistics.fmean(scaled[512]["max_prob"])
    assert statistics.fmean(unscaled[512]["entropy"]) < 0.2
    ratio = statistics.median(unscaled[512]["grad_scores"]) / statistics.median(scaled[512]["grad_scores"])
    assert ratio < 0.05


def test_gradient_probe_records_every_quantity_the_verdict_reads():
    p = an.ScalingPreset(description="t", probe_d_ks=(4, 64), samples=200, queries=16, keys=8, d_v=4)
    values = an.gradient_probe(p, seed=0)
    for d in p.probe_d_ks:
        for key in ("var_ratio", "var_se", "grad_ratio", "grad_ratio_se"):
            assert math.isfinite(values[f"{key}/d_k={d}"])
        assert values[f"grad_ratio/d_k={d}"] == values[f"grad_scores/unscaled/d_k={d}"] / values[
            f"grad_scores/scaled/d_k={d}"] and values[f"grad_ratio_se/d_k={d}"] > 0
        for name in ("scaled", "unscaled"):
            for key in ("max_prob", "entropy", "grad_scores", "grad_query", "grad_keys", "vanishing"):
                assert math.isfinite(values[f"{key}/{name}/d_k={d}"])
    assert values["vanishing/scaled/d_k=4"] < 0.5  # the scaled median is the reference: few below 1% of it


# --- transformer.scaling: (c) ----------------------------------------------------------------------

def test_reverse_task_batches_and_targets():
    assert an.reverse_pair([7, 8, 9]) == ([7, 8, 9, 3], [2, 9, 8, 7, 3])
    data = an.ReverseData(train=[[5, 6, 7], [8, 9, 10, 11]], val=[[12, 13, 14]], vocab_size=20, source="t")
    task = an.ReverseTask(data, batch_size=4, seed=0, device=torch.device("cpu"))
    src, tgt_in, tgt_out = next(task.train_batches())
    assert src.shape[0] == tgt_in.shape[0] == 4 and tgt_in.shape == tgt_out.shape
    for s, t in zip(src.tolist(), tgt_out.tolist()):
        tokens = [x for x in s if x > 3]
        assert [x for x in t if x > 3] == tokens[::-1]
    state = task.state_dict()
    first = next(task.train_batches())
    task.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(first, next(task.train_batches())))
    model = Transformer(vocab_size=20, d_model=16, num_layers=1, num_heads=2, d_ff=16, dropout=0.0).eval()
    with torch.no_grad():
        metrics = task.evaluate(model)
    assert set(metrics) == {"val_loss", "val_accuracy"} and metrics["val_loss"] > 0
    # each caption's share of the loss, for comparisons paired caption by caption: their mean is the loss
    assert len(task.items) == 1 and statistics.fmean(task.items) == pytest.approx(metrics["val_loss"], rel=1e-6)
    assert task.model_kwargs(None) == {"vocab_size": 20}


def _scaling_outcome(var=1.0, grad_ratio=0.01, scaled_loss=1.0, unscaled_loss=3.0, seeds=1, spread=0.5):
    """Per-caption losses (their mean the model's loss) of 500 captions, paired between the models."""
    p = an.ScalingPreset(description="t", d_ks=(8, 128), probe_d_ks=(4, 1024))
    out = Outcome()
    for d in p.probe_d_ks:
        out.add(f"var_ratio/d_k={d}", [var])
        out.value_se[f"var_ratio/d_k={d}"] = [0.01]
        out.add(f"grad_ratio/d_k={d}", [grad_ratio])
        out.value_se[f"grad_ratio/d_k={d}"] = [0.1 * grad_ratio]
    captions = [0.5 + (j % 7) / 6 for j in range(500)]   # mean 1.0
    for d in p.d_ks:
        out.add_items(f"val_loss/scaled/d_k={d}", [[scaled_loss * x for x in captions]] * seeds)
        out.add_items(f"val_loss/unscaled/d_k={d}", [[(unscaled_loss + spread * (i % 2)) * x * (1 + 0.2 * (j % 3 - 1))
                                                       for j, x in enumerate(captions)] for i in range(seeds)])
    return out, p


def _scaling(**kw) -> str:
    return get_claim("transformer.scaling").verdict(*_scaling_outcome(**kw)).status


def test_scaling_verdict():
    assert _scaling() == "holds"
    assert _scaling(var=1.1) == "does not hold"          # 10 standard errors off, outside the 5% band
    assert _scaling(var=1.045) == "inconclusive"         # its interval is not inside the band
    assert _scaling(grad_ratio=1.5) == "does not hold"
    assert _scaling(grad_ratio=0.3) == "inconclusive"
    assert _scaling(unscaled_loss=0.5) == "does not hold"
    assert _scaling(unscaled_loss=1.05) == "inconclusive"   # beyond the noise, under the 10% minimum effect
    # two seeds whose differences disagree by 0.5: their variance enters with 1 degree of freedom
    assert _scaling(unscaled_loss=1.2, seeds=2) == "inconclusive"
    assert _scaling(unscaled_loss=1.6, seeds=2, spread=0.05) == "holds"


# --- transformer.complexity -----------------------------------------------------------------------

def test_fit_exponent_recovers_known_exponents():
    xs = [128, 256, 512, 1024, 2048]
    slope, se = an.fit_exponent(xs, [3e-6 * x ** 2 for x in xs])
    assert slope == pytest.approx(2.0) and se == pytest.approx(0.0, abs=1e-9)
    g = torch.Generator().manual_seed(0)
    noisy = [0.01 * x * math.exp(0.05 * torch.randn((), generator=g).item()) for x in xs]
    slope, se = an.fit_exponent(xs, noisy)
    assert abs(slope - 1) < 0.1 and 0 < se < 0.1
    assert an.fit_exponent([1, 2], [5, 40]) == (pytest.approx(3.0), 0.0)


def test_elman_rnn_equals_torch_rnn():
    torch.manual_seed(0)
    ours, theirs = an.ElmanRNN(8), nn.RNN(8, 8, batch_first=True)
    with torch.no_grad():
        ours.input.weight.copy_(theirs.weight_ih_l0)
        ours.input.bias.copy_(theirs.bias_ih_l0 + theirs.bias_hh_l0)
        ours.hidden.weight.copy_(theirs.weight_hh_l0)
    x = torch.randn(3, 6, 8)
    # float32 tanh states after 6 steps of 8 + 8 multiply-adds each; the pre-activations are below 2
    assert_close(ours(x), theirs(x)[0], n=6 * (8 + 8), scale=2.0)


def test_operation_counts_grow_with_n_only_for_the_recurrent_layer():
    p = an.ComplexityPreset(description="t", d_model=16, d_k=8)
    counts = {}
    for kind in an.LAYERS:
        layer = an.build_layer(kind, 16, p)
        counts[kind] = [an.count_calls(layer, torch.randn(1, n, 16)) for n in (8, 32)]
    assert counts["self-attention"][0] == counts["self-attention"][1] > 0
    assert counts["convolutional"][0] == counts["convolutional"][1] > 0
    assert counts["recurrent"][1] - counts["recurrent"][0] >= 24


def _complexity_outcome(att=1.95, rnn=1.0, conv=1.05, rnn_ops=(300, 9000), att_ops=(20, 20), se=0.03):
    p = an.ComplexityPreset(description="t", lengths=(128, 4096))
    out = Outcome()
    for kind, slope in zip(an.LAYERS, (att, rnn, conv)):
        out.add(f"exponent_n/{kind}", [slope])
        out.value_se[f"exponent_n/{kind}"] = [se]
    for kind, ops in zip(an.LAYERS, (att_ops, rnn_ops, (5, 5))):
        out.add_exact(f"ops_growth/{kind}", [ops[1] - ops[0]])
    return out, p


def _complexity(**kw) -> str:
    return get_claim("transformer.complexity").verdict(*_complexity_outcome(**kw)).status


def test_complexity_verdict():
    assert _complexity() == "holds"
    assert _complexity(att=1.6) == "does not hold"                  # surely outside 2 ± 0.25
    assert _complexity(att=1.8, se=0.1) == "inconclusive"           # the fit is too loose to tell
    assert _complexity(conv=0.8, se=0.05) == "inconclusive"
    assert _complexity(att=1.1) == "does not hold"
    assert _complexity(rnn=1.9) == "does not hold"
    assert _complexity(rnn_ops=(300, 400)) == "does not hold"
    assert _complexity(att_ops=(20, 4000)) == "does not hold"


def test_time_points_returns_one_time_per_round():
    p = an.ComplexityPreset(description="t", train=an.Timing(steps=3, warmup=1), d_model=8, d_k=8)
    times = an.time_points([("self-attention", 16, 8), ("recurrent", 16, 8)], p, torch.device("cpu"))
    assert set(times) == {("self-attention", 16, 8), ("recurrent", 16, 8)}
    assert all(len(t) == 3 and min(t) > 0 for t in times.values())


# --- registration and the benchmark ----------------------------------------------------------------

def test_claims_are_registered():
    assert {"transformer.scaling", "transformer.complexity"} <= set(paperzoo.list_claims())
    for claim_id in ("transformer.scaling", "transformer.complexity"):
        claim = get_claim(claim_id)
        assert claim.paper == "transformer" and {"quick", "full"} <= set(claim.presets)
        assert claim.smoke_overrides()["train.steps"] == "4" and claim.rule == ""


def _benchmark():
    spec = importlib.util.spec_from_file_location("transformer_throughput", REPO / "benchmarks" /
                                                  "transformer_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_reference_has_the_same_configuration():
    """torch.nn.Transformer between the same embedding layers: the same parameters as ours with
    attention biases, plus the LayerNorm nn.Transformer puts after each of its two stacks."""
    bench = _benchmark()
    cfg = dict(bench.QUICK)
    models = bench.build(cfg, True, torch.device("cpu"))
    ours, theirs = models.values()
    count = [sum(p.numel() for p in m.parameters()) for m in (ours, theirs)]
    assert count[1] - count[0] == 2 * 2 * cfg["d_model"]
    src, tgt_in, _ = bench.batch(cfg, torch.device("cpu"))
    expected = (cfg["batch_size"], cfg["tgt_len"], cfg["vocab_size"])
    assert ours(src, tgt_in).shape == theirs(src, tgt_in).shape == expected


def test_benchmark_quick_mode(tmp_path, capsys):
    report = _benchmark().main(["--quick", "--out", str(tmp_path)])
    rows = report["rows"]
    assert [r["model"] for r in rows] == ["paperzoo (fused attention)", "torch.nn.Transformer"]
    assert rows[1]["ratio_to_torch"] == 1.0
    assert all(r["tokens_per_s"] > 0 and math.isfinite(r["ratio_to_torch"]) and r["steps_timed"] == 4 for r in rows)
    assert "tokens/s" in capsys.readouterr().out
    assert (tmp_path / "transformer-quick-cpu.json").exists() and (tmp_path / "transformer-quick-cpu.md").exists()
