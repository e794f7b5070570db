"""Verdict rules as objects: one expression both decides a claim and says in words how.

A rule is called as ``rule(outcome, preset) -> Verdict`` (so it is a claim's ``verdict``), and
``rule.text()`` is the sentence ``paperzoo show <claim>`` and the report print: the two come from
the same object and cannot drift. Every rule reads intervals of
:class:`~paperzoo.claims.stats.Estimate`\\ s from the outcome, so every verdict follows the one
statistics policy of :mod:`paperzoo.claims.stats`.

The vocabulary:

- comparisons of arms on one metric: :func:`lower`, :func:`higher`, :func:`ordered`,
  :func:`equivalent` (two one-sided tests against a margin δ);
- one quantity against a bound or a number: :func:`at_least`, :func:`at_most`, :func:`within`;
- a censored measurement (iterations until a threshold, which a run may never reach): :func:`censored`;
- composition: :func:`all_of`;
- guards, checked before anything else, which make a verdict inconclusive: :func:`long_enough`
  (the run is shorter than the claim needs) and :func:`learned` (an arm stayed at chance);
- :func:`custom` for a claim whose rule does not fit (its function decides, its text is given).

Arms and bounds may depend on the preset: pass :class:`Of`\\ ``(function, "words")``, e.g.
``Of(lambda p: p.models[-1], "the deepest net")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .outcome import Outcome, Status, Verdict
from .stats import DIFFERENCE_LEVEL, EQUIVALENCE_LEVEL, Estimate

T = TypeVar("T")


@dataclass(frozen=True)
class Of(Generic[T]):
    """A value read from the preset when the rule is applied, and the words for it in the rule's text."""

    get: Callable[[Any], T]
    words: str

    def __call__(self, preset: Any) -> T:
        return self.get(preset)


def _resolve(x: Any, preset: Any) -> Any:
    return x(preset) if isinstance(x, Of) else x


def _words(x: Any) -> str:
    if isinstance(x, Of):
        return x.words
    if isinstance(x, (list, tuple)):
        return ", ".join(map(str, x))
    return f"{x:g}" if isinstance(x, float) else str(x)


class Rule:
    """``rule(outcome, preset) -> Verdict``; ``rule.text()``: the rule in words."""

    guard = False

    def __call__(self, out: Outcome, preset: Any = None) -> Verdict:
        return self.decide(out, preset)

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def condition(self) -> str:
        """What must be true for the rule to hold, as a clause (used inside :func:`all_of`)."""
        return self.text()


# --- comparisons of two arms ----------------------------------------------------------------------

def _label(metric: str) -> str:
    return metric.replace("_", " ")


@dataclass(frozen=True)
class Lower(Rule):
    a: Any
    than: Any
    metric: str = "test_error"
    unit: str = "%"
    ruled_out: Any = None     # the paper's effect (than - a, same unit): refuted when the gain is surely below it
    minimum: Any = None       # the smallest gain that counts (same unit): smaller differences decide nothing
    level: float = DIFFERENCE_LEVEL

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        a, b = _resolve(self.a, preset), _resolve(self.than, preset)
        est = out.difference(self.metric, a, b)
        reason = (f"{_label(self.metric)} of {a} {out.fmt(f'{self.metric}/{a}')}{self.unit} vs {b} "
                  f"{out.fmt(f'{self.metric}/{b}')}{self.unit}: difference {est.describe(self.unit, level=self.level)}")
        if not est.measured:
            return Verdict("inconclusive", f"{reason}; with one seed and no evaluation noise recorded there is no "
                                           "noise model, so nothing can be decided")
        lo, hi = est.interval(self.level)
        minimum = _resolve(self.minimum, preset) or 0.0
        if hi < 0 and -est.value >= minimum:
            return Verdict("holds", reason)
        if lo > 0 and est.value >= minimum:
            return Verdict("does not hold", f"{reason}: reversed beyond the noise")
        if minimum and (hi < 0 or lo > 0):
            return Verdict("inconclusive", f"{reason}: beyond the noise but smaller than the {minimum:g}{self.unit} "
                                           "that counts")
        effect = _resolve(self.ruled_out, preset)
        if effect is not None and -lo < effect:
            return Verdict("does not hold", f"{reason}: a gain of {effect:g}{self.unit} (the paper's) is ruled out")
        return Verdict("inconclusive", f"{reason}: within the noise")

    def condition(self) -> str:
        return f"{_words(self.a)}'s {_label(self.metric)} is below {_words(self.than)}'s"

    def text(self) -> str:
        refute = (f", or when the gain's interval lies wholly below {_words(self.ruled_out)}{self.unit} (the paper's "
                  "effect ruled out)" if self.ruled_out is not None else "")
        least = (f" and the difference is at least {_words(self.minimum)}{self.unit} (the smallest that counts)"
                 if self.minimum is not None else "")
        return (f"holds if {self.condition()}: the {self.level:.0%} interval of the difference lies below 0{least}; "
                f"does not hold if it lies above 0{refute}; inconclusive otherwise")


