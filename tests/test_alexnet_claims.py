"""AlexNet's claims: registration, the input pipeline, the measurements and the verdict rules on
constructed outcomes with known answers (the smoke run of each claim is in test_claims.py)."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import replace

import pytest
import torch

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.claims.presets import SGD_001
from paperzoo.data.imagenet import center_crop
from paperzoo.papers.alexnet import experiments as E

pytestmark = pytest.mark.usefixtures("one_thread")

CLAIMS = ("alexnet.relu-vs-tanh", "alexnet.lrn", "alexnet.overlapping-pooling", "alexnet.dropout",
          "alexnet.augmentation", "alexnet.ten-crop")
N = 10000


def per_image(rate: float, n: int = N, seed: int = 0, wrong: set[int] | None = None) -> list[float]:
    """Each image's error (0 or 100): ``rate`` % of them wrong, chosen at random (or the images ``wrong``)."""
    wrong = set(random.Random(seed).sample(range(n), round(rate * n / 100))) if wrong is None else wrong
    return [100.0 * (i in wrong) for i in range(n)]


def outcome(errors: dict[str, float], *, steps: int = E.FULL_STEPS, n: int = N, seeds: int = 1) -> Outcome:
    """Arms erring on independently drawn test images, trained for ``steps``."""
    out = Outcome()
    for index, (arm, rate) in enumerate(errors.items()):
        out.add_items(f"test_error/{arm}", [per_image(rate, n, seed=100 * index + s) for s in range(seeds)])
    out.values["train_steps"] = steps
    return out


def verdict(claim_id: str, out: Outcome, preset: str = "full") -> str:
    claim = get_claim(claim_id)
    return claim.verdict(out, claim.presets[preset]).status


def test_claims_are_registered_with_quick_full_and_smoke_presets():
    assert set(CLAIMS) <= set(paperzoo.list_claims(paper="alexnet"))
    for claim_id in CLAIMS:
        claim = get_claim(claim_id)
        assert claim.paper == "alexnet" and claim.smoke_overrides()["train.steps"] == "4"
        assert claim.smoke_overrides()["widths"] == "8,8,8,8" and claim.rule == ""
        quick, full = claim.presets["quick"], claim.presets["full"]
        assert quick.train.steps < full.train.steps and quick.data.eval_subset and not full.data.eval_subset
        assert full.train.optimizer.momentum == 0.9 and full.data.batch_size == 128
        assert quick.description.endswith("on a CPU") and full.description.endswith("on one GPU")
    # Section 5's SGD, except in Fig. 1's unregularised comparison
    assert get_claim("alexnet.lrn").presets["full"].train.optimizer == SGD_001
    assert get_claim("alexnet.relu-vs-tanh").presets["full"].train.optimizer.weight_decay == 0.0
    assert get_claim("alexnet.relu-vs-tanh").presets["full"].threshold == 25.0


def test_full_presets_use_the_papers_cifar_net():
    for claim_id in CLAIMS[1:]:
        p = get_claim(claim_id).presets["full"]
        a = E.arm(p, "x")
        assert a.model == "cifar_convnet" and a.train is None and a.task is not None
        assert dict(a.kwargs) == {"image_size": 24, "widths": (64, 64, 32, 32), "local": True, "lrn": True,
                                  "init": "cuda-convnet"}, claim_id
        assert "the paper's CIFAR net" in p.description
    p = get_claim("alexnet.relu-vs-tanh").presets["full"]
    tanh = E.arm(p, "t", lr=0.03, activation="tanh")
    assert tanh.kwargs["activation"] == "tanh" and tanh.train.optimizer.lr == 0.03 and tanh.train.steps == 15625


# --- measurements -------------------------------------------------------------------------------

def test_gap_noise_is_binomial_and_the_gap_difference_is_paired():
    out = Outcome()
    out.add_items("test_error/a", [per_image(30.0, 1000, seed=1)])
    out.add_items("train_error/a", [per_image(10.0, 500, seed=2)])
    E.record_gap(out, "a")
    assert out.values["gap/a"] == pytest.approx(20.0)
    assert out.value_se["gap/a"] == [pytest.approx(100 * math.sqrt(0.21 / 1000 + 0.09 / 500))]
    # b errs on the same images as a plus 50 more test images: the paired difference's noise is tiny
    test_a = {i for i, e in enumerate(out.items["test_error/a"][0]) if e}
    extra = set(sorted(set(range(1000)) - test_a)[:50])
    out.add_items("test_error/b", [per_image(0, 1000, wrong=test_a | extra)])
    out.add_items("train_error/b", out.items["train_error/a"])
    d = [x - y for x, y in zip(out.items["test_error/b"][0], out.items["test_error/a"][0])]
    assert E.gap_difference_se(out, "b", "a") == [pytest.approx(math.sqrt(statistics.variance(d) / 1000))]


