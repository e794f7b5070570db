"""Optimizers and learning-rate schedules, chosen by name from a config."""

from .config import OptimizerConfig, build_optimizer
from .schedules import Schedule, ScheduleConfig, build_schedule

__all__ = ["OptimizerConfig", "build_optimizer", "Schedule", "ScheduleConfig", "build_schedule"]


def _paperzoo_optimizer(cfg, params):
    """The optimizer written from the paper's equations (filled in by the optimizers issue)."""
    from ..errors import UserError

    raise UserError(f"paperzoo's own {cfg.name!r} is not written yet; use impl=torch")
