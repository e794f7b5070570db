"""The base of every claim's presets, and the recipes several papers share.

A preset says what one run of a claim's experiment trains on (``data``), how (``train``), for
how many seeds, and how much of the paper's own schedule that is (``paper_steps``, read by the
``long_enough`` guard and the report). Every claim's preset type extends :class:`Preset` with
the fields its experiment needs. :meth:`Preset.smoke` gives the overrides that shrink a preset of
that type to seconds for the test suite, derived from the types of its fields, so no claim
writes them out.

The recipes below are the literals more than one paper uses: CIFAR-10 data with the ResNet
paper's 45k/5k split, the 64k-iteration schedule of Section 4.2 with its two drops, MNIST data,
and :func:`scaled`, which shortens any recipe to fewer iterations with its schedule scaled to
them (what every ``quick`` and ``cpu`` preset does, and says).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..optim import OptimizerConfig, ScheduleConfig
from ..train.classification import DataConfig
from ..train.loop import TrainConfig
from ..train.translation import TranslationData


@dataclass(frozen=True, kw_only=True)
class Preset:
    """``description`` (one line: what is trained, how long, on what machine), ``data``,
    ``train``, ``seeds``; ``paper_steps``: the iterations of the paper's own schedule for this
    comparison (0: not a claim about training length)."""

    description: str
    data: Any = None
    train: Any = None
    seeds: int = 1
    paper_steps: int = 0

    #: Extra smoke overrides for the fields a subclass adds (class attribute).
    SMOKE: ClassVar[Mapping[str, str]] = {}

    def smoke(self) -> dict[str, str]:
        """Overrides that shrink this preset to a few seconds (the test suite's smoke run)."""
        out: dict[str, str] = {}
        for name in ("data", "train"):
            value = getattr(self, name)
            for kind, overrides in SMOKE_BY_TYPE.items():
                if isinstance(value, kind):
                    out |= {f"{name}.{k}": v for k, v in overrides.items()}
        return out | dict(self.SMOKE)

    @property
    def fraction(self) -> float | None:
        """The share of the paper's schedule this preset trains for (None: unknown)."""
        steps = getattr(self.train, "steps", None)
        return steps / self.paper_steps if self.paper_steps and steps else None


#: How a config of each type shrinks for the smoke run.
SMOKE_BY_TYPE: dict[type, Mapping[str, str]] = {
    TrainConfig: {"steps": "4", "eval_every": "2", "log_every": "1"},
    DataConfig: {"batch_size": "16", "train_subset": "256", "eval_subset": "64"},
    TranslationData: {"train_subset": "300", "vocab_size": "300", "val_subset": "16", "bleu_sentences": "4",
                      "max_extra": "5"},
}


# --- shared recipes -------------------------------------------------------------------------------

#: CIFAR-10 with the ResNet paper's 45k/5k train/validation split, 4-pixel padding, crops and flips.
CIFAR_45K = DataConfig(dataset="cifar10", batch_size=128, augment=True, val_size=5000, eval_batch_size=1000)
#: CIFAR-10, all 50k training images (no validation split), batch 64.
CIFAR_50K = DataConfig(dataset="cifar10", batch_size=64, augment=True, val_size=0, eval_batch_size=1000)
#: MNIST (no augmentation, no validation split).
MNIST = DataConfig(dataset="mnist", batch_size=128, augment=False, val_size=0, eval_batch_size=2000)
#: SGD with momentum 0.9 and weight decay 5e-4 at 0.01: AlexNet's Section 5, VGG's Section 3.1.
SGD_001 = OptimizerConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=5e-4)


def cifar_64k(optimizer: OptimizerConfig) -> TrainConfig:
    """The ResNet paper's CIFAR schedule (Section 4.2): 64k iterations, the rate divided by 10 at
    32k and 48k, evaluated every 2,000 iterations with the best validation checkpoint kept."""
    return TrainConfig(steps=64000, optimizer=optimizer,
                       schedule=ScheduleConfig(name="multistep", milestones=(32000, 48000), gamma=0.1),
                       eval_every=2000, log_every=200, checkpoint_every=8000, keep_checkpoints=1,
                       best_metric="val_error", amp=True, channels_last=True)


def constant(steps: int, optimizer: OptimizerConfig, *, log_every: int = 50, eval_every: int = 0) -> TrainConfig:
    """A constant rate for ``steps`` iterations, no checkpoints: the optimisation papers' recipes."""
    return TrainConfig(steps=steps, optimizer=optimizer, schedule=ScheduleConfig(name="constant"),
                       eval_every=eval_every, log_every=log_every, checkpoint_every=0, keep_checkpoints=1)


def scaled(train: TrainConfig, steps: int, *, evaluations: int = 4, logs: int = 16, warmup: int | None = None,
           **changes: Any) -> TrainConfig:
    """``train`` shortened to ``steps`` iterations with its schedule scaled to them: milestones and
    warm-up at the same fractions of the run, ``evaluations`` evaluations and ``logs`` log lines,
    no intermediate checkpoints. ``warmup`` sets the warm-up length instead (a short run often
    needs a relatively longer one); ``changes`` are set last (e.g. ``amp=False``)."""
    factor = steps / train.steps
    schedule = train.schedule
    schedule = replace(schedule,
                       milestones=tuple(max(1, round(m * factor)) for m in schedule.milestones),
                       step_size=max(1, round(schedule.step_size * factor)) if schedule.step_size else 0,
                       warmup_steps=round(schedule.warmup_steps * factor) if warmup is None else warmup)
    return replace(train, steps=steps, schedule=schedule, eval_every=max(1, steps // evaluations) if evaluations else 0,
                   log_every=max(1, steps // logs), checkpoint_every=0, **changes)


def describe_length(train: TrainConfig, paper_steps: int) -> str:
    """``"400 of the paper's 64,000 iterations (0.6%)"``, for descriptions and notes."""
    return f"{train.steps:,} of the paper's {paper_steps:,} iterations ({100 * train.steps / paper_steps:.1f}%)"
