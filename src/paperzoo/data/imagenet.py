"""ImageNet-style transforms of the CNN classics, on uint8 or float image tensors, with torch only.

Every transform takes one image (C, H, W) or a batch (B, C, H, W) -- uint8 pixels straight from
:func:`paperzoo.data.transforms.to_tensor` or floats -- and returns the same layout. Random
functions draw from torch's RNG or `generator`, one draw per image of a batch.

- AlexNet (Krizhevsky et al. 2012), Section 2: rescale the shorter side to 256 and take the
  central 256x256 patch (:func:`resize_shorter`, :func:`center_crop`); Section 4.1: random 224x224
  patches and their horizontal reflections (:func:`random_crop`, :func:`random_hflip`), PCA
  colour augmentation (:func:`pca_colour_basis`, :func:`pca_colour_noise`), ten-crop testing
  (:func:`ten_crop`, :func:`ten_crop_predict`); subtracting the mean activity over the training
  set from each pixel (:func:`mean_image`, :func:`subtract_mean`).
- VGG (Simonyan & Zisserman 2015), Section 3.1: mean RGB subtraction (:func:`mean_rgb`), scale
  jittering with the shorter side S drawn from [256, 512] (:func:`scale_jitter`,
  :data:`VGG_JITTER`); ResNet (He et al. 2015), Section 3.4, draws it from [256, 480]
  (:data:`RESNET_JITTER`). VGG's dense evaluation lives with the model
  (:func:`paperzoo.papers.vgg.model.dense_evaluate`).

Sizes and crop positions follow :mod:`paperzoo.data.transforms` (and torchvision): the longer
side becomes ``int(size * long / short)``, a centre crop starts at ``round((H - h) / 2)``.
Resizing is bilinear with antialiasing (``F.interpolate(..., antialias=True)``, as PIL's and
torchvision's tensor resize); uint8 input is rounded back to uint8.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .arrays import channel_stats
from .transforms import Size, _hw

__all__ = [
    "RESNET_JITTER",
    "VGG_JITTER",
    "center_crop",
    "crop",
    "hflip",
    "mean_image",
    "mean_rgb",
    "pca_colour_basis",
    "pca_colour_noise",
    "random_crop",
    "random_hflip",
    "resize",
    "resize_shorter",
    "scale_jitter",
    "shorter_side_size",
    "subtract_mean",
    "ten_crop",
    "ten_crop_predict",
]

#: Scale jittering ranges of the shorter side: VGG Section 3.1 and ResNet Section 3.4.
VGG_JITTER: tuple[int, int] = (256, 512)
RESNET_JITTER: tuple[int, int] = (256, 480)


def _batched(x: torch.Tensor) -> torch.Tensor:
    if x.dim() not in (3, 4):
        raise ValueError(f"expected an image (C, H, W) or a batch (B, C, H, W), got shape {tuple(x.shape)}")
    return x if x.dim() == 4 else x.unsqueeze(0)


def _like(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``out`` (B, C, H, W) back in the layout of ``x`` (one image or a batch)."""
    return out if x.dim() == 4 else out.squeeze(0)


