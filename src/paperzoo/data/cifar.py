"""Readers for the official CIFAR-10 and CIFAR-100 files (Krizhevsky 2009,
https://www.cs.toronto.edu/~kriz/cifar.html), in both official formats:

* **python** (``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``): each batch is a
  Python 2 pickle of a dict with ``data`` (uint8 array (n, 3072): 1024 red, then green, then
  blue values of a 32x32 image, row-major) and ``labels`` (CIFAR-10) or ``fine_labels`` and
  ``coarse_labels`` (CIFAR-100). Batches are unpickled by :class:`RestrictedUnpickler`, which
  admits only numpy array reconstruction and builtin containers, so a tampered file cannot run
  code.
* **binary** (``cifar-10-binary.tar.gz`` / ``cifar-100-binary.tar.gz``): fixed-size records,
  CIFAR-10 ``<label byte><3072 pixel bytes>``, CIFAR-100 ``<coarse byte><fine byte><3072 bytes>``.

Either format is read straight from the official ``.tar.gz`` (one streaming pass, nothing
extracted) or from the folder it extracts to. A batch file larger than its variant allows
(:func:`max_batch_bytes`) is refused before it is read whole.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ._io import REDOWNLOAD, display, read_members

IMAGE_BYTES = 3 * 32 * 32


@dataclass(frozen=True)
class CifarFiles:
    """Where one official CIFAR variant keeps its batches.

    Attributes:
        title: human-readable variant, used in ``ImageArrays.source``.
        fmt: ``"python"`` or ``"binary"``.
        archive: file name of the official archive.
        folder: top folder inside the archive, which is also the extracted folder's name.
        splits: split -> batch file names inside `folder`.
        labels: label type (``"fine"``, ``"coarse"``) -> pickle key (python) or byte offset
            within a record (binary).
        batch_images: split -> the most images one of its batch files holds.
        label_bytes: binary format only: label bytes before each image's 3072 bytes.
    """

    title: str
    fmt: str
    archive: str
    folder: str
    splits: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, str | int]
    batch_images: Mapping[str, int]
    label_bytes: int = 0


_CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR10_BATCH = {"train": 10_000, "test": 10_000}
_CIFAR100_BATCH = {"train": 50_000, "test": 10_000}

CIFAR10_PYTHON = CifarFiles(
    "CIFAR-10 (official python batches)", "python", "cifar-10-python.tar.gz", "cifar-10-batches-py",
    {"train": _CIFAR10_TRAIN, "test": ("test_batch",)}, {"fine": "labels"}, _CIFAR10_BATCH)
CIFAR10_BINARY = CifarFiles(
    "CIFAR-10 (official binary batches)", "binary", "cifar-10-binary.tar.gz", "cifar-10-batches-bin",
    {"train": tuple(f"{b}.bin" for b in _CIFAR10_TRAIN), "test": ("test_batch.bin",)}, {"fine": 0},
    _CIFAR10_BATCH, label_bytes=1)
CIFAR100_PYTHON = CifarFiles(
    "CIFAR-100 (official python batches)", "python", "cifar-100-python.tar.gz", "cifar-100-python",
    {"train": ("train",), "test": ("test",)}, {"fine": "fine_labels", "coarse": "coarse_labels"},
    _CIFAR100_BATCH)
CIFAR100_BINARY = CifarFiles(
    "CIFAR-100 (official binary batches)", "binary", "cifar-100-binary.tar.gz", "cifar-100-binary",
    {"train": ("train.bin",), "test": ("test.bin",)}, {"fine": 1, "coarse": 0}, _CIFAR100_BATCH,
    label_bytes=2)


def max_batch_bytes(files: CifarFiles, split: str) -> int:
    """The most bytes one batch file of `split` may hold: exactly its records for the binary
    format; for a python pickle twice its pixel bytes (labels, file names and pickle framing add
    about 1%: the official CIFAR-10 batches are 31.0 MB for 30.7 MB of pixels)."""
    images = files.batch_images[split]
    if files.fmt == "binary":
        return images * (files.label_bytes + IMAGE_BYTES)
    return 2 * images * IMAGE_BYTES


def _numpy_reconstruct() -> Any:
    """``ndarray`` reconstruction helper: ``numpy._core`` in numpy 2, ``numpy.core`` before."""
    try:
        from numpy._core.multiarray import _reconstruct  # type: ignore[attr-defined]
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[attr-defined,no-redef]
    return _reconstruct


def _allowed_globals() -> dict[tuple[str, str], Any]:
    reconstruct = _numpy_reconstruct()
    allowed: dict[tuple[str, str], Any] = {
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,  # pickles written by numpy < 2
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,  # pickles written by numpy >= 2
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("builtins", "__builtin__"):  # Python 3 and Python 2 spellings
        for container in (dict, list, tuple, set, frozenset):
            allowed[(module, container.__name__)] = container
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for the official CIFAR python batches that resolves only the globals those
    files need (numpy array reconstruction and builtin containers); any other global -- such as
    ``os.system`` in a tampered file -- raises :class:`pickle.UnpicklingError` before anything
    runs."""

    ALLOWED = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def unpickle_batch(raw: bytes, where: str) -> dict[str, Any]:
    """Unpickle one CIFAR python batch with :class:`RestrictedUnpickler` (``encoding="bytes"``,
    as the files were written by Python 2) into a dict with ``str`` keys."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as e:  # unpickling arbitrary bytes can fail in many ways; all mean "bad file"
        raise DataError(f"{where}: not a valid CIFAR python batch ({type(e).__name__}: {e}); "
                        f"{REDOWNLOAD}") from e
    if not isinstance(obj, dict):
        raise DataError(f"{where}: unexpected pickle content ({type(obj).__name__}, expected a dict); "
                        f"{REDOWNLOAD}")
    return {k.decode("latin-1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _batch_arrays(batch: Mapping[str, Any], label_key: str, num_classes: int,
                  where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(data (n, 3072) uint8, labels (n,) int64)`` of an unpickled batch, validated."""
    data = batch.get("data")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == IMAGE_BYTES):
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{where}: unexpected pickle content: 'data' should be a uint8 array of shape "
                        f"(n, {IMAGE_BYTES}), got {got}; {REDOWNLOAD}")
    if label_key not in batch:
        raise DataError(f"{where}: unexpected pickle content: no {label_key!r} entry; {REDOWNLOAD}")
    try:
        labels = np.asarray(batch[label_key])
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: unexpected pickle content: bad {label_key!r} ({e}); {REDOWNLOAD}") from e
    _check_labels(labels, len(data), num_classes, f"{where} ({label_key})")
    return data, labels.astype(np.int64)


