"""BERT (Devlin et al. 2018): parameter counts and logits equal to Hugging Face's, HF weights both ways,
the masked-position head, the pre-training loss's padding, the left-to-right ablation, local HF folders.

Tolerances follow tests/tolerances.py: 4 eps sqrt(n) max|expected| with n the summed reduction lengths of
the chain that produced each compared value (:func:`_chain`).
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from tolerances import assert_close

import paperzoo  # noqa: F401  (registers the loaders)
from paperzoo.errors import UserError
from paperzoo.papers.bert import model as bert
from paperzoo.papers.bert.hf import hf_config, load_hf_bert, load_pretrained, name_pairs, to_hf_bert
from paperzoo.papers.bert.model import (
    IGNORE_INDEX,
    BertForPreTraining,
    BertModel,
    example_batch,
    from_hf_config,
    pretraining_loss,
)

transformers = pytest.importorskip("transformers")
from transformers import BertConfig  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

#: Section 3 and google-research/bert's smaller models: (L, H, A); intermediate 4H.
SIZES = {"bert_tiny": (2, 128, 2), "bert_mini": (4, 256, 4), "bert_small": (4, 512, 8),
         "bert_medium": (8, 512, 8), "bert_base": (12, 768, 12), "bert_large": (24, 1024, 16)}


def _config(name: str, **kw) -> BertConfig:
    L, H, A = SIZES[name]
    return BertConfig(num_hidden_layers=L, hidden_size=H, num_attention_heads=A, intermediate_size=4 * H, **kw)


def _chain(cfg: BertConfig, T: int) -> dict[str, list[int] | int]:
    """Reduction lengths n (tests/tolerances.py) of each hidden state and of the two heads' logits."""
    H, ff, dk = cfg.hidden_size, cfg.intermediate_size, cfg.hidden_size // cfg.num_attention_heads
    embed = 3 + 2 * H  # three embeddings summed, LayerNorm's mean and variance
    # q/k/v projections (H), Q K^T (d_k), softmax and weights . V (T each), W^O (H), FFN (H, then 4H),
    # two LayerNorms (mean and variance, 2H each)
    layer = 7 * H + ff + dk + 2 * T
    last = embed + cfg.num_hidden_layers * layer
    return {"hidden": [embed + k * layer for k in range(cfg.num_hidden_layers + 1)],
            "mlm": last + 4 * H,  # dense H, LayerNorm 2H, the tied output layer H
            "nsp": last + 2 * H}  # pooler H, classifier H


def _perturbed_hf(cfg: BertConfig, seed: int = 0):
    """HF's BertForPreTraining with random weights, LayerNorm weights and all biases moved off 1 and 0."""
    torch.manual_seed(seed)
    model = transformers.BertForPreTraining(cfg).eval()
    _perturb(model, seed)
    return model


