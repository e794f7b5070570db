"""The one arm runner: train one arm of a comparison for one seed, and the arms of a claim for
every seed, with the shared loop.

An :class:`Arm` is a registered model with its keyword arguments and, where it differs from
the preset's, its own recipe, data or input pipeline (``train_transform`` / ``eval_transform``
on the classification task, or a task of another kind). :func:`run_arm` seeds, builds the task
and the model, trains with :class:`~paperzoo.train.loop.Trainer` in the run folder
``runs/<label>-seed<seed>`` and returns an :class:`ArmRun`; :func:`run_arms` does that for every
seed and arm and groups the runs by arm (:class:`ArmResult`). :func:`record_errors` puts every
arm's errors into the outcome with each test image's error, so that comparisons between arms on
the same test images are paired (:mod:`paperzoo.claims.stats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn as nn

from ..registry import model_entry
from ..train.classification import EvalTransform, ImageClassificationTask, Loss, TrainTransform
from ..train.env import resolve_device
from ..train.loop import TrainConfig, Trainer, TrainResult
from ..train.spec import ModelSpec
from .core import RunContext
from .outcome import Outcome
from .stats import binomial_se

#: Builds a task of another kind for an arm: ``task(data, device=, seed=, root=, channels_last=, run_dir=)``.
TaskFactory = Callable[..., Any]


@dataclass(frozen=True)
class Arm:
    """One arm: ``model`` (a registry name, or a :class:`~paperzoo.train.spec.ModelSpec` for a model
    that is not registered) with ``kwargs``; ``train`` / ``data``: its own recipe or
    data (None: the preset's); for image classification ``loss``, ``train_transform`` and
    ``eval_transform`` (see :class:`~paperzoo.train.classification.ImageClassificationTask`);
    ``task``: a task of another kind instead."""

    label: str
    model: str | ModelSpec
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    train: TrainConfig | None = None
    data: Any = None
    loss: Loss | None = None
    train_transform: TrainTransform | None = None
    eval_transform: EvalTransform | None = None
    task: TaskFactory | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)   # more to store with the weights
    dtype: torch.dtype | None = None   # train in this precision (e.g. float64): weights and floating inputs


def build_arm_model(arm: Arm, kwargs: Mapping[str, Any]) -> nn.Module:
    """The arm's model, built from the registry (or ``arm.model`` itself when it is a
    :class:`~paperzoo.train.spec.ModelSpec`), in ``arm.dtype`` with its floating inputs cast to it."""
    spec = model_entry(arm.model) if isinstance(arm.model, str) else arm.model
    model = spec.build(**kwargs)
    if arm.dtype is not None:
        dtype = arm.dtype
        model = model.to(dtype)
        model.register_forward_pre_hook(
            lambda _m, args: tuple(a.to(dtype) if torch.is_tensor(a) and a.is_floating_point() else a for a in args))
    return model


@dataclass
class ArmRun:
    """One arm trained for one seed: the loop's result, the trained model (eval mode) and its task."""

    label: str
    seed: int
    result: TrainResult
    model: nn.Module
    task: Any

    @property
    def eval_size(self) -> int:
        """The number of test items measured (not the preset's intention)."""
        return int(getattr(self.task, "sizes", {}).get("test", 0))

    def errors(self, split: str = "test") -> list[float] | None:
        """Each test image's error at the last evaluation, in % (0 or 100); None if not recorded."""
        wrong = getattr(self.task, "errors", {}).get(split)
        return None if wrong is None else (100.0 * wrong.double()).tolist()


def run_arm(ctx: RunContext, arm: Arm, seed: int, *, data: Any, train: TrainConfig) -> ArmRun:
    """Train ``arm`` for ``seed`` (the preset's ``data`` and ``train`` unless the arm has its own)."""
    data, train = arm.data or data, arm.train or train
    cfg = replace(train, seed=seed, device=ctx.device, progress=ctx.progress and train.progress)
    run_dir = ctx.subdir("runs", f"{arm.label}-seed{seed}")
    common = dict(device=resolve_device(cfg.device), seed=seed, root=ctx.data_root, channels_last=cfg.channels_last)
    if arm.task is not None:
        task = arm.task(data, run_dir=run_dir, **common)
    else:
        task = ImageClassificationTask(data, loss=arm.loss, train_transform=arm.train_transform,
                                       eval_transform=arm.eval_transform, **common)
    spec = model_entry(arm.model) if isinstance(arm.model, str) else arm.model
    kwargs = {**task.model_kwargs(spec), **dict(arm.kwargs)}
    torch.manual_seed(seed)   # the initialisation depends on the run's seed only
    model = build_arm_model(arm, kwargs)
    meta = {"model": spec.name, "model_kwargs": kwargs, "data": task.meta(), **dict(arm.meta)}
    trainer = Trainer(model, task, cfg, run_dir=run_dir, model_meta=meta)
    result = trainer.fit()
    trainer.model.eval()
    return ArmRun(arm.label, seed, result, trainer.model, task)


