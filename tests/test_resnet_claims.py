"""The ResNet claims' verdict rules on constructed outcomes (each test image's error known), and
their guards (the smoke run of each claim is in test_claims.py)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from paperzoo.claims import Outcome
from paperzoo.claims.catalog import get_claim
from paperzoo.papers.resnet import experiments as ex

N = 10000
FULL = ex.CifarPreset(description="t", models=("plain20", "plain56"))


def per_image(rate: float, n: int = N, seed: int = 0) -> list[float]:
    """Each image's error (0 or 100), ``rate`` % of them wrong, the wrong ones chosen at random."""
    rng = random.Random(seed)
    wrong = set(rng.sample(range(n), round(rate * n / 100)))
    return [100.0 * (i in wrong) for i in range(n)]


def outcome(errors: dict[str, float], *, seeds: int = 1, steps: int = 64000, n: int = N,
            **more: dict[str, float]) -> Outcome:
    out = Outcome()
    for index, (arm, rate) in enumerate(errors.items()):   # arms err on independently drawn images
        out.add_items(f"test_error/{arm}", [per_image(rate, n, seed=100 * index + s) for s in range(seeds)])
    for metric, values in more.items():
        for arm, v in values.items():
            out.add(f"{metric}/{arm}", [v + 0.1 * s for s in range(seeds)])
            out.value_se[f"{metric}/{arm}"] = [0.3] * seeds
    out.values["train_steps"] = steps
    return out


def verdict(claim_id: str, out: Outcome, preset) -> str:
    return get_claim(claim_id).verdict(out, preset).status


def test_degradation_holds_when_the_deeper_plain_net_is_worse_on_both():
    out = outcome({"plain20": 9.0, "plain56": 12.0}, train_error={"plain20": 5.0, "plain56": 9.0})
    assert verdict("resnet.degradation", out, FULL) == "holds"
    out = outcome({"plain20": 9.0, "plain56": 9.1}, train_error={"plain20": 5.0, "plain56": 9.0})
    assert verdict("resnet.degradation", out, FULL) == "inconclusive"
    out = outcome({"plain20": 9.0, "plain56": 12.0}, train_error={"plain20": 5.0, "plain56": 2.0})
    assert verdict("resnet.degradation", out, FULL) == "does not hold"


def test_a_short_run_or_an_arm_at_chance_decides_nothing():
    decisive = outcome({"plain20": 9.0, "plain56": 12.0}, train_error={"plain20": 5.0, "plain56": 9.0}, steps=400)
    short = replace(FULL, train=ex.QUICK_RECIPE)
    v = get_claim("resnet.degradation").verdict(decisive, short)
    assert v.status == "inconclusive" and "400 iterations" in v.reason
    stuck = outcome({"plain20": 60.0, "plain56": 90.0}, train_error={"plain20": 50.0, "plain56": 90.0})
    assert verdict("resnet.degradation", stuck, FULL) == "inconclusive"


def test_depth_claims_are_ordered_and_table6_needs_the_full_recipe():
    preset = ex.CifarPreset(description="t", models=("resnet20", "resnet32", "resnet56"))
    out = outcome({"resnet20": 8.8, "resnet32": 7.5, "resnet56": 7.0})
    assert verdict("resnet.residual-depth", out, preset) == "holds"
    assert verdict("resnet.table6", out, preset) == "holds"
    out.values["train_steps"] = 20000
    assert verdict("resnet.residual-depth", out, preset) == "holds"
    assert verdict("resnet.table6", out, preset) == "inconclusive"   # not the recipe Table 6 reports
    reversed_ = outcome({"resnet20": 8.8, "resnet32": 7.5, "resnet56": 8.6})   # 32 -> 56 up by 1.1 points
    assert verdict("resnet.residual-depth", reversed_, preset) == "does not hold"


def test_shortcuts_hold_only_when_every_pair_is_inside_the_margin():
    preset = ex.CifarPreset(description="t", models=("resnet32",), shortcuts=("A", "B", "C"))
    assert verdict("resnet.shortcuts", outcome({"A": 7.6, "B": 7.4, "C": 7.3}), preset) == "holds"
    assert verdict("resnet.shortcuts", outcome({"A": 7.6, "B": 7.4, "C": 11.5}), preset) == "does not hold"
    few = outcome({"A": 52.9, "B": 50.9, "C": 54.6}, n=1000)   # the intervals are wider than the 2-point margin
    assert verdict("resnet.shortcuts", few, preset) == "inconclusive"


def test_responses_compare_paired_chunks():
    preset = ex.CifarPreset(description="t", models=("plain20", "resnet20", "resnet56"))

    def out_with(stds: dict[str, float]) -> Outcome:
        out = outcome({m: 10.0 for m in stds})
        for m, v in stds.items():
            out.add_items(f"response_std/{m}", [[v + 0.01 * (i % 3) for i in range(ex.RESPONSE_CHUNKS)]])
        return out

    assert verdict("resnet.responses", out_with({"plain20": 1.0, "resnet20": 0.6, "resnet56": 0.4}), preset) == "holds"
    assert verdict("resnet.responses", out_with({"plain20": 1.0, "resnet20": 0.6, "resnet56": 0.7}),
                   preset) == "does not hold"


@pytest.mark.parametrize("claim_id", ["resnet.degradation", "resnet.residual-depth", "resnet.table6",
                                      "resnet.responses", "resnet.shortcuts"])
def test_the_rule_text_comes_from_the_rule(claim_id):
    claim = get_claim(claim_id)
    assert claim.rule == "" and "holds if" in claim.rule_text and "inconclusive if the run trains" in claim.rule_text
