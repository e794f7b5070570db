"""The real datasets of the shared data folder (skipped when it is absent): MNIST,
Fashion-MNIST and the CIFAR-10 JPEG copy, plus damage made from copies of them."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
from pathlib import Path

import pytest
import torch

from paperzoo.data import ImageArrays, catalog, load_dataset
from paperzoo.data.download import sha256_file
from paperzoo.errors import DataError


def shared_root() -> Path:
    """The shared data folder: ``$PAPERZOO_DATA``, else ``<repo>/../shared/data``."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("PAPERZOO_DATA") or default)


@pytest.fixture(scope="module")
def shared() -> Path:
    root = shared_root()
    if not (root / "mnist").is_dir():
        pytest.skip(f"shared data not found at {root}")
    return root


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Decoded-image caches go to a temporary folder, not the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERZOO_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
@pytest.mark.parametrize("split, count", [("train", 60_000), ("test", 10_000)])
def test_idx_datasets(shared: Path, name: str, split: str, count: int) -> None:
    data = load_dataset(name, split, root=shared)
    assert len(data) == count
    assert data.images.shape == (count, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.int64
    assert data.labels.min() == 0 and data.labels.max() == 9
    assert len(data.classes) == 10 and data.name == name
    assert "idx" in data.source and str(shared) in data.source


def test_mnist_train_images_are_the_official_bytes(shared: Path) -> None:
    """Re-serialised with its IDX header, the loaded array has the MD5 of the official file."""
    data = load_dataset("mnist", "train", root=shared)
    header = struct.pack(">4I", 0x00000803, 60_000, 28, 28)
    digest = hashlib.md5(header + data.images.numpy().tobytes()).hexdigest()
    assert digest == "6bbc9ace898e44ae57da46a324031adb"


@pytest.mark.parametrize("name, files", [
    ("mnist", ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
    ("fashion-mnist", ["t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
])
def test_catalog_digests_match_shared_official_copies(shared: Path, name: str, files: list[str]) -> None:
    """The shared copies of these files are byte-identical to the official ones."""
    digests = {f.name: f.sha256 for f in catalog.dataset_info(name).files}
    for file in files:
        assert sha256_file(shared / name / file) == digests[file]


@pytest.fixture(scope="module")
def cifar10_jpeg(shared: Path) -> dict[str, ImageArrays]:
    if not (shared / "cifar10-jpeg" / "cifar10-jpeg.tar.gz").is_file():
        pytest.skip("CIFAR-10 JPEG copy not in the shared data")
    return {split: load_dataset("cifar10", split, root=shared) for split in ("train", "test")}


@pytest.mark.parametrize("split, count", [("train", 50_000), ("test", 10_000)])
def test_cifar10_jpeg_copy(cifar10_jpeg: dict[str, ImageArrays], split: str, count: int) -> None:
    data = cifar10_jpeg[split]
    assert len(data) == count
    assert data.images.shape[1:] == (3, 32, 32) and data.images.dtype == torch.uint8
    assert data.classes == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                            "ship", "truck")
    assert data.labels.bincount().tolist() == [count // 10] * 10
    assert "JPEG" in data.source and "cifar10-jpeg.tar.gz" in data.source


def test_cifar10_jpeg_cached_load_is_identical(shared: Path, cifar10_jpeg: dict[str, ImageArrays]) -> None:
    again = load_dataset("cifar10", "test", root=shared)  # served from the cache
    assert torch.equal(again.images, cifar10_jpeg["test"].images)
    assert torch.equal(again.labels, cifar10_jpeg["test"].labels)


def test_truncated_gzip_names_the_file(shared: Path, tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    source = shared / "mnist" / "t10k-images-idx3-ubyte.gz"
    raw = source.read_bytes()
    (tmp_path / "mnist" / source.name).write_bytes(raw[: len(raw) // 2])
    shutil.copy(shared / "mnist" / "t10k-labels-idx1-ubyte.gz", tmp_path / "mnist")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        load_dataset("mnist", "test", root=tmp_path)


def test_uncompressed_idx_files_are_accepted(shared: Path, tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(shared / "mnist" / f"{name}.gz") as f:
            (tmp_path / "mnist" / name).write_bytes(f.read())
    plain = load_dataset("mnist", "test", root=tmp_path)
    official = load_dataset("mnist", "test", root=shared)
    assert torch.equal(plain.images, official.images) and torch.equal(plain.labels, official.labels)