# --- verdicts -----------------------------------------------------------------------------------

def relu_outcome(relu: list[float], tanh: list[float], reached_tanh: bool = True, reached_relu: bool = True,
                 interval: int = 50) -> Outcome:
    out = Outcome()
    out.add("reached/relu", [float(reached_relu)] * len(relu))
    out.add("reached/tanh", [float(reached_tanh)] * len(tanh))
    out.add("speedup", [t / r for t, r in zip(tanh, relu)])
    q = interval / math.sqrt(12)
    out.value_se["speedup"] = [t / r * math.hypot(q / t, q / r) for t, r in zip(tanh, relu)]
    return out


def test_relu_verdict_has_a_noise_model_and_respects_censoring():
    def run(*args, **kw) -> str:
        return verdict("alexnet.relu-vs-tanh", relu_outcome(*args, **kw))

    assert run([1000], [6000]) == "holds"
    assert run([1000], [4000], reached_tanh=False) == "holds"        # a lower bound of 4 is enough
    assert run([1000], [2000], reached_tanh=False) == "inconclusive"  # a lower bound of 2 is not
    assert run([1000], [1200], reached_tanh=False) == "inconclusive"  # nor can a lower bound refute
    assert run([1000], [2000]) == "inconclusive"
    assert run([1000], [1200]) == "does not hold"
    assert run([800], [500]) == "does not hold"
    assert run([15625], [15625], reached_relu=False, reached_tanh=False) == "inconclusive"
    assert run([100], [300], interval=50) == "inconclusive"   # 3x, but read every 50 iterations: not beyond noise
    assert run([1000, 1000], [6000, 2500]) == "inconclusive"   # two seeds disagree: Student-t on 1 df
    assert run([1000, 1000, 1000], [6000, 6500, 5800]) == "holds"
    # the quick preset trains both nets at one rate: the claim's "each at its fastest rate" is not tested
    assert verdict("alexnet.relu-vs-tanh", relu_outcome([1000], [6000]), "quick") == "inconclusive"
    assert verdict("alexnet.relu-vs-tanh", relu_outcome([1000], [500]), "quick") == "inconclusive"
    text = get_claim("alexnet.relu-vs-tanh").rule_text
    assert "at least 3x" in text and "lower bound" in text


def test_comparisons_need_the_training_and_decide_paired_against_the_papers_effect():
    assert verdict("alexnet.lrn", outcome({"lrn": 11.0, "no-lrn": 13.0})) == "holds"
    assert verdict("alexnet.lrn", outcome({"lrn": 12.9, "no-lrn": 13.0})) == "does not hold"   # 2 points ruled out
    assert verdict("alexnet.lrn", outcome({"lrn": 20.5, "no-lrn": 21.0}, n=2000)) == "inconclusive"
    assert verdict("alexnet.lrn", outcome({"lrn": 11.0, "no-lrn": 13.0}, steps=400), "quick") == "inconclusive"
    assert verdict("alexnet.lrn", outcome({"lrn": 89.0, "no-lrn": 91.0})) == "inconclusive"    # did not learn
    assert verdict("alexnet.overlapping-pooling", outcome({"overlap": 12.0, "no-overlap": 14.0})) == "holds"
    # 0.2 points on 10,000 images erring independently: within the noise of both 0 and the paper's 0.4
    assert verdict("alexnet.overlapping-pooling", outcome({"overlap": 13.8, "no-overlap": 14.0})) == "inconclusive"
    assert verdict("alexnet.overlapping-pooling", outcome({"overlap": 15.0, "no-overlap": 14.0})) == "does not hold"


def test_augmentation_verdict():
    def run(none: float, crops: float, pca: float) -> str:
        return verdict("alexnet.augmentation", outcome({"none": none, "crop-flip": crops, "crop-flip-pca": pca}))

    assert run(20.0, 14.0, 12.5) == "holds"
    assert run(20.0, 14.0, 13.8) == "inconclusive"   # 0.2 points: within noise of both 0 and the paper's 1
    assert run(20.0, 14.0, 15.0) == "does not hold"  # colour noise worse: the paper's 1-point gain is ruled out
    assert run(14.0, 20.0, 19.0) == "does not hold"  # crops hurt


