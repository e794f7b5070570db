"""The one training loop, its checkpoints and logging, and the shared classification task."""

from .loop import Task, TrainConfig, Trainer, TrainResult

__all__ = ["Task", "TrainConfig", "Trainer", "TrainResult"]
