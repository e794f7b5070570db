"""VGG claims: registration, Section 2.3's arithmetic, the verdict rules, scale jittering, data parallelism."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.vgg import experiments as ex
from paperzoo.papers.vgg import model as M

pytestmark = pytest.mark.usefixtures("one_thread")

CLAIMS = ["vgg.depth", "vgg.lrn", "vgg.1x1", "vgg.shallow-5x5", "vgg.scale-jitter", "vgg.ensemble",
          "vgg.data-parallel"]


def outcome(**errors: float) -> Outcome:
    out = Outcome()
    for label, value in errors.items():
        out.add(f"test_error/{label.replace('_', '-')}", [value])
    return out


def test_claims_registered_with_presets_and_rules():
    assert set(CLAIMS) <= set(paperzoo.list_claims("vgg"))
    for claim_id in CLAIMS:
        claim = get_claim(claim_id)
        assert claim.source and claim.rule and claim.smoke
        quick, full = claim.preset("quick"), claim.preset("full")
        assert quick.train.steps <= full.train.steps and quick.widths == ex.QUICK_WIDTHS
        assert full.widths == M.WIDTHS and set(quick.configs) <= set(ex.MODELS)
    assert get_claim("vgg.depth").preset("full").configs == ("A", "B", "D", "E")
    assert get_claim("vgg.data-parallel").preset("full").workers == 4


def test_every_configuration_builds_the_intended_model():
    p = get_claim("vgg.depth").preset("quick")
    for config, layers in ex.WEIGHT_LAYERS.items():
        name, extra = ex.MODELS[config]
        model = paperzoo.create_model(name, **ex.model_kwargs(p, config))
        assert len(model.convs()) + 3 == layers
        assert model.convs()["conv1_1"].out_channels == ex.QUICK_WIDTHS[0]
        assert any(type(m).__name__ == "LocalResponseNorm" for m in model.modules()) == bool(extra.get("lrn"))
    assert model.convs()["conv1_1"].kernel_size == (5, 5)  # B-5x5, the last one


@pytest.mark.parametrize("channels", [1, 8, 64])
def test_section_2_3_arithmetic_measured_on_modules(channels):
    m = ex.stacked_arithmetic(channels)
    assert m["3x3 x3"]["weights"] == 27 * channels ** 2 and m["7x7"]["weights"] == 49 * channels ** 2
    assert m["3x3 x2"]["weights"] == 18 * channels ** 2 and m["5x5"]["weights"] == 25 * channels ** 2
    assert [m[k]["field"] for k in ("1x1", "3x3 x2", "5x5", "3x3 x3", "7x7")] == [1, 5, 5, 7, 7]
    assert all(v["field"] == v["field_w"] for v in m.values())


def test_arithmetic_check_is_exact_and_catches_a_wrong_count(monkeypatch):
    out = Outcome()
    assert ex.arithmetic_check(out) == []
    assert out.values["weights_per_c2/3x3 x3"] == 27 and out.values["field/3x3 x3"] == 7
    assert round(out.values["extra_weights_7x7_pct"]) == 81   # "which is 81% more"
    monkeypatch.setitem(ex.SECTION23, "3x3 x3", (28, 7))
    assert len(ex.arithmetic_check(Outcome())) == 1


def test_stacked_3x3_in_a_real_vgg_stage_has_27_c2_weights():
    with torch.device("meta"):
        d = M.vgg16()
    convs = d.convs()
    assert sum(convs[f"conv5_{i}"].weight.numel() for i in (1, 2, 3)) == 27 * 512 ** 2


def test_depth_verdict():
    p = get_claim("vgg.depth").preset("full")   # 10,000 test images: noise about 1.3 points at 30%
    assert ex.depth_verdict(outcome(A=30, B=28, D=26, E=26.2), p).status == "holds"   # D-E tie: saturation
    assert ex.depth_verdict(outcome(A=30, B=28, D=26, E=28.5), p).status == "does not hold"
    assert ex.depth_verdict(outcome(A=30, B=29.9, D=29.8, E=29.7), p).status == "inconclusive"
    assert ex.depth_verdict(outcome(A=30, B=28, D=89.9, E=90), p).status == "inconclusive"   # did not learn


def test_lrn_verdict():
    p = get_claim("vgg.lrn").preset("full")
    assert ex.lrn_verdict(outcome(A=30, A_LRN=30.1), p).status == "holds"
    assert ex.lrn_verdict(outcome(A=30, A_LRN=33), p).status == "holds"
    assert ex.lrn_verdict(outcome(A=30, A_LRN=27), p).status == "does not hold"
    assert ex.lrn_verdict(outcome(A=90, A_LRN=90), p).status == "inconclusive"
    quick = get_claim("vgg.lrn")
    reason = quick.verdict(outcome(A=30, A_LRN=30.1), quick.preset("quick")).reason
    assert reason.startswith("After 400 iterations of 64 (0.5 epochs): LRN does not lower")


def test_conv1x1_verdict():
    p = get_claim("vgg.1x1").preset("full")
    out = outcome(B=30, C=28, D=26)
    out.values["arithmetic_mismatches"] = 0
    assert ex.conv1x1_verdict(out, p).status == "holds"
    out.values["arithmetic_mismatches"] = 1
    assert ex.conv1x1_verdict(out, p).status == "does not hold"
    assert ex.conv1x1_verdict(outcome(B=30, C=28, D=30), p).status == "does not hold"
    assert ex.conv1x1_verdict(outcome(B=30, C=29.8, D=26), p).status == "inconclusive"


def test_shallow_and_scale_jitter_verdicts():
    p = get_claim("vgg.shallow-5x5").preset("full")
    for errors, status in [((30, 37), "holds"), ((30, 30.3), "inconclusive"), ((33, 30), "does not hold")]:
        out = outcome(B=errors[0], B_5x5=errors[1])
        out.add("error_increase", [errors[1] - errors[0]])
        assert ex.shallow_verdict(out, p).status == status
    p = get_claim("vgg.scale-jitter").preset("full")
    for errors, status in [((27, 25), "holds"), ((27, 26.9), "inconclusive"), ((25, 27), "does not hold")]:
        out = outcome(fixed=errors[0], jitter=errors[1])
        out.add("jitter_gain", [errors[0] - errors[1]])
        assert ex.scale_jitter_verdict(out, p).status == status


def test_ensemble_of_complementary_members_beats_both():
    """Two members each right on 60% of the images, more confident when right than when wrong: the
    averaged posteriors are right wherever either member is, on 80%."""
    n, k = 1000, 10
    y = torch.arange(n) % k
    wrong = (y + 1) % k

    def member(right: torch.Tensor) -> torch.Tensor:
        p = torch.full((n, k), 0.01)
        p[torch.arange(n), y] = torch.where(right, 0.7, 0.4)
        p[torch.arange(n), wrong] = torch.where(right, 0.2, 0.5)
        return p / p.sum(1, keepdim=True)

    i = torch.arange(n)
    a, b = member(i % 5 < 3), member((i % 5 < 2) | (i % 5 == 3))   # {0, 1, 2} and {0, 1, 3} of 5
    out = Outcome()
    ex.ensemble_outcome(out, {"A": [a], "B": [b]}, [y])
    out.add("test_error/A", [40.0])
    out.add("test_error/B", [40.0])
    assert out.values["test_error/best_single"] == pytest.approx(40.0)
    assert out.values["test_error/ensemble"] == pytest.approx(20.0)
    assert out.values["ensemble_gain"] > out.values["gain_margin"] > 0
    p = get_claim("vgg.ensemble").preset("full")
    p = replace(p, configs=("A", "B"))
    assert ex.ensemble_verdict(out, p).status == "holds"
    same = Outcome()
    ex.ensemble_outcome(same, {"A": [a], "B": [a]}, [y])
    assert same.values["ensemble_gain"] == 0 and same.values["gain_margin"] == 0
    same.add("test_error/A", [40.0])
    same.add("test_error/B", [40.0])
    assert ex.ensemble_verdict(same, p).status == "inconclusive"


def test_data_parallel_verdict():
    p = get_claim("vgg.data-parallel").preset("quick")
    out = Outcome()
    values = {"relative_weight_diff": 1e-12, "relative_loss_diff": 1e-13, "replica_diff_max": 0.0,
              "weight_movement_max": 0.1, "worker_batch": p.data.batch_size / p.workers,
              "logged_steps": p.train.steps, "test_error/single": 50.0, "test_error/data-parallel": 50.0}
    for key, v in values.items():
        out.add(key, [v])
    assert ex.data_parallel_verdict(out, p).status == "holds"
    out.add("relative_weight_diff", [1e-4])
    assert ex.data_parallel_verdict(out, p).status == "does not hold"
    out.add("worker_batch", [p.data.batch_size])   # nothing was split
    assert ex.data_parallel_verdict(out, p).status == "inconclusive"


class _Batches:
    def __init__(self, x: torch.Tensor):
        self.x = x
        self.eval_loaders = {"test": [(x, torch.zeros(len(x), dtype=torch.long))]}

    def train_batches(self):
        while True:
            yield self.x, torch.zeros(len(self.x), dtype=torch.long)


def test_scale_task_rescales_crops_and_flips_each_image():
    x = torch.randn(6, 3, 32, 32)
    same = ex.ScaleTask(_Batches(x), scales=(32, 32), test_scale=32, seed=0)   # S = crop: only flips
    out, _ = next(same.train_batches())
    assert out.shape == x.shape
    assert all(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(out, x))
    jitter = ex.ScaleTask(_Batches(x), scales=(36, 72), test_scale=54, seed=0)
    out, _ = next(jitter.train_batches())
    assert out.shape == x.shape and not any(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(out, x))
    sizes = []

    def forward(batch):
        sizes.append(tuple(batch.shape[-2:]))
        return torch.zeros(len(batch), 10)

    metrics = jitter.evaluate(forward)
    assert sizes == [(54, 54)] and set(metrics) == {"test_loss", "test_error"}
    assert ex.scale_arms(get_claim("vgg.scale-jitter").preset("quick")) == {"fixed": ((36, 36), 36),
                                                                           "jitter": ((36, 72), 54)}


def test_global_loss_task_reports_the_batch_loss_in_one_process():
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
    inner = SimpleNamespace(training_step=lambda model, batch: (model(batch[0]).sum() * 0 + 1.5, {}))
    loss, metrics = ex.GlobalLossTask(inner).training_step(lambda t: t.mean(dim=(1, 2, 3)), (x, y))
    assert metrics["batch_loss"].item() == loss.item() == 1.5 and metrics["worker_batch"].item() == 8


TINY = dict(widths=(4, 4, 8, 8, 8), hidden=8)


def test_two_gloo_workers_end_where_one_process_on_the_whole_batch_ends(tmp_path, shared_data):
    """The claim's own machinery at tiny size: two spawned gloo workers vs one process, in float64."""
    p = replace(get_claim("vgg.data-parallel").preset("quick"), **TINY)
    p = replace(p, train=replace(p.train, steps=3), data=replace(p.data, batch_size=8, train_subset=64,
                                                                 eval_subset=32))
    single, _ = ex.equivalence_run(p, None, None, seed=0)
    states, records = ex.data_parallel_weights(p, None, tmp_path, seed=0)
    one = single.model.state_dict()
    assert len(states) == 2 and ex._max_diff(states[0], states[1]) == 0
    torch.manual_seed(0)
    initial = paperzoo.create_model("vgg11_cifar", **{**ex.model_kwargs(p, "A"), "dropout": 0.0}).state_dict()
    assert states[0]["features.0.weight"].dtype == torch.float64
    assert ex._max_diff(states[0], one) <= ex.EQUIVALENCE_TOLERANCE * ex._max_diff(one, initial)
    assert [r["worker_batch"] for r in records if r["split"] == "train"] == [4.0] * 3