@torch.no_grad()
def _perturb(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if name.endswith("bias") or "norm" in name.lower():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


def _ours_empty(cfg: BertConfig) -> BertForPreTraining:
    """paperzoo's model for ``cfg`` without spending time on an initialisation that is overwritten."""
    with torch.device("meta"):
        model = from_hf_config(cfg)
    return model.to_empty(device="cpu").eval()


def _inputs(cfg: BertConfig, B: int, T: int):
    return example_batch(B, vocab_size=cfg.vocab_size, length=T, seed=1)  # two segments, rows padded 0, 1, 2


def _compare(hf, ours, cfg: BertConfig, ids, types, mask) -> dict[str, float]:
    """Assert HF's and paperzoo's logits and every hidden state agree; return the max abs differences."""
    with torch.no_grad():
        a = hf(input_ids=ids, token_type_ids=types, attention_mask=mask, output_hidden_states=True)
        b = ours(ids, types, mask, output_hidden_states=True)
    n = _chain(cfg, ids.shape[1])
    assert len(b.hidden_states) == len(a.hidden_states) == cfg.num_hidden_layers + 1
    # every position, padded ones too: both mask padding as keys only, so padded queries are computed alike
    assert_close(b.mlm_logits, a.prediction_logits, n=n["mlm"], msg="MLM logits")
    assert_close(b.nsp_logits, a.seq_relationship_logits, n=n["nsp"], msg="NSP logits")
    for k, (x, y) in enumerate(zip(b.hidden_states, a.hidden_states)):
        assert_close(x, y, n=n["hidden"][k], msg=f"hidden state {k}")
    return {"mlm": (b.mlm_logits - a.prediction_logits).abs().max().item(),
            "nsp": (b.nsp_logits - a.seq_relationship_logits).abs().max().item(),
            "hidden": max((x - y).abs().max().item() for x, y in zip(b.hidden_states, a.hidden_states))}


# --- sizes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SIZES))
def test_parameter_counts_equal_hf(name):
    cfg = _config(name)
    with torch.device("meta"):
        ours = getattr(bert, name)()
        hf_encoder, hf_pre = transformers.BertModel(cfg), transformers.BertForPreTraining(cfg)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731  (shared tensors once)
    assert count(ours.bert) == count(hf_encoder)
    assert count(ours) == count(hf_pre)  # the tied output layer counted once in both
    if name == "bert_base":
        assert count(ours.bert) == 109_482_240  # Section 3: "110M"


# --- equivalence with Hugging Face -----------------------------------------------------------------

@pytest.fixture(scope="module", params=["bert_tiny", "bert_base"])
def pair(request):
    """(config, HF model with perturbed random weights, paperzoo model holding a copy of them)."""
    cfg = _config(request.param, vocab_size=30522)
    hf = _perturbed_hf(cfg)
    ours = load_hf_bert(_ours_empty(cfg), hf.state_dict())
    return cfg, hf, ours


def test_hf_weights_give_hf_logits_and_hidden_states(pair):
    cfg, hf, ours = pair
    B, T = (4, 24) if cfg.num_hidden_layers == 2 else (2, 12)
    ids, types, mask = _inputs(cfg, B, T)
    assert (mask == 0).any() and (types == 1).any()
    for attention in ("sdpa", "eager"):  # HF's fused attention (as ours), and its attention written out
        hf.set_attn_implementation(attention)
        diffs = _compare(hf, ours, cfg, ids, types, mask)
        print(f"L={cfg.num_hidden_layers}, HF {attention}: max abs differences {diffs}")
    hf.set_attn_implementation("sdpa")
    with torch.no_grad():  # the defaults: token types all 0, no padding
        assert_close(ours(ids).mlm_logits, hf(input_ids=ids).prediction_logits, n=_chain(cfg, T)["mlm"])


def test_paperzoo_weights_load_strictly_into_hf_and_give_its_logits(pair):
    cfg, hf, ours = pair
    with torch.no_grad():  # other weights in paperzoo's model than HF's: every tensor moved
        g = torch.Generator().manual_seed(2)
        for p in ours.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
        _perturb(ours, seed=1)
    state = to_hf_bert(ours)
    target = transformers.BertForPreTraining(BertConfig(**hf_config(ours))).eval() if cfg.num_hidden_layers == 2 \
        else hf  # base: reuse the HF model already built
    result = target.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    ids, types, mask = _inputs(cfg, 2, 12)
    _compare(target, ours, cfg, ids, types, mask)
    # and back: the table read the other way round gives the same tensors
    again = load_hf_bert(_ours_empty(cfg), state)
    for (name, a), b in zip(ours.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name


def test_left_to_right_matches_hf_decoder_mask():
    """HF's ``is_decoder=True`` masks self-attention causally: our ``causal=True`` is the same model."""
    cfg = _config("bert_tiny", vocab_size=1000, is_decoder=True)
    hf = _perturbed_hf(cfg)
    ours = load_hf_bert(from_hf_config(cfg), hf.state_dict()).eval()
    assert ours.bert.causal and hf_config(ours)["is_decoder"]
    _compare(hf, ours, cfg, *_inputs(cfg, 3, 10))


def test_encoder_weights_and_old_names_load():
    cfg = _config("bert_tiny", vocab_size=1000)
    hf = _perturbed_hf(cfg)
    ids, types, mask = _inputs(cfg, 3, 10)
    # a bare BertModel state dict: into paperzoo's BertModel, and into BertForPreTraining's encoder only
    encoder = load_hf_bert(from_hf_config(cfg, heads=False).eval(), hf.bert.state_dict())
    pre = from_hf_config(cfg).eval()
    heads_before = {k: v.clone() for k, v in pre.state_dict().items() if not k.startswith("bert.")}
    load_hf_bert(pre, hf.bert.state_dict())
    assert all(torch.equal(v, pre.state_dict()[k]) for k, v in heads_before.items())
    with torch.no_grad():
        expected = hf.bert(input_ids=ids, token_type_ids=types, attention_mask=mask)
        for model in (encoder, pre.bert):
            out = model(ids, types, mask)
            assert_close(out.sequence, expected.last_hidden_state, n=_chain(cfg, 10)["hidden"][-1])
            assert_close(out.pooled, expected.pooler_output, n=_chain(cfg, 10)["nsp"])
    # a BertForPreTraining state dict into a BertModel: the heads are left out; and back to HF's BertModel
    encoder = load_hf_bert(from_hf_config(cfg, heads=False), hf.state_dict())
    transformers.BertModel(cfg).load_state_dict(to_hf_bert(encoder), strict=True)
    # google's converted checkpoints: LayerNorm gamma/beta, a saved position_ids buffer, no tied copies
    old = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
           for k, v in hf.state_dict().items() if not k.startswith("cls.predictions.decoder")}
    old["bert.embeddings.position_ids"] = torch.arange(cfg.max_position_embeddings)[None]
    again, modern = (load_hf_bert(from_hf_config(cfg).eval(), s) for s in (old, hf.state_dict()))
    with torch.no_grad():
        assert torch.equal(again(ids, types, mask).mlm_logits, modern(ids, types, mask).mlm_logits)


def test_mismatched_state_dicts_are_refused_with_the_names():
    cfg = _config("bert_tiny", vocab_size=1000)
    state = transformers.BertForPreTraining(cfg).state_dict()
    model = from_hf_config(cfg)
    missing = {k: v for k, v in state.items() if k != "bert.encoder.layer.1.output.dense.bias"}
    with pytest.raises(UserError, match=r"missing: bert\.encoder\.layer\.1\.output\.dense\.bias"):
        load_hf_bert(model, missing)
    with pytest.raises(UserError, match=r"unexpected: bert\.encoder\.layer\.2\.output\.dense\.bias"):
        load_hf_bert(model, {**state, "bert.encoder.layer.2.output.dense.bias": torch.zeros(128)})
    with pytest.raises(UserError, match=r"shape: bert\.embeddings\.word_embeddings\.weight"):
        load_hf_bert(from_hf_config(_config("bert_tiny", vocab_size=999)), state)
    untied = {**state, "cls.predictions.decoder.weight": torch.zeros(1000, 128)}
    with pytest.raises(UserError, match="untied"):
        load_hf_bert(model, untied)
    # the table covers every paperzoo tensor exactly once
    ours = [o for o, _ in name_pairs(2, heads=True, prefix=("bert.", "bert."))]
    assert sorted(ours) == sorted(model.state_dict()) and len(set(ours)) == len(ours)


@pytest.mark.parametrize("field, value", [("hidden_act", "relu"), ("hidden_act", "gelu_new"),
                                          ("position_embedding_type", "relative_key"),
                                          ("model_type", "roberta"), ("add_cross_attention", True),
                                          ("tie_word_embeddings", False)])
def test_unsupported_hf_configs_are_refused(field, value):
    cfg = {**_config("bert_tiny").to_dict(), field: value}
    with pytest.raises(UserError, match=f"{field}="):
        from_hf_config(cfg)


def test_from_hf_config_reads_every_size_field():
    cfg = BertConfig(vocab_size=77, hidden_size=24, num_hidden_layers=3, num_attention_heads=3, intermediate_size=40,
                     max_position_embeddings=33, type_vocab_size=4, hidden_dropout_prob=0.2,
                     attention_probs_dropout_prob=0.3, layer_norm_eps=1e-7)
    back, fields = hf_config(from_hf_config(cfg)), cfg.to_dict()
    assert {k: back[k] for k in back if k in fields} == {k: fields[k] for k in back if k in fields}
    assert BertConfig(**back).num_hidden_layers == 3


# --- local Hugging Face folders --------------------------------------------------------------------

def test_load_pretrained_reads_a_safetensors_folder(tmp_path):
    cfg = _config("bert_tiny", vocab_size=1000)
    hf = _perturbed_hf(cfg)
    hf.save_pretrained(tmp_path / "pre")  # config.json + model.safetensors (tied copies left out)
    transformers.BertModel(cfg).save_pretrained(tmp_path / "encoder")
    assert (tmp_path / "pre" / "model.safetensors").is_file()
    ours = load_pretrained(tmp_path / "pre")
    assert isinstance(ours, BertForPreTraining) and not ours.training
    _compare(hf, ours, cfg, *_inputs(cfg, 3, 10))
    assert type(load_pretrained(tmp_path / "encoder")) is BertModel

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps(cfg.to_dict()))
    torch.save(hf.state_dict(), pickled / "pytorch_model.bin")
    with pytest.raises(UserError, match=r"pytorch_model\.bin.*safetensors.*[Cc]onvert"):
        load_pretrained(pickled)
    with pytest.raises(UserError, match="config.json"):
        load_pretrained(tmp_path)


