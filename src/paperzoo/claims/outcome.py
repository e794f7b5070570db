"""What an experiment measured (:class:`Outcome`), the paper's numbers (:class:`Target`) and the
verdict (:class:`Verdict`). Light on imports: verdict rules and tests use these without the rest
of the framework."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import stats

Status = Literal["holds", "does not hold", "inconclusive"]


@dataclass(frozen=True)
class Target:
    """A number the paper reports: ``Target("test_error/resnet20", 8.75, "Table 6")``.

    ``tolerance`` (same unit) marks the band within which ours counts as matching; the
    claim's verdict rule decides whether matching matters for the verdict.
    """

    metric: str
    value: float
    source: str
    tolerance: float | None = None
    label: str = ""
    unit: str = "%"


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str


@dataclass
class Outcome:
    """What an experiment measured.

    ``values`` holds the mean over seeds of each metric, ``std`` the standard deviation over
    seeds, ``per_seed`` the raw numbers. For the noise of the evaluation sample an experiment
    adds, where it has them, each item's value per seed (:meth:`add_items`: each test image's
    error, 0 or 100, so that the items' mean is the metric) or a measured standard error of a
    difference (:meth:`add_difference_se`: a paired bootstrap of BLEU). :meth:`estimate` and
    :meth:`difference` turn these into :class:`~paperzoo.claims.stats.Estimate`\\ s by the one
    statistics policy (:mod:`paperzoo.claims.stats`).
    """

    values: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    per_seed: dict[str, list[float]] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: str = ""
    #: metric key -> per seed, each item's value (not written to result.json)
    items: dict[str, list[Sequence[float]]] = field(default_factory=dict)
    #: (metric, a, b) -> per seed, a measured standard error of a's metric minus b's
    difference_se: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    #: metric key -> per seed, a measured standard error of the metric itself
    value_se: dict[str, list[float]] = field(default_factory=dict)
    #: metric key -> degrees of freedom of ``value_se`` (default: normal, e.g. a bootstrap or a count)
    value_df: dict[str, float] = field(default_factory=dict)

    def add(self, metric: str, samples: Iterable[float]) -> None:
        """Record one metric measured once per seed (a non-finite sample, e.g. a diverged run's
        infinite cost, makes the mean that value and the spread NaN)."""
        samples = [float(s) for s in samples]
        self.per_seed[metric] = samples
        finite = all(math.isfinite(x) for x in samples)
        self.values[metric] = statistics.fmean(samples)
        self.std[metric] = (statistics.stdev(samples) if len(samples) > 1 else 0.0) if finite else math.nan

    def add_exact(self, metric: str, samples: Iterable[float] | float) -> None:
        """Record a quantity that has no measurement noise (a parameter count, an exact float64
        check, an operation count), per seed or once: the rules take it as it is."""
        samples = [float(samples)] if isinstance(samples, (int, float)) else list(samples)
        self.add(metric, samples)
        self.value_se[metric] = [0.0] * len(samples)

    def add_items(self, metric: str, per_seed_items: Iterable[Sequence[float]]) -> None:
        """Record each evaluation item's value of ``metric``, per seed; the metric is their mean."""
        items = [list(map(float, s)) for s in per_seed_items]
        self.items[metric] = items
        self.add(metric, [statistics.fmean(s) for s in items])

    def add_item_difference(self, key: str, a: str, b: str, metric: str = "test_error") -> None:
        """``key``: ``metric/a`` minus ``metric/b`` item by item (so its interval is the paired one)."""
        self.add_items(key, [[x - y for x, y in zip(ia, ib)]
                             for ia, ib in zip(self.items[f"{metric}/{a}"], self.items[f"{metric}/{b}"])])

    def add_difference_se(self, metric: str, a: str, b: str, per_seed_se: Iterable[float]) -> None:
        """Record a measured standard error of ``metric/a - metric/b``, per seed (e.g. a paired bootstrap)."""
        self.difference_se[(metric, a, b)] = [float(s) for s in per_seed_se]

    def fmt(self, metric: str, digits: int = 2) -> str:
        value, std = self.values[metric], self.std.get(metric, 0.0)
        n = len(self.per_seed.get(metric, [value]))
        return f"{stats.number(value, digits)} ± {stats.number(std, digits)}" if n > 1 else stats.number(value, digits)

    # --- estimates by the statistics policy ------------------------------------------------------

    def estimate(self, key: str) -> stats.Estimate:
        """The mean over seeds of metric ``key`` (e.g. ``test_error/resnet20``) with its noise."""
        per_seed = self.per_seed.get(key, [self.values[key]])
        items = self.items.get(key)
        per_item = [statistics.fmean(column) for column in zip(*items)] if items else None
        return stats.mean_estimate(per_seed, per_item, self.value_se.get(key), self.value_df.get(key, math.inf))

    def difference(self, metric: str, a: str, b: str) -> stats.Estimate:
        """``metric/a - metric/b``, paired by seed (the arms share each seed) and, when both arms'
        items are recorded, by item."""
        ka, kb = f"{metric}/{a}", f"{metric}/{b}"
        xa, xb = self.per_seed.get(ka, [self.values[ka]]), self.per_seed.get(kb, [self.values[kb]])
        if len(xa) != len(xb):
            raise ValueError(f"{ka} and {kb} were measured for different numbers of seeds")
        diffs = [x - y for x, y in zip(xa, xb)]
        if not all(math.isfinite(d) for d in diffs):
            return stats.Estimate(statistics.fmean(diffs), 0.0, math.inf, len(diffs), ("divergence",))
        parts = [stats.seed_part(diffs)]
        ia, ib = self.items.get(ka), self.items.get(kb)
        se = self.difference_se.get((metric, a, b)) or self.difference_se.get((metric, b, a))
        if ia and ib:   # the same items for both arms: paired
            if len(ia[0]) != len(ib[0]):
                raise ValueError(f"{ka} and {kb} were evaluated on different numbers of items")
            parts.append(stats.item_part(_item_differences(ia, ib)))
        elif se:        # a measured standard error of the difference (a paired bootstrap)
            parts.append((statistics.fmean(s * s for s in se), math.inf, "bootstrap"))
        elif ka in self.value_se and kb in self.value_se:   # each arm's own measurement noise: unpaired
            variance = sum(statistics.fmean(s * s for s in self.value_se[k]) for k in (ka, kb))
            parts.append((variance, math.inf, "measurement"))
        return stats.combine(statistics.fmean(diffs), [p for p in parts if p is not None], len(diffs))


def _item_differences(a: list[Sequence[float]], b: list[Sequence[float]]) -> list[float]:
    """Per item, the seed-averaged difference of two arms' values."""
    seeds = len(a)
    return [sum(x[j] - y[j] for x, y in zip(a, b)) / seeds for j in range(len(a[0]))]
