"""The statistics policy and the verdict rules, on constructed outcomes with known answers."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest
from scipy import stats as scipy_stats

from paperzoo.claims import rules as R
from paperzoo.claims import stats as S
from paperzoo.claims.outcome import Outcome


def outcome(**per_seed: list[float]) -> Outcome:
    out = Outcome()
    for key, values in per_seed.items():
        out.add(key.replace("__", "/"), values)
    return out


# --- quantiles and estimates --------------------------------------------------------------------

@pytest.mark.parametrize("df", [0.5, 1, 2, 3, 4, 7, 30, 1000, math.inf])
@pytest.mark.parametrize("p", [0.6, 0.95, 0.975, 0.995])
def test_t_quantiles_equal_scipy(df, p):
    assert S.t_quantile(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), rel=1e-9, abs=1e-12)
    assert S.t_quantile(1 - p, df) == pytest.approx(-S.t_quantile(p, df), rel=1e-12)


def test_two_and_three_seeds_use_student_t_not_z2():
    two = outcome(e__a=[10.0, 12.0], e__b=[11.0, 15.0]).difference("e", "a", "b")   # diffs -1, -3
    assert (two.value, two.se, two.df, two.seeds) == (-2.0, pytest.approx(1.0), pytest.approx(1.0), 2)
    assert two.interval() == pytest.approx((-2 - 12.7062047, -2 + 12.7062047))   # t(1), not 2 ± 2
    three = outcome(e__a=[10.0, 11.0, 12.0], e__b=[11.0, 13.0, 15.0]).difference("e", "a", "b")   # -1, -2, -3
    half_width = scipy_stats.t.ppf(0.975, 2) * 1 / math.sqrt(3)
    assert three.interval() == pytest.approx((-2 - half_width, -2 + half_width))
    # z = 2 would call it (-2 ± 1.15 excludes 0); t with 2 df does not (-2 ± 2.48)
    assert R.lower("a", than="b", metric="e")(outcome(e__a=[10.0, 11.0, 12.0], e__b=[11.0, 13.0, 15.0])).status \
        == "inconclusive"
    many = outcome(e__a=[10.0, 11.0, 12.0] * 3, e__b=[11.0, 13.0, 15.0] * 3)
    assert R.lower("a", than="b", metric="e")(many).status == "holds"


def test_one_seed_without_evaluation_noise_decides_nothing():
    out = outcome(e__a=[10.0], e__b=[40.0])
    est = out.difference("e", "a", "b")
    assert not est.measured and est.seeds == 1
    verdict = R.lower("a", than="b", metric="e")(out)
    assert verdict.status == "inconclusive" and "no noise model" in verdict.reason


def test_one_seed_with_items_is_mcnemar_and_says_seed_variance_is_unmeasured():
    rng = random.Random(0)
    n = 2000
    a = [100.0 * (rng.random() < 0.30) for _ in range(n)]
    b = [x if rng.random() < 0.8 else 100.0 * (rng.random() < 0.5) for x in a]   # correlated with a
    out = Outcome()
    out.add_items("e/a", [a])
    out.add_items("e/b", [b])
    est = out.difference("e", "a", "b")
    fixes = sum(x == 0 and y == 100 for x, y in zip(a, b)) / n
    breaks = sum(x == 100 and y == 0 for x, y in zip(a, b)) / n
    mcnemar = 100 * math.sqrt((fixes + breaks - (fixes - breaks) ** 2) / n)
    assert est.se == pytest.approx(mcnemar, rel=1e-3)   # var/(N-1) against McNemar's var/N
    unpaired = math.hypot(S.binomial_se(out.values["e/a"], n), S.binomial_se(out.values["e/b"], n))
    assert est.se < unpaired   # pairing on the same images removes the shared variance
    assert "seed variance unmeasured (one seed)" in est.describe("%")


def test_a_paired_test_on_identical_predictions_gives_no_difference():
    predictions = [[100.0 * (i % 7 == 0) for i in range(1000)] for _ in range(3)]
    out = Outcome()
    out.add_items("e/a", predictions)
    out.add_items("e/b", predictions)
    est = out.difference("e", "a", "b")
    assert est.value == 0 and est.se == 0 and est.interval() == (0.0, 0.0)
    assert R.lower("a", than="b", metric="e")(out).status == "inconclusive"
    assert R.equivalent("a", "b", within=0.5, metric="e")(out).status == "holds"


def test_seed_and_item_noise_add_with_satterthwaite_degrees_of_freedom():
    est = S.combine(1.0, [(4.0, 2, "seeds"), (4.0, math.inf, "items")], seeds=3)
    assert est.se == pytest.approx(math.sqrt(8)) and est.df == pytest.approx(8 * 8 / (16 / 2))


# --- equivalence ------------------------------------------------------------------------------------

def test_equivalence_with_a_wide_interval_is_inconclusive_and_with_a_narrow_one_holds():
    rule = R.equivalent("a", "b", within=1.0)
    wide = outcome(test_error__a=[50.0, 52.0, 48.0], test_error__b=[50.0, 49.0, 52.0])   # diffs 0, 3, -4
    assert rule(wide).status == "inconclusive" and "not inside the margin" in rule(wide).reason
    narrow = outcome(test_error__a=[50.0, 50.2, 49.9, 50.1], test_error__b=[50.1, 50.0, 50.0, 50.0])
    assert rule(narrow).status == "holds"
    apart = outcome(test_error__a=[55.0, 55.2, 54.9, 55.1], test_error__b=[50.1, 50.0, 50.0, 50.0])
    assert rule(apart).status == "does not hold"
    assert "two one-sided tests" in rule.text() and "±1" in rule.text()


def test_within_a_paper_number_is_one_sample_equivalence():
    close = outcome(ratio=[2.02, 1.98, 2.01, 1.99])
    assert R.within("ratio", 2.0, tolerance=0.1)(close).status == "holds"
    assert R.within("ratio", 3.0, tolerance=0.1)(close).status == "does not hold"
    assert R.within("ratio", 2.0, tolerance=0.1)(outcome(ratio=[1.5, 2.5, 2.0])).status == "inconclusive"


# --- guards and composition -------------------------------------------------------------------------

def test_a_too_short_run_is_inconclusive_whatever_it_shows():
    decisive = outcome(test_error__deep=[30.0, 30.1, 29.9, 30.0], test_error__shallow=[60.0, 60.2, 59.8, 60.1])
    rule = R.all_of(R.long_enough(R.Of(lambda p: 0.3 * p.paper_steps, "30% of the paper's schedule")),
                    R.lower("deep", than="shallow"))
    short = SimpleNamespace(train=SimpleNamespace(steps=400), paper_steps=64000)
    verdict = rule(decisive, short)
    assert verdict.status == "inconclusive" and "shorter than the 19,200" in verdict.reason
    assert rule(decisive, SimpleNamespace(train=SimpleNamespace(steps=64000), paper_steps=64000)).status == "holds"
    reversed_ = outcome(test_error__deep=[60.0, 60.2, 59.8, 60.1], test_error__shallow=[30.0, 30.1, 29.9, 30.0])
    assert rule(reversed_, short).status == "inconclusive"   # not "does not hold" from a short run
    decisive.values["train_steps"] = 20000   # the measured length wins over the preset's
    assert rule(decisive, short).status == "holds"
    assert rule.text().startswith("inconclusive if the run trains for fewer than 30% of the paper's schedule")


def test_an_arm_at_chance_makes_the_verdict_inconclusive():
    rule = R.all_of(R.learned(["a", "b"]), R.lower("a", than="b"))
    stuck = outcome(test_error__a=[50.0, 51.0, 49.0], test_error__b=[90.0, 90.5, 89.5])
    assert rule(stuck).status == "inconclusive" and "did not learn" in rule(stuck).reason
    ok = outcome(test_error__a=[50.0, 51.0, 49.0], test_error__b=[70.0, 70.5, 69.5])
    assert rule(ok).status == "holds"


def test_all_of_holds_only_when_every_part_holds():
    out = outcome(test_error__a=[10.0, 10.1, 9.9, 10.0], test_error__b=[20.0, 20.1, 19.9, 20.0],
                  test_error__c=[20.0, 21.0, 19.0, 20.5])
    assert R.all_of(R.lower("a", than="b"), R.lower("a", than="c"))(out).status == "holds"
    assert R.all_of(R.lower("a", than="b"), R.lower("b", than="a"))(out).status == "does not hold"
    assert R.all_of(R.lower("a", than="b"), R.equivalent("b", "c", within=0.1))(out).status == "inconclusive"


def test_ordered_allows_ties_between_neighbours_but_not_reversals():
    rule = R.ordered(["a", "b", "c"])
    falls = outcome(test_error__a=[30.0, 30.2, 29.8], test_error__b=[25.0, 25.3, 24.6],
                    test_error__c=[20.0, 20.2, 19.8])
    assert rule(falls).status == "holds"
    flat_end = outcome(test_error__a=[30.0, 30.2, 29.8], test_error__b=[20.0, 20.3, 19.6],
                       test_error__c=[20.1, 20.0, 19.9])
    assert rule(flat_end).status == "holds"
    bump = outcome(test_error__a=[30.0, 30.2, 29.8], test_error__b=[35.0, 35.3, 34.6],
                   test_error__c=[20.0, 20.2, 19.8])
    assert rule(bump).status == "does not hold"


def test_lower_can_rule_out_the_papers_effect():
    out = outcome(test_error__lrn=[20.0, 20.1, 19.9, 20.0], test_error__plain=[20.2, 20.2, 20.1, 20.3])
    assert R.lower("lrn", than="plain")(out).status in ("holds", "inconclusive")
    ruled_out = R.lower("lrn", than="plain", ruled_out=2.0)(outcome(
        test_error__lrn=[20.0, 20.1, 19.9, 20.0], test_error__plain=[20.0, 20.0, 20.1, 20.0]))
    assert ruled_out.status == "does not hold" and "ruled out" in ruled_out.reason


def test_bounds_on_one_quantity():
    fast = outcome(speedup=[6.1, 5.8, 6.3])
    assert R.at_least("speedup", 3.0, fails_below=1.5)(fast).status == "holds"
    assert R.at_least("speedup", 3.0, fails_below=1.5)(outcome(speedup=[1.1, 1.0, 1.2])).status == "does not hold"
    assert R.at_least("speedup", 3.0, fails_below=1.5)(outcome(speedup=[2.0, 2.1, 2.2])).status == "inconclusive"
    assert R.at_most("ratio", 0.5)(outcome(ratio=[0.1, 0.12, 0.11])).status == "holds"
    assert R.at_most("mismatches", 0)(outcome(mismatches=[0.0])).status == "inconclusive"   # no noise model
    exact = Outcome()
    exact.add_exact("mismatches", 0)   # a count: exact, so it stands as it is
    assert R.at_most("mismatches", 0)(exact).status == "holds" and "(exact)" in R.at_most("mismatches", 0)(exact).reason


def test_non_inferiority_and_minimum_effects():
    close = outcome(test_error__new=[20.3, 20.1, 20.4, 20.2], test_error__old=[20.0, 20.0, 20.1, 20.0])
    assert R.not_above("new", than="old", by=1.0)(close).status == "holds"
    worse = outcome(test_error__new=[23.3, 23.1, 23.4, 23.2], test_error__old=[20.0, 20.0, 20.1, 20.0])
    assert R.not_above("new", than="old", by=1.0)(worse).status == "does not hold"
    assert R.not_below("old", than="new", by=1.0)(close).status == "holds"
    small = outcome(bleu__a=[30.3, 30.2, 30.4, 30.3], bleu__b=[30.0, 30.0, 30.1, 30.0])
    assert R.higher("a", than="b", metric="bleu")(small).status == "holds"
    assert R.higher("a", than="b", metric="bleu", minimum=1.0)(small).status == "inconclusive"
    big = outcome(bleu__a=[32.3, 32.2, 32.4, 32.3], bleu__b=[30.0, 30.0, 30.1, 30.0])
    assert R.higher("a", than="b", metric="bleu", minimum=1.0)(big).status == "holds"


def test_a_custom_guard_can_only_pass_or_leave_the_claim_undecided():
    from paperzoo.claims.outcome import Verdict

    refuses = R.custom(lambda o, p: Verdict("does not hold", "not the paper's models"), "needs the paper's models",
                       guard=True)
    out = outcome(test_error__a=[10.0, 10.1, 9.9, 10.0], test_error__b=[20.0, 20.1, 19.9, 20.0])
    verdict = R.all_of(refuses, R.lower("a", than="b"))(out)
    assert verdict.status == "inconclusive" and "paper's models" in verdict.reason


def test_small_numbers_are_not_shown_as_zero():
    assert S.number(1.6e-15) == "1.6e-15" and S.number(0.004) == "0.004" and S.number(12.345) == "12.35"
    assert S.number(0.0) == "0.00" and S.number(-2.5, sign=True) == "-2.50"


def test_every_rule_renders_its_own_text():
    rule = R.all_of(R.long_enough(1000), R.learned(["a"]), R.lower("a", than="b"), R.equivalent("a", "c", within=2),
                    R.at_least("speedup", 3), R.within("x", 1, tolerance=0.1), R.ordered(["a", "b"]))
    text = rule.text()
    for words in ("fewer than 1000 iterations", "not below chance", "a's test error is below b's", "±2%",
                  "speedup is at least 3", "x matches 1 within ±0.1", "falls along a, b"):
        assert words in text, words
    assert R.rule_text(R.custom(lambda o, p: None, "my words")) == "my words"
    assert R.rule_text(lambda o, p: None, "fallback") == "fallback"
