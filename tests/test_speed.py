"""Iterations to a threshold (claims.speed) and the censored rule that judges their ratio."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from paperzoo.claims import Outcome
from paperzoo.claims import rules as R
from paperzoo.claims.speed import record_crossing, steps_to_reach


def test_steps_to_reach_is_the_first_step_at_or_below_the_threshold():
    steps, errors = [10, 20, 30, 40], [60.0, 30.0, 25.0, 20.0]
    assert steps_to_reach(steps, errors, 25.0) == 30
    assert steps_to_reach(steps, errors, 59.0) == 20
    assert steps_to_reach(steps, [60.0, 20.0, 40.0, 10.0], 25.0) == 20  # the first crossing, not the last
    assert math.isinf(steps_to_reach(steps, errors, 5.0))


@dataclass
class Curves:
    """Stands in for an ArmResult: one training-error curve per seed."""

    per_seed: list[tuple[list[int], list[float]]]

    @property
    def runs(self) -> list[None]:
        return [None] * len(self.per_seed)

    def curve(self, split: str, key: str, seed_index: int = 0) -> tuple[list[int], list[float]]:
        return self.per_seed[seed_index]


def test_ratio_of_iterations_with_its_reading_noise():
    steps = list(range(25, 1001, 25))
    fast = Curves([(steps, [100.0 - s / 5 for s in steps])])        # 20% at 400
    slow = Curves([(steps, [100.0 - s / 25 for s in steps])])       # never below 60%: censored at 1000
    out = Outcome()
    record_crossing(out, "speedup", {"tanh": slow, "relu": fast}, ("train", "error"), 20.0, 1000, 25)
    assert out.per_seed["steps/relu"] == [400.0] and out.values["reached/relu"] == 1
    assert out.per_seed["steps/tanh"] == [1000.0] and out.values["reached/tanh"] == 0   # a lower bound
    q = 25 / math.sqrt(12)
    assert out.values["speedup"] == 2.5
    assert out.value_se["speedup"] == [pytest.approx(2.5 * math.hypot(q / 1000, q / 400))]


def test_censored_rule_counts_a_never_reached_slow_arm_as_a_lower_bound():
    rule = R.censored(R.at_least("ratio", 3.0, fails_below=1.5), fast="a", slow="b")

    def run(ratio: float, *, fast: bool = True, slow: bool = True) -> str:
        out = Outcome()
        out.add("reached/a", [float(fast)])
        out.add("reached/b", [float(slow)])
        out.add_exact("ratio", ratio)
        return rule(out).status

    assert run(4.0) == "holds" and run(4.0, slow=False) == "holds"            # a lower bound of 4 establishes 3
    assert run(1.0) == "does not hold" and run(1.0, slow=False) == "inconclusive"   # but cannot refute
    assert run(4.0, fast=False) == "inconclusive"                              # the fast arm never got there
    assert "lower bound" in rule.text() and "at least 3" in rule.text()