# --- the masked positions, the loss, left-to-right ------------------------------------------------

def _tiny(**kw) -> BertForPreTraining:
    torch.manual_seed(0)
    return bert.bert_tiny(vocab_size=500, **kw).eval()


def test_masked_positions_give_the_full_logits_at_those_positions():
    model = _tiny()
    ids, types, mask = example_batch(3, vocab_size=500, length=16)
    positions = torch.tensor([[1, 4, 7, 0], [2, 3, 9, 15], [5, 5, 6, 1]])  # (B, P), repeats allowed
    with torch.no_grad():
        full = model(ids, types, mask)
        part = model(ids, types, mask, positions)
    assert part.mlm_logits.shape == (3, 4, 500) and full.mlm_logits.shape == (3, 16, 500)
    expected = full.mlm_logits.gather(1, positions[..., None].expand(-1, -1, 500))
    assert_close(part.mlm_logits, expected, n=4 * 128)  # same encoder output; only the head's rows differ
    assert torch.equal(part.nsp_logits, full.nsp_logits)


def test_pretraining_loss_averages_real_predictions_and_ignores_padded_slots():
    torch.manual_seed(0)
    B, P, V = 3, 5, 50
    logits = torch.randn(B, P, V)
    labels = torch.randint(0, V, (B, P))
    labels[0, 0] = 0  # token id 0 ([PAD]) is a real prediction here: an ignore index of 0 would drop it
    real = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)  # padded slots: 0
    nsp_logits, nsp_labels = torch.randn(B, 2), torch.tensor([0, 1, 1])
    expected_mlm = torch.stack([-logits[b, p].log_softmax(-1)[labels[b, p]] for b in range(B) for p in range(P)
                                if real[b, p]]).mean()  # mean over the 8 real predictions, not per sequence
    expected_nsp = -nsp_logits.log_softmax(-1)[torch.arange(B), nsp_labels].mean()

    ignored = labels.masked_fill(~real, IGNORE_INDEX)
    out = pretraining_loss(logits, ignored, nsp_logits, nsp_labels)
    assert_close(out.mlm, expected_mlm, n=V + 8)
    assert_close(out.nsp, expected_nsp, n=2 + B)
    assert_close(out.loss, expected_mlm + expected_nsp, n=V + 8)
    # google's masked_lm_weights, padded slots holding label 0: the same loss
    weighted = pretraining_loss(logits, labels.masked_fill(~real, 0), nsp_logits, nsp_labels,
                                mlm_weights=real.float())
    assert_close(weighted.loss, out.loss, n=V + 8)
    # nothing in a padded slot matters
    noisy = logits.masked_fill(~real[..., None], 30.0)
    assert_close(pretraining_loss(noisy, ignored, nsp_logits, nsp_labels).loss, out.loss, n=V + 8)
    # perfect predictions give a loss near 0 whatever the padded slots hold (not ~ln V from counting them)
    perfect = torch.full((B, P, V), -20.0).scatter(-1, labels[..., None], 20.0).masked_fill(~real[..., None], 0.0)
    assert pretraining_loss(perfect, ignored).loss < 1e-6 < math.log(V) / 2
    # "No NSP": the MLM term alone
    assert pretraining_loss(logits, ignored).nsp is None
    # labels padded with a value the loss does not ignore are an error, not a silent wrong loss
    with pytest.raises(UserError, match="outside the vocabulary"):
        pretraining_loss(logits, labels.masked_fill(~real, -1))
    # the full (B, T, V) logits with HF's labels (-100 at unmasked positions) give HF's MLM loss
    assert_close(pretraining_loss(logits, ignored).mlm, F.cross_entropy(logits.flatten(0, 1), ignored.flatten()),
                 n=V + 8)


