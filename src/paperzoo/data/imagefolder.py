"""Images stored as ``<split>/<class>/<image>`` (the "ImageFolder" layout of ImageNet-style
datasets), read from a directory or straight from a ``.tar`` / ``.tar.gz`` archive without
extracting it.

Two ways to use an :class:`ImageFolder`:

* ``folder.to_arrays(name, source)`` decodes every image of a small set (CIFAR-size) into one
  uint8 :class:`~paperzoo.data.arrays.ImageArrays`, cached as ``.npy`` files in
  :func:`~paperzoo.data.root.cache_dir`, so the decoding (about 10 s for the 60k CIFAR-10
  JPEGs on two cores) happens once per archive. Images must share one size, or
  ``to_arrays(..., size=(h, w))`` resizes each as it is decoded; memory holds the result and
  one decoded image, never the largest image times the count.
* As a :class:`torch.utils.data.Dataset` for large sets such as ImageNet:
  ``folder[i]`` is ``(PIL RGB image, label)``, or ``(transform(image), label)``; read it through
  a normal DataLoader (see :func:`paperzoo.data.loader.folder_loader`).

An image with more pixels than PIL's ``Image.MAX_IMAGE_PIXELS`` (a decompression bomb: a small
file that decodes to gigabytes) is refused from its header, and an archive member larger than
:data:`MAX_IMAGE_BYTES` is refused unread. Every such failure is a one-line DataError naming the
archive and member (or the file).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import DataError
from ._io import (
    REDOWNLOAD,
    MissingDataError,
    atomic_write,
    iter_tar_files,
    open_decompressed,
    read_tar_member,
    too_large,
)
from .arrays import ImageArrays
from .root import cache_dir

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff",
                              ".webp", ".gif"})

#: Bump when the cached arrays' layout changes, to ignore older cache files.
CACHE_VERSION = 1

#: Largest encoded image read from an archive, above any real photo (an uncompressed 16-bit RGBA
#: TIFF at PIL's 89-megapixel ``MAX_IMAGE_PIXELS`` is 716 MB): a member declaring more is refused.
MAX_IMAGE_BYTES = 1 << 30
_IMAGE_BOUND = "the most an image file may hold"

#: What PIL raises for bytes that are not a complete image it can decode.
_PIL_ERRORS = (OSError, EOFError, SyntaxError, ValueError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Sample:
    """One image: `key` is its ``/``-separated path below the folder or archive root
    (``"train/cat/0001.jpg"``); `offset` and `size` locate an archive member's bytes in the
    uncompressed tar stream (-1 for directories)."""

    key: str
    label: int
    offset: int = -1
    size: int = -1


@dataclass(frozen=True)
class _Entry:
    cls: str
    key: str
    offset: int = -1
    size: int = -1


def open_image(raw: bytes, where: str) -> Image.Image:
    """`raw` opened by PIL, which reads only the header (size, mode), not the pixels; DataError
    naming `where` if it is not an image PIL reads, or has more pixels than PIL's
    ``Image.MAX_IMAGE_PIXELS`` (a decompression bomb, or a damaged header)."""
    try:
        image = Image.open(io.BytesIO(raw))
    except _PIL_ERRORS as e:
        raise _undecodable(where, e) from e
    limit = Image.MAX_IMAGE_PIXELS
    if limit and image.width * image.height > limit:
        image.close()
        raise DataError(f"{where}: image is {image.width}x{image.height}, more than PIL's limit of {limit:,} "
                        f"pixels (Image.MAX_IMAGE_PIXELS); the file is corrupted or a decompression bomb, "
                        f"replace or delete it")
    return image


def decode_image(raw: bytes, where: str, size: tuple[int, int] | None = None) -> Image.Image:
    """Decode encoded image bytes to an RGB PIL image, resized (bilinear, aspect ratio not kept) to
    `size` = (height, width) if given; DataError naming `where` if they are not a complete image
    in a format PIL reads (see :func:`open_image`)."""
    with open_image(raw, where) as image:
        try:
            rgb = image.convert("RGB")
        except _PIL_ERRORS as e:
            raise _undecodable(where, e) from e
    if size is not None and rgb.size != (size[1], size[0]):
        rgb = rgb.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return rgb


def _undecodable(where: str, e: Exception) -> DataError:
    # PIL names an unidentified in-memory file by its repr (<_io.BytesIO object at 0x...>): say what it means
    reason = "not an image in a format PIL reads" if isinstance(e, UnidentifiedImageError) else str(e)
    return DataError(f"{where}: cannot decode image ({reason}); the file is corrupted, replace or delete it")


class ImageFolder(torch.utils.data.Dataset):
    """Images in ``<path>/<split>/<class>/<image>`` (or ``<path>/<class>/<image>`` when `split`
    is None). `path` is a directory or a tar archive holding that layout: plain ``.tar``, or
    compressed (``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``). Classes are the sorted names
    of the class folders that contain at least one image (extensions in
    :data:`IMAGE_EXTENSIONS`); images are sorted by path within a class; other files (a README,
    hidden files) are ignored.

    The index is built on first use. For an archive this is one sequential pass over it.
    Random access (``folder[i]``) opens the archive lazily once per process, so each DataLoader
    worker has its own handle: for a plain ``.tar`` it seeks straight to the member's offset
    (fast); in a compressed archive (``.tar.gz``...) a backward seek decompresses again from the
    start of the stream, so random access is **slow** -- decode such an archive once with
    :meth:`to_arrays` (small sets), or extract it / repack it as a plain ``.tar`` (large sets).
    """

    def __init__(self, path: str | os.PathLike, split: str | None = None, *,
                 transform: Callable[[Image.Image], Any] | None = None) -> None:
        self.path = Path(path).expanduser()
        self.split = split
        self.transform = transform
        if not self.path.exists():
            raise MissingDataError(f"{self.path}: not found; expected a folder or a tar archive "
                                   f"holding {self._layout()}")
        self._is_dir = self.path.is_dir()
        self._classes: tuple[str, ...] | None = None
        self._samples: list[Sample] | None = None
        self._handle: IO[bytes] | None = None
        self._handle_pid: int | None = None

    # --- index ------------------------------------------------------------------------------

    @property
    def classes(self) -> tuple[str, ...]:
        self._ensure_index()
        assert self._classes is not None
        return self._classes

    @property
    def samples(self) -> list[Sample]:
        self._ensure_index()
        assert self._samples is not None
        return self._samples

    def __len__(self) -> int:
        return len(self.samples)

    def _layout(self) -> str:
        return f"{self.split}/<class>/<image>" if self.split else "<class>/<image>"

    def _class_of(self, key: str) -> str | None:
        """The class of the file at `key` if it is an image in the layout, else None."""
        parts = key.split("/")
        prefix = [self.split] if self.split else []
        if len(parts) != len(prefix) + 2 or parts[:len(prefix)] != prefix:
            return None
        cls, name = parts[-2], parts[-1]
        if name.startswith(".") or cls.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
            return None
        return cls

    def _ensure_index(self) -> None:
        if self._samples is None:
            entries = self._scan_dir() if self._is_dir else [e for e, _ in self._scan_archive(False)]
            self._set_index(entries)

    def _scan_dir(self) -> list[_Entry]:
        base = self.path / self.split if self.split else self.path
        if not base.is_dir():
            raise MissingDataError(f"{base}: folder not found; expected {self.path}/{self._layout()}")
        prefix = f"{self.split}/" if self.split else ""
        entries = []
        for class_dir in os.scandir(base):
            if class_dir.is_dir() and not class_dir.name.startswith("."):
                for file in os.scandir(class_dir.path):
                    key = f"{prefix}{class_dir.name}/{file.name}"
                    if file.is_file() and self._class_of(key) is not None:
                        entries.append(_Entry(class_dir.name, key))
        return entries

    def _scan_archive(self, keep_bytes: bool) -> Iterator[tuple[_Entry, bytes | None]]:
        """One pass over the archive: the layout's image members, with their bytes if asked."""
        for info, tar in iter_tar_files(self.path):
            cls = self._class_of(info.name)
            if cls is not None:
                raw = read_tar_member(tar, info, self.path, MAX_IMAGE_BYTES, _IMAGE_BOUND) if keep_bytes else None
                yield _Entry(cls, info.name, info.offset_data, info.size), raw

    def _set_index(self, entries: list[_Entry]) -> None:
        if not entries:
            raise DataError(f"{self.path}: no images found in the layout {self._layout()}")
        classes = tuple(sorted({e.cls for e in entries}))
        label = {c: i for i, c in enumerate(classes)}
        entries = sorted(entries, key=lambda e: (e.cls, e.key))
        self._samples = [Sample(e.key, label[e.cls], e.offset, e.size) for e in entries]
        self._classes = classes

    # --- random access ----------------------------------------------------------------------

    def where(self, sample: Sample) -> str:
        """How error messages name `sample`'s file."""
        return str(self.path / sample.key) if self._is_dir else f"{self.path}:{sample.key}"

    def read_bytes(self, sample: Sample) -> bytes:
        """The encoded bytes of `sample`."""
        if not self._is_dir and sample.size > MAX_IMAGE_BYTES:
            raise too_large(self.where(sample), f"declares {sample.size:,} bytes, more than {MAX_IMAGE_BYTES:,}",
                            _IMAGE_BOUND)
        try:
            if self._is_dir:
                return (self.path / sample.key).read_bytes()
            handle = self._archive_handle()
            handle.seek(sample.offset)
            raw = handle.read(sample.size)
        except (OSError, EOFError) as e:
            raise DataError(f"{self.where(sample)}: cannot read ({e}); {REDOWNLOAD}") from e
        if len(raw) != sample.size:
            raise DataError(f"{self.where(sample)}: archive is truncated; {REDOWNLOAD}")
        return raw

    def _archive_handle(self) -> IO[bytes]:
        """This process's handle on the archive, opened on first use (after a DataLoader worker
        forks, the parent's handle and its file position must not be shared)."""
        if self._handle is None or self._handle_pid != os.getpid():
            self._handle = open_decompressed(self.path)
            self._handle_pid = os.getpid()
        return self._handle

    def __getitem__(self, index: int) -> tuple[Any, int]:
        sample = self.samples[index]
        image = decode_image(self.read_bytes(sample), self.where(sample))
        return (self.transform(image) if self.transform else image), sample.label

    def with_transform(self, transform: Callable[[Image.Image], Any] | None) -> ImageFolder:
        """A copy that applies `transform` (sharing this one's index)."""
        self._ensure_index()
        clone = copy.copy(self)
        clone.transform, clone._handle, clone._handle_pid = transform, None, None
        return clone

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handle"], state["_handle_pid"] = None, None  # open files do not cross processes
        return state

    # --- whole-set decoding -----------------------------------------------------------------

    def to_arrays(self, name: str, source: str | None = None, *, size: tuple[int, int] | None = None,
                  cache: bool = True) -> ImageArrays:
        """Decode every image into an :class:`ImageArrays`. All images must share one size, or pass
        `size` = (height, width) to resize each (bilinear, aspect ratio not kept) as it is decoded.
        The result is allocated at its final size and filled one image at a time; an image of
        another size is found from the headers before anything is decoded.

        With `cache`, the decoded arrays are kept in :func:`cache_dir` under a key made of the
        folder's absolute path, split, `size` and size/mtime (of the archive, or of every image file
        of a directory); a stale or corrupted cache file is ignored and rebuilt.
        """
        source = source or f"ImageFolder {self.path}" + (f" [{self.split}]" if self.split else "")
        size = None if size is None else (int(size[0]), int(size[1]))
        stem = self._cache_stem(size) if cache else None
        cached = _cache_load(stem) if stem else None
        if cached is None:
            images, labels = self._decode_all(size)
            if stem:
                _cache_store(stem, images, labels, self.classes)
            classes = self.classes
        else:
            images, labels, classes = cached
        return ImageArrays(torch.from_numpy(images), torch.from_numpy(labels), classes, name, source)

    def _decode_all(self, size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (N, 3, H, W) images (H, W = `size`, else the images' common size) and labels."""
        read = self._reader()
        height, width = size or self._common_size(read)
        out = np.empty((len(self.samples), 3, height, width), dtype=np.uint8)
        for i, sample in enumerate(self.samples):
            out[i] = np.asarray(decode_image(read(sample), self.where(sample), (height, width))).transpose(2, 0, 1)
        return out, np.array([s.label for s in self.samples], dtype=np.int64)

    def _reader(self) -> Callable[[Sample], bytes]:
        """What reads a sample's encoded bytes: the folder's file, or for an archive its bytes from
        one sequential pass (never seek in a compressed stream), which also rebuilds the index."""
        if self._is_dir:
            return self.read_bytes
        entries, blobs = [], {}
        for entry, raw in self._scan_archive(True):
            entries.append(entry)
            blobs[entry.key] = raw
        self._set_index(entries)
        return lambda sample: blobs[sample.key]

    def _common_size(self, read: Callable[[Sample], bytes]) -> tuple[int, int]:
        """The (height, width) all images share, from their headers alone; DataError naming the
        first image of another size."""
        first: tuple[int, int] | None = None
        for sample in self.samples:
            with open_image(read(sample), self.where(sample)) as image:
                shape = (image.height, image.width)
            if first is None:
                first = shape
            elif shape != first:
                raise DataError(f"{self.where(sample)}: image is {shape[1]}x{shape[0]} but earlier ones are "
                                f"{first[1]}x{first[0]}; to_arrays needs one size: pass size=(height, width) to "
                                f"resize them, or use the folder as a Dataset with a resize/crop transform")
        assert first is not None  # _set_index refuses an empty folder
        return first

    def _cache_stem(self, size: tuple[int, int] | None = None) -> Path | None:
        """The cache files' common path prefix, which encodes the folder's identity."""
        if self._is_dir:
            digest = hashlib.sha256()
            for s in self.samples:
                st = (self.path / s.key).stat()
                digest.update(f"{s.key}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            content = digest.hexdigest()
        else:
            st = self.path.stat()
            content = f"{st.st_size}:{st.st_mtime_ns}"
        key = f"v{CACHE_VERSION}\0{self.path.resolve()}\0{self.split}\0{content}"
        if size is not None:  # the key of unresized arrays is unchanged, so their caches stay valid
            key += f"\0{size[0]}x{size[1]}"
        try:
            folder = cache_dir()
        except OSError as e:
            warnings.warn(f"not caching decoded images: cannot create the cache folder ({e})", stacklevel=3)
            return None
        return folder / f"imagefolder-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _cache_files(stem: Path) -> tuple[Path, Path, Path]:
    return (stem.with_name(stem.name + ".images.npy"), stem.with_name(stem.name + ".labels.npy"),
            stem.with_name(stem.name + ".json"))


def _cache_load(stem: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    """Cached ``(images, labels, classes)``, or None if absent, stale or corrupted."""
    images_path, labels_path, meta_path = _cache_files(stem)
    try:
        meta = json.loads(meta_path.read_text())
        classes = tuple(str(c) for c in meta["classes"])
        images = np.load(images_path, allow_pickle=False)
        labels = np.load(labels_path, allow_pickle=False)
    except (OSError, ValueError, EOFError, KeyError, TypeError):  # absent or corrupted
        return None
    ok = (meta.get("version") == CACHE_VERSION and images.dtype == np.uint8 and images.ndim == 4
          and list(images.shape) == meta.get("shape") and labels.dtype == np.int64
          and labels.shape == images.shape[:1]
          and (labels.size == 0 or (labels.min() >= 0 and labels.max() < len(classes))))
    return (images, labels, classes) if ok else None


def _cache_store(stem: Path, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> None:
    """Write the cache files atomically; the metadata goes last and marks the set complete."""
    images_path, labels_path, meta_path = _cache_files(stem)
    meta = {"version": CACHE_VERSION, "shape": list(images.shape), "classes": list(classes)}
    try:
        atomic_write(images_path, lambda f: np.save(f, images, allow_pickle=False))
        atomic_write(labels_path, lambda f: np.save(f, labels, allow_pickle=False))
        atomic_write(meta_path, lambda f: f.write(json.dumps(meta).encode()))
    except OSError as e:
        warnings.warn(f"could not cache decoded images in {stem.parent} ({e})", stacklevel=3)