@dataclass
class ArmResult:
    """One arm's runs, one per seed, and what was measured on them."""

    label: str
    runs: list[ArmRun] = field(default_factory=list)
    extras: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def eval_size(self) -> int:
        return self.runs[0].eval_size if self.runs else 0

    @property
    def source(self) -> str:
        return getattr(self.runs[0].task, "source", "") if self.runs else ""

    def last(self, key: str) -> list[float]:
        """``key`` (e.g. ``test_error``) at the last evaluation, per seed, in percent."""
        return [100 * r.result.history("eval", key)[1][-1] for r in self.runs]

    def at_best_val(self, key: str = "test_error", by: str = "val_error") -> list[float]:
        """``key`` at the evaluation with the lowest ``by``, per seed, in percent."""
        out = []
        for run in self.runs:
            rows = [x for x in run.result.records if x["split"] == "eval" and x.get(by) is not None]
            out.append(100 * min(rows, key=lambda x: x[by])[key] if rows else math.nan)
        return out

    def final_train_error(self, window: int = 1) -> list[float]:
        """Mean training error (augmented mini-batches) over the last ``window`` log intervals, %."""
        return [100 * sum(r.result.history("train", "error")[1][-window:]) / window for r in self.runs]

    def curve(self, split: str, key: str, seed_index: int = 0) -> tuple[list[int], list[float]]:
        steps, values = self.runs[seed_index].result.history(split, key)
        return steps, [100 * v for v in values]

    def errors(self, split: str = "test") -> list[list[float]] | None:
        """Per seed, each test image's error (%) at the last evaluation; None if not recorded."""
        per_seed = [r.errors(split) for r in self.runs]
        return None if any(e is None for e in per_seed) else per_seed


AfterTraining = Callable[[ArmRun], Mapping[str, Any]]


def run_arms(ctx: RunContext, arms: Sequence[Arm], *, data: Any, train: TrainConfig,
             after: AfterTraining | None = None) -> dict[str, ArmResult]:
    """Train every arm for every seed of ``ctx``; ``after(run)`` may measure more on each trained
    model (eval mode): its values are collected per seed in ``ArmResult.extras``."""
    results = {arm.label: ArmResult(arm.label) for arm in arms}
    for seed in ctx.seeds:
        for arm in arms:
            run = run_arm(ctx, arm, seed, data=data, train=train)
            results[arm.label].runs.append(run)
            if after is not None:
                with torch.no_grad():
                    for k, v in after(run).items():
                        results[arm.label].extras.setdefault(k, []).append(v)
    return results


def record_errors(out: Outcome, results: Mapping[str, ArmResult], *, train_window: int = 4) -> None:
    """Each arm's test error at the last evaluation (with each test image's error, for paired
    comparisons), at the checkpoint best on validation where there is a validation split, and its
    final training error over the last ``train_window`` log intervals (with its binomial noise on
    the examples it averages). The outcome's ``train_steps`` is the shortest arm's length."""
    for label, res in results.items():
        items = res.errors()
        if items is not None:
            out.add_items(f"test_error/{label}", items)
        else:
            out.add(f"test_error/{label}", res.last("test_error"))
        if res.runs and res.runs[0].result.history("eval", "val_error")[0]:
            out.add(f"test_error_at_best_val/{label}", res.at_best_val())
        if res.runs and res.runs[0].result.history("train", "error")[0]:
            out.add(f"train_error/{label}", res.final_train_error(train_window))
            n = _train_examples(res.runs[0], train_window)
            out.value_se[f"train_error/{label}"] = [binomial_se(e, n) for e in out.per_seed[f"train_error/{label}"]]
    out.values["train_steps"] = min(r.result.steps for res in results.values() for r in res.runs)
    out.data = next(iter(results.values())).source


def _train_examples(run: ArmRun, window: int) -> int:
    """Training examples behind the final training error: ``window`` log intervals of batches."""
    train = run.result.records
    steps = [r["step"] for r in train if r["split"] == "train"]
    interval = steps[-1] - steps[-2] if len(steps) > 1 else steps[-1]
    batch = getattr(getattr(run.task, "cfg", None), "batch_size", 1)
    return max(1, window * interval * batch)


def error_table(out: Outcome, labels: Sequence[str], paper: Mapping[str, float] | None = None,
                names: Mapping[str, str] | None = None) -> str:
    """Markdown: per arm, the final training error, test error at the last iteration and at the
    checkpoint best on validation (mean ± std over seeds), and the paper's number if any."""
    head = "| model | train error (%) | test error, last iter. (%) | test error, best val. ckpt (%) |"
    sep = "|---|---|---|---|"
    if paper:
        head, sep = head + " paper (%) |", sep + "---|"
    lines = [head, sep]
    for label in labels:
        row = [(names or {}).get(label, label)]
        for key in (f"train_error/{label}", f"test_error/{label}", f"test_error_at_best_val/{label}"):
            row.append(out.fmt(key) if key in out.values else "—")
        if paper:
            row.append(f"{paper[label]:g}" if label in paper else "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def curves(results: Mapping[str, ArmResult], names: Mapping[str, str] | None = None, *,
           train: tuple[str, str] = ("train", "error"), test: tuple[str, str] = ("eval", "test_error"),
           ) -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    """Seed 0's training and test error curves per arm, for :func:`~paperzoo.claims.figures.error_curves`."""
    return {(names or {}).get(k, k): {"train": r.curve(*train), "test": r.curve(*test)} for k, r in results.items()}


def test_outputs(run: ArmRun, predict: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
                 split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """A trained net's outputs (N, K) on ``split``'s images, ``predict(model, x)`` (default: the model's
    logits) on each untransformed batch, and the labels (N,), in float32 on the CPU, in the loader's order."""
    predict = predict or (lambda model, x: model(x))
    batches = [(predict(run.model, x).float().cpu(), y.cpu()) for x, y in run.task.eval_loaders[split]]
    return torch.cat([o for o, _ in batches]), torch.cat([y for _, y in batches])


def data_notes(out: Outcome) -> list[str]:
    """What the report says about the data: a JPEG copy moves absolute errors, not comparisons."""
    if "JPEG" in out.data:
        return ["Our CIFAR-10 is a JPEG (quality 75) copy: absolute errors sit above the paper's, and the verdict "
                "rests on the comparison the paper makes, not on matching its numbers."]
    return []