def test_left_to_right_outputs_do_not_depend_on_later_tokens():
    ids, types, mask = example_batch(2, vocab_size=500, length=12)
    mask = torch.ones_like(mask)
    later = ids.clone()
    later[:, 7] = (later[:, 7] + 1) % 499 + 1  # change token 7
    chain = _chain(_config("bert_tiny"), 12)
    for causal in (True, False):
        model = _tiny(causal=causal)
        with torch.no_grad():
            a = model(ids, types, mask, output_hidden_states=True)
            b = model(later, types, mask, output_hidden_states=True)
        for k, (x, y) in enumerate(zip(a.hidden_states, b.hidden_states)):
            if causal:
                assert_close(x[:, :7], y[:, :7], n=chain["hidden"][k], msg=f"layer {k}")
            elif k > 0:  # every layer's output at earlier positions sees token 7
                assert (x[:, :7] - y[:, :7]).abs().amax(-1).min() > 1e-3, k
        if causal:
            assert_close(a.mlm_logits[:, :7], b.mlm_logits[:, :7], n=chain["mlm"])
            assert_close(a.nsp_logits, b.nsp_logits, n=chain["nsp"])  # [CLS] is position 0: it sees only itself
        assert (a.mlm_logits[:, 7:] - b.mlm_logits[:, 7:]).abs().max() > 1e-3  # token 7 itself, and later ones


