"""Learning-rate schedules: the rate at each step as a multiplier of the base learning rate.

Most schedules are pure functions of the (0-based) iteration. Being stateless, they need no
checkpoint: a resumed run recomputes the rate from the step. Reduce-on-plateau depends on the
validation results seen so far, so it is a small object (:class:`ReduceOnPlateau`) with
``observe(metric)`` and ``state_dict()``/``load_state_dict()``; the training loop feeds it each
evaluation's metric and stores its state in the checkpoint.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import UserError

Schedule = Callable[[int], float]

NAMES = ("constant", "step", "multistep", "cosine", "linear", "inverse_sqrt", "noam", "plateau")


@dataclass(frozen=True)
class ScheduleConfig:
    """Which schedule, as a multiplier of the optimizer's base learning rate.

    * ``constant``; ``step``: multiply by ``gamma`` every ``step_size`` iterations;
      ``multistep``: by ``gamma`` at each of ``milestones`` (ResNet: 0.1 at 32k and 48k).
    * ``cosine``: after the warm-up, half a cosine from 1 down to ``min_factor`` at the last
      step, ``min + (1 − min)·(1 + cos(π·(s − w)/(T − w)))/2`` (Loshchilov & Hutter 2017's SGDR
      without restarts; ``torch.optim.lr_scheduler.CosineAnnealingLR`` with ``T_max = T − w``).
    * ``linear``: BERT's decay, ``1 − s/T`` (reaching 0 at the total ``T``), taken over from
      the warm-up at step w as BERT's ``create_optimizer`` does (so it resumes at ``1 − w/T``,
      not 1). BERT: ``warmup_steps=10000, warmup="linear", warmup_factor=0``.
    * ``inverse_sqrt``: ``1/√n`` with n = s + 1 counted from 1 (Adam's α_t = α/√t, Kingma & Ba
      Section 6.1; AdaGrad's usual decay). After a warm-up of w steps it continues at its own
      value for step s, so it jumps down unless ``warmup_factor`` matches.
    * ``noam``: the Transformer's Eq. 3, ``d_model^−0.5 · min(n^−0.5, n · warmup_steps^−1.5)``
      with n = s + 1 counted from 1. It is the whole rate, not a multiplier of one, so use a
      base learning rate of 1 for the paper's. Its warm-up is part of the formula: the
      ``warmup``/``warmup_factor`` fields do not apply.
    * ``plateau``: reduce on plateau (AlexNet: "divide the learning rate by 10 when the
      validation error rate stopped improving"). After each evaluation the loop passes the
      ``monitor`` metric (lower is better with ``mode="min"``); when it has not improved on the
      best so far by more than ``threshold`` (relative: best·(1 − threshold); absolute: best −
      threshold) for more than ``patience`` evaluations in a row, the multiplier is multiplied by
      ``gamma``, never below ``min_factor``, and ``cooldown`` evaluations are then ignored.
      The same rules and defaults as ``torch.optim.lr_scheduler.ReduceLROnPlateau``; the
      paper gives no patience.

    T is the run's total number of steps, which the training loop passes to
    :func:`build_schedule`. Every schedule but ``noam`` can start with a warm-up of
    ``warmup_steps``: ``constant`` at ``warmup_factor`` times the base rate (ResNet-110's 0.01
    before 0.1, Section 4.2) or ``linear`` from ``warmup_factor`` up to 1 (Goyal et al. 2017).
    """

    name: Literal["constant", "step", "multistep", "cosine", "linear", "inverse_sqrt", "noam",
                  "plateau"] = "multistep"
    milestones: tuple[int, ...] = ()
    step_size: int = 0
    gamma: float = 0.1
    warmup_steps: int = 0
    warmup_factor: float = 0.1
    warmup: Literal["constant", "linear"] = "constant"
    min_factor: float = 0.0                         # cosine: the floor; plateau: the lowest multiplier
    d_model: int = 512                              # noam
    monitor: str = "val_error"                      # plateau: the evaluation metric it watches
    mode: Literal["min", "max"] = "min"             # plateau: lower (min) or higher (max) is better
    patience: int = 10                              # plateau: evaluations without improvement allowed
    threshold: float = 1e-4                         # plateau: the smallest change that counts
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: int = 0                               # plateau: evaluations ignored after a reduction


def build_schedule(cfg: ScheduleConfig, *, total_steps: int | None = None) -> Schedule:
    """The schedule ``cfg`` describes; ``total_steps`` is needed by ``cosine`` and ``linear``."""
    if cfg.name == "noam":
        return _noam(cfg)
    if cfg.name == "plateau":
        return ReduceOnPlateau(cfg, warmup=_with_warmup(cfg, lambda step: 1.0))
    return _with_warmup(cfg, _main_schedule(cfg, total_steps))


def _with_warmup(cfg: ScheduleConfig, main: Schedule) -> Schedule:
    if cfg.warmup_steps <= 0:
        return main

    def warmed(step: int) -> float:
        if step >= cfg.warmup_steps:
            return main(step)
        if cfg.warmup == "constant":
            return cfg.warmup_factor
        return cfg.warmup_factor + (1.0 - cfg.warmup_factor) * step / cfg.warmup_steps

    return warmed


def _main_schedule(cfg: ScheduleConfig, total: int | None) -> Schedule:
    if cfg.name == "constant":
        return lambda step: 1.0
    if cfg.name == "multistep":
        milestones = sorted(cfg.milestones)
        return lambda step: cfg.gamma ** bisect.bisect_right(milestones, step)
    if cfg.name == "step":
        if cfg.step_size <= 0:
            raise UserError("schedule.step_size must be positive for the 'step' schedule")
        return lambda step: cfg.gamma ** (step // cfg.step_size)
    if cfg.name == "cosine":
        span = _total(cfg, total) - cfg.warmup_steps
        if span <= 0:
            raise UserError(f"the cosine schedule needs more steps ({total}) than warm-up steps ({cfg.warmup_steps})")
        # min + (1 − min)·(1 + cos(π·(s − w)/(T − w)))/2
        return lambda step: cfg.min_factor + (1 - cfg.min_factor) * (
            1 + math.cos(math.pi * min(step - cfg.warmup_steps, span) / span)) / 2
    if cfg.name == "linear":
        total = _total(cfg, total)
        # BERT: 1 − min(s, T)/T
        return lambda step: 1.0 - min(step, total) / total
    if cfg.name == "inverse_sqrt":
        # α_t = α/√t, t = s + 1
        return lambda step: (step + 1) ** -0.5
    raise UserError(f"unknown schedule {cfg.name!r}; choose {', '.join(NAMES)}")


def _total(cfg: ScheduleConfig, total: int | None) -> int:
    if not total or total <= 0:
        raise UserError(f"the {cfg.name} schedule needs the run's total number of steps")
    return total


def _noam(cfg: ScheduleConfig) -> Schedule:
    if cfg.warmup_steps <= 0 or cfg.d_model <= 0:
        raise UserError("the noam schedule needs schedule.warmup_steps > 0 (the paper: 4000) and d_model > 0")

    def noam(step: int) -> float:
        n = step + 1
        # Eq. 3: lrate = d_model^−0.5 · min(n^−0.5, n · warmup_steps^−1.5)
        return cfg.d_model ** -0.5 * min(n ** -0.5, n * cfg.warmup_steps ** -1.5)

    return noam


class ReduceOnPlateau:
    """Reduce-on-plateau as a schedule: ``schedule(step)`` is the warm-up's multiplier times the
    reductions so far; ``observe(value)`` takes one evaluation's metric. See
    :class:`ScheduleConfig` for the rule. ``torch.optim.lr_scheduler.ReduceLROnPlateau`` changes
    the optimizer's rates itself and skips a reduction smaller than its ``eps`` of 1e-8; here
    the multiplier is reduced and the same 1e-8 applies to it, so the two take the same
    decisions when the base rate is 1 and nearly always otherwise.
    """

    eps = 1e-8

    def __init__(self, cfg: ScheduleConfig, *, warmup: Schedule) -> None:
        if cfg.patience < 0 or cfg.cooldown < 0 or not 0 < cfg.gamma < 1:
            raise UserError("the plateau schedule needs patience >= 0, cooldown >= 0 and 0 < gamma < 1")
        self.cfg = cfg
        self.warmup = warmup
        self.factor = 1.0
        self.best: float | None = None
        self.bad = 0              # evaluations in a row without improvement
        self.cooldown_left = 0

    def __call__(self, step: int) -> float:
        return self.warmup(step) * self.factor

    def improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        margin = self.best * self.cfg.threshold if self.cfg.threshold_mode == "rel" else self.cfg.threshold
        if self.cfg.mode == "min":
            # rel: value < best·(1 − threshold); abs: value < best − threshold
            return value < self.best - margin
        # rel: value > best·(1 + threshold); abs: value > best + threshold
        return value > self.best + margin

    def observe(self, value: float) -> None:
        value = float(value)
        if self.improved(value):
            self.best, self.bad = value, 0
        else:
            self.bad += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad = 0
        if self.bad > self.cfg.patience:
            # lr ← max(γ·lr, min)
            reduced = max(self.factor * self.cfg.gamma, self.cfg.min_factor)
            if self.factor - reduced > self.eps:
                self.factor = reduced
            self.cooldown_left, self.bad = self.cfg.cooldown, 0

    def state_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "best": self.best, "bad": self.bad, "cooldown_left": self.cooldown_left}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.factor, self.best = float(state["factor"]), state["best"]
        self.bad, self.cooldown_left = int(state["bad"]), int(state["cooldown_left"])


def trace(schedule: Schedule, steps: int, *, eval_every: int = 0) -> list[float]:
    """The multiplier at steps 0..steps-1. A schedule that reacts to evaluations is shown one
    every ``eval_every`` steps whose metric never improves after the first: its fastest decay."""
    values = []
    for step in range(steps):
        values.append(schedule(step))
        if eval_every and (step + 1) % eval_every == 0 and hasattr(schedule, "observe"):
            schedule.observe(1.0)
    return values
