"""``load_dataset``: MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 as in-memory
:class:`~paperzoo.data.arrays.ImageArrays`, read from the files under the data root.

Layout under the root (the official file names; ``.gz`` idx files may also be stored
uncompressed)::

    mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    cifar10/cifar-10-python.tar.gz    or the extracted cifar10/cifar-10-batches-py/
    cifar10/cifar-10-binary.tar.gz    or the extracted cifar10/cifar-10-batches-bin/
    cifar10-jpeg/cifar10-jpeg.tar.gz  JPEG copy: train/<class>/NNNN.jpg, test/<class>/NNNN.jpg
    cifar100/cifar-100-python.tar.gz  or the extracted cifar100/cifar-100-python/
    cifar100/cifar-100-binary.tar.gz  or the extracted cifar100/cifar-100-binary/

CIFAR-10 is read from the first present of: official python batches, official binary batches,
JPEG copy; ``ImageArrays.source`` says which (report it with every number).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, UserError
from ._io import REDOWNLOAD, MissingDataError
from .arrays import ImageArrays
from .catalog import CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, DatasetInfo, dataset_info
from .cifar import CIFAR10_BINARY, CIFAR10_PYTHON, CIFAR100_BINARY, CIFAR100_PYTHON, CifarFiles, read_cifar
from .idx import read_idx
from .imagefolder import ImageFolder
from .root import data_root

SPLITS = ("train", "test")

#: Official CIFAR variants in the order they are looked for.
CIFAR_VARIANTS: dict[str, tuple[CifarFiles, ...]] = {
    "cifar10": (CIFAR10_PYTHON, CIFAR10_BINARY),
    "cifar100": (CIFAR100_PYTHON, CIFAR100_BINARY),
}

#: Where the CIFAR-10 JPEG copy lives under the data root.
CIFAR10_JPEG = Path("cifar10-jpeg") / "cifar10-jpeg.tar.gz"


def load_dataset(name: str, split: str, *, root: str | os.PathLike | None = None, download: bool = False,
                 label_type: str | None = None) -> ImageArrays:
    """Load one split of a dataset into memory.

    Args:
        name: one of :func:`list_datasets`: ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``.
        split: ``"train"`` or ``"test"`` (hold out a validation set with
            :func:`~paperzoo.data.arrays.train_val_split`).
        root: the data root; default :func:`~paperzoo.data.root.data_root`.
        download: when no usable copy is found, fetch the official files into the root first
            (with a network; see :func:`~paperzoo.data.download.download_dataset`).
        label_type: CIFAR-100 only: ``"fine"`` (default, 100 classes) or ``"coarse"`` (20).

    Raises:
        UserError: unknown name, split or label type.
        DataError: files missing (the message says which to place where, and how to download
            them) or damaged (the message names the file).
    """
    info = dataset_info(name)
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r} for {name}: use 'train' or 'test' "
                        f"(hold out validation data with train_val_split)")
    label_type = _label_type(name, label_type)
    base = data_root(root)
    reader = _READERS[name]
    try:
        return reader(info, split, base, label_type)
    except MissingDataError:
        if not download:
            raise
    from .download import download_dataset

    download_dataset(name, base)
    return reader(info, split, base, label_type)


def _label_type(name: str, label_type: str | None) -> str:
    allowed = ("fine", "coarse") if name == "cifar100" else ("fine",)
    if label_type is None:
        return "fine"
    if label_type not in allowed:
        what = "'fine' or 'coarse'" if name == "cifar100" else "no label_type (only cifar100 has coarse labels)"
        raise UserError(f"unknown label_type {label_type!r} for {name}: use {what}")
    return label_type


def _missing(info: DatasetInfo, what: str, needed: tuple[str, ...] | None = None) -> MissingDataError:
    """The error for absent files: what to place where, the official URLs (of the `needed`
    file names, default all), and how to download them."""
    urls = ", ".join(f.urls[0] for f in info.files if needed is None or f.name in needed)
    return MissingDataError(f"{info.title} not found: place {what} (official files: {urls}), or run "
                            f"`paperzoo download {info.name}` (or pass download=True) to fetch them")


# --- MNIST and Fashion-MNIST ------------------------------------------------------------------

def _find_idx(folder: Path, name: str) -> Path | None:
    return next((folder / n for n in (f"{name}.gz", name) if (folder / n).is_file()), None)


def _read_idx_dataset(info: DatasetInfo, split: str, base: Path, label_type: str) -> ImageArrays:
    folder = base / info.folder
    prefix = "train" if split == "train" else "t10k"
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    images_path, labels_path = (_find_idx(folder, n) for n in names)
    if images_path is None or labels_path is None:
        gz_names = tuple(f"{n}.gz" for n in names)
        raise _missing(info, f"{gz_names[0]} and {gz_names[1]} in {folder}/", gz_names)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{images_path}: expected uint8 images of shape (n, rows, cols), found "
                        f"{images.dtype} {images.shape}; {REDOWNLOAD}")
    if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise DataError(f"{labels_path}: expected {len(images)} uint8 labels to match {images_path.name}, "
                        f"found {labels.dtype} {labels.shape}; {REDOWNLOAD}")
    if labels.size and labels.max() >= len(info.classes):
        raise DataError(f"{labels_path}: labels outside 0..{len(info.classes) - 1}; {REDOWNLOAD}")
    return ImageArrays(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)),
                       info.classes, info.name,
                       f"{info.title} (official idx files) from {images_path} and {labels_path.name}")


# --- CIFAR ------------------------------------------------------------------------------------

def _cifar_location(folder: Path, files: CifarFiles) -> Path | None:
    """The extracted folder's parent, else the archive, else None."""
    if (folder / files.folder).is_dir():
        return folder
    return folder / files.archive if (folder / files.archive).is_file() else None