# --- the registry's contract, for a model with two outputs -----------------------------------------

def test_tiny_model_every_parameter_gets_a_gradient_and_both_heads_learn():
    """What tests/test_models_registry.py asks of every model, through both outputs (MLM and NSP): every
    parameter, the token-type and position embeddings, pooler and NSP classifier included, gets a finite
    gradient, and a few Adam steps memorise a batch's masked tokens and next-sentence labels."""
    from paperzoo.registry import model_entry

    entry = model_entry("bert_tiny")
    torch.manual_seed(0)
    model = entry.build(vocab_size=1000)
    x = example_batch(8, vocab_size=1000)
    out = model(*x)
    assert out.mlm_logits.shape == (8, 12, 1000) and out.nsp_logits.shape == (8, 2)
    (out.mlm_logits.logsumexp(-1).mean() + out.nsp_logits.logsumexp(-1).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.bert.embeddings.segment.weight.grad.abs().amin(-1).gt(0).all()  # both segments used

    positions = torch.tensor([[1, 3, 8, 0]] * 8)  # (B, P); the last slot is padding
    labels = torch.randint(0, 1000, (8, 4)).index_fill(1, torch.tensor([3]), IGNORE_INDEX)
    nsp = torch.arange(8) % 2
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(100):
        out = model(*x, positions)
        loss = pretraining_loss(out.mlm_logits, labels, out.nsp_logits, nsp)
        first = first or loss
        if loss.loss < 0.05 * first.loss:
            break
        opt.zero_grad()
        loss.loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(*x, positions)
    assert (out.mlm_logits.argmax(-1) == labels)[:, :3].all() and (out.nsp_logits.argmax(-1) == nsp).all()
    assert loss.mlm < 0.1 * first.mlm and loss.nsp < 0.2 * first.nsp, (first, loss)
