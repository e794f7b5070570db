"""Readers of the official formats on tiny files these tests write in the official layouts:
CIFAR python batches (Python 2 style pickles) and binary records, IDX; damaged, tampered and
missing files."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from paperzoo.data import MissingDataError, load_dataset, read_idx
from paperzoo.data.catalog import CIFAR10_CLASSES, CIFAR100_CLASSES, CIFAR100_COARSE_CLASSES
from paperzoo.errors import DataError, UserError

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERZOO_CACHE", str(tmp_path / "cache"))


# --- writers for the official layouts ----------------------------------------------------------

class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Pickles as Python 2's cPickle wrote the official CIFAR batches: protocol 2, every string
    a byte string (``U``/``T`` opcodes), numpy arrays under the pre-2.0 module name."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin-1"))

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def py2_pickle(obj: object) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz" if path.name.endswith("gz") else "w") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def write_folder(folder: Path, members: dict[str, bytes]) -> None:
    for name, raw in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(raw)


def images(n: int) -> np.ndarray:
    return RNG.integers(0, 256, (n, 3072), dtype=np.uint8)


def labels(n: int, k: int) -> list[int]:
    return RNG.integers(0, k, n).tolist()


def cifar10_python_members(train: tuple[int, ...] = (2, 2, 2, 2, 2), test: int = 3) -> tuple[dict[str, bytes], dict]:
    """Members of cifar-10-python.tar.gz and the arrays they hold."""
    members, expect = {}, {"train": ([], []), "test": ([], [])}
    names = [(f"data_batch_{i + 1}", n, "train") for i, n in enumerate(train)] + [("test_batch", test, "test")]
    for name, n, split in names:
        data, lab = images(n), labels(n, 10)
        batch = {"batch_label": f"{name} of 5", "labels": lab, "data": data,
                 "filenames": [f"img_{i}.png" for i in range(n)]}
        members[f"cifar-10-batches-py/{name}"] = py2_pickle(batch)
        expect[split][0].append(data)
        expect[split][1].extend(lab)
    members["cifar-10-batches-py/batches.meta"] = py2_pickle(
        {"label_names": list(CIFAR10_CLASSES), "num_cases_per_batch": 10000, "num_vis": 3072})
    arrays = {s: (np.concatenate(d).reshape(-1, 3, 32, 32), np.array(lab)) for s, (d, lab) in expect.items()}
    return members, arrays


def cifar100_python_members(n_train: int = 6, n_test: int = 4) -> tuple[dict[str, bytes], dict]:
    members, arrays = {}, {}
    for split, n in (("train", n_train), ("test", n_test)):
        data, fine, coarse = images(n), labels(n, 100), labels(n, 20)
        members[f"cifar-100-python/{split}"] = py2_pickle(
            {"filenames": ["x.png"] * n, "batch_label": split, "fine_labels": fine, "coarse_labels": coarse,
             "data": data})
        arrays[split] = (data.reshape(-1, 3, 32, 32), np.array(fine), np.array(coarse))
    members["cifar-100-python/meta"] = py2_pickle(
        {"fine_label_names": list(CIFAR100_CLASSES), "coarse_label_names": list(CIFAR100_COARSE_CLASSES)})
    return members, arrays


def check(data, expected_images: np.ndarray, expected_labels: np.ndarray) -> None:
    assert data.images.dtype == torch.uint8 and data.labels.dtype == torch.int64
    assert np.array_equal(data.images.numpy(), expected_images)
    assert np.array_equal(data.labels.numpy(), expected_labels)


# --- CIFAR python batches ------------------------------------------------------------------------

@pytest.mark.parametrize("extracted", [False, True])
def test_cifar10_python_batches(tmp_path: Path, extracted: bool) -> None:
    members, expected = cifar10_python_members()
    if extracted:
        write_folder(tmp_path / "cifar10", members)
    else:
        write_tar(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    for split in ("train", "test"):
        data = load_dataset("cifar10", split, root=tmp_path)
        check(data, *expected[split])
        assert data.classes == CIFAR10_CLASSES and data.name == "cifar10"
        assert "official python" in data.source
        assert ("cifar-10-batches-py" if extracted else "cifar-10-python.tar.gz") in data.source


def test_python3_pickles_load_too(tmp_path: Path) -> None:
    """Batches re-pickled by Python 3 and numpy 2 (bytes keys, numpy._core) are also accepted."""
    members, expected = cifar10_python_members()
    for name in members:
        if "batch" in name and "meta" not in name:
            obj = pickle.loads(members[name], encoding="bytes")
            members[name] = pickle.dumps(obj, protocol=4)
    write_tar(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    check(load_dataset("cifar10", "test", root=tmp_path), *expected["test"])


@pytest.mark.parametrize("label_type", [None, "fine", "coarse"])
def test_cifar100_python(tmp_path: Path, label_type: str | None) -> None:
    members, expected = cifar100_python_members()
    write_tar(tmp_path / "cifar100" / "cifar-100-python.tar.gz", members)
    data = load_dataset("cifar100", "train", root=tmp_path, label_type=label_type)
    pixels, fine, coarse = expected["train"]
    check(data, pixels, coarse if label_type == "coarse" else fine)
    assert data.classes == (CIFAR100_COARSE_CLASSES if label_type == "coarse" else CIFAR100_CLASSES)
    assert len(CIFAR100_CLASSES) == 100 and len(CIFAR100_COARSE_CLASSES) == 20


def test_label_type_is_validated(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="label_type"):
        load_dataset("cifar100", "train", root=tmp_path, label_type="medium")
    with pytest.raises(UserError, match="label_type"):
        load_dataset("cifar10", "train", root=tmp_path, label_type="coarse")
    with pytest.raises(UserError, match="split"):
        load_dataset("cifar10", "validation", root=tmp_path)


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    members, _ = cifar10_python_members()
    members["cifar-10-batches-py/test_batch"] = py2_pickle({"data": Evil(marker), "labels": [0]})
    write_tar(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    with pytest.raises(DataError, match=r"test_batch.*refusing to load global (posix|os|nt)\.system"):
        load_dataset("cifar10", "test", root=tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("content, match", [
    ([1, 2, 3], "expected a dict"),
    ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "'data' should be a uint8"),
    ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, "'data' should be a uint8"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "expected 2 integer labels"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, "labels outside"),
    ({"data": np.zeros((2, 3072), np.uint8)}, "no 'labels'"),
    (b"not a pickle", "not a valid CIFAR python batch"),
])
def test_unexpected_pickle_content(tmp_path: Path, content, match: str) -> None:
    members, _ = cifar10_python_members()
    raw = content if isinstance(content, bytes) else py2_pickle(content)
    members["cifar-10-batches-py/test_batch"] = raw
    write_folder(tmp_path / "cifar10", members)
    with pytest.raises(DataError, match=f"test_batch.*{match}"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_truncated_archive_names_the_file(tmp_path: Path) -> None:
    members, _ = cifar10_python_members()
    archive = write_tar(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz.*(truncated|corrupted)"):
        load_dataset("cifar10", "train", root=tmp_path)


def test_archive_missing_a_batch(tmp_path: Path) -> None:
    members, _ = cifar10_python_members()
    del members["cifar-10-batches-py/data_batch_3"]
    write_tar(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    with pytest.raises(DataError, match="cifar-10-python.tar.gz: archive lacks cifar-10-batches-py/data_batch_3"):
        load_dataset("cifar10", "train", root=tmp_path)


# --- CIFAR binary records -----------------------------------------------------------------------

def test_cifar10_binary(tmp_path: Path) -> None:
    members, expected = {}, {}
    for split, names in (("train", [f"data_batch_{i}.bin" for i in range(1, 6)]), ("test", ["test_batch.bin"])):
        parts = [(images(2), np.array(labels(2, 10), np.uint8)) for _ in names]
        for name, (data, lab) in zip(names, parts):
            members[f"cifar-10-batches-bin/{name}"] = np.concatenate([lab[:, None], data], axis=1).tobytes()
        expected[split] = (np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32),
                           np.concatenate([p[1] for p in parts]))
    members["cifar-10-batches-bin/batches.meta.txt"] = "\n".join(CIFAR10_CLASSES).encode()
    write_tar(tmp_path / "cifar10" / "cifar-10-binary.tar.gz", members)
    for split in ("train", "test"):
        data = load_dataset("cifar10", split, root=tmp_path)
        check(data, *expected[split])
        assert "official binary" in data.source and "cifar-10-binary.tar.gz" in data.source


@pytest.mark.parametrize("label_type", ["fine", "coarse"])
def test_cifar100_binary(tmp_path: Path, label_type: str) -> None:
    data, fine, coarse = images(5), np.array(labels(5, 100), np.uint8), np.array(labels(5, 20), np.uint8)
    records = np.concatenate([coarse[:, None], fine[:, None], data], axis=1).tobytes()
    write_folder(tmp_path / "cifar100", {"cifar-100-binary/train.bin": records, "cifar-100-binary/test.bin": records})
    loaded = load_dataset("cifar100", "test", root=tmp_path, label_type=label_type)
    check(loaded, data.reshape(-1, 3, 32, 32), coarse if label_type == "coarse" else fine)
    assert "official binary" in loaded.source


def test_binary_record_size_is_checked(tmp_path: Path) -> None:
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    members = {f"cifar-10-batches-bin/{n}": bytes(3073 * 2) for n in names}
    members["cifar-10-batches-bin/test_batch.bin"] = bytes(3073 * 2 + 5)
    write_folder(tmp_path / "cifar10", members)
    with pytest.raises(DataError, match="test_batch.bin.*3073-byte records"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_cifar10_resolution_order(tmp_path: Path) -> None:
    """Official python, then official binary, then the JPEG copy."""
    jpeg = {}
    for split in ("train", "test"):
        for cls in CIFAR10_CLASSES:
            buf = io.BytesIO()
            Image.new("RGB", (32, 32), (10, 20, 30)).save(buf, "JPEG")
            jpeg[f"{split}/{cls}/0000.jpg"] = buf.getvalue()
    write_tar(tmp_path / "cifar10-jpeg" / "cifar10-jpeg.tar.gz", {"README.md": b"# readme\n", **jpeg})
    data = load_dataset("cifar10", "test", root=tmp_path)
    assert "JPEG q75 copy" in data.source and len(data) == 10 and data.labels.tolist() == list(range(10))

    binary = {f"cifar-10-batches-bin/{n}": bytes(3073) for n in
              [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]}
    write_folder(tmp_path / "cifar10", binary)
    assert "official binary" in load_dataset("cifar10", "test", root=tmp_path).source

    members, _ = cifar10_python_members()
    write_tar(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    assert "official python" in load_dataset("cifar10", "test", root=tmp_path).source


# --- IDX ------------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray, type_code: int = 0x08, count: int | None = None) -> bytes:
    dims = list(array.shape)
    if count is not None:
        dims[0] = count
    return bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *dims) + array.tobytes()


def write_mnist(folder: Path, n: int = 4, *, images_raw: bytes | None = None, labels_raw: bytes | None = None,
                split: str = "t10k") -> tuple[np.ndarray, np.ndarray]:
    pixels = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    lab = RNG.integers(0, 10, n).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images_raw or idx_bytes(pixels)))
    (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels_raw or idx_bytes(lab)))
    return pixels, lab


def test_idx_reader_dtypes(tmp_path: Path) -> None:
    values = (np.arange(12) - 5).astype(">i4").reshape(3, 4)
    path = tmp_path / "x-idx2-int"
    path.write_bytes(idx_bytes(values, 0x0C))
    out = read_idx(path)
    assert out.dtype == np.int32 and out.dtype.isnative and np.array_equal(out, values)


def test_small_mnist_roundtrip(tmp_path: Path) -> None:
    pixels, lab = write_mnist(tmp_path / "fashion-mnist")
    data = load_dataset("fashion-mnist", "test", root=tmp_path)
    check(data, pixels[:, None], lab.astype(np.int64))
    assert data.classes[0] == "T-shirt/top"


@pytest.mark.parametrize("which, raw, match", [
    ("images", b"\x00\x00\x08\x03\x00\x00", "header is truncated"),
    ("images", b"\x12\x34\x56\x78" + bytes(100), r"not an IDX file \(magic number 12345678\)"),
    ("images", idx_bytes(np.zeros((4, 28, 28), np.uint8), count=5), r"header declares shape \(5, 28, 28\)"),
    ("labels", idx_bytes(np.zeros(3, np.uint8)), "expected 4 uint8 labels"),
    ("labels", idx_bytes(np.full(4, 10, np.uint8)), "labels outside 0..9"),
])
def test_damaged_idx_names_the_file(tmp_path: Path, which: str, raw: bytes, match: str) -> None:
    write_mnist(tmp_path / "mnist", **{f"{which}_raw": raw})
    with pytest.raises(DataError, match=f"t10k-{which}-idx.-ubyte.gz.*{match}"):
        load_dataset("mnist", "test", root=tmp_path)


def test_not_gzip_data_names_the_file(tmp_path: Path) -> None:
    write_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: truncated or corrupted compressed file"):
        load_dataset("mnist", "test", root=tmp_path)


# --- missing files --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("mnist", ["train-images-idx3-ubyte.gz", "mnist", "https://"]),
    ("fashion-mnist", ["train-labels-idx1-ubyte.gz", "fashion-mnist", "http://fashion-mnist"]),
    ("cifar10", ["cifar-10-python.tar.gz", "cifar10", "cifar10-jpeg.tar.gz", "cifar-10-binary.tar.gz",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]),
    ("cifar100", ["cifar-100-python.tar.gz", "cifar100", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"]),
])
def test_missing_files_say_what_to_do(tmp_path: Path, name: str, expected: list[str]) -> None:
    with pytest.raises(MissingDataError) as info:
        load_dataset(name, "train", root=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert f"paperzoo download {name}" in message and "download=True" in message
    assert str(tmp_path) in message
    for text in expected:
        assert text in message


def test_unknown_dataset_suggests_names() -> None:
    with pytest.raises(UserError, match="cifar10"):
        load_dataset("cifar", "train")
