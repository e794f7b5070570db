"""VGG claims: registration, Section 2.3's arithmetic, the verdict rules on constructed outcomes, scale
jittering as a transform, data parallelism with spawned gloo workers."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome, RunContext
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.vgg import data_parallel as dp
from paperzoo.papers.vgg import experiments as ex
from paperzoo.papers.vgg import model as M

pytestmark = pytest.mark.usefixtures("one_thread")

CLAIMS = ["vgg.depth", "vgg.lrn", "vgg.1x1", "vgg.shallow-5x5", "vgg.scale-jitter", "vgg.ensemble",
          "vgg.data-parallel"]
N = 10000   # test images of a constructed outcome


def outcome(steps: int = ex.PAPER_RECIPE.steps, **errors: float) -> Outcome:
    """One seed; each arm wrong on a random set of the N images (the sets independent, so a
    difference of 2 points at 30% is beyond the paired noise of about 1.3 points, 0.5 is not)."""
    out, rng = Outcome(), random.Random(0)
    for label, error in errors.items():
        wrong = set(rng.sample(range(N), round(error / 100 * N)))
        out.add_items(f"test_error/{label.replace('_', '-')}", [[100.0 * (i in wrong) for i in range(N)]])
    out.values["train_steps"] = steps
    return out


def verdict(claim_id: str, out: Outcome, preset: str = "full", **changes) -> str:
    claim = get_claim(claim_id)
    return claim.verdict(out, replace(claim.preset(preset), **changes)).status


def test_claims_registered_with_presets_and_rules():
    assert paperzoo.list_claims("vgg") == CLAIMS
    for claim_id in CLAIMS:
        claim = get_claim(claim_id)
        assert claim.source and claim.rule_text and not claim.rule and not claim.smoke
        quick, full = claim.preset("quick"), claim.preset("full")
        assert quick.train.steps <= full.train.steps and quick.widths == ex.QUICK_WIDTHS
        assert full.widths == M.WIDTHS and set(quick.configs) <= set(ex.MODELS)
        assert quick.smoke()["train.steps"] == "4"
    assert get_claim("vgg.depth").preset("full").configs == ("A", "B", "D", "E")
    assert get_claim("vgg.data-parallel").preset("full").workers == 4
    assert ex.QUICK_DATA.batch_size == 64 and ex.CIFAR_DATA.val_size == 5000 and ex.PAPER_RECIPE.steps == 74 * 176


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
    assert ex.arithmetic_check(out) == [] and out.values["arithmetic_mismatches"] == 0
    assert out.values["weights_per_c2/3x3 x3"] == 27 and out.values["field/3x3 x3"] == 7
    assert round(out.values["extra_weights_7x7_pct"]) == 81   # "which is 81% more"
    monkeypatch.setitem(ex.SECTION23, "3x3 x3", (28, 7))
    wrong = Outcome()
    assert len(ex.arithmetic_check(wrong)) == 1 and wrong.values["arithmetic_mismatches"] == 1


def test_stacked_3x3_in_a_real_vgg_stage_has_27_c2_weights():
    with torch.device("meta"):
        d = M.vgg16()
    convs = d.convs()
    assert sum(convs[f"conv5_{i}"].weight.numel() for i in (1, 2, 3)) == 27 * 512 ** 2


def test_training_claims_need_a_tenth_of_the_schedule():
    quick = get_claim("vgg.depth").preset("quick")   # 400 iterations of 64: 0.5 epochs
    assert ex.TRAINED(quick) == 5782 and ex.TRAINED(get_claim("vgg.depth").preset("full")) == 1301
    for claim_id, arms in [("vgg.depth", dict(A=40, B=30, D=20)), ("vgg.shallow-5x5", dict(B=30, B_5x5=40)),
                           ("vgg.scale-jitter", dict(fixed=30, jitter=25))]:
        out = outcome(steps=400, **arms)
        v = get_claim(claim_id).verdict(out, get_claim(claim_id).preset("quick"))
        assert v.status == "inconclusive" and "shorter than the 5,782" in v.reason


def test_depth_verdict():
    assert verdict("vgg.depth", outcome(A=30, B=28, D=26, E=26.2)) == "holds"   # D-E tie: saturation
    assert verdict("vgg.depth", outcome(A=30, B=28, D=26, E=28.5)) == "does not hold"
    assert verdict("vgg.depth", outcome(A=30, B=29.9, D=29.8, E=29.7)) == "inconclusive"
    assert verdict("vgg.depth", outcome(A=30, B=28, D=89.9, E=90)) == "inconclusive"   # did not learn


def test_lrn_is_a_non_superiority_claim():
    def lrn(a: float, with_lrn: float) -> str:
        out = outcome(A=a, A_LRN=with_lrn)
        out.add_item_difference("lrn_gain", "A", "A-LRN")
        assert out.estimate("lrn_gain").se == pytest.approx(out.difference("test_error", "A", "A-LRN").se)   # paired
        return verdict("vgg.lrn", out)

    assert lrn(30, 31) == "holds"            # no gain
    assert lrn(30, 34) == "holds"            # LRN worse: no improvement either
    assert lrn(30, 27) == "does not hold"    # a gain surely above the margin
    assert lrn(30, 29.5) == "inconclusive"   # the interval reaches past 1 point
    assert lrn(90, 90) == "inconclusive"     # did not learn


def test_conv1x1_verdict():
    def arithmetic(out: Outcome, mismatches: int = 0) -> Outcome:
        out.add_exact("arithmetic_mismatches", mismatches)
        return out

    assert verdict("vgg.1x1", arithmetic(outcome(B=30, C=28, D=26))) == "holds"
    assert verdict("vgg.1x1", arithmetic(outcome(B=30, C=28, D=26), 1)) == "does not hold"
    short = arithmetic(outcome(steps=4, B=30, C=28, D=26), 1)
    assert verdict("vgg.1x1", short) == "does not hold"   # the arithmetic is exact: no guard
    assert verdict("vgg.1x1", arithmetic(outcome(B=30, C=28, D=30))) == "does not hold"
    assert verdict("vgg.1x1", arithmetic(outcome(B=30, C=29.8, D=26))) == "inconclusive"


def test_shallow_and_scale_jitter_verdicts():
    for (b, shallow), status in [((30, 37), "holds"), ((30, 30.3), "inconclusive"), ((33, 30), "does not hold")]:
        assert verdict("vgg.shallow-5x5", outcome(B=b, B_5x5=shallow)) == status
    for (fixed, jitter), status in [((27, 25), "holds"), ((27, 26.9), "inconclusive"), ((25, 27), "does not hold")]:
        assert verdict("vgg.scale-jitter", outcome(fixed=fixed, jitter=jitter)) == status


def test_ensemble_of_complementary_members_beats_both_paired_by_image():
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
    out = outcome(A=40, B=40)
    ex.ensemble_outcome(out, {"A": [a], "B": [b]}, [y])
    assert out.values["test_error/best_single"] == pytest.approx(40.0)
    assert out.values["test_error/ensemble"] == pytest.approx(20.0)
    assert out.values["ensemble_gain"] == pytest.approx(20.0) and len(out.items["test_error/ensemble"][0]) == n
    assert "items" in out.difference("test_error", "ensemble", "best_single").sources
    assert verdict("vgg.ensemble", out, configs=("A", "B")) == "holds"
    same = outcome(A=40, B=40)
    ex.ensemble_outcome(same, {"A": [a], "B": [a]}, [y])
    assert same.values["ensemble_gain"] == 0
    assert verdict("vgg.ensemble", same, configs=("A", "B")) == "inconclusive"


def test_data_parallel_verdict():
    p = get_claim("vgg.data-parallel").preset("quick")

    def out(**changes: float) -> Outcome:
        o = Outcome()
        values = {"weight_diff_ppm": 1e-6, "loss_diff_ppm": 1e-7, "replica_diff_ppm": 0.0,
                  "weight_movement_max": 0.1, "worker_batch": p.data.batch_size / p.workers,
                  "logged_steps": p.train.steps, "test_error/single": 50.0, "test_error/data-parallel": 50.0}
        for key, v in (values | changes).items():
            o.add_exact(key, [v])
        return o

    assert verdict("vgg.data-parallel", out(), "quick") == "holds"
    assert verdict("vgg.data-parallel", out(weight_diff_ppm=100.0), "quick") == "does not hold"
    assert verdict("vgg.data-parallel", out(worker_batch=p.data.batch_size), "quick") == "inconclusive"   # no split
    assert verdict("vgg.data-parallel", out(weight_movement_max=0.0), "quick") == "inconclusive"          # no change
    assert verdict("vgg.data-parallel", out(logged_steps=3), "quick") == "inconclusive"


def test_scale_jittering_is_a_transform_that_rescales_crops_and_flips_each_image():
    x, y, g = torch.randn(6, 3, 32, 32), torch.arange(6), torch.Generator().manual_seed(0)
    out, labels = ex.rescale_crop_flip(x, y, g, scales=(32, 32))   # S = crop: only flips
    assert out.shape == x.shape and labels is y
    assert all(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(out, x))
    out, _ = ex.rescale_crop_flip(x, y, g, scales=(36, 72))
    assert out.shape == x.shape and not any(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(out, x))
    arms = ex.scale_arms(get_claim("vgg.scale-jitter").preset("quick"))
    assert arms == {"fixed": ((36, 36), 36), "jitter": ((36, 72), 54)}


def test_two_gloo_workers_end_where_one_process_on_the_whole_batch_ends(tmp_path, shared_data):
    """The claim's experiment at tiny size, for two seeds: two spawned gloo workers vs one process, in
    float64; every seed's measurements are kept."""
    claim = get_claim("vgg.data-parallel")
    p = replace(claim.preset("quick"), widths=(4, 4, 8, 8, 8), hidden=8)
    p = replace(p, train=replace(p.train, steps=3), data=replace(p.data, batch_size=8, train_subset=64, eval_subset=32))
    ctx = RunContext(claim, "quick", p, (0, 1), "cpu", None, tmp_path, progress=False)
    out = dp.data_parallel_experiment(ctx)
    assert len(out.per_seed["weight_diff_ppm"]) == 2 and out.per_seed["worker_batch"] == [4.0, 4.0]
    assert out.per_seed["replica_diff_max"] == [0.0, 0.0] and min(out.per_seed["weight_movement_max"]) > 0
    assert max(out.per_seed["weight_diff_ppm"]) <= 1e6 * dp.EQUIVALENCE_TOLERANCE
    assert claim.verdict(out, p).status == "holds"
    one = dp.equivalence_run(replace(ctx, claim=None), "again", 0)   # in this process: the dtype is restored
    assert one["state"]["features.0.weight"].dtype == one["initial"]["features.0.weight"].dtype == torch.float64
    assert torch.get_default_dtype() == torch.float32