def _rand_ints(high: int, n: int, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(0, high, (n,), generator=generator)


def shorter_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """(H', W') with the shorter side ``size`` and the longer ``int(size * long / short)``."""
    if height <= width:
        return size, int(size * width / height)
    return int(size * height / width), size


def resize(x: torch.Tensor, size: Size) -> torch.Tensor:
    """Bilinear, antialiased resize to ``size`` (int or (H, W)); uint8 stays uint8 (rounded)."""
    h, w = _hw(size)
    batch = _batched(x)
    if tuple(batch.shape[-2:]) == (h, w):
        return x
    out = F.interpolate(batch.float(), size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    if x.dtype == torch.uint8:
        out = out.round().clamp(0, 255).to(torch.uint8)
    return _like(out.to(x.dtype), x)


def resize_shorter(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize so the shorter side is ``size``, keeping the aspect ratio (AlexNet's 256, VGG's S)."""
    return resize(x, shorter_side_size(*x.shape[-2:], size))


def crop(x: torch.Tensor, top: int, left: int, size: Size) -> torch.Tensor:
    """The ``size`` region whose top-left pixel is (top, left); it must lie inside the image."""
    h, w = _hw(size)
    if top < 0 or left < 0 or top + h > x.shape[-2] or left + w > x.shape[-1]:
        raise ValueError(f"crop {h}x{w} at ({top}, {left}) leaves the {x.shape[-2]}x{x.shape[-1]} image")
    return x[..., top:top + h, left:left + w]


def center_crop(x: torch.Tensor, size: Size) -> torch.Tensor:
    """The central ``size`` region (top-left at ``round((H - h) / 2), round((W - w) / 2)``)."""
    h, w = _hw(size)
    return crop(x, int(round((x.shape[-2] - h) / 2.0)), int(round((x.shape[-1] - w) / 2.0)), (h, w))


def random_crop(x: torch.Tensor, size: Size, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """A ``size`` region at a uniformly random position, drawn for each image of a batch."""
    h, w = _hw(size)
    batch = _batched(x)
    b, _, height, width = batch.shape
    if h > height or w > width:
        raise ValueError(f"crop {h}x{w} is larger than the image {height}x{width}")
    tops = _rand_ints(height - h + 1, b, generator)
    lefts = _rand_ints(width - w + 1, b, generator)
    rows = (tops[:, None] + torch.arange(h))[:, None, :, None].to(batch.device)  # (B, 1, h, 1)
    cols = (lefts[:, None] + torch.arange(w))[:, None, None, :].to(batch.device)  # (B, 1, 1, w)
    images = torch.arange(b, device=batch.device)[:, None, None, None]
    channels = torch.arange(batch.shape[1], device=batch.device)[None, :, None, None]
    return _like(batch[images, channels, rows, cols], x)  # (B, C, h, w)


def hflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (the horizontal reflection of AlexNet Section 4.1)."""
    return x.flip(-1)


def random_hflip(x: torch.Tensor, *, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image of a batch left-right with probability ``p``."""
    batch = _batched(x)
    flips = (torch.rand(batch.shape[0], generator=generator) < p).to(batch.device)
    return _like(torch.where(flips[:, None, None, None], batch.flip(-1), batch), x)


def scale_jitter(x: torch.Tensor, *, scale_range: tuple[int, int] = VGG_JITTER,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Scale jittering: resize so the shorter side is S ~ U{smin, ..., smax} (both ends included).

    VGG Section 3.1 draws S from [256, 512] for every training image (:data:`VGG_JITTER`), ResNet
    from [256, 480] (:data:`RESNET_JITTER`); a random 224x224 crop follows. One S for the whole
    input, so call it per image when images should get their own scales.
    """
    smin, smax = scale_range
    s = int(torch.randint(smin, smax + 1, (1,), generator=generator))
    return resize_shorter(x, s)


def mean_image(images: torch.Tensor) -> torch.Tensor:
    """The mean (C, H, W) image of uint8 or float (N, C, H, W) images, in [0, 1] units for uint8.

    AlexNet (Section 2) subtracts "the mean activity over the training set from each pixel".
    """
    x = images.double() / 255 if images.dtype == torch.uint8 else images.double()
    return x.mean(dim=0).float()


def mean_rgb(images: torch.Tensor) -> torch.Tensor:
    """The mean RGB value (C,) of uint8 (N, C, H, W) images in [0, 1] units (VGG Section 2.1)."""
    return torch.tensor(channel_stats(images)[0])


def subtract_mean(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """``x - mean`` as floats: uint8 ``x`` is scaled to [0, 1] first. ``mean`` is a (C,) mean
    pixel (VGG) or a (C, H, W) mean image (AlexNet) in the same units."""
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    mean = mean.to(x.device, x.dtype)
    return x - (mean.view(-1, 1, 1) if mean.dim() == 1 else mean)


def pca_colour_basis(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (3,) and eigenvectors (3, 3; column i is p_i) of the RGB pixel covariance.

    AlexNet Section 4.1: "PCA on the set of RGB pixel values throughout the ImageNet training
    set". ``images`` is a uint8 (N, 3, H, W) sample of the training set (read in [0, 1] units) or
    float images in the units :func:`pca_colour_noise` will be applied in. Eigenvalues descend.
    """
    x = images.double() / 255 if images.dtype == torch.uint8 else images.double()
    pixels = x.transpose(0, 1).reshape(x.shape[1], -1)  # (3, N*H*W)
    centred = pixels - pixels.mean(dim=1, keepdim=True)
    cov = centred @ centred.T / (pixels.shape[1] - 1)  # (3, 3)
    eigvals, eigvecs = torch.linalg.eigh(cov)  # ascending
    return eigvals.flip(0).float(), eigvecs.flip(1).float()


def pca_colour_noise(x: torch.Tensor, eigvals: torch.Tensor, eigvecs: torch.Tensor, *, std: float = 0.1,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """AlexNet's colour augmentation: add ``[p1, p2, p3] [a1 l1, a2 l2, a3 l3]^T`` to every pixel.

    One draw of ``a_i ~ N(0, std^2)`` (std 0.1) per image, the same for all of its pixels; p_i and
    l_i from :func:`pca_colour_basis`. uint8 input is scaled to [0, 1] floats first (the units of
    a basis computed from uint8 images); the output is float and not clipped.
    """
    batch = _batched(x)
    batch = batch.float() / 255 if batch.dtype == torch.uint8 else batch.float()
    alphas = torch.randn(batch.shape[0], eigvals.shape[0], generator=generator) * std  # (B, 3)
    # Section 4.1: I_xy += [p1, p2, p3][a1 l1, a2 l2, a3 l3]^T
    shift = (alphas * eigvals) @ eigvecs.T  # (B, 3)
    return _like(batch + shift.to(batch.device)[:, :, None, None], x)


def ten_crop(x: torch.Tensor, size: Size = 224) -> torch.Tensor:
    """The four corner patches, the centre patch, and their horizontal reflections.

    AlexNet Section 4.1's test-time views, in the order top-left, top-right, bottom-left,
    bottom-right, centre, then the same five mirrored: (10, C, h, w) for one image,
    (B, 10, C, h, w) for a batch.
    """
    h, w = _hw(size)
    height, width = x.shape[-2:]
    corners = [crop(x, 0, 0, (h, w)), crop(x, 0, width - w, (h, w)), crop(x, height - h, 0, (h, w)),
               crop(x, height - h, width - w, (h, w)), center_crop(x, (h, w))]
    return torch.stack(corners + [hflip(c) for c in corners], dim=x.dim() - 3)


def ten_crop_predict(model: nn.Module, images: torch.Tensor, size: Size = 224) -> torch.Tensor:
    """Class posteriors (B, K): the softmax outputs averaged over the ten crops (AlexNet Section 4.1).

    ``images`` (B, C, H, W) are ready for the model (e.g. mean-subtracted floats); the model is
    put in eval mode.
    """
    model.eval()
    crops = ten_crop(_batched(images), size)  # (B, 10, C, h, w)
    b, n = crops.shape[:2]
    with torch.no_grad():
        probs = model(crops.flatten(0, 1)).softmax(dim=1)  # (B*10, K)
    return probs.view(b, n, -1).mean(dim=1)
