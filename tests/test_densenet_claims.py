"""DenseNet's claims: registration, the paper's recipe, parameter counts, and the verdict rules on
constructed outcomes with each test image's error (the smoke run of each claim is in test_claims.py)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import paperzoo
from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.densenet import experiments as ex

CIFAR = get_claim("densenet.cifar")
EFFICIENCY = get_claim("densenet.param-efficiency")
N = 10000


def test_claims_are_registered_with_quick_full_and_smoke():
    assert {"densenet.cifar", "densenet.param-efficiency"} <= set(paperzoo.list_claims(paper="densenet"))
    for claim in (CIFAR, EFFICIENCY):
        assert {"quick", "full"} <= set(claim.presets) and claim.smoke_overrides()["train.steps"] == "4"
        assert claim.rule == "" and "inconclusive if the run trains for fewer than" in claim.rule_text
        assert "not built as in Table 2" in claim.rule_text
    assert CIFAR.presets["full"].models == ("densenet40", "densenet_bc100")
    assert EFFICIENCY.presets["full"].models == ("densenet_bc100", "resnet110")


def test_full_preset_is_the_papers_recipe():
    train, data = ex.PAPER_RECIPE, ex.CIFAR_DATA
    # Section 4.2: batch 64, 300 epochs, lr 0.1 / 10 at 50% and 75%, Nesterov momentum 0.9, wd 1e-4
    assert data.batch_size == 64 and data.augment and data.val_size == 0
    assert train.steps == 300 * 781 and train.schedule.milestones == (150 * 781, 225 * 781)
    opt = train.optimizer
    assert (opt.name, opt.lr, opt.momentum, opt.weight_decay, opt.nesterov) == ("sgd", 0.1, 0.9, 1e-4, True)
    # ResNet-110 keeps its own paper's warm-up (0.01 for 400 iterations); the DenseNet arm takes the preset's recipe
    dense, resnet = ex._arms(EFFICIENCY.presets["full"])
    assert dense.train is None
    assert (resnet.train.schedule.warmup_steps, resnet.train.schedule.warmup_factor) == (400, 0.1)
    assert resnet.train.schedule.milestones == train.schedule.milestones


def test_parameter_counts_and_ratio():
    params = ex._params(ex.DensePreset(description="t", models=("densenet40", "densenet_bc100", "resnet110")))
    assert params == {"densenet40": 1_019_722, "densenet_bc100": 769_162, "resnet110": 1_727_962}
    for m, n in params.items():   # Table 2's rounded counts
        assert n / 1e6 == pytest.approx(ex.TABLE2_PARAMS[m], abs=0.05)
    assert params["resnet110"] / params["densenet_bc100"] == pytest.approx(2.2465, abs=1e-4)
    # the quick presets' CPU-scale DenseNets: growth rate 4
    quick = ex._params(EFFICIENCY.presets["quick"])
    assert quick["densenet_bc100"] < 0.15 * params["densenet_bc100"] and quick["resnet20"] == 269_722


def test_quick_presets_keep_their_smaller_models_apart_from_table2():
    quick = CIFAR.presets["quick"]
    assert [a.label for a in ex._arms(quick)] == ["densenet40-k4", "densenet_bc100-k4"]
    assert [a.label for a in ex._arms(EFFICIENCY.presets["quick"])] == ["densenet_bc100-k4", "resnet20"]
    assert [a.label for a in ex._arms(CIFAR.presets["full"])] == ["densenet40", "densenet_bc100"]
    # so the targets (Table 2, keyed by the paper's models) never meet a CPU-scale model's error
    assert not {t.metric for t in CIFAR.targets} & {f"test_error/{a.label}" for a in ex._arms(quick)}


def per_image(rate: float, n: int = N, seed: int = 0) -> list[float]:
    """Each image's error (0 or 100), ``rate`` % of them wrong, chosen at random."""
    wrong = set(random.Random(seed).sample(range(n), round(rate * n / 100)))
    return [100.0 * (i in wrong) for i in range(n)]


def _outcome(errors: dict[str, list[float]], steps: int = ex.PAPER_STEPS, n: int = N) -> Outcome:
    """Per arm, one error rate per seed; the arms err on independently drawn images."""
    out = Outcome()
    for index, (arm, rates) in enumerate(errors.items()):
        out.add_items(f"test_error/{arm}", [per_image(r, n, seed=100 * index + s) for s, r in enumerate(rates)])
    out.values["train_steps"] = steps
    return out


def test_cifar_verdict_matches_table2_by_equivalence():
    full, quick = CIFAR.presets["full"], CIFAR.presets["quick"]

    def verdict(d40, bc100, preset=full, **kw):
        out = _outcome({preset.key("densenet40"): d40, preset.key("densenet_bc100"): bc100}, **kw)
        return CIFAR.verdict(out, preset).status

    assert verdict([5.5], [4.8]) == "holds"            # both 90% intervals (±0.4) inside ±1 of Table 2
    assert verdict([7.0], [4.6]) == "does not hold"    # DenseNet 1.76 off: the whole interval beyond 1 point
    assert verdict([6.2], [4.6]) == "inconclusive"     # 0.96 off: the interval straddles the band's edge
    assert verdict([5.5], [4.8], n=1000) == "inconclusive"   # 1,000 images: intervals wider than the band
    # seeds that disagree widen the interval (Student-t, 1 df)
    assert verdict([4.5, 6.5], [4.6, 4.4]) == "inconclusive"
    # too short, or not Table 2's models: reported, not judged
    assert verdict([5.24], [4.51], quick) == "inconclusive"
    v = CIFAR.verdict(_outcome({"densenet40": [5.24], "densenet_bc100": [4.51]}, steps=120), full)
    assert v.status == "inconclusive" and "120 iterations" in v.reason
    shrunk = replace(full, growth_rate=4)
    v = CIFAR.verdict(_outcome({shrunk.key("densenet40"): [5.24], shrunk.key("densenet_bc100"): [4.51]}), shrunk)
    assert v.status == "inconclusive" and "not built as in Table 2" in v.reason


def test_param_efficiency_is_non_inferiority_with_the_parameter_ratio():
    full, quick = EFFICIENCY.presets["full"], EFFICIENCY.presets["quick"]

    def verdict(dense, resnet, preset=full, ratio=2.2465, **kw):
        a, b = (preset.key(m) for m in preset.models)
        out = _outcome({a: dense, b: resnet}, **kw)
        out.add_item_difference(ex.GAP, a, b)
        out.add_exact("param_ratio", ratio)
        return EFFICIENCY.verdict(out, preset).status

    assert verdict([4.6], [6.4]) == "holds"              # better: the gap's interval lies far below the margin
    assert verdict([6.4], [6.4]) == "holds"              # a tie: the interval (about ±0.7) lies below 1 point
    assert verdict([7.0], [6.4]) == "inconclusive"       # 0.6 worse: the interval reaches past the margin
    assert verdict([8.5], [6.4]) == "does not hold"      # worse by more than the margin beyond the noise
    assert verdict([4.6], [6.4], ratio=1.5) == "does not hold"   # not with fewer parameters
    assert verdict([6.0, 8.0], [6.0, 6.2]) == "inconclusive"     # the seeds disagree (t, 1 df)
    assert verdict([4.6], [6.4], quick) == "inconclusive"
    assert verdict([91.0], [90.0]) == "inconclusive"     # neither learned: a tie at chance matches nothing