def _read_cifar_dataset(info: DatasetInfo, split: str, base: Path, label_type: str) -> ImageArrays:
    folder = base / info.folder
    classes = CIFAR100_COARSE_CLASSES if label_type == "coarse" else info.classes
    for files in CIFAR_VARIANTS[info.name]:
        location = _cifar_location(folder, files)
        if location is not None:
            images, labels = read_cifar(location, files, split, num_classes=len(classes),
                                        label_type=label_type)
            shown = location / files.folder if location.is_dir() else location
            source = f"{files.title} from {shown}" + (", coarse labels" if label_type == "coarse" else "")
            return ImageArrays(torch.from_numpy(images), torch.from_numpy(labels), classes, info.name, source)
    if info.name == "cifar10":
        arrays = _read_cifar10_jpeg(info, split, base)
        if arrays is not None:
            return arrays
    python, binary = CIFAR_VARIANTS[info.name]
    what = (f"{python.archive} (or its extracted {python.folder}/, or {binary.archive} or its extracted "
            f"{binary.folder}/) in {folder}/")
    if info.name == "cifar10":
        what += f", or the JPEG copy {CIFAR10_JPEG.name} in {base / CIFAR10_JPEG.parent}/"
    raise _missing(info, what)


def _read_cifar10_jpeg(info: DatasetInfo, split: str, base: Path) -> ImageArrays | None:
    """CIFAR-10 from the JPEG copy (archive, or the folder it extracts to), or None if absent."""
    archive = base / CIFAR10_JPEG
    location = archive if archive.is_file() else archive.parent
    if not (archive.is_file() or (location / split).is_dir()):
        return None
    arrays = ImageFolder(location, split).to_arrays(info.name, f"CIFAR-10 (JPEG q75 copy) from {location}")
    if arrays.classes != CIFAR10_CLASSES:
        raise DataError(f"{location}: class folders {', '.join(arrays.classes)} are not the ten CIFAR-10 "
                        f"classes {', '.join(CIFAR10_CLASSES)}")
    if tuple(arrays.images.shape[1:]) != (3, 32, 32):
        raise DataError(f"{location}: images are {tuple(arrays.images.shape[1:])}, CIFAR-10 needs (3, 32, 32)")
    return arrays


_READERS: dict[str, Callable[[DatasetInfo, str, Path, str], ImageArrays]] = {
    "mnist": _read_idx_dataset,
    "fashion-mnist": _read_idx_dataset,
    "cifar10": _read_cifar_dataset,
    "cifar100": _read_cifar_dataset,
}