def lower(a: Any, *, than: Any, metric: str = "test_error", unit: str = "%", ruled_out: Any = None,
          minimum: Any = None) -> Lower:
    """``a``'s ``metric`` is below ``than``'s beyond the noise (and by at least ``minimum``, the
    smallest effect that counts). ``ruled_out``: the paper's effect (``than - a``); the claim does
    not hold when the gain's interval lies wholly below it."""
    return Lower(a, than, metric, unit, ruled_out, minimum)


def higher(a: Any, *, than: Any, metric: str = "test_error", unit: str = "%", ruled_out: Any = None,
           minimum: Any = None) -> Lower:
    """``a``'s ``metric`` is above ``than``'s beyond the noise (``lower(than, than=a)``)."""
    return Lower(than, a, metric, unit, ruled_out, minimum)


@dataclass(frozen=True)
class NotAbove(Rule):
    a: Any
    than: Any
    by: Any
    metric: str = "test_error"
    unit: str = "%"

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        a, b, delta = _resolve(self.a, preset), _resolve(self.than, preset), _resolve(self.by, preset)
        est = out.difference(self.metric, a, b)
        shown = est.describe(self.unit, level=EQUIVALENCE_LEVEL)
        reason = (f"{_label(self.metric)} of {a} {out.fmt(f'{self.metric}/{a}')}{self.unit} vs {b} "
                  f"{out.fmt(f'{self.metric}/{b}')}{self.unit}: difference {shown}, margin {delta:g}{self.unit}")
        if not est.measured:
            return Verdict("inconclusive", f"{reason}: no noise model (one seed, no evaluation noise recorded)")
        lo, hi = est.interval(EQUIVALENCE_LEVEL)
        if hi < delta:
            return Verdict("holds", f"{reason}: not above by the margin")
        if lo > delta:
            return Verdict("does not hold", f"{reason}: above by more than the margin")
        return Verdict("inconclusive", f"{reason}: the interval reaches the margin")

    def condition(self) -> str:
        return (f"{_words(self.a)}'s {_label(self.metric)} is not above {_words(self.than)}'s by "
                f"{_words(self.by)}{self.unit} or more")

    def text(self) -> str:
        return (f"holds if {self.condition()}: the upper end of the {EQUIVALENCE_LEVEL:.0%} interval of the "
                "difference (a one-sided test at 5%) is below the margin; does not hold if the whole interval is "
                "above it; inconclusive otherwise")


def not_above(a: Any, *, than: Any, by: Any, metric: str = "test_error", unit: str = "%") -> NotAbove:
    """Non-inferiority: ``a``'s ``metric`` does not exceed ``than``'s by the margin ``by`` or more
    (one-sided test at 5%): "no worse than" for an error, "no better than" for a gain."""
    return NotAbove(a, than, by, metric, unit)


def not_below(a: Any, *, than: Any, by: Any, metric: str = "test_error", unit: str = "%") -> NotAbove:
    """``a``'s ``metric`` is not below ``than``'s by ``by`` or more (``not_above(than, than=a)``)."""
    return NotAbove(than, a, by, metric, unit)


@dataclass(frozen=True)
class Ordered(Rule):
    arms: Any                 # sequence of arm labels, or Of(...)
    metric: str = "test_error"
    unit: str = "%"

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        arms = list(_resolve(self.arms, preset))
        listing = ", ".join(f"{a} {out.fmt(f'{self.metric}/{a}')}{self.unit}" for a in arms)
        ends = out.difference(self.metric, arms[-1], arms[0])
        steps = [(x, y, out.difference(self.metric, y, x)) for x, y in zip(arms, arms[1:])]
        reversed_ = [f"{y} above {x}" for x, y, e in steps if e.measured and e.interval()[0] > 0]
        reason = f"{listing}; last minus first {ends.describe(self.unit)}"
        if not ends.measured:
            return Verdict("inconclusive", f"{reason}: no noise model (one seed, no evaluation noise recorded)")
        lo, hi = ends.interval()
        if lo > 0 or reversed_:
            where = "; ".join(reversed_) or "the ends"
            return Verdict("does not hold", f"{reason}: reversed beyond the noise ({where})")
        if hi < 0:
            return Verdict("holds", f"{reason}: falls from first to last with no reversal beyond the noise")
        return Verdict("inconclusive", f"{reason}: the ends differ by less than the noise")

    def condition(self) -> str:
        return f"{_label(self.metric)} falls along {_words(self.arms)}"

    def text(self) -> str:
        return (f"holds if {self.condition()}: the last is below the first (95% interval of the difference below 0) "
                "and no neighbour is above the one before it beyond the noise; does not hold if the ends or any "
                "neighbours are reversed beyond the noise; inconclusive otherwise")


