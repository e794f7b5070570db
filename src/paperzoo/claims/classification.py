"""Experiments that train several image classifiers ("arms") over seeds and compare them.

Shared by every CNN paper's claims: each arm is a registered model with its keyword
arguments (and, if it needs one, its own training recipe); every arm is trained with the one
loop on the same data for each seed. Model selection follows the papers' protocol: the
validation split picks the checkpoint, the test set is only reported, both at the last
iteration and at the evaluation best on validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch.nn as nn

from ..registry import model_entry
from ..train.classification import DataConfig, ImageClassificationTask, Loss, train_classifier
from ..train.loop import TrainConfig, TrainResult
from .core import Outcome, RunContext


@dataclass(frozen=True)
class Arm:
    label: str
    model: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    train: TrainConfig | None = None    # None: the preset's recipe
    loss: Loss | None = None            # None: cross-entropy (see ImageClassificationTask)


@dataclass
class ArmResult:
    label: str
    runs: list[TrainResult] = field(default_factory=list)
    extras: dict[str, list[Any]] = field(default_factory=dict)
    eval_size: int = 0

    def last(self, key: str) -> list[float]:
        """``key`` (e.g. ``test_error``) at the last evaluation, per seed, in percent."""
        return [100 * r.history("eval", key)[1][-1] for r in self.runs]

    def at_best_val(self, key: str = "test_error", by: str = "val_error") -> list[float]:
        """``key`` at the evaluation with the lowest ``by``, per seed, in percent."""
        out = []
        for r in self.runs:
            rows = [x for x in r.records if x["split"] == "eval" and x.get(by) is not None]
            out.append(100 * min(rows, key=lambda x: x[by])[key] if rows else math.nan)
        return out

    def final_train_error(self, window: int = 1) -> list[float]:
        """Mean training error (augmented mini-batches) over the last ``window`` log intervals, %."""
        return [100 * sum(r.history("train", "error")[1][-window:]) / window for r in self.runs]

    def curve(self, split: str, key: str, seed_index: int = 0) -> tuple[list[int], list[float]]:
        steps, values = self.runs[seed_index].history(split, key)
        return steps, [100 * v for v in values]


AfterTraining = Callable[[str, int, nn.Module, ImageClassificationTask], Mapping[str, Any]]


def train_arms(ctx: RunContext, arms: Sequence[Arm], data: DataConfig, train: TrainConfig, *,
               after: AfterTraining | None = None) -> dict[str, ArmResult]:
    """Train every arm for every seed of ``ctx``; ``after(label, seed, model, task)`` may measure
    more on the trained model (its values are collected per seed in ``ArmResult.extras``)."""
    results = {arm.label: ArmResult(arm.label) for arm in arms}
    for seed in ctx.seeds:
        for arm in arms:
            cfg = replace(arm.train or train, seed=seed, device=ctx.device,
                          progress=ctx.progress and (arm.train or train).progress)
            run_dir = ctx.subdir("runs", f"{arm.label}-seed{seed}")
            result, model, task = train_classifier(model_entry(arm.model), data, cfg, model_kwargs=dict(arm.kwargs),
                                                   run_dir=run_dir, data_root=ctx.data_root, loss=arm.loss)
            res = results[arm.label]
            res.runs.append(result)
            res.eval_size = task.sizes["test"]
            res.extras.setdefault("data", []).append(task.source)
            if after is not None:
                model.eval()
                for k, v in after(arm.label, seed, model, task).items():
                    res.extras.setdefault(k, []).append(v)
    return results


def record_errors(outcome: Outcome, results: Mapping[str, ArmResult]) -> None:
    """Put each arm's test error (last and best-on-validation) and final training error in the outcome."""
    for label, res in results.items():
        outcome.add(f"test_error/{label}", res.last("test_error"))
        if res.runs and res.runs[0].history("eval", "val_error")[0]:
            outcome.add(f"test_error_at_best_val/{label}", res.at_best_val())
        outcome.add(f"train_error/{label}", res.final_train_error())
    first = next(iter(results.values()))
    outcome.data = first.extras["data"][0] if first.extras.get("data") else ""


def error_table(outcome: Outcome, labels: Sequence[str], paper: Mapping[str, float] | None = None) -> str:
    """Markdown: per arm, the final training error, test error at the last iteration and at the
    checkpoint best on validation (mean ± std over seeds), and the paper's number if any."""
    head = "| model | train error (%) | test error, last iter. (%) | test error, best val. ckpt (%) |"
    sep = "|---|---|---|---|"
    if paper:
        head, sep = head + " paper (%) |", sep + "---|"
    lines = [head, sep]
    for label in labels:
        best = f"test_error_at_best_val/{label}"
        row = [label, outcome.fmt(f"train_error/{label}"), outcome.fmt(f"test_error/{label}"),
               outcome.fmt(best) if best in outcome.values else "—"]
        if paper:
            row.append(f"{paper[label]:g}" if label in paper else "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def noise_margin(p_a: float, p_b: float, n_a: int, n_b: int | None = None, z: float = 2.0) -> float:
    """Two standard errors of the difference of two error rates (in %) measured on ``n_a`` and
    ``n_b`` samples (binomial). Differences inside this margin are not evidence either way."""
    n_b = n_b or n_a
    a, b = p_a / 100, p_b / 100
    return 100 * z * math.sqrt(max(a * (1 - a), 1e-12) / n_a + max(b * (1 - b), 1e-12) / n_b)


def compare(lower: float, higher: float, margin: float) -> str:
    """``"yes"`` if ``lower`` is below ``higher`` by more than ``margin``, ``"no"`` if above by
    more than it, ``"tie"`` otherwise."""
    if higher - lower > margin:
        return "yes"
    if lower - higher > margin:
        return "no"
    return "tie"


def difference_margin(out: Outcome, key: str, n: int, *, model: str, than: str) -> float:
    """The noise of ``model``'s ``key`` (an error in %) minus ``than``'s, in points: the larger of two
    binomial standard errors of the difference for ``n`` evaluated samples and two standard errors
    of the difference of the means over seeds."""
    a, b = out.values[f"{key}/{model}"], out.values[f"{key}/{than}"]
    seeds = len(out.per_seed[f"{key}/{model}"])
    seed_margin = 2 * math.sqrt((out.std[f"{key}/{model}"] ** 2 + out.std[f"{key}/{than}"] ** 2) / seeds)
    return max(noise_margin(a, b, n), seed_margin)


def lower_beyond_noise(out: Outcome, key: str, n: int, *, model: str, than: str) -> str:
    """Whether ``model``'s ``key`` (an error in %) is below ``than``'s beyond noise: ``"yes"``,
    ``"no"`` (above beyond noise) or ``"tie"``; noise as :func:`difference_margin`."""
    return compare(out.values[f"{key}/{model}"], out.values[f"{key}/{than}"],
                   difference_margin(out, key, n, model=model, than=than))


def paired_margin(fixes: float, breaks: float, n: int, z: float = 2.0) -> float:
    """``z`` standard errors (points) of the difference of two error rates measured on the *same*
    ``n`` images, from the fractions of images only the first gets right (``fixes``) and only the
    second gets right (``breaks``): the McNemar variance ``(f + b - (f - b)^2) / n``."""
    return 100 * z * math.sqrt(max(fixes + breaks - (fixes - breaks) ** 2, 0.0) / n)
