"""How fast a net learns: iterations until a curve first reaches a threshold, a censored measurement.

A run that never reaches the threshold gives only a lower bound (its length): a ratio of two such
readings can establish that one net is much slower, never refute it. Record the ratio with
:func:`record_crossing` and judge it with :func:`paperzoo.claims.rules.censored`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .arms import ArmResult
from .outcome import Outcome


def steps_to_reach(steps: Sequence[int], errors: Sequence[float], threshold: float) -> float:
    """The first step whose error is at most ``threshold`` (same units), ``inf`` if none is."""
    return next((float(s) for s, e in zip(steps, errors) if e <= threshold), math.inf)


def record_crossing(out: Outcome, key: str, nets: Mapping[str, ArmResult], curve: tuple[str, str],
                    threshold: float, length: int, interval: int) -> None:
    """For two ``nets`` (slow first): ``reached/<net>`` and ``steps/<net>``, per seed the iterations until
    its ``curve`` (e.g. ``("train", "error")``) first reaches ``threshold`` (never: the run's ``length``,
    a lower bound), and ``key`` = slow / fast per seed, with its measurement noise: read every
    ``interval`` iterations, a crossing lies anywhere in the interval before (standard error
    interval / sqrt(12)), propagated to the ratio. Judge it with :func:`~paperzoo.claims.rules.censored`."""
    for net, res in nets.items():
        steps = [steps_to_reach(*res.curve(*curve, i), threshold) for i in range(len(res.runs))]
        out.add(f"reached/{net}", [float(math.isfinite(s)) for s in steps])
        out.add(f"steps/{net}", [s if math.isfinite(s) else float(length) for s in steps])
    slow, fast, q = *(out.per_seed[f"steps/{net}"] for net in nets), interval / math.sqrt(12)
    out.add(key, [s / f for s, f in zip(slow, fast)])
    out.value_se[key] = [s / f * math.hypot(q / s, q / f) for s, f in zip(slow, fast)]
