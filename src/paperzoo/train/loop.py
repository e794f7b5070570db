"""The one training loop.

A *task* supplies the data and the two steps; the loop supplies everything else: optimizer and
schedule from the config, bf16 autocast on CUDA, optional ``torch.compile`` and channels_last,
gradient clipping, seeding and a deterministic mode, periodic evaluation, metrics as JSON
lines, atomic checkpoints and exact resume, and data parallelism under torchrun.

Papers whose training does not fit (a GAN's alternating updates) write a short loop of their
own from the same pieces: :mod:`.checkpoint`, :mod:`.logger`, :mod:`.env`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from ..config import to_dict
from ..errors import UserError
from ..optim import OptimizerConfig, ScheduleConfig, build_optimizer, build_schedule
from . import checkpoint as ckpt
from .distributed import DistInfo, barrier, init_distributed, shard
from .env import environment, resolve_device, rng_state, seed_everything, set_rng_state
from .logger import MetricLogger

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
        self.dist: DistInfo = init_distributed(self.device)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.model_meta = model_meta or {}
        self.model = model.to(self.device)
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.dist.enabled and cfg.sync_bn:
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.optimizer = build_optimizer(cfg.optimizer, self.model.parameters())
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
        cfg, main = self.cfg, self.dist.is_main
        wall0 = time.perf_counter()
        start, sums, count = 0, {}, 0
        logger = MetricLogger(self.run_dir if main else None, tensorboard=cfg.tensorboard and main)
        if resume:
            start, sums, count = self._restore(logger)
        else:
            seed_everything(cfg.seed, deterministic=cfg.deterministic)
            self._write_run_files()
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
            interval_samples += batch[0].shape[0] * self.dist.world_size
            metrics = {"loss": loss.detach(), **{k: v.detach() for k, v in metrics.items()}}
            for k, v in metrics.items():
                sums[k] = sums[k] + v.float() if k in sums else v.float()
            count += 1
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                avg = {k: (v / count).item() for k, v in sums.items()}
                if not math.isfinite(avg["loss"]):
                    raise FloatingPointError(f"training diverged at step {done}: loss is {avg['loss']}")
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
            if (cfg.eval_every and done % cfg.eval_every == 0) or done == cfg.steps:
                final = self._evaluate(done, logger)
                self._observe(final)
                if cfg.progress and main:
                    shown = ", ".join(f"{k} {v:.4g}" for k, v in final.items())
                    name = self.model_meta.get("model", "train")
                    tqdm.write(f"{name} step {done}/{cfg.steps}: {shown}", file=sys.stderr)
                if main and cfg.best_metric and final.get(cfg.best_metric, math.inf) < best:
                    best = final[cfg.best_metric]
                    self._save_best(done)
            if self.run_dir is not None and main and (
                    (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == cfg.steps):
                self._checkpoint(done, sums, count)
            t0 += time.perf_counter() - paused
        barrier(self.dist)
        bar.close()
        logger.close()
        if not final and start >= cfg.steps:
            final = self._evaluate(cfg.steps, logger)
        wall = time.perf_counter() - wall0
        return TrainResult(logger.records, final, cfg.steps, train_seconds, wall,
                           samples / max(train_seconds, 1e-9), self.run_dir)

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
        ckpt.save_checkpoint(self.run_dir / "checkpoints", step, self.model.state_dict(),
                             {**self.model_meta, "step": step}, state, keep=self.cfg.keep_checkpoints)

    def _save_best(self, step: int) -> None:
        if self.run_dir is None:
            return
        best = self.run_dir / "best"
        best.mkdir(parents=True, exist_ok=True)
        tmp = best / f".{ckpt.MODEL_FILE}.tmp"
        ckpt.save_model(tmp, self.model.state_dict(), {**self.model_meta, "step": step})
        tmp.replace(best / ckpt.MODEL_FILE)

    def _restore(self, logger: MetricLogger) -> tuple[int, dict[str, torch.Tensor], int]:
        if self.run_dir is None:
            raise UserError("resume needs the run folder of the run to continue (--out DIR)")
        weights, _, state = ckpt.load_checkpoint(self.run_dir)
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(state["optimizer"])
        if hasattr(self.schedule, "load_state_dict"):
            if state.get("schedule") is None:
                raise UserError(f"the checkpoint in {self.run_dir} holds no state for the {self.cfg.schedule.name} "
                                "schedule: it was written by a run with another schedule")
            self.schedule.load_state_dict(state["schedule"])
        self.task.load_state_dict(state["task"])
        set_rng_state(state["rng"])
        if self.cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        step = int(state["step"])
        logger.truncate_after(step)
        sums = {k: v.to(self.device) for k, v in state["log_sums"].items()}
        return step, sums, int(state["log_count"])
