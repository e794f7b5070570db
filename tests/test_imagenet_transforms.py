"""ImageNet-style transforms (paperzoo.data.imagenet) on small images with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from paperzoo.data import imagenet as I
from paperzoo.data import transforms as T


def arange_image(h: int, w: int, c: int = 1) -> torch.Tensor:
    """(C, H, W) image whose pixel (y, x) of channel k holds k*H*W + y*W + x."""
    return torch.arange(c * h * w, dtype=torch.float32).view(c, h, w)


# --- resizing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hw, size, expected", [
    ((300, 400), 256, (256, 341)),   # int(256 * 400 / 300) = int(341.33)
    ((500, 375), 256, (341, 256)),
    ((256, 256), 256, (256, 256)),
    ((30, 45), 20, (20, 30)),
    ((45, 30), 16, (24, 16)),
])
def test_resize_shorter_sizes(hw, size, expected):
    h, w = hw
    x = torch.zeros(3, h, w, dtype=torch.uint8)
    assert tuple(I.resize_shorter(x, size).shape) == (3, *expected)
    assert tuple(I.resize_shorter(x.unsqueeze(0).expand(2, -1, -1, -1), size).shape) == (2, 3, *expected)
    # the same sizes as the PIL-based transform (and torchvision's Resize(int))
    pil = T.resize_shorter(Image.new("RGB", (w, h)), size)
    assert (pil.height, pil.width) == expected


def test_resize_keeps_dtype_and_constant_images():
    x = torch.full((3, 40, 60), 77, dtype=torch.uint8)
    out = I.resize_shorter(x, 25)
    assert out.dtype == torch.uint8 and (out == 77).all()
    xf = torch.full((2, 3, 40, 60), 0.25)
    out = I.resize_shorter(xf, 100)  # upsampling
    assert out.dtype == torch.float32 and torch.allclose(out, torch.full_like(out, 0.25))


def test_resize_follows_pil_on_a_real_photo_sized_ramp():
    """Bilinear antialiased resizing agrees with PIL's bilinear resize to within a few grey levels."""
    ramp = (np.add.outer(np.arange(60) * 2, np.arange(90)) % 256).astype(np.uint8)
    rgb = np.stack([ramp, ramp[::-1], 255 - ramp], axis=2)
    ours = I.resize_shorter(T.to_tensor(Image.fromarray(rgb)), 24).int()
    pil = T.to_tensor(T.resize_shorter(Image.fromarray(rgb), 24)).int()
    assert ours.shape == pil.shape
    assert (ours - pil).abs().float().mean() < 2.0


# --- crops and flips --------------------------------------------------------------------------


def test_center_crop_coordinates():
    x = arange_image(6, 7)
    out = I.center_crop(x, (2, 3))  # top = round(4 / 2) = 2, left = round(4 / 2) = 2
    assert out[0, 0, 0] == 2 * 7 + 2 and out.shape == (1, 2, 3)
    assert torch.equal(out, x[:, 2:4, 2:5])
    out = I.center_crop(arange_image(7, 7), 4)  # round(1.5) = 2 (Python rounds half to even)
    assert out[0, 0, 0] == 2 * 7 + 2
    # the same pixels as the PIL centre crop (and torchvision's CenterCrop)
    img = torch.randint(0, 256, (3, 11, 14), dtype=torch.uint8)
    pil = T.center_crop(Image.fromarray(img.permute(1, 2, 0).numpy()), (5, 8))
    assert torch.equal(I.center_crop(img, (5, 8)), T.to_tensor(pil))


def test_crop_outside_the_image_is_an_error():
    with pytest.raises(ValueError, match="leaves"):
        I.crop(arange_image(4, 4), 2, 0, 3)
    with pytest.raises(ValueError, match="larger"):
        I.random_crop(arange_image(4, 4), 5)


def test_ten_crop_corners_centre_and_flips():
    x = arange_image(8, 10)  # crops of 4x6
    crops = I.ten_crop(x, (4, 6))
    assert crops.shape == (10, 1, 4, 6)
    top_left = [c[0, 0, 0].item() for c in crops[:5]]
    assert top_left == [0, 4, 4 * 10, 4 * 10 + 4, 2 * 10 + 2]  # tl, tr, bl, br, centre
    assert torch.equal(crops[3], x[:, 4:, 4:])
    for i in range(5):
        assert torch.equal(crops[5 + i], crops[i].flip(-1))
    batch = torch.stack([x, x + 1000])
    out = I.ten_crop(batch, (4, 6))
    assert out.shape == (2, 10, 1, 4, 6) and torch.equal(out[1], crops + 1000)


def test_hflip_and_random_hflip():
    x = arange_image(3, 4)
    assert torch.equal(I.hflip(x)[0, 0], torch.tensor([3.0, 2.0, 1.0, 0.0]))
    batch = torch.stack([x + 100 * i for i in range(400)])
    assert torch.equal(I.random_hflip(batch, p=1.0), batch.flip(-1))
    assert torch.equal(I.random_hflip(batch, p=0.0), batch)
    out = I.random_hflip(batch, generator=torch.Generator().manual_seed(0))
    flipped = (out[:, 0, 0, 0] != batch[:, 0, 0, 0])
    assert torch.equal(out[flipped], batch[flipped].flip(-1)) and torch.equal(out[~flipped], batch[~flipped])
    assert 0.4 < flipped.float().mean() < 0.6


