"""Batch loaders.

* :class:`DeviceLoader`: the fast path for small image sets (MNIST, CIFAR). The whole uint8
  dataset lives on the target device and batches are cropped, flipped and normalised there with
  a few tensor operations; there are no worker processes. Its randomness comes from its own CPU
  generator, so batches do not depend on the device, and its state can be saved and restored
  mid-epoch so that resumed training sees exactly the batches uninterrupted training would.
* :func:`folder_loader`: a plain :class:`torch.utils.data.DataLoader` over an
  :class:`~paperzoo.data.imagefolder.ImageFolder`, for sets too large for memory (ImageNet).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from ..errors import UserError
from .arrays import ImageArrays
from .imagefolder import ImageFolder

Batch = tuple[torch.Tensor, torch.Tensor]


def crop_and_flip(images: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, flips: torch.Tensor,
                  pad: int) -> torch.Tensor:
    """Crop each image of a batch at its own offset from a zero-padded copy, then mirror the
    images whose `flips` entry is True -- with one gather, no loop over images.

    Args:
        images: (B, C, H, W) tensor of any dtype; padding uses the value 0 (black in pixel space).
        tops, lefts: (B,) integer offsets in ``0..2*pad`` into the padded (H+2p, W+2p) image;
            ``tops = lefts = pad`` leaves the image unshifted.
        flips: (B,) bool; True mirrors that image left-right (after cropping).
        pad: zero padding added on each side.

    Returns:
        (B, C, H, W) tensor: ``out[b] = padded[b, :, tops[b]:tops[b]+H, lefts[b]:lefts[b]+W]``,
        mirrored where ``flips[b]``.
    """
    b, c, h, w = images.shape
    if pad:
        padded = images.new_zeros((b, c, h + 2 * pad, w + 2 * pad))
        padded[:, :, pad:pad + h, pad:pad + w] = images
    else:
        padded = images
    width = w + 2 * pad
    rows = tops.view(b, 1) + torch.arange(h, device=images.device)  # (B, H)
    columns = torch.arange(w, device=images.device).expand(b, w)
    columns = torch.where(flips.view(b, 1), w - 1 - columns, columns) + lefts.view(b, 1)  # (B, W)
    flat = (rows.unsqueeze(2) * width + columns.unsqueeze(1)).view(b, 1, h * w).expand(b, c, h * w)
    return padded.reshape(b, c, -1).gather(2, flat).view(b, c, h, w)


def _encode_rng(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode("ascii")


def _decode_rng(text: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)


class DeviceLoader:
    """Batches of a whole in-memory image set kept on `device`, augmented there.

    Each batch is ``(x, y)``: `x` of `dtype`, shape (B, C, H, W), ``(pixels/255 - mean)/std``
    per channel (or ``pixels/255`` without mean/std); `y` int64 (B,).

    Args:
        data: the images (uint8) and labels; copied to `device` once.
        batch_size: examples per batch.
        device: where the data and the batches live (``"cpu"``, ``"cuda"``...).
        shuffle: draw a new permutation every epoch (else dataset order).
        drop_last: drop the last incomplete batch of an epoch.
        augment: random crop from the image zero-padded by `pad` pixels, plus (if `flip`) a
            random horizontal flip with probability 1/2 -- the CIFAR augmentation of the ResNet
            paper (He et al. 2016, section 4.2).
        pad, flip: see `augment`.
        mean, std: per-channel statistics in [0, 1] units (e.g. from
            :func:`~paperzoo.data.arrays.channel_stats`); both or neither.
        seed: seeds the loader's own CPU generator, the only source of its randomness
            (epoch permutations, crop offsets, flips); results do not depend on the device.
        channels_last: return `x` in channels-last memory format.
        dtype: floating dtype of `x`.

    ``iter(loader)`` yields the rest of the current epoch (all of it, from a fresh or
    finished state) and then moves to the next epoch; ``loader.forever()`` yields batches across
    epochs without end. The loader is a single stream: do not iterate it from two places at once.
    :meth:`state_dict` / :meth:`load_state_dict` save and restore the position (JSON-serialisable).
    For evaluation use ``shuffle=False, drop_last=False, augment=False``.
    """

    def __init__(self, data: ImageArrays, *, batch_size: int, device: str | torch.device = "cpu",
                 shuffle: bool = True, drop_last: bool = True, augment: bool = False, pad: int = 4,
                 flip: bool = True, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 seed: int = 0, channels_last: bool = False, dtype: torch.dtype = torch.float32) -> None:
        if batch_size < 1 or pad < 0:
            raise UserError(f"batch_size must be >= 1 and pad >= 0, got {batch_size} and {pad}")
        if (mean is None) != (std is None):
            raise UserError("give both mean and std, or neither")
        self.device = torch.device(device)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.augment, self.pad, self.flip = augment, pad, flip
        self.seed, self.channels_last, self.dtype = seed, channels_last, dtype
        self._scale, self._shift = self._normaliser(mean, std)
        self._rng = torch.Generator().manual_seed(seed)
        self._epoch, self._position = 0, 0
        self._epoch_rng = self._rng.get_state()  # generator state at the start of the current epoch
        if len(self) == 0:
            raise UserError(f"{data.name}: {len(data)} examples make no batch of {batch_size} "
                            f"with drop_last=True")

    def _normaliser(self, mean: Sequence[float] | None,
                    std: Sequence[float] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scale, shift)`` with ``pixels * scale + shift == (pixels/255 - mean)/std``."""
        channels = self.images.shape[1]
        mean_t = torch.as_tensor(mean if mean is not None else [0.0] * channels, dtype=torch.float64)
        std_t = torch.as_tensor(std if std is not None else [1.0] * channels, dtype=torch.float64)
        if mean_t.shape != (channels,) or std_t.shape != (channels,) or bool((std_t <= 0).any()):
            raise UserError(f"mean and std need {channels} values each, std > 0; got {mean} and {std}")
        shape = (1, channels, 1, 1)
        scale = (1 / (255 * std_t)).view(shape)
        shift = (-mean_t / std_t).view(shape)
        return scale.to(self.device, torch.float32), shift.to(self.device, torch.float32)

    def __len__(self) -> int:
        n = self.images.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def epoch(self) -> int:
        """Number of the current epoch (0-based)."""
        return self._epoch

    # --- randomness ---------------------------------------------------------------------------

    def _draw_augmentation(self, rng: torch.Generator, size: int) -> tuple[torch.Tensor, ...] | None:
        """Crop offsets and flips for one batch, drawn in a fixed order (None without augment)."""
        if not self.augment:
            return None
        tops = torch.randint(0, 2 * self.pad + 1, (size,), generator=rng)
        lefts = torch.randint(0, 2 * self.pad + 1, (size,), generator=rng)
        flips = torch.rand(size, generator=rng) < 0.5 if self.flip else torch.zeros(size, dtype=torch.bool)
        return tops, lefts, flips

    def _batch_sizes(self) -> list[int]:
        n, b = self.images.shape[0], self.batch_size
        return [min(b, n - start) for start in range(0, len(self) * b, b)]

    def _replay(self, rng: torch.Generator, batches: int) -> torch.Tensor:
        """Set `rng` to the current epoch's start, draw the epoch's permutation and the
        augmentation of its first `batches` batches; returns the permutation (CPU)."""
        rng.set_state(self._epoch_rng)
        n = self.images.shape[0]
        perm = torch.randperm(n, generator=rng) if self.shuffle else torch.arange(n)
        for size in self._batch_sizes()[:batches]:
            self._draw_augmentation(rng, size)
        return perm

    # --- iteration ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Batch]:
        if self._position >= len(self):  # the previous epoch is finished: start the next one
            self._replay(self._rng, len(self))
            self._epoch, self._position, self._epoch_rng = self._epoch + 1, 0, self._rng.get_state()
        perm = self._replay(self._rng, self._position)
        sizes = self._batch_sizes()
        for index in range(self._position, len(self)):
            start = index * self.batch_size
            rows = perm[start:start + sizes[index]]
            augmentation = self._draw_augmentation(self._rng, len(rows))
            self._position = index + 1  # counted before yielding: a state saved now resumes after it
            yield self._make_batch(rows, augmentation)

    def forever(self) -> Iterator[Batch]:
        """Batches across epochs, without end."""
        while True:
            yield from self

    def _make_batch(self, rows: torch.Tensor, augmentation: tuple[torch.Tensor, ...] | None) -> Batch:
        rows = rows.to(self.device, non_blocking=True)
        x, y = self.images[rows], self.labels[rows]
        if augmentation is not None:
            tops, lefts, flips = (t.to(self.device, non_blocking=True) for t in augmentation)
            x = crop_and_flip(x, tops, lefts, flips, self.pad)
        x = x.to(torch.float32).mul_(self._scale).add_(self._shift).to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    # --- state --------------------------------------------------------------------------------

    def _signature(self) -> dict[str, Any]:
        return {"n": self.images.shape[0], "batch_size": self.batch_size, "shuffle": self.shuffle,
                "drop_last": self.drop_last, "augment": self.augment, "pad": self.pad, "flip": self.flip}

    def state_dict(self) -> dict[str, Any]:
        """The loader's position: epoch, batches done in it, and the generator state at the
        epoch's start (base64 text), plus the settings it must be restored into. JSON-serialisable.
        A finished epoch is reported as the start of the next one."""
        epoch, position, epoch_rng = self._epoch, self._position, self._epoch_rng
        if position >= len(self):
            scratch = torch.Generator()  # do not disturb an iteration in progress
            self._replay(scratch, len(self))
            epoch, position, epoch_rng = epoch + 1, 0, scratch.get_state()
        return {"epoch": epoch, "position": position, "rng": _encode_rng(epoch_rng), "seed": self.seed,
                **self._signature()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a position saved by :meth:`state_dict`; the next ``iter`` continues the saved
        epoch exactly where it stopped."""
        mismatched = {k: (state.get(k), v) for k, v in self._signature().items() if state.get(k) != v}
        if mismatched:
            raise UserError(f"loader state does not fit this loader (saved, current): {mismatched}")
        self._epoch, self._position = int(state["epoch"]), int(state["position"])
        self._epoch_rng = _decode_rng(state["rng"])
        self._rng.set_state(self._epoch_rng)


def folder_loader(folder: ImageFolder, *, batch_size: int, transform: Callable[[Any], Any],
                  shuffle: bool, num_workers: int = 0, seed: int = 0, drop_last: bool = False,
                  pin_memory: bool = False) -> torch.utils.data.DataLoader:
    """A DataLoader over `folder` whose images pass through `transform` (which must return
    tensors of one shape, e.g. ending in :func:`~paperzoo.data.transforms.to_tensor`).

    `seed` seeds the loader's generator: the shuffling order and the base seed of each worker's
    torch RNG (which random transforms draw from), so runs with ``num_workers > 0`` repeat. An
    archive is opened lazily in each worker.
    """
    return torch.utils.data.DataLoader(
        folder.with_transform(transform), batch_size=batch_size, shuffle=shuffle,
        num_workers=num_workers, generator=torch.Generator().manual_seed(seed), drop_last=drop_last,
        pin_memory=pin_memory, persistent_workers=num_workers > 0)
