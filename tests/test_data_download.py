"""Downloads through ``file://`` URLs (no network needed): checksum verification, atomicity,
failure messages, and ``load_dataset(..., download=True)`` end to end."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from paperzoo.data import ChecksumError, catalog, download, download_dataset, download_file, load_dataset
from paperzoo.errors import DataError


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "server" / "payload.bin"
    path.parent.mkdir()
    path.write_bytes(np.random.default_rng(0).bytes(3 << 20))  # several chunks
    return path


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_download_verifies_and_writes(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "data" / "sub" / "payload.bin"
    out = download_file(source.as_uri(), dest, sha256=sha(source.read_bytes()), progress=False)
    assert out == dest and dest.read_bytes() == source.read_bytes()
    assert leftovers(dest.parent) == []
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"")
    assert dest.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # not mkstemp's private 0600


def test_checksum_mismatch_leaves_nothing(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        download_file(source.as_uri(), dest, sha256=wrong, progress=False)
    message = str(info.value)
    assert "payload.bin" in message and wrong in message and sha(source.read_bytes()) in message
    assert not dest.exists() and leftovers(tmp_path) == []


def test_failed_download_keeps_the_previous_file(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    dest.write_bytes(b"previous content")
    with pytest.raises(ChecksumError):
        download_file(source.as_uri(), dest, sha256="1" * 64, progress=False)
    assert dest.read_bytes() == b"previous content"


def test_interrupted_download_is_atomic(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_stream(url, out, dest, progress):
        out.write(b"partial data")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(download, "_stream", broken_stream)
    dest = tmp_path / "payload.bin"
    with pytest.raises(DataError, match="payload.bin: could not download .*connection reset"):
        download_file(source.as_uri(), dest, sha256=sha(source.read_bytes()), progress=False)
    assert not dest.exists() and leftovers(tmp_path) == []


def test_unreachable_url_says_where_to_place_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "x.tar.gz"
    url = (tmp_path / "missing.tar.gz").as_uri()
    with pytest.raises(DataError) as info:
        download_file(url, dest, sha256="2" * 64, progress=False)
    message = str(info.value)
    assert "could not download" in message and url in message and f"place the file at {dest}" in message
    assert not dest.exists()


def test_digest_is_required_or_explicitly_none(source: Path, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        download_file(source.as_uri(), tmp_path / "a.bin")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        download_file(source.as_uri(), tmp_path / "a.bin", sha256="not-a-digest")
    with pytest.warns(UserWarning, match="without a checksum"):
        download_file(source.as_uri(), tmp_path / "a.bin", sha256=None, progress=False)
    assert (tmp_path / "a.bin").read_bytes() == source.read_bytes()


def test_catalog_digests_are_well_formed() -> None:
    for name in catalog.list_datasets():
        info = catalog.dataset_info(name)
        assert info.files
        for remote in info.files:
            assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256), remote.name
            assert all(url.endswith("/" + remote.name) for url in remote.urls)


# --- download_dataset ---------------------------------------------------------------------------

def idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture
def fake_mnist_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Point the MNIST catalog entry at a dead mirror, then a file:// mirror of tiny files."""
    rng = np.random.default_rng(1)
    files = {}
    for prefix, n in (("train", 6), ("t10k", 3)):
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx(rng.integers(0, 10, n).astype(np.uint8)))
    server = tmp_path / "mirror"
    server.mkdir()
    for name, raw in files.items():
        (server / name).write_bytes(raw)
    dead = (tmp_path / "dead").as_uri() + "/"
    remote = tuple(catalog.RemoteFile(name, (dead + name, (server / name).as_uri()), sha(raw))
                   for name, raw in files.items())
    info = dataclasses.replace(catalog.DATASETS["mnist"], files=remote)
    monkeypatch.setitem(catalog.DATASETS, "mnist", info)
    return files


def test_download_dataset_uses_the_next_mirror(fake_mnist_server: dict[str, bytes], tmp_path: Path) -> None:
    paths = download_dataset("mnist", tmp_path / "root", progress=False)
    assert [p.name for p in paths] == list(fake_mnist_server)
    for path in paths:
        assert path.parent == tmp_path / "root" / "mnist"
        assert path.read_bytes() == fake_mnist_server[path.name]


def test_load_dataset_downloads_when_asked(fake_mnist_server: dict[str, bytes], tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(DataError, match="paperzoo download mnist"):
        load_dataset("mnist", "test", root=root)
    data = load_dataset("mnist", "test", root=root, download=True)
    assert len(data) == 3 and data.images.shape == (3, 1, 28, 28)


def test_download_dataset_without_network_lists_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = (tmp_path / "dead").as_uri() + "/"
    info = catalog.DATASETS["cifar10"]
    remote = tuple(dataclasses.replace(f, urls=(dead + f.name,)) for f in info.files)
    monkeypatch.setitem(catalog.DATASETS, "cifar10", dataclasses.replace(info, files=remote))
    with pytest.raises(DataError) as error:
        download_dataset("cifar10", tmp_path / "root", progress=False)
    message = str(error.value)
    assert "Without a network" in message and str(tmp_path / "root" / "cifar10") in message
    assert "cifar-10-python.tar.gz" in message and "\n" not in message
    assert not (tmp_path / "root" / "cifar10" / "cifar-10-python.tar.gz").exists()
