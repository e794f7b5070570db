"""AlexNet's claims: registration, the input pipeline, and the measurement and verdict logic on known answers."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn as nn

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.data.imagenet import center_crop
from paperzoo.papers.alexnet import experiments as E

pytestmark = pytest.mark.usefixtures("one_thread")

CLAIMS = ("alexnet.relu-vs-tanh", "alexnet.lrn", "alexnet.overlapping-pooling", "alexnet.dropout",
          "alexnet.augmentation", "alexnet.ten-crop")


def outcome(**metrics: float | list[float]) -> Outcome:
    """An outcome with the given metrics (``test_error__lrn`` stands for ``test_error/lrn``)."""
    out = Outcome()
    for key, value in metrics.items():
        out.add(key.replace("__", "/"), value if isinstance(value, list) else [value])
    return out


def test_claims_are_registered_with_quick_full_and_smoke_presets():
    assert set(CLAIMS) <= set(paperzoo.list_claims())
    for claim_id in CLAIMS:
        claim = get_claim(claim_id)
        assert claim.paper == "alexnet" and claim.smoke["train.steps"] == "4"
        quick, full = claim.presets["quick"], claim.presets["full"]
        assert quick.train.steps < full.train.steps and quick.data.eval_subset and not full.data.eval_subset
        assert full.train.optimizer.momentum == 0.9 and full.data.batch_size == 128
        assert quick.description.endswith("on a CPU") and full.description.endswith("on one GPU")
    # the paper's weight decay, except in Fig. 1's unregularised comparison
    assert get_claim("alexnet.lrn").presets["full"].train.optimizer.weight_decay == 5e-4
    assert get_claim("alexnet.relu-vs-tanh").presets["full"].train.optimizer.weight_decay == 0.0
    assert get_claim("alexnet.relu-vs-tanh").presets["full"].threshold == 25.0


def test_full_presets_use_the_papers_cifar_net():
    for claim_id in CLAIMS[1:]:
        p = get_claim(claim_id).presets["full"]
        kwargs = E.model_kwargs(p, E.Variant("x"))
        assert kwargs == {"image_size": 24, "widths": (64, 64, 32, 32), "local": True, "lrn": True,
                          "init": "cuda-convnet"}, claim_id
        assert "the paper's CIFAR net" in p.description


def test_steps_to_reach_is_the_first_step_at_or_below_the_threshold():
    steps, errors = [10, 20, 30, 40], [60.0, 30.0, 25.0, 20.0]
    assert E.steps_to_reach(steps, errors, 25.0) == 30
    assert E.steps_to_reach(steps, errors, 59.0) == 20
    assert E.steps_to_reach(steps, [60.0, 20.0, 40.0, 10.0], 25.0) == 20  # the first crossing, not the last
    assert math.isinf(E.steps_to_reach(steps, errors, 5.0))


def test_noise_helpers():
    assert E.binomial_se(50.0, 10000) == pytest.approx(0.5)     # 100 * sqrt(.25 / 1e4)
    # McNemar: 5% of images fixed, 1% broken, 10,000 images: 2 * sqrt((.06 - .0016) / 1e4) = 0.483 points
    assert E.paired_margin(0.05, 0.01, 10000) == pytest.approx(200 * math.sqrt(0.0584 / 10000))
    assert E.paired_margin(0.0, 0.0, 100) == 0.0
    out = outcome(test_error__a=[10.0, 12.0], test_error__b=[20.0, 22.0])
    # seed spread (std 1.41 each over 2 seeds): 2 * sqrt((2 + 2) / 2) = 2.83 beats a binomial noise of 1
    assert E.margin(out, "test_error", "a", "b", 1.0) == pytest.approx(2 * math.sqrt(2))
    assert E.margin(out, "test_error", "a", "b", 5.0) == 5.0
    gap = outcome(test_error__a=50.0, train_error__a=50.0)
    assert E.gap_noise(gap, ["a"], 10000, 2500) == pytest.approx(2 * math.sqrt(0.25 + 1.0))


def test_effect_decides_against_noise_and_the_papers_size():
    out = outcome(test_error__better=11.0, test_error__worse=13.0)
    assert E.effect(out, "test_error", better="better", worse="worse", noise=1.0)[0] == "yes"
    assert E.effect(out, "test_error", better="better", worse="worse", noise=3.0, paper=2.0)[0] == "tie"
    out = outcome(test_error__better=12.9, test_error__worse=13.0)
    assert E.effect(out, "test_error", better="better", worse="worse", noise=0.9, paper=2.0)[0] == "no"
    assert E.effect(out, "test_error", better="better", worse="worse", noise=0.9)[0] == "tie"
    out = outcome(test_error__better=15.0, test_error__worse=13.0)
    assert E.effect(out, "test_error", better="better", worse="worse", noise=0.9)[0] == "no"


def test_relu_verdict():
    p = get_claim("alexnet.relu-vs-tanh").presets["full"]

    def run(relu: float, tanh: float, reached_tanh: float = 1.0, reached_relu: float = 1.0) -> str:
        out = outcome(steps__relu=relu, steps__tanh=tanh, reached__relu=reached_relu, reached__tanh=reached_tanh,
                      speedup=tanh / relu)
        return E.relu_verdict(out, p).status

    assert run(1000, 6000) == "holds"
    assert run(1000, 4000, reached_tanh=0.0) == "holds"        # a lower bound of 4 is enough
    assert run(1000, 2000, reached_tanh=0.0) == "inconclusive"  # a lower bound of 2 is not
    assert run(1000, 2000) == "inconclusive"
    assert run(1000, 1200) == "does not hold"
    assert run(800, 500) == "does not hold"
    assert run(15625, 15625, reached_relu=0.0, reached_tanh=0.0) == "inconclusive"
    seeds = outcome(steps__relu=[1000, 1000], steps__tanh=[6000, 2500], reached__relu=[1, 1], reached__tanh=[1, 1],
                    speedup=[6.0, 2.5])
    assert E.relu_verdict(seeds, p).status == "inconclusive"   # every seed must show the factor


def test_lrn_and_pooling_verdicts():
    full = get_claim("alexnet.lrn").presets["full"]          # 10,000 test images: noise about 0.9 points
    quick = get_claim("alexnet.lrn").presets["quick"]        # 2,000: about 2.3 points at 20% error
    assert E.lrn_verdict(outcome(test_error__lrn=11.0, **{"test_error__no-lrn": 13.0}), full).status == "holds"
    assert E.lrn_verdict(outcome(test_error__lrn=12.9, **{"test_error__no-lrn": 13.0}), full).status == "does not hold"
    assert E.lrn_verdict(outcome(test_error__lrn=20.5, **{"test_error__no-lrn": 21.0}), quick).status == "inconclusive"
    p = get_claim("alexnet.overlapping-pooling").presets["full"]

    def pooling(overlap: float, other: float) -> str:
        out = outcome(test_error__overlap=overlap, **{"test_error__no-overlap": other}, gap__overlap=5.0,
                      **{"gap__no-overlap": 6.0})
        return E.pooling_verdict(out, p).status

    assert pooling(12.0, 14.0) == "holds"
    assert pooling(13.8, 14.0) == "inconclusive"   # the paper's 0.4 is within noise on 10,000 images
    assert pooling(15.0, 14.0) == "does not hold"


def test_dropout_verdict():
    p = get_claim("alexnet.dropout").presets["full"]

    def run(gap_none: float, gap_drop: float, slowdown: float, reached: float = 1.0) -> str:
        out = outcome(**{"test_error__no-dropout": 20.0 + gap_none, "train_error__no-dropout": 20.0,
                         "gap__no-dropout": gap_none, "test_error__dropout": 20.0 + gap_drop,
                         "train_error__dropout": 20.0, "gap__dropout": gap_drop, "reached__no-dropout": 1.0,
                         "reached__dropout": reached, "slowdown": slowdown})
        return E.dropout_verdict(out, p).status

    assert run(15.0, 5.0, 2.0) == "holds"
    assert run(15.0, 5.0, 1.1) == "inconclusive"   # narrows the gap but barely slows convergence
    assert run(15.0, 15.5, 2.0) == "inconclusive"  # gap unchanged within noise
    assert run(5.0, 15.0, 2.0) == "does not hold"  # dropout widens the gap
    assert run(15.0, 5.0, 0.7) == "does not hold"  # dropout converges faster


def test_augmentation_verdict():
    p = get_claim("alexnet.augmentation").presets["full"]

    def run(none: float, crops: float, pca: float) -> str:
        out = outcome(test_error__none=none, **{"test_error__crop-flip": crops, "test_error__crop-flip-pca": pca})
        return E.augmentation_verdict(out, p).status

    assert run(20.0, 14.0, 12.5) == "holds"
    assert run(20.0, 14.0, 13.8) == "inconclusive"   # 0.2 points: within noise of both 0 and the paper's 1
    assert run(20.0, 14.0, 15.0) == "does not hold"  # colour noise worse: the paper's 1-point gain is ruled out
    assert run(14.0, 20.0, 19.0) == "does not hold"  # crops hurt


def test_ten_crop_verdict_uses_paired_noise():
    p = get_claim("alexnet.ten-crop").presets["full"]

    def run(centre: float, ten: float, fixes: float, breaks: float) -> str:
        out = outcome(test_error_centre=centre, test_error_10crop=ten, gain=centre - ten,
                      paired_margin=E.paired_margin(fixes / 100, breaks / 100, 10000))
        return E.ten_crop_verdict(out, p).status

    assert run(15.0, 14.0, 2.0, 1.0) == "holds"          # paired noise 0.35 points < 1-point gain
    assert run(15.0, 14.9, 2.0, 1.9) == "inconclusive"
    assert run(15.0, 16.0, 1.0, 2.0) == "does not hold"


# --- the input pipeline --------------------------------------------------------------------------

SMALL = replace(E.QUICK_DATA, batch_size=8, train_subset=64, eval_subset=32, eval_batch_size=16)


@pytest.mark.parametrize("augment", ["none", "crop-flip", "crop-flip-pca"])
def test_crop_task_batches(augment, shared_data):
    task = E.CropTask(SMALL, crop=24, augment=augment, train_eval=16, seed=0)
    x, y = next(task.train_batches())
    assert x.shape == (8, 3, 24, 24) and y.shape == (8,) and x.dtype == torch.float32
    assert task.sizes["trainset"] == 16
    if augment == "none":   # the central patch of the loader's (normalised, unaugmented) batch
        fresh = E.CropTask(SMALL, crop=24, augment=augment, train_eval=16, seed=0)
        full, labels = next(fresh.train_loader.forever())
        assert torch.equal(x, center_crop(full, 24)) and torch.equal(y, labels)
    if augment == "crop-flip-pca":
        assert task.eigvals.shape == (3,) and task.eigvecs.shape == (3, 3)
        assert bool((task.eigvals[:-1] >= task.eigvals[1:]).all())
    state = task.state_dict()
    a = next(task.train_batches())[0]
    task.load_state_dict(state)
    assert torch.equal(next(task.train_batches())[0], a)   # resume repeats the augmentation


def test_ten_crop_errors_are_consistent(shared_data):
    task = E.CropTask(SMALL, crop=24, augment="none", train_eval=16, ten_crop=True)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 24 * 24, 10)).eval()
    with torch.no_grad():
        metrics = task.evaluate(model)
    # the centre patch is index 4 of the ten: the same error as the ordinary central-patch evaluation
    assert metrics["test_error_centre"] == pytest.approx(metrics["test_error"])
    assert metrics["test_error_centre"] - metrics["test_error_10crop"] == pytest.approx(
        metrics["test_10crop_fixes"] - metrics["test_10crop_breaks"])
    assert 0 <= metrics["trainset_error"] <= 1