def test_ten_crop_verdict_pairs_the_two_tests_image_by_image():
    centre = set(random.Random(0).sample(range(N), 1500))

    def run(fixed: int, broken: int) -> str:
        ten = set(sorted(centre)[fixed:]) | set(range(N - broken, N)) - centre
        out = outcome({})
        out.add_items("test_error/centre", [per_image(0, wrong=centre)])
        out.add_items("test_error/ten-crop", [per_image(0, wrong=ten)])
        out.values["train_steps"] = E.FULL_STEPS
        return verdict("alexnet.ten-crop", out)

    # 0.6 points fewer errors, every change in ten-crop's favour: far beyond McNemar's noise (which an
    # unpaired test of 15% vs 14.4% on 10,000 images would not resolve)
    assert run(60, 0) == "holds"
    assert run(60, 50) == "inconclusive"
    assert run(0, 100) == "does not hold"


def dropout_outcome(gap_none: float, gap_drop: float, slow: float, *, reached: bool = True,
                    steps: int = E.FULL_STEPS) -> Outcome:
    out = Outcome()
    for index, (arm, gap) in enumerate({"no-dropout": gap_none, "dropout": gap_drop}.items()):
        out.add_items(f"test_error/{arm}", [per_image(20.0 + gap, seed=index)])
        out.add_items(f"train_error/{arm}", [per_image(20.0, seed=10 + index)])
        E.record_gap(out, arm)
    out.add_difference_se("gap", "dropout", "no-dropout", E.gap_difference_se(out, "dropout", "no-dropout"))
    out.add("reached/no-dropout", [1.0])
    out.add("reached/dropout", [float(reached)])
    out.add("slowdown", [slow])
    out.value_se["slowdown"] = [0.05 * slow]
    out.values["train_steps"] = steps
    return out


def test_dropout_verdict():
    def run(*args, **kw) -> str:
        return verdict("alexnet.dropout", dropout_outcome(*args, **kw))

    assert run(15.0, 5.0, 2.0) == "holds"
    assert run(15.0, 5.0, 1.1) == "inconclusive"     # narrows the gap but barely slows convergence
    assert run(15.0, 15.5, 2.0) == "inconclusive"    # gap unchanged within noise
    assert run(5.0, 15.0, 2.0) == "does not hold"    # dropout widens the gap
    assert run(15.0, 5.0, 0.7) == "does not hold"    # dropout converges faster
    assert run(15.0, 5.0, 0.7, reached=False) == "inconclusive"   # ... unless that is only a lower bound
    assert run(15.0, 5.0, 2.0, steps=400) == "inconclusive"      # too short


# --- the input pipeline --------------------------------------------------------------------------

SMALL = replace(E.QUICK_DATA, batch_size=8, train_subset=64, eval_subset=32, eval_batch_size=16)


@pytest.mark.parametrize("augment", ["none", "crop-flip", "crop-flip-pca"])
def test_patch_task(augment, shared_data):
    p = replace(get_claim("alexnet.augmentation").presets["quick"], train_eval=16)

    def make():
        return E.patch_task(p, augment)(SMALL, device="cpu", seed=0, root=None, channels_last=False)

    task = make()
    x, y = next(task.train_batches())
    assert x.shape == (8, 3, 24, 24) and y.shape == (8,) and x.dtype == torch.float32
    assert task.sizes["trainset"] == 16 and set(task.eval_loaders) == {"test", "trainset"}
    if augment == "none":   # the central patch of the loader's (normalised, unaugmented) batch
        full, labels = next(make().train_loader.forever())
        assert torch.equal(x, center_crop(full, 24)) and torch.equal(y, labels)
    state = task.state_dict()
    a = next(task.train_batches())[0]
    task.load_state_dict(state)
    assert torch.equal(next(task.train_batches())[0], a)   # resume repeats the augmentation
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 24 * 24, 10)).eval()
    with torch.no_grad():
        metrics = task.evaluate(model)   # tests and the training sample on the central patch
    assert set(metrics) == {"test_loss", "test_error", "trainset_loss", "trainset_error"}
    assert task.errors["trainset"].shape == (16,) and task.errors["test"].shape == (32,)


def test_train_transform_adds_colour_noise_along_the_basis():
    x, y = torch.randn(4, 3, 32, 32), torch.arange(4)
    basis = (torch.tensor([1.0, 0.0, 0.0]), torch.eye(3))
    plain = E.train_transform("crop-flip", 24)(x, y, torch.Generator().manual_seed(0))[0]
    noisy = E.train_transform("crop-flip-pca", 24, basis)(x, y, torch.Generator().manual_seed(0))[0]
    shift = noisy - plain   # the same crops and flips (drawn first), then a constant shift of the first channel
    assert torch.allclose(shift[:, 1:], torch.zeros_like(shift[:, 1:]))
    assert torch.allclose(shift[:, 0], shift[:, 0, :1, :1].expand_as(shift[:, 0]))
    with pytest.raises(ValueError, match="augmentation"):
        E.patch_task(get_claim("alexnet.lrn").presets["quick"], "mixup")