def ordered(arms: Any, *, metric: str = "test_error", unit: str = "%") -> Ordered:
    """``metric`` falls from the first arm to the last, with no reversal beyond the noise."""
    return Ordered(arms, metric, unit)


@dataclass(frozen=True)
class Equivalent(Rule):
    a: Any
    b: Any
    within: Any
    metric: str = "test_error"
    unit: str = "%"

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        a, b, delta = _resolve(self.a, preset), _resolve(self.b, preset), _resolve(self.within, preset)
        return equivalence_verdict(out.difference(self.metric, a, b), delta, self.unit,
                                   f"{_label(self.metric)} of {a} {out.fmt(f'{self.metric}/{a}')}{self.unit} vs {b} "
                                   f"{out.fmt(f'{self.metric}/{b}')}{self.unit}: difference")

    def condition(self) -> str:
        return (f"{_words(self.a)} and {_words(self.b)} differ in {_label(self.metric)} by less than "
                f"{_words(self.within)}")

    def text(self) -> str:
        return (f"holds if {self.condition()}{self.unit}: the {EQUIVALENCE_LEVEL:.0%} interval of the difference (two "
                f"one-sided tests at 5%) lies inside ±{_words(self.within)}{self.unit}; does not hold if it lies "
                "outside that margin; inconclusive otherwise (an interval wider than the margin decides nothing)")


def equivalent(a: Any, b: Any, *, within: Any, metric: str = "test_error", unit: str = "%") -> Equivalent:
    """No difference: ``a`` and ``b``'s ``metric`` agree within ``within`` (TOST)."""
    return Equivalent(a, b, within, metric, unit)


def equivalence_verdict(est: Estimate, delta: float, unit: str, what: str) -> Verdict:
    """The TOST decision for an estimated difference and a margin ``delta``."""
    reason = f"{what} {est.describe(unit, level=EQUIVALENCE_LEVEL)}, margin ±{delta:g}{unit}"
    if not est.measured:
        return Verdict("inconclusive", f"{reason}: no noise model (one seed, no evaluation noise recorded)")
    lo, hi = est.interval(EQUIVALENCE_LEVEL)
    if -delta < lo and hi < delta:
        return Verdict("holds", f"{reason}: the interval lies inside the margin")
    if lo > delta or hi < -delta:
        return Verdict("does not hold", f"{reason}: the interval lies outside the margin")
    return Verdict("inconclusive", f"{reason}: the interval is not inside the margin")


# --- one quantity -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bound(Rule):
    key: Any
    bound: Any
    above: bool            # at_least (True) or at_most (False)
    fails: Any = None      # the bound beyond which the claim does not hold (default: the bound itself)
    unit: str = ""
    words: str = ""

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        key, bound = _resolve(self.key, preset), _resolve(self.bound, preset)
        fails = _resolve(self.fails, preset)
        fails = bound if fails is None else fails
        est = out.estimate(key)
        lo, hi = est.interval()
        shown = f"{self.words or key} {out.fmt(key)}{self.unit}" + (
            " (exact)" if est.measured and est.se == 0 else f" ({est.describe(self.unit)} around the mean)")
        if not est.measured:
            return Verdict("inconclusive", f"{shown}: no noise model (one seed, no measurement noise recorded; an "
                                           "exact quantity is recorded with Outcome.add_exact)")
        if self.above:
            if lo >= bound:
                return Verdict("holds", f"{shown}: at least {bound:g}{self.unit}")
            if hi < fails:
                return Verdict("does not hold", f"{shown}: below {fails:g}{self.unit}")
        else:
            if hi <= bound:
                return Verdict("holds", f"{shown}: at most {bound:g}{self.unit}")
            if lo > fails:
                return Verdict("does not hold", f"{shown}: above {fails:g}{self.unit}")
        return Verdict("inconclusive", f"{shown}: between the bounds, or not decided by the noise")

    def condition(self) -> str:
        relation = "at least" if self.above else "at most"
        return f"{self.words or _words(self.key)} is {relation} {_words(self.bound)}{self.unit}"

    def text(self) -> str:
        fails = _words(self.fails if self.fails is not None else self.bound)
        return (f"holds if {self.condition()} (the whole 95% interval, or the value itself when it is exact); does "
                f"not hold if the interval lies {'below' if self.above else 'above'} {fails}{self.unit}; inconclusive "
                "otherwise")


