"""Data parallelism with ``torch.distributed`` (launch with ``torchrun``).

Synchronous data parallelism as the VGG paper (Section 3.3) describes: every worker holds the
whole model, computes gradients on its share of the batch, and the gradients are averaged
before each update, so the update equals one computed on the whole batch at once. The loop
draws the *global* batch on every worker (same seed, same augmentation) and each worker takes
its contiguous slice; with equal slices the averaged gradient is the gradient of the global
batch's mean loss. BatchNorm keeps per-worker statistics, as the paper's multi-GPU training
did; pass ``sync_bn=True`` to the trainer for statistics over the global batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device, *, timeout: float = 600.0) -> DistInfo:
    """Join the process group torchrun describes in the environment (no-op when not launched so).

    ``timeout`` (seconds) bounds every wait on the other workers, joining included: a worker that
    stopped or died makes the others fail within it instead of hanging for the backend's default.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                                timeout=timedelta(seconds=timeout))
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(info.local_rank)
    return info


def shard(batch: tuple[torch.Tensor, ...], info: DistInfo) -> tuple[torch.Tensor, ...]:
    """This worker's contiguous slice of a global batch (the batch size must divide evenly)."""
    if not info.enabled:
        return batch
    n = batch[0].shape[0]
    if n % info.world_size:
        raise ValueError(f"global batch of {n} does not split evenly over {info.world_size} workers")
    k = n // info.world_size
    return tuple(t[info.rank * k:(info.rank + 1) * k] for t in batch)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_min(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """The elementwise minimum of ``t`` over the workers (``t`` itself with one worker)."""
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t


#: How the backends word a lost peer: a timeout (a stopped worker) or a closed connection (a dead one).
_LOST = ("timed out", "timeout", "connection closed", "connection reset", "broken pipe")


def lost_peer(error: BaseException) -> bool:
    """Whether a collective failed because another worker stopped answering or died."""
    return isinstance(error, RuntimeError) and any(w in str(error).lower() for w in _LOST)


def spawn_workers(fn: Callable[..., Any], world_size: int, *args: Any, timeout: float = 600.0) -> list[Any]:
    """Run ``fn(*args)`` in ``world_size`` CPU processes that join one gloo process group the way
    torchrun describes it (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``PORT`` in the environment),
    so that the loop inside ``fn`` trains data-parallel. Returns each worker's return value in rank
    order (tensors, numbers, strings and containers of them: they travel through ``torch.save``).
    ``fn`` must be importable (a module-level function)."""
    import tempfile

    import torch.multiprocessing as mp  # noqa: PLC0415  (imported on use: it costs start-up time)

    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(fn, world_size, _free_port(), tmp, args, timeout), nprocs=world_size, join=True)
        return [torch.load(os.path.join(tmp, f"rank{r}.pt"), weights_only=True) for r in range(world_size)]


def _worker(rank: int, fn: Callable[..., Any], world: int, port: int, out_dir: str, args: tuple, timeout: float,
            ) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    try:
        init_distributed(torch.device("cpu"), timeout=timeout)
        torch.save(fn(*args), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
