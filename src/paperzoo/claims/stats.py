"""The one statistics policy every verdict follows.

A claim compares measurements: an arm's test error, a difference of two arms, a ratio of times.
Each becomes an :class:`Estimate` (a value, its standard error, and the degrees of freedom of
that error), and the verdict rules (:mod:`.rules`) read only intervals of estimates:

1. **Noise has two sources, both counted.** Seeds: arms trained with the same seed share their
   data order and initial draws, so the difference of two arms is taken seed by seed (paired),
   and its seed variance ``s²/n`` enters with ``n - 1`` degrees of freedom. The evaluation
   sample: when the per-item values are recorded (each test image's error, each sentence's
   loss), the items are paired across arms and seeds, and the variance of their seed-averaged
   difference over the ``N`` items enters as ``var/N`` (for 0/1 errors of one seed this is
   McNemar's variance). Where a metric is not a mean over items (corpus BLEU), the experiment
   records a measured standard error (a paired bootstrap). The two parts add; the degrees of
   freedom follow Welch-Satterthwaite.
2. **Few seeds use Student-t quantiles**, never z = 2. With one seed the seed variance is
   unmeasured: the interval rests on the evaluation noise alone and every verdict says so.
3. **A difference** is established when its two-sided 95% interval excludes 0; reversed when the
   interval lies on the other side.
4. **"No difference"** holds only when the 90% interval (two one-sided tests at 5%) lies inside a
   stated equivalence margin (-δ, δ); it does not hold when that interval lies outside [-δ, δ];
   an interval wider than the margin is inconclusive, never "holds".
5. **Too short is inconclusive**: a claim about final accuracy or convergence declares the
   training it needs (:func:`paperzoo.claims.rules.long_enough`); a shorter run is reported, not
   judged. A run whose arms did not learn (error not below chance) is inconclusive too.
6. **Every claim has a noise model**: a rule that finds neither seed variance nor evaluation
   noise for a comparison is inconclusive, never decisive.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: The version of this policy a result.json was judged under (results without one: the rules before it).
POLICY = 2
#: Two-sided level of difference tests; equivalence uses the (1 - 2α) interval of TOST at α = 5%.
DIFFERENCE_LEVEL = 0.95
EQUIVALENCE_LEVEL = 0.90


# --- quantiles -----------------------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (``inf``: the normal)."""
    if math.isinf(df):
        return statistics.NormalDist().cdf(t)
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` > 0 degrees of freedom (``inf``: the normal)."""
    if not 0 < p < 1:
        raise ValueError(f"a quantile needs 0 < p < 1, got {p}")
    if math.isinf(df) or df > 1e7:
        return statistics.NormalDist().inv_cdf(p)
    if p < 0.5:
        return -t_quantile(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):   # bisection to double precision
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2


# --- estimates -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    """A measured quantity: ``value`` with standard error ``se`` on ``df`` degrees of freedom.

    ``se`` is None when no noise was measured at all (one seed and no evaluation noise): such an
    estimate decides nothing. ``seeds`` is the number of seeds behind it; ``sources`` says which
    noise it carries ("seeds", "items", "bootstrap"), for the verdict's text.
    """

    value: float
    se: float | None
    df: float = math.inf
    seeds: int = 1
    sources: tuple[str, ...] = ()

    @property
    def measured(self) -> bool:
        return self.se is not None and math.isfinite(self.se)

    def interval(self, level: float = DIFFERENCE_LEVEL) -> tuple[float, float]:
        """The two-sided ``level`` interval (``(-inf, inf)`` when no noise was measured)."""
        if not self.measured:
            return -math.inf, math.inf
        if not math.isfinite(self.value):
            return self.value, self.value
        q = t_quantile(0.5 + level / 2, self.df) if self.se > 0 else 0.0
        return self.value - q * self.se, self.value + q * self.se

    def describe(self, unit: str = "", digits: int = 2, level: float = DIFFERENCE_LEVEL) -> str:
        """``-4.10 (95% interval -8.60 to 0.40; t, 2 df)``: what a verdict's reason shows."""
        value = number(self.value, digits, sign=True)
        if not self.measured:
            return f"{value}{unit} (no noise measured)"
        if self.se == 0:
            return f"{value}{unit} (exact)"
        lo, hi = self.interval(level)
        dist = "normal" if math.isinf(self.df) or self.df > 1e6 else f"t, {self.df:.3g} df"
        note = "; seed variance unmeasured (one seed)" if self.seeds == 1 else ""
        return (f"{value}{unit} ({level:.0%} interval {number(lo, digits, sign=True)} to "
                f"{number(hi, digits, sign=True)}; {dist}{note})")


def combine(value: float, parts: Sequence[tuple[float, float, str]], seeds: int) -> Estimate:
    """An estimate whose variance is the sum of ``parts``: (variance, degrees of freedom, source).
    Degrees of freedom by Welch-Satterthwaite."""
    parts = [(v, df, s) for v, df, s in parts if v is not None and math.isfinite(v)]
    if not parts:
        return Estimate(value, None, math.inf, seeds)
    total = sum(v for v, _, _ in parts)
    if total == 0:
        return Estimate(value, 0.0, math.inf, seeds, tuple(s for _, _, s in parts))
    denominator = sum(v * v / df for v, df, _ in parts if math.isfinite(df) and df > 0)
    df = total * total / denominator if denominator > 0 else math.inf
    return Estimate(value, math.sqrt(total), df, seeds, tuple(s for _, _, s in parts))


def seed_part(per_seed: Sequence[float]) -> tuple[float, float, str] | None:
    """The seed variance of a mean over ``len(per_seed)`` seeds: (s²/n, n - 1, "seeds"), or None
    for one seed (unmeasured)."""
    n = len(per_seed)
    if n < 2 or not all(math.isfinite(x) for x in per_seed):
        return None
    return statistics.variance(per_seed) / n, n - 1, "seeds"


def item_part(per_item: Sequence[float]) -> tuple[float, float, str] | None:
    """The sampling variance of a mean over evaluation items (already averaged over seeds):
    (var/N, N - 1, "items")."""
    n = len(per_item)
    if n < 2:
        return None
    return statistics.variance(per_item) / n, n - 1, "items"


def mean_estimate(per_seed: Sequence[float], per_item: Sequence[float] | None = None,
                  se: Sequence[float] | None = None, se_df: float = math.inf) -> Estimate:
    """One quantity measured once per seed: its mean, with seed noise and, when given, the noise of
    the evaluation sample (``per_item``: the seed-averaged value of each item; or ``se``: a
    measured standard error per seed, e.g. a bootstrap, with ``se_df`` degrees of freedom, whose
    mean variance enters undivided because the seeds share one evaluation set)."""
    value = statistics.fmean(per_seed)
    parts = [seed_part(per_seed)]
    if per_item is not None:
        parts.append(item_part(per_item))
    if se is not None and len(se):
        parts.append((statistics.fmean(s * s for s in se), se_df, "measurement" if any(se) else "exact"))
    return combine(value, [p for p in parts if p is not None], len(per_seed))


def number(x: float, digits: int = 2, *, sign: bool = False) -> str:
    """``x`` with ``digits`` decimals, or three significant digits when that would show a small
    nonzero number as 0 (a float64 round-off of 1e-15 reads 1e-15, not 0.00)."""
    plus = "+" if sign else ""
    if x != 0 and math.isfinite(x) and abs(x) < 0.5 * 10 ** -digits:
        return f"{x:{plus}.3g}"
    return f"{x:{plus}.{digits}f}"


# --- binomial helpers for reports ---------------------------------------------------------------

def binomial_se(percent: float, n: int) -> float:
    """Standard error (points) of a rate of ``percent`` % measured on ``n`` independent items."""
    q = percent / 100
    return 100 * math.sqrt(max(q * (1 - q), 0.0) / n) if n > 0 else math.inf
