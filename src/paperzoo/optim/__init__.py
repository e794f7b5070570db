"""Optimizers and learning-rate schedules, chosen by name from a config."""

from .config import OptimizerConfig, build_optimizer, no_decay_parameter_names
from .optimizers import SGD, AdaGrad, Adam, AdamW, BertAdam, RMSProp
from .schedules import Schedule, ScheduleConfig, build_schedule

__all__ = ["OptimizerConfig", "build_optimizer", "no_decay_parameter_names", "Schedule", "ScheduleConfig",
           "build_schedule",
           "SGD", "AdaGrad", "RMSProp", "Adam", "AdamW", "BertAdam"]
