"""In-memory image datasets as tensors, the fixed train/validation split, and channel statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class ImageArrays:
    """A whole image classification split held in memory.

    Attributes:
        images: uint8 tensor of shape (N, C, H, W), pixel values 0..255.
        labels: int64 tensor of shape (N,), values in ``range(len(classes))``.
        classes: class names; ``labels`` index into it.
        name: dataset name, e.g. ``"cifar10"``.
        source: human-readable provenance naming the variant and file, e.g.
            ``"CIFAR-10 (JPEG q75 copy) from /data/cifar10-jpeg/cifar10-jpeg.tar.gz"``.
            Report it next to every number measured on this data.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str
    source: str

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be a uint8 (N, C, H, W) tensor, got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must be an int64 tensor of shape ({self.images.shape[0]},), got "
                             f"{self.labels.dtype} {tuple(self.labels.shape)}")
        object.__setattr__(self, "classes", tuple(self.classes))

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, indices: torch.Tensor | np.ndarray | Sequence[int]) -> ImageArrays:
        """The examples at `indices` (same classes, name and source)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return ImageArrays(self.images[index], self.labels[index], self.classes, self.name, self.source)

    def sample(self, n: int, *, seed: int = 0) -> ImageArrays:
        """A fixed random subset of ``n`` examples (all of them if ``n >= len(self)``).

        Files such as the CIFAR-10 JPEG copy are ordered by class, so "the first ``n``" would be
        one or two classes; this draws the subset from a generator of its own seeded with
        ``seed``, independent of the run's seed, and keeps the original order.
        """
        if n >= len(self):
            return self
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        return self.subset(perm[:n].sort().values)

    def __repr__(self) -> str:
        return (f"ImageArrays(name={self.name!r}, n={len(self)}, shape={tuple(self.images.shape[1:])}, "
                f"classes={len(self.classes)}, source={self.source!r})")


def train_val_split(n: int, val_size: int = 5000, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``range(n)`` into fixed training and validation indices.

    A permutation drawn from a generator of its own seeded with `seed` (so the split does not
    depend on the run's seed) is cut so that its last `val_size` entries are the validation
    set; both parts are returned sorted. With the defaults on CIFAR-10's 50,000 training images
    this is the 45k/5k split of the ResNet paper (He et al. 2016, section 4.2).
    """
    if not 0 <= val_size <= n:
        raise ValueError(f"val_size must be between 0 and n={n}, got {val_size}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    cut = n - val_size
    return perm[:cut].sort().values, perm[cut:].sort().values


def channel_stats(images: torch.Tensor, *, chunk_size: int = 1024) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of uint8 (N, C, H, W) `images`, in
    [0, 1] units. Sums are accumulated exactly in int64 chunk by chunk, then divided in float64,
    so memory stays bounded and the result does not depend on `chunk_size`."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"expected a non-empty uint8 (N, C, H, W) tensor, got {images.dtype} "
                         f"{tuple(images.shape)}")
    n, c, h, w = images.shape
    total = torch.zeros(c, dtype=torch.int64)
    total_sq = torch.zeros(c, dtype=torch.int64)
    for start in range(0, n, chunk_size):
        chunk = images[start:start + chunk_size].to("cpu", torch.int64)
        total += chunk.sum(dim=(0, 2, 3))
        total_sq += (chunk * chunk).sum(dim=(0, 2, 3))
    count = float(n * h * w)
    mean = total.to(torch.float64) / count
    var = total_sq.to(torch.float64) / count - mean * mean
    std = var.clamp_min(0).sqrt()
    return tuple((mean / 255).tolist()), tuple((std / 255).tolist())