def test_random_crop_windows_and_positions():
    x = arange_image(8, 9)
    batch = x.expand(500, -1, -1, -1)
    out = I.random_crop(batch, (5, 4), generator=torch.Generator().manual_seed(1))
    assert out.shape == (500, 1, 5, 4)
    tops, lefts = (out[:, 0, 0, 0] // 9).long(), (out[:, 0, 0, 0] % 9).long()
    for i in range(0, 500, 50):
        assert torch.equal(out[i], x[:, tops[i]:tops[i] + 5, lefts[i]:lefts[i] + 4])
    assert set(tops.tolist()) == set(range(4)) and set(lefts.tolist()) == set(range(6))  # every position
    assert I.random_crop(x, 3).shape == (1, 3, 3)


def test_scale_jitter_range():
    assert I.VGG_JITTER == (256, 512) and I.RESNET_JITTER == (256, 480)
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 10, 20, dtype=torch.uint8)
    shorter = {I.scale_jitter(x, scale_range=(4, 8), generator=g).shape[1] for _ in range(200)}
    assert shorter == {4, 5, 6, 7, 8}  # both ends included, nothing outside
    out = I.scale_jitter(torch.zeros(3, 6, 8, dtype=torch.uint8), generator=g)
    assert 256 <= out.shape[1] <= 512 and out.shape[2] == int(out.shape[1] * 8 / 6)


# --- mean subtraction -------------------------------------------------------------------------


def test_mean_image_mean_rgb_and_subtraction():
    images = torch.stack([torch.full((3, 2, 2), 0, dtype=torch.uint8), torch.full((3, 2, 2), 255, dtype=torch.uint8)])
    images[1, 0, 0, 0] = 51
    mean = I.mean_image(images)
    assert mean.shape == (3, 2, 2) and mean[0, 0, 0] == pytest.approx(0.1) and mean[1, 1, 1] == pytest.approx(0.5)
    rgb = I.mean_rgb(images)
    assert rgb.tolist() == pytest.approx([(0.1 + 3 * 0.5) / 4, 0.5, 0.5])
    assert torch.allclose(I.subtract_mean(images, mean).mean(0), torch.zeros(3, 2, 2), atol=1e-6)
    out = I.subtract_mean(images[1], rgb)
    assert out[1, 0, 0] == pytest.approx(0.5) and out[0, 0, 0] == pytest.approx(0.2 - rgb[0].item())


# --- PCA colour augmentation ------------------------------------------------------------------


def test_pca_basis_is_the_eigendecomposition_of_the_pixel_covariance():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 5, 7), generator=g, dtype=torch.uint8)
    images[:, 1] = images[:, 0] // 2 + 60  # correlated channels
    eigvals, eigvecs = I.pca_colour_basis(images)
    pixels = (images.double() / 255).permute(1, 0, 2, 3).reshape(3, -1).numpy()
    cov = np.cov(pixels)
    assert np.allclose((eigvecs @ torch.diag(eigvals) @ eigvecs.T).numpy(), cov, atol=1e-6)
    assert torch.allclose(eigvecs.T @ eigvecs, torch.eye(3), atol=1e-5)
    assert (eigvals[:-1] >= eigvals[1:]).all()


def test_pca_noise_lies_along_the_principal_components_with_std_0_1():
    # Colours vary along one direction d only: the covariance has rank 1, its first eigenvector is d.
    g = torch.Generator().manual_seed(0)
    d = torch.tensor([2.0, 1.0, -2.0]) / 3
    t = torch.rand(64, 1, 4, 4, generator=g)
    images = 0.5 + (t - 0.5) * d.view(1, 3, 1, 1)
    eigvals, eigvecs = I.pca_colour_basis(images)
    assert torch.allclose(eigvecs[:, 0].abs(), d.abs(), atol=1e-5) and eigvals[1:].abs().max() < 1e-6
    x = torch.rand(2000, 3, 2, 2, generator=g)
    out = I.pca_colour_noise(x, eigvals, eigvecs, generator=g)
    shift = out - x
    assert torch.allclose(shift, shift[:, :, :1, :1].expand_as(shift), atol=1e-6)  # one shift per image
    shift = shift[:, :, 0, 0]  # (N, 3)
    assert torch.allclose(shift - (shift @ d)[:, None] * d, torch.zeros_like(shift), atol=1e-6)  # along d
    alphas = (shift @ eigvecs[:, 0]) / eigvals[0]  # a_1 = <shift, p_1> / l_1
    assert abs(alphas.mean().item()) < 0.01 and alphas.std().item() == pytest.approx(0.1, rel=0.1)
    assert I.pca_colour_noise(x[0], eigvals, eigvecs).shape == (3, 2, 2)
    assert I.pca_colour_noise(torch.zeros(1, 3, 2, 2, dtype=torch.uint8), eigvals, eigvecs).dtype == torch.float32


# --- ten-crop testing -------------------------------------------------------------------------


def test_ten_crop_predict_averages_softmax_over_the_ten_crops():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    images = torch.randn(2, 3, 12, 13)
    probs = I.ten_crop_predict(model, images, size=8)
    assert probs.shape == (2, 5) and torch.allclose(probs.sum(1), torch.ones(2))
    with torch.no_grad():
        manual = torch.stack([model(c).softmax(1) for c in I.ten_crop(images, 8).unbind(1)]).mean(0)
    assert torch.allclose(probs, manual, atol=1e-6)
