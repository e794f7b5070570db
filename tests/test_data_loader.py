"""DeviceLoader (vectorised crop/flip, normalisation, determinism, mid-epoch resume),
train_val_split and channel_stats."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
import torch.nn.functional as F

from paperzoo.data import DeviceLoader, ImageArrays, channel_stats, crop_and_flip, train_val_split
from paperzoo.errors import UserError


def make_data(n: int = 50, c: int = 3, h: int = 8, w: int = 8, seed: int = 0) -> ImageArrays:
    """Random images whose label is their index, so batches reveal which examples they hold."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8)
    return ImageArrays(images, torch.arange(n), tuple(str(i) for i in range(n)), "toy", "random test images")


def batches(iterable, count: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first `count` batches (all if None), without drawing one more."""
    return list(itertools.islice(iterable, count))


def assert_same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


# --- crop_and_flip ----------------------------------------------------------------------------

def test_crop_with_known_offsets() -> None:
    x = torch.arange(1, 13, dtype=torch.uint8).view(1, 1, 3, 4)  # rows [1..4], [5..8], [9..12]
    out = crop_and_flip(x, torch.tensor([0]), torch.tensor([2]), torch.tensor([False]), pad=1)
    # padded image is 5x6; the window starts at padded row 0, column 2 -> shifted down 1, left 1
    expected = torch.tensor([[0, 0, 0, 0],
                             [2, 3, 4, 0],
                             [6, 7, 8, 0]], dtype=torch.uint8)
    assert torch.equal(out[0, 0], expected)


def test_crop_and_flip_match_slicing() -> None:
    x = make_data(n=16, c=3, h=6, w=7).images
    pad = 3
    g = torch.Generator().manual_seed(1)
    tops, lefts = torch.randint(0, 2 * pad + 1, (16,), generator=g), torch.randint(0, 2 * pad + 1, (16,), generator=g)
    flips = torch.rand(16, generator=g) < 0.5
    out = crop_and_flip(x, tops, lefts, flips, pad)
    padded = F.pad(x, (pad, pad, pad, pad))
    for i in range(16):
        ref = padded[i, :, tops[i]:tops[i] + 6, lefts[i]:lefts[i] + 7]
        assert torch.equal(out[i], ref.flip(-1) if flips[i] else ref)


def test_centre_offsets_and_flips() -> None:
    x = make_data(n=4).images
    centre = torch.full((4,), 4)
    assert torch.equal(crop_and_flip(x, centre, centre, torch.zeros(4, dtype=torch.bool), 4), x)
    assert torch.equal(crop_and_flip(x, centre, centre, torch.ones(4, dtype=torch.bool), 4), x.flip(-1))
    assert torch.equal(crop_and_flip(x, torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long),
                                     torch.zeros(4, dtype=torch.bool), 0), x)


# --- DeviceLoader -------------------------------------------------------------------------------

def test_normalisation_values_and_order() -> None:
    data = make_data(n=10)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.3, 0.4)
    loader = DeviceLoader(data, batch_size=4, shuffle=False, drop_last=False, mean=mean, std=std)
    assert len(loader) == 3
    got = batches(loader)
    x = torch.cat([b[0] for b in got])
    y = torch.cat([b[1] for b in got])
    per_channel = {k: torch.tensor(v, dtype=torch.float64).view(1, 3, 1, 1) for k, v in (("mean", mean), ("std", std))}
    expected = (data.images.double() / 255 - per_channel["mean"]) / per_channel["std"]
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.allclose(x.double(), expected, atol=1e-5)
    assert y.tolist() == list(range(10))
    plain = batches(DeviceLoader(data, batch_size=10, shuffle=False))[0][0]
    assert torch.allclose(plain, data.images.float() / 255)


def test_shuffled_epochs_are_permutations() -> None:
    loader = DeviceLoader(make_data(n=50), batch_size=8, drop_last=False)
    first = torch.cat([y for _, y in loader])
    second = torch.cat([y for _, y in loader])
    assert sorted(first.tolist()) == list(range(50)) == sorted(second.tolist())
    assert not torch.equal(first, second) and loader.epoch == 1
    dropped = DeviceLoader(make_data(n=50), batch_size=8)
    assert len(dropped) == 6 and sum(len(y) for _, y in dropped) == 48


def test_augmentation_is_crop_and_flip_of_the_examples() -> None:
    data = make_data(n=20)
    loader = DeviceLoader(data, batch_size=5, augment=True, pad=2)
    for x, y in loader:
        pixels = torch.round(x * 255).to(torch.uint8)
        padded = F.pad(data.images[y], (2, 2, 2, 2))
        for image, source in zip(pixels, padded):
            candidates = [source[:, t:t + 8, c:c + 8] for t in range(5) for c in range(5)]
            assert any(torch.equal(image, c) or torch.equal(image, c.flip(-1)) for c in candidates)


def test_same_seed_same_batches() -> None:
    def run(seed: int) -> list:
        return batches(DeviceLoader(make_data(), batch_size=8, augment=True, seed=seed).forever(), 20)

    assert_same(run(3), run(3))
    assert not torch.equal(run(3)[0][0], run(4)[0][0])


def test_randomness_is_the_loaders_own() -> None:
    torch.manual_seed(0)
    a = batches(DeviceLoader(make_data(), batch_size=8, augment=True), 3)
    torch.manual_seed(123)
    torch.rand(10)
    b = batches(DeviceLoader(make_data(), batch_size=8, augment=True), 3)
    assert_same(a, b)


@pytest.mark.parametrize("stop", [0, 3, 6, 7])
def test_state_dict_resumes_mid_epoch(stop: int) -> None:
    """A loader restored from a state saved after `stop` batches (of 6 per epoch) yields exactly
    the batches the original yields next, across the epoch boundary."""
    settings = dict(batch_size=8, augment=True, seed=5)
    original = DeviceLoader(make_data(), **settings)
    stream = original.forever()
    batches(stream, 6 + stop)  # one full epoch, then `stop` batches into the next
    state = json.loads(json.dumps(original.state_dict()))
    expected = batches(stream, 10)
    restored = DeviceLoader(make_data(), **settings)
    restored.load_state_dict(state)
    assert_same(batches(restored.forever(), 10), expected)


def test_state_dict_does_not_disturb_iteration() -> None:
    settings = dict(batch_size=8, augment=True)
    plain = batches(DeviceLoader(make_data(), **settings).forever(), 14)
    loader = DeviceLoader(make_data(), **settings)
    observed = []
    for batch in loader.forever():
        loader.state_dict()
        observed.append(batch)
        if len(observed) == 14:
            break
    assert_same(observed, plain)


def test_partial_epoch_then_new_iter_continues() -> None:
    settings = dict(batch_size=10, augment=True)
    whole = batches(DeviceLoader(make_data(), **settings))
    loader = DeviceLoader(make_data(), **settings)
    head = batches(loader, 2)
    assert_same(head + batches(loader), whole)


@pytest.mark.gpu
def test_cuda_batches_equal_cpu_batches() -> None:
    """The loader's randomness lives on the CPU, so the device does not change the batches."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    settings = dict(batch_size=8, augment=True, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2))
    cpu = batches(DeviceLoader(make_data(), device="cpu", **settings).forever(), 10)
    cuda = batches(DeviceLoader(make_data(), device="cuda", **settings).forever(), 10)
    for (xc, yc), (xg, yg) in zip(cpu, cuda):
        assert xg.is_cuda and torch.equal(yc, yg.cpu()) and torch.allclose(xc, xg.cpu(), atol=1e-6)


def test_state_must_fit_the_loader() -> None:
    state = DeviceLoader(make_data(), batch_size=8).state_dict()
    with pytest.raises(UserError, match="batch_size"):
        DeviceLoader(make_data(), batch_size=16).load_state_dict(state)


def test_output_options() -> None:
    loader = DeviceLoader(make_data(), batch_size=4, channels_last=True, dtype=torch.bfloat16)
    x, _ = next(iter(loader))
    assert x.dtype == torch.bfloat16 and x.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(UserError):
        DeviceLoader(make_data(n=3), batch_size=4)
    with pytest.raises(UserError):
        DeviceLoader(make_data(), batch_size=4, mean=(0.5,) * 3)
    with pytest.raises(UserError):
        DeviceLoader(make_data(), batch_size=4, mean=(0.5,), std=(0.5,))


# --- train_val_split and channel_stats -----------------------------------------------------------

def test_train_val_split() -> None:
    train, val = train_val_split(50_000)
    assert len(train) == 45_000 and len(val) == 5_000
    assert torch.cat([train, val]).sort().values.equal(torch.arange(50_000))
    torch.manual_seed(99)  # the run's seed must not matter
    again_train, again_val = train_val_split(50_000)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)
    assert not torch.equal(val, train_val_split(50_000, seed=1)[1])
    small_train, small_val = train_val_split(10, 3)
    assert len(small_train) == 7 and len(small_val) == 3
    with pytest.raises(ValueError):
        train_val_split(10, 11)


def test_subset() -> None:
    data = make_data(n=10)
    part = data.subset(torch.tensor([3, 1]))
    assert part.labels.tolist() == [3, 1] and torch.equal(part.images[0], data.images[3])
    assert len(part) == 2 and part.classes == data.classes and part.source == data.source


def test_channel_stats() -> None:
    images = make_data(n=37, c=3, h=5, w=6).images
    mean, std = channel_stats(images, chunk_size=8)
    x = images.double() / 255
    assert torch.allclose(torch.tensor(mean, dtype=torch.float64), x.mean(dim=(0, 2, 3)), atol=1e-12)
    assert torch.allclose(torch.tensor(std, dtype=torch.float64), x.std(dim=(0, 2, 3), correction=0), atol=1e-12)
    assert channel_stats(images, chunk_size=1000) == (mean, std)
