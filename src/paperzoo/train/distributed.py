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
from dataclasses import dataclass
from datetime import timedelta

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