def at_least(key: Any, bound: Any, *, fails_below: Any = None, unit: str = "", words: str = "") -> Bound:
    """Metric ``key`` is at least ``bound`` (whole interval); does not hold below ``fails_below``."""
    return Bound(key, bound, True, fails_below, unit, words)


def at_most(key: Any, bound: Any, *, fails_above: Any = None, unit: str = "", words: str = "") -> Bound:
    """Metric ``key`` is at most ``bound`` (whole interval); does not hold above ``fails_above``."""
    return Bound(key, bound, False, fails_above, unit, words)


@dataclass(frozen=True)
class Within(Rule):
    key: Any
    target: Any
    tolerance: Any
    unit: str = ""
    words: str = ""

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        key, target, tol = (_resolve(x, preset) for x in (self.key, self.target, self.tolerance))
        est = out.estimate(key)
        shifted = Estimate(est.value - target, est.se, est.df, est.seeds, est.sources)
        return equivalence_verdict(shifted, tol, self.unit, f"{self.words or key} {est.value:.3g}{self.unit}, minus "
                                                            f"the target {target:g}{self.unit}:")

    def condition(self) -> str:
        band = f"±{_words(self.tolerance)}{self.unit}"
        return f"{self.words or _words(self.key)} matches {_words(self.target)} within {band}"

    def text(self) -> str:
        return (f"holds if {self.condition()} (its {EQUIVALENCE_LEVEL:.0%} interval inside the band); does not hold if "
                "the interval lies outside the band; inconclusive otherwise")


def within(key: Any, target: Any, *, tolerance: Any, unit: str = "", words: str = "") -> Within:
    """Metric ``key`` equals ``target`` within ``tolerance`` (one-sample equivalence)."""
    return Within(key, target, tolerance, unit, words)


# --- guards ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LongEnough(Rule):
    steps: Any             # the training the claim needs (iterations), or Of(...)
    why: str = ""

    guard = True

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        need = _resolve(self.steps, preset)
        ran = out.values.get("train_steps")
        if ran is None:
            ran = getattr(getattr(preset, "train", None), "steps", None)
        if ran is None or ran >= need:
            return Verdict("holds", "")
        return Verdict("inconclusive", f"this preset trains for {ran:,.0f} iterations, shorter than the {need:,.0f} "
                                       f"the claim needs{f' ({self.why})' if self.why else ''}: reported, not judged")

    def text(self) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"inconclusive if the run trains for fewer than {_words(self.steps)} iterations{why}"


def long_enough(steps: Any, *, why: str = "") -> LongEnough:
    """Guard: a run shorter than ``steps`` iterations is inconclusive (reported, not judged)."""
    return LongEnough(steps, why)


@dataclass(frozen=True)
class Learned(Rule):
    arms: Any
    chance: Any
    metric: str = "test_error"

    guard = True

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        chance = _resolve(self.chance, preset)
        stuck = []
        for arm in _resolve(self.arms, preset):
            est = out.estimate(f"{self.metric}/{arm}")
            if not math.isfinite(est.value) or est.interval()[1] >= chance:
                stuck.append(f"{arm} {out.fmt(f'{self.metric}/{arm}')}%")
        if stuck:
            return Verdict("inconclusive", f"did not learn: {', '.join(stuck)} is not below chance ({chance:g}%) "
                                           "beyond the noise")
        return Verdict("holds", "")

    def text(self) -> str:
        return (f"inconclusive if any of {_words(self.arms)} has a {_label(self.metric)} not below chance "
                f"({_words(self.chance)}%)")


def learned(arms: Any, *, chance: Any = 90.0, metric: str = "test_error") -> Learned:
    """Guard: every arm's ``metric`` (an error, %) is below ``chance`` beyond the noise."""
    return Learned(arms, chance, metric)


@dataclass(frozen=True)
class Censored(Rule):
    """``rule`` on a ratio of iterations to a threshold, slow / fast (:func:`paperzoo.claims.speed.record_crossing`)."""

    rule: Rule
    fast: str
    slow: str

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        if out.values[f"reached/{self.fast}"] < 1:
            return Verdict("inconclusive", f"{self.fast} did not reach the threshold in every seed: train longer")
        verdict = self.rule(out, preset)
        if verdict.status == "does not hold" and out.values[f"reached/{self.slow}"] < 1:
            return Verdict("inconclusive", f"{verdict.reason}; but {self.slow} did not reach the threshold in every "
                                           "seed, so the ratio is only a lower bound")
        return verdict

    def condition(self) -> str:
        return self.rule.condition()

    def text(self) -> str:
        return (f"{self.rule.text()}; a {self.slow} net that never reaches the threshold counts at the run's length "
                "(a lower bound, which can establish the ratio but not refute it); inconclusive if "
                f"{self.fast} does not reach the threshold in every seed")


