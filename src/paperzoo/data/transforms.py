"""Image transforms for :class:`~paperzoo.data.imagefolder.ImageFolder` pipelines, written with
PIL and torch (no torchvision).

Geometric transforms take and return PIL images; :func:`to_tensor` turns one into a uint8
(C, H, W) tensor and :func:`normalize` into a normalised float tensor. Parameterise with
:func:`functools.partial` and chain with :class:`Compose`, e.g. the usual ImageNet evaluation::

    Compose([partial(resize_shorter, size=256), partial(center_crop, size=224), to_tensor,
             partial(normalize, mean=IMAGENET_MEAN, std=IMAGENET_STD)])

Random transforms draw from torch's RNG (or `generator`), which a DataLoader seeds per worker.
Rounding follows torchvision's conventions, so crops match its ``Resize``/``CenterCrop``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

Size = int | tuple[int, int]


def _hw(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def resize_shorter(img: Image.Image, size: int,
                   interpolation: Image.Resampling = Image.Resampling.BILINEAR) -> Image.Image:
    """Resize so the shorter side is `size`, keeping the aspect ratio (longer side truncated
    to an integer, as torchvision's ``Resize(int)``)."""
    w, h = img.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    return img if (new_w, new_h) == (w, h) else img.resize((new_w, new_h), interpolation)


def center_crop(img: Image.Image, size: Size) -> Image.Image:
    """The central `size` (int, or (height, width)) region; areas outside the image are black."""
    th, tw = _hw(size)
    w, h = img.size
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return img.crop((left, top, left + tw, top + th))


def random_crop(img: Image.Image, size: Size, padding: int = 0,
                generator: torch.Generator | None = None) -> Image.Image:
    """A `size` region at a uniformly random position of the image zero-padded by `padding`."""
    th, tw = _hw(size)
    if padding:
        padded = Image.new(img.mode, (img.width + 2 * padding, img.height + 2 * padding))
        padded.paste(img, (padding, padding))
        img = padded
    w, h = img.size
    if th > h or tw > w:
        raise ValueError(f"crop {th}x{tw} is larger than the (padded) image {h}x{w}")
    top = int(torch.randint(0, h - th + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - tw + 1, (1,), generator=generator))
    return img.crop((left, top, left + tw, top + th))


def hflip(img: Image.Image) -> Image.Image:
    """Mirror left-right."""
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def random_hflip(img: Image.Image, p: float = 0.5, generator: torch.Generator | None = None) -> Image.Image:
    """Mirror left-right with probability `p`."""
    return hflip(img) if float(torch.rand(1, generator=generator)) < p else img


def to_tensor(img: Image.Image) -> torch.Tensor:
    """uint8 (C, H, W) tensor of the image's pixels (C = 1 for grayscale, 3 for RGB)."""
    pixels = np.array(img, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(x - mean) / std`` per channel, for (C, H, W) or (B, C, H, W) input; uint8 input is
    first scaled to [0, 1], and `mean`/`std` are in those units."""
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    mean_t = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x - mean_t) / std_t


class Compose:
    """Apply callables in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