def _check_labels(labels: np.ndarray, n: int, num_classes: int, where: str) -> None:
    if labels.dtype.kind not in "iu" or labels.shape != (n,):
        raise DataError(f"{where}: expected {n} integer labels, got {labels.dtype} {labels.shape}; "
                        f"{REDOWNLOAD}")
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"{where}: labels outside 0..{num_classes - 1}; {REDOWNLOAD}")


def _binary_arrays(raw: bytes, files: CifarFiles, label_type: str, num_classes: int,
                   where: str) -> tuple[np.ndarray, np.ndarray]:
    record = files.label_bytes + IMAGE_BYTES
    if not raw or len(raw) % record:
        raise DataError(f"{where}: size {len(raw)} bytes is not a whole number of {record}-byte "
                        f"records; it is truncated or not a {files.title} file; {REDOWNLOAD}")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    labels = records[:, int(files.labels[label_type])].astype(np.int64)
    _check_labels(labels, len(records), num_classes, where)
    return records[:, files.label_bytes:], labels


def read_cifar(location: Path, files: CifarFiles, split: str, *, num_classes: int,
               label_type: str = "fine") -> tuple[np.ndarray, np.ndarray]:
    """Read one split of an official CIFAR variant.

    Args:
        location: the official archive (``.tar.gz``), or the folder that holds the extracted
            ``files.folder``.
        files: which variant, e.g. :data:`CIFAR10_PYTHON`.
        split: ``"train"`` or ``"test"``.
        num_classes: number of classes of `label_type`, to validate the labels.
        label_type: ``"fine"`` or, for CIFAR-100, ``"coarse"``.

    Returns:
        ``(images, labels)``: uint8 (N, 3, 32, 32) and int64 (N,) arrays, in file order.
    """
    relpaths = [f"{files.folder}/{name}" for name in files.splits[split]]
    raws = read_members(location, relpaths, max_batch_bytes(files, split),
                        f"the most a {files.title} {split} batch may hold")
    parts = []
    for rel in relpaths:
        where = display(location, rel)
        if files.fmt == "python":
            batch = unpickle_batch(raws.pop(rel), where)
            parts.append(_batch_arrays(batch, str(files.labels[label_type]), num_classes, where))
        else:
            parts.append(_binary_arrays(raws.pop(rel), files, label_type, num_classes, where))
    images = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32)
    labels = np.concatenate([p[1] for p in parts])
    return images, labels
