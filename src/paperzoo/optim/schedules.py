"""Learning-rate schedules as pure functions of the step.

A schedule maps the (0-based) iteration to a multiplier of the base learning rate. Being
stateless, it needs no checkpoint: a resumed run recomputes the rate from the step.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..errors import UserError

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class ScheduleConfig:
    """``multistep``: multiply by ``gamma`` at each milestone (ResNet: 0.1 at 32k and 48k);
    ``step``: by ``gamma`` every ``step_size`` iterations; ``constant``.

    An optional warm-up runs for ``warmup_steps`` first: ``constant`` at ``warmup_factor``
    times the base rate (ResNet-110's 0.01 before 0.1, Section 4.2) or ``linear`` from
    ``warmup_factor`` up to 1 (Goyal et al. 2017).
    """

    name: Literal["constant", "step", "multistep"] = "multistep"
    milestones: tuple[int, ...] = ()
    step_size: int = 0
    gamma: float = 0.1
    warmup_steps: int = 0
    warmup_factor: float = 0.1
    warmup: Literal["constant", "linear"] = "constant"


def build_schedule(cfg: ScheduleConfig) -> Schedule:
    main = _main_schedule(cfg)
    if cfg.warmup_steps <= 0:
        return main

    def warmed(step: int) -> float:
        if step >= cfg.warmup_steps:
            return main(step)
        if cfg.warmup == "constant":
            return cfg.warmup_factor
        return cfg.warmup_factor + (1.0 - cfg.warmup_factor) * step / cfg.warmup_steps

    return warmed


def _main_schedule(cfg: ScheduleConfig) -> Schedule:
    if cfg.name == "constant":
        return lambda step: 1.0
    if cfg.name == "multistep":
        milestones = sorted(cfg.milestones)
        return lambda step: cfg.gamma ** bisect.bisect_right(milestones, step)
    if cfg.name == "step":
        if cfg.step_size <= 0:
            raise UserError("schedule.step_size must be positive for the 'step' schedule")
        return lambda step: cfg.gamma ** (step // cfg.step_size)
    raise UserError(f"unknown schedule {cfg.name!r}; choose constant, step or multistep")
