"""The one training loop.

A *task* supplies the data and the two steps; the loop supplies everything else: optimizer and
schedule from the config, bf16 autocast on CUDA, optional ``torch.compile`` and channels_last,
gradient clipping, seeding and a deterministic mode, periodic evaluation, metrics as JSON
lines, atomic checkpoints and exact resume, and data parallelism under torchrun.

What a run can lose is guarded: the run folder is locked for the life of the run (a second run
into it stops at once); the loss is checked for NaN and infinity at every step without a device
sync (:class:`NonFiniteWatch`), and a run whose loss, evaluation or weights stop being finite ends
with :class:`~paperzoo.errors.TrainingDiverged` naming the step and the last good checkpoint,
without writing a checkpoint of the damage; leftovers of killed writes are removed at the next
start, and resume takes the newest checkpoint that verifies.

Papers whose training does not fit (a GAN's alternating updates) write a short loop of their
own from the same pieces: :mod:`.checkpoint`, :mod:`.logger`, :mod:`.env`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..config import to_dict
from ..errors import DataError, TrainingDiverged, UserError, note
from ..optim import OptimizerConfig, ScheduleConfig, build_optimizer, build_schedule
from . import checkpoint as ckpt
from .distributed import DistInfo, all_min, barrier, init_distributed, lost_peer, shard
from .env import environment, resolve_device, rng_state, seed_everything, set_rng_state
from .logger import MetricLogger
from .runlock import run_lock

Batch = tuple[torch.Tensor, ...]


class Task(Protocol):
    """What the loop needs from a paper's task."""

    def train_batches(self) -> Iterator[Batch]:
        """Training batches, forever (global batches; the loop shards them across workers)."""

    def training_step(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss to minimise and per-batch metrics (scalar tensors, averaged over the log interval)."""

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Validation/test metrics; called in eval mode under ``torch.no_grad()``."""

    def state_dict(self) -> dict[str, Any]:
        """The data pipeline's position and RNG, for exact resume."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class TrainConfig:
    """How to optimise. Iteration-based, as the ResNet paper counts (32k, 48k, 64k)."""

    steps: int = 64000
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=lambda: ScheduleConfig(milestones=(32000, 48000)))
    eval_every: int = 0          # 0: evaluate only at the end
    log_every: int = 100
    checkpoint_every: int = 0    # 0: checkpoint only at the end (when the run has a folder)
    keep_checkpoints: int = 2
    best_metric: str = ""        # e.g. "val_error": also keep the weights best on it (lower is better)
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    amp: bool = True             # bf16 autocast, CUDA only
    compile: bool = False
    compile_mode: Literal["default", "reduce-overhead", "max-autotune"] = "default"  # reduce-overhead: CUDA graphs
    channels_last: bool = False
    grad_clip: float = 0.0       # max global gradient norm; 0 disables
    sync_bn: bool = False        # under torchrun: BatchNorm statistics over the global batch
    progress: bool = True
    tensorboard: bool = False
    dist_timeout: float = 600.0  # seconds a worker waits for the others (torchrun) before it gives up


@dataclass
class TrainResult:
    records: list[dict[str, Any]]
    final: dict[str, float]
    steps: int
    train_seconds: float
    wall_seconds: float
    samples_per_second: float
    run_dir: Path | None

    def history(self, split: str, key: str) -> tuple[list[int], list[float]]:
        rows = [r for r in self.records if r["split"] == split and r.get(key) is not None]
        return [r["step"] for r in rows], [r[key] for r in rows]


class NonFiniteWatch:
    """The first step whose loss was NaN or infinite, kept on the device so that checking every
    step costs no device sync.

    ``observe`` folds each step's loss into a device tensor. On a CPU the value is read at once
    (reading a CPU tensor waits for nothing), so a run stops at the step its loss went bad. On
    CUDA a copy goes to pinned host memory without blocking and is peeked at, a step or two late;
    ``read`` (a sync) is called where the loop synchronises anyway and always before an
    evaluation or a checkpoint. Under torchrun the workers agree at those points only (the value
    is reduced over them), so that all of them stop at the same step.
    """

    NONE = 2 ** 62

    def __init__(self, device: torch.device, dist: DistInfo) -> None:
        self.dist = dist
        self.first = torch.full((), self.NONE, dtype=torch.long, device=device)
        self.eager = device.type != "cuda" and not dist.enabled
        self.host = (torch.full((), self.NONE, dtype=torch.long).pin_memory()
                     if device.type == "cuda" and not dist.enabled else None)

    def observe(self, step: int, loss: torch.Tensor) -> int | None:
        """Fold in the loss of ``step``; the first bad step where that is known without a sync."""
        self.first = torch.minimum(self.first, torch.where(torch.isfinite(loss.detach()), self.NONE, step))
        if self.eager:
            return self._value(self.first)
        if self.host is not None:
            self.host.copy_(self.first, non_blocking=True)
            return self._value(self.host)
        return None

    def read(self) -> int | None:
        """The first bad step so far, agreed over the workers (a device sync)."""
        return self._value(all_min(self.first.clone(), self.dist))

    def _value(self, t: torch.Tensor) -> int | None:
        value = int(t)
        return None if value == self.NONE else value


def check_train_state(state: Any) -> None:
    """``ValueError`` unless ``state`` has the shape :meth:`Trainer._checkpoint` writes."""
    expected = {"step": int, "optimizer": dict, "rng": dict, "task": dict, "log_sums": dict, "log_count": int,
                "config": dict}
    if not isinstance(state, dict):
        raise ValueError(f"a {type(state).__name__}, not a dict")
    for key, kind in expected.items():
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            raise ValueError(f"{key!r} is {type(state.get(key)).__name__}, not {kind.__name__}")
    if state["step"] < 0 or state["log_count"] < 0:
        raise ValueError("a negative step or log count")
    optimizer = state["optimizer"]
    if not (isinstance(optimizer.get("state"), dict) and isinstance(optimizer.get("param_groups"), list)):
        raise ValueError("the optimizer state lacks a 'state' dict or a 'param_groups' list")
    if not all(isinstance(v, torch.Tensor) for v in state["log_sums"].values()):
        raise ValueError("'log_sums' holds values that are not tensors")
    if state.get("schedule") is not None and not isinstance(state["schedule"], dict):
        raise ValueError("'schedule' is neither a dict nor None")


class Trainer:
    """``Trainer(model, task, cfg, run_dir=...).fit(resume=False)``.

    ``model_meta`` (registry name, keyword arguments, data normalisation) is stored inside each
    checkpoint's weights file so ``paperzoo eval`` can rebuild the model from it.
    """

    def __init__(self, model: nn.Module, task: Task, cfg: TrainConfig, *, run_dir: str | Path | None = None,
                 model_meta: dict[str, Any] | None = None) -> None:
        self.cfg = cfg
        self.task = task
        self.device = resolve_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device, timeout=cfg.dist_timeout)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.model_meta = model_meta or {}
        self.last_checkpoint: Path | None = None   # the newest checkpoint written or resumed from
        self.model = model.to(self.device)
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.dist.enabled and cfg.sync_bn:
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.optimizer = build_optimizer(cfg.optimizer, self.model)
        self.base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.schedule = build_schedule(cfg.schedule, total_steps=cfg.steps)
        if hasattr(self.schedule, "observe") and not cfg.eval_every:
            raise UserError(f"the {cfg.schedule.name} schedule reacts to evaluations: set eval_every "
                            "(evaluate every so many steps)")
        self.train_model = self._wrap(self.model)

    def _wrap(self, model: nn.Module) -> nn.Module:
        if self.dist.enabled:
            ids = [self.dist.local_rank] if self.device.type == "cuda" else None
            model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        if self.cfg.compile:
            model = torch.compile(model, mode=self.cfg.compile_mode)
        return model

    # --- the loop -------------------------------------------------------------------------------

    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train to ``cfg.steps``; with ``resume``, from the run folder's newest good checkpoint.
        Holds the run folder's lock throughout (worker 0 under torchrun)."""
        locked = self.run_dir is not None and self.dist.is_main
        with run_lock(self.run_dir) if locked else nullcontext():
            if locked:
                ckpt.clean_leftovers(self.run_dir)
            try:
                return self._fit(resume)
            except RuntimeError as e:
                if self.dist.enabled and lost_peer(e):
                    raise UserError(f"worker {self.dist.rank} lost contact with the other workers (none answered "
                                    f"within {self.cfg.dist_timeout:g} s, or one died): {str(e).splitlines()[0]}; "
                                    f"{self._resume_hint()}") from None
                raise

    def _fit(self, resume: bool) -> TrainResult:
        cfg, main = self.cfg, self.dist.is_main
        wall0 = time.perf_counter()
        start, sums, count = 0, {}, 0
        logger = MetricLogger(self.run_dir if main else None, tensorboard=cfg.tensorboard and main)
        if resume and self.run_dir is not None and not ckpt.has_checkpoint(self.run_dir):
            if not (self.run_dir / "config.json").exists():
                raise UserError(f"nothing to resume in {self.run_dir}: it holds no run")
            note(f"{self.run_dir} holds no complete checkpoint (its run stopped before writing one); "
                 "starting it again from step 0")
            resume = False
        if resume:
            start, sums, count = self._restore(logger)
            if start >= cfg.steps:
                return self._finished(logger, start, wall0)
        else:
            seed_everything(cfg.seed, deterministic=cfg.deterministic)
            self._write_run_files()
        watch = NonFiniteWatch(self.device, self.dist)
        batches = self.task.train_batches()
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cfg.amp and self.device.type == "cuda")
        # disable=None: a bar on terminals only, none in logs and CI
        bar = tqdm(total=cfg.steps, initial=start, disable=None if cfg.progress and main else True, dynamic_ncols=True,
                   desc=self.model_meta.get("model", "train"), leave=False)
        best = min((r[cfg.best_metric] for r in logger.records
                    if r["split"] == "eval" and r.get(cfg.best_metric) is not None), default=math.inf)
        final: dict[str, float] = {}
        train_seconds, samples, interval_samples = 0.0, 0, 0
        self.train_model.train()
        t0 = time.perf_counter()
        for step in range(start, cfg.steps):
            factor = self.schedule(step)
            for group, base in zip(self.optimizer.param_groups, self.base_lrs):
                group["lr"] = base * factor
            batch = self._prepare(shard(next(batches), self.dist))
            with autocast:
                loss, metrics = self.task.training_step(self.train_model, batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            done = step + 1
            self._stop_if_diverged(watch.observe(done, loss))
            interval_samples += batch[0].shape[0] * self.dist.world_size
            metrics = {"loss": loss.detach(), **{k: v.detach() for k, v in metrics.items()}}
            for k, v in metrics.items():
                sums[k] = sums[k] + v.float() if k in sums else v.float()
            count += 1
            evaluates = (cfg.eval_every and done % cfg.eval_every == 0) or done == cfg.steps
            saves = self.run_dir is not None and (
                (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == cfg.steps)
            logs = done % cfg.log_every == 0 or done == cfg.steps
            if logs or evaluates or saves:   # the loop syncs here anyway; never evaluate or save damage
                self._stop_if_diverged(watch.read())
            if logs:
                avg = {k: (v / count).item() for k, v in sums.items()}
                seconds = time.perf_counter() - t0
                train_seconds += seconds
                samples += interval_samples
                if main:
                    logger.log(done, "train", {**avg, "lr": self.optimizer.param_groups[0]["lr"],
                                               "samples_per_s": interval_samples / max(seconds, 1e-9)})
                interval_samples = 0
                bar.set_postfix(loss=f"{avg['loss']:.3f}", lr=f"{self.optimizer.param_groups[0]['lr']:.3g}")
                sums, count = {}, 0
                t0 = time.perf_counter()
            bar.update(1)
            paused = time.perf_counter()   # evaluation and checkpoints do not count as training time
            if evaluates:
                final = self._evaluate(done, logger)
                self._observe(final)
                if cfg.progress and main:
                    shown = ", ".join(f"{k} {v:.4g}" for k, v in final.items())
                    name = self.model_meta.get("model", "train")
                    tqdm.write(f"{name} step {done}/{cfg.steps}: {shown}", file=sys.stderr)
                if main and cfg.best_metric and final.get(cfg.best_metric, math.inf) < best:
                    best = final[cfg.best_metric]
                    self._save_best(done)
            if saves and main:
                self._checkpoint(done, sums, count)
            t0 += time.perf_counter() - paused
        barrier(self.dist)
        bar.close()
        logger.close()
        wall = time.perf_counter() - wall0
        return TrainResult(logger.records, final, cfg.steps, train_seconds, wall,
                           samples / max(train_seconds, 1e-9), self.run_dir)

    def _finished(self, logger: MetricLogger, step: int, wall0: float) -> TrainResult:
        """Resuming a run that already reached its last step: say so, write nothing."""
        logger.load()
        logger.close()
        evals = [r for r in logger.records if r["split"] == "eval"]
        final = {k: v for k, v in evals[-1].items() if k not in ("step", "split")} if evals else {}
        if self.dist.is_main:
            note(f"the run in {self.run_dir} is finished (step {step} of {self.cfg.steps}); nothing to do. "
                 "Set more steps to train it further")
        return TrainResult(logger.records, final, step, 0.0, time.perf_counter() - wall0, 0.0, self.run_dir)

    def _stop_if_diverged(self, bad_step: int | None) -> None:
        if bad_step is not None:
            raise TrainingDiverged(f"training diverged: the loss is not finite (NaN or infinite) at step "
                                   f"{bad_step}; {self._resume_hint()}")

    def _resume_hint(self) -> str:
        if self.last_checkpoint is not None:
            return f"the last good checkpoint is {self.last_checkpoint} (resume from it with --resume)"
        if self.run_dir is not None:
            return "no checkpoint was written yet (set checkpoint_every to keep some)"
        return "the run has no folder, so no checkpoint was kept"

    def _prepare(self, batch: Batch) -> Batch:
        out = []
        for t in batch:
            t = t.to(self.device, non_blocking=True)
            if self.cfg.channels_last and t.dim() == 4 and t.is_floating_point():
                t = t.contiguous(memory_format=torch.channels_last)
            out.append(t)
        return tuple(out)

    def _evaluate(self, step: int, logger: MetricLogger) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.dist.is_main:
            self.model.eval()
            autocast = torch.autocast("cuda", dtype=torch.bfloat16,
                                      enabled=self.cfg.amp and self.device.type == "cuda")
            with torch.no_grad(), autocast:
                metrics = self.task.evaluate(self.model)
            self.model.train()
            bad = [k for k, v in metrics.items() if not math.isfinite(float(v))]
            if bad:
                raise TrainingDiverged(f"the evaluation at step {step} gave {bad[0]} = {metrics[bad[0]]}; "
                                       f"the model has diverged: {self._resume_hint()}")
            logger.log(step, "eval", metrics)
        barrier(self.dist)
        return metrics

    def _observe(self, metrics: dict[str, float]) -> None:
        """Pass the monitored metric to a schedule that reacts to evaluations (reduce-on-plateau)."""
        observe = getattr(self.schedule, "observe", None)
        if observe is None:
            return
        monitor = self.cfg.schedule.monitor
        value = [metrics.get(monitor)]
        if self.dist.enabled:  # only worker 0 evaluated
            torch.distributed.broadcast_object_list(value, src=0)
        if value[0] is None:
            raise UserError(f"the {self.cfg.schedule.name} schedule watches {monitor!r}, which this task's "
                            f"evaluate() does not return; set schedule.monitor to one of: "
                            f"{', '.join(metrics) or '(none returned)'}")
        observe(value[0])

    # --- run folder and checkpoints -------------------------------------------------------------

    def _write_run_files(self) -> None:
        if self.run_dir is None or not self.dist.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "metrics.jsonl").unlink(missing_ok=True)
        config = {"train": to_dict(self.cfg), **self.model_meta}
        (self.run_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (self.run_dir / "env.json").write_text(json.dumps(environment(self.device), indent=2) + "\n")

    def _checkpoint(self, step: int, sums: dict[str, torch.Tensor], count: int) -> None:
        state = {"step": step, "optimizer": self.optimizer.state_dict(), "rng": rng_state(),
                 "task": self.task.state_dict(), "log_sums": sums, "log_count": count,
                 "schedule": self.schedule.state_dict() if hasattr(self.schedule, "state_dict") else None,
                 "config": to_dict(self.cfg)}
        try:
            self.last_checkpoint = ckpt.save_checkpoint(
                self.run_dir / "checkpoints", step, self.model.state_dict(), {**self.model_meta, "step": step},
                state, keep=self.cfg.keep_checkpoints)
        except TrainingDiverged as e:
            raise TrainingDiverged(f"training diverged by step {step}: {e}; {self._resume_hint()}") from None

    def _save_best(self, step: int) -> None:
        if self.run_dir is None:
            return
        best = self.run_dir / "best"
        best.mkdir(parents=True, exist_ok=True)
        tmp = best / f".{ckpt.MODEL_FILE}.tmp"
        try:
            ckpt.save_model(tmp, self.model.state_dict(), {**self.model_meta, "step": step})
        except TrainingDiverged as e:
            raise TrainingDiverged(f"training diverged by step {step}: {e}; {self._resume_hint()}") from None
        tmp.replace(best / ckpt.MODEL_FILE)

    def _restore(self, logger: MetricLogger) -> tuple[int, dict[str, torch.Tensor], int]:
        if self.run_dir is None:
            raise UserError("resume needs the run folder of the run to continue (--out DIR)")
        folder, weights, _, state = ckpt.good_checkpoint(self.run_dir, validate=check_train_state)
        try:
            self.model.load_state_dict(weights)
        except RuntimeError as e:
            raise UserError(f"the checkpoint in {self.run_dir} does not fit this model: "
                            f"{str(e).splitlines()[0]}") from None
        if hasattr(self.schedule, "load_state_dict") and state.get("schedule") is None:
            raise UserError(f"the checkpoint in {self.run_dir} holds no state for the {self.cfg.schedule.name} "
                            "schedule: it was written by a run with another schedule")
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if hasattr(self.schedule, "load_state_dict"):
                self.schedule.load_state_dict(state["schedule"])
            self.task.load_state_dict(state["task"])
            set_rng_state(state["rng"])
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
            raise DataError(f"the training state in {self.run_dir} does not fit this run "
                            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no detail'}); "
                            "it is damaged or was written by another kind of run") from None
        if self.cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        step = state["step"]
        logger.truncate_after(step)
        sums = {k: v.to(self.device) for k, v in state["log_sums"].items()}
        self.last_checkpoint = folder
        return step, sums, state["log_count"]