def censored(rule: Rule, *, fast: str, slow: str) -> Censored:
    """``rule`` on a censored measurement: the ratio of iterations to a threshold, ``slow`` / ``fast``.
    A slow arm that never reaches it gives a lower bound (which can establish a large ratio, never
    refute it); a fast arm that never reaches it leaves the claim inconclusive."""
    return Censored(rule, fast, slow)


# --- composition ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AllOf(Rule):
    rules: tuple[Rule, ...]

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        for guard in (r for r in self.rules if r.guard):
            v = guard(out, preset)
            if v.status != "holds":   # a guard can only pass or leave the claim undecided
                return Verdict("inconclusive", v.reason)
        verdicts = [r(out, preset) for r in self.rules if not r.guard]
        status: Status = ("does not hold" if any(v.status == "does not hold" for v in verdicts) else
                          "holds" if all(v.status == "holds" for v in verdicts) else "inconclusive")
        first = [v for v in verdicts if v.status == status] + [v for v in verdicts if v.status != status]
        return Verdict(status, "; ".join(v.reason for v in first if v.reason))

    def condition(self) -> str:
        return " and ".join(r.condition() for r in self.rules if not r.guard)

    def text(self) -> str:
        parts = [r for r in self.rules if not r.guard]
        guards = "; ".join(r.text() for r in self.rules if r.guard)
        body = parts[0].text() if len(parts) == 1 else (
            "holds if every part holds, does not hold if any part does not, inconclusive otherwise: "
            + "; ".join(f"({i}) {r.text()}" for i, r in enumerate(parts, 1)))
        return f"{guards}; otherwise {body}" if guards else body


def all_of(*rules: Rule) -> AllOf:
    """Holds if every rule holds, does not hold if any does not; guards first."""
    return AllOf(tuple(rules))


@dataclass(frozen=True)
class Each(Rule):
    """:func:`all_of` over rules made from the preset: ``make(*args)`` for each tuple of ``over``."""

    over: Of[Any]
    make: Callable[..., Rule]
    example: tuple[Any, ...]   # arguments for the rule shown in the text

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        rules = [self.make(*args) for args in self.over(preset)]
        if not rules:
            return Verdict("inconclusive", f"this preset has no {self.over.words} to compare")
        return AllOf(tuple(rules))(out, preset)

    def condition(self) -> str:
        return f"for each of {self.over.words}: {self.make(*self.example).condition()}"

    def text(self) -> str:
        return (f"holds if, for each of {self.over.words}, the rule holds, does not hold if it fails for any, "
                f"inconclusive otherwise; the rule, e.g.: {self.make(*self.example).text()}")


def each(over: Of[Any], make: Callable[..., Rule], *, example: tuple[Any, ...]) -> Each:
    """``make(*args)`` for every ``args`` that ``over`` gives for the preset, all of which must hold;
    ``example`` names the arguments shown in the rule's text."""
    return Each(over, make, tuple(example))


@dataclass(frozen=True)
class Custom(Rule):
    fn: Callable[[Outcome, Any], Verdict]
    words: str
    guard: bool = False

    def decide(self, out: Outcome, preset: Any) -> Verdict:
        return self.fn(out, preset)

    def text(self) -> str:
        return self.words


def custom(fn: Callable[[Outcome, Any], Verdict], text: str, *, guard: bool = False) -> Custom:
    """A claim's own rule: ``fn`` decides, ``text`` says how (keep them side by side). With ``guard``,
    it is checked before the other rules of an :func:`all_of` and may only pass ("holds") or make
    the verdict inconclusive (a condition the claim needs, such as the paper's own models)."""
    return Custom(fn, text, guard)


def rule_text(verdict: Callable[..., Verdict] | Rule, fallback: str = "") -> str:
    """The words of a claim's verdict: the rule's own text, or ``fallback`` for a plain function."""
    return verdict.text() if isinstance(verdict, Rule) else fallback


__all__ = ["Of", "Rule", "all_of", "at_least", "at_most", "censored", "custom", "each", "equivalent",
           "equivalence_verdict", "higher", "learned", "long_enough", "lower", "not_above", "not_below", "ordered",
           "rule_text", "within"]
