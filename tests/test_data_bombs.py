"""Bounded reading of hostile and damaged input. A small compressed file that expands to a
gigabyte of zeros (a decompression bomb) in each compressed format -- a gzip IDX file, a member of
a CIFAR ``.tar.gz``, the Tatoeba zip -- and an ImageFolder whose first image is huge are refused
(or read resized) with a one-line DataError naming the file and member, while the peak of the
memory Python and numpy allocate (measured with :mod:`tracemalloc`) stays under 200 MB: reading
any of these whole would take over a gigabyte."""

from __future__ import annotations

import contextlib
import gzip
import io
import struct
import tarfile
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
from PIL import Image

from paperzoo.data import ImageFolder, imagefolder, load_dataset, read_idx, read_sentences, sentences, text
from paperzoo.data.text import TATOEBA_MEMBER, read_multi30k, read_tatoeba
from paperzoo.errors import DataError

GIB = 1 << 30
PEAK_LIMIT = 200 << 20
ZEROS = bytes(16 << 20)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERZOO_CACHE", str(tmp_path / "cache"))


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Trace the block's allocations (Python objects, bytes from zlib, numpy arrays); the list it
    yields holds the peak in bytes once the block is left."""
    tracemalloc.start()
    peak: list[int] = []
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def write_zeros(f: BinaryIO, n: int) -> None:
    """Write `n` zero bytes to `f` in chunks (a compressed stream stays a few MB for a GiB)."""
    for _ in range(n // len(ZEROS)):
        f.write(ZEROS)
    f.write(bytes(n % len(ZEROS)))


def one_line(error: pytest.ExceptionInfo[DataError]) -> str:
    message = str(error.value)
    assert "\n" not in message and "BytesIO" not in message
    return message


# --- gzip IDX ---------------------------------------------------------------------------------

def test_gz_idx_bomb_reads_no_more_than_the_header_declares(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 4, 28, 28))  # 3,136 bytes of pixels...
        write_zeros(f, GIB)                                               # ...then a gigabyte
    assert path.stat().st_size < 8 << 20
    with peak_memory() as peak, pytest.raises(DataError) as error:
        read_idx(path)
    assert peak[0] < PEAK_LIMIT, f"peak {peak[0] / 2**20:.0f} MiB"
    assert f"{path}: holds more than 3,152 bytes, the size its header's shape (4, 28, 28) gives" in one_line(error)


def test_idx_header_declaring_an_absurd_shape_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 9)))
    with pytest.raises(DataError, match=r"idx3-ubyte\.gz: header declares shape .*more than the "
                                        r"2,147,483,648 bytes this reader accepts"):
        read_idx(path)


def test_padded_idx_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 3) + bytes(4))
    with pytest.raises(DataError, match=r"labels-idx1-ubyte: holds more than 11 bytes"):
        read_idx(path)


# --- CIFAR tar.gz -----------------------------------------------------------------------------

@pytest.mark.parametrize("archive, member, bound", [
    ("cifar-10-python.tar.gz", "cifar-10-batches-py/data_batch_1", 61_440_000),
    ("cifar-10-binary.tar.gz", "cifar-10-batches-bin/data_batch_1.bin", 30_730_000),
])
def test_cifar_tar_member_bomb_is_refused_unread(tmp_path: Path, archive: str, member: str, bound: int) -> None:
    path = tmp_path / "cifar10" / archive
    path.parent.mkdir()
    info = tarfile.TarInfo(member)
    info.size = GIB
    with gzip.open(path, "wb", compresslevel=1) as f:  # a tar stream, written by hand to save time
        f.write(info.tobuf())
        write_zeros(f, GIB)  # a multiple of 512: no padding
        f.write(bytes(2 * tarfile.BLOCKSIZE))  # end of archive
    with peak_memory() as peak, pytest.raises(DataError) as error:
        load_dataset("cifar10", "train", root=tmp_path)
    assert peak[0] < PEAK_LIMIT, f"peak {peak[0] / 2**20:.0f} MiB"
    assert f"{path}:{member}: declares 1,073,741,824 bytes, more than {bound:,}" in one_line(error)


def test_extracted_cifar_batch_over_its_bound_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"):
        (folder / f"{name}.bin").write_bytes(bytes(3073 * 10_001))  # one record too many
    with pytest.raises(DataError, match=r"data_batch_1\.bin: holds more than 30,730,000 bytes, the most a "
                                        r"CIFAR-10 \(official binary batches\) train batch may hold"):
        load_dataset("cifar10", "train", root=tmp_path)


# --- Tatoeba zip ------------------------------------------------------------------------------

def tatoeba_path(root: Path) -> Path:
    (root / "tatoeba").mkdir(exist_ok=True)
    return root / "tatoeba" / "fra-eng.zip"


def test_tatoeba_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tatoeba_path(tmp_path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, z.open(TATOEBA_MEMBER, "w") as f:
        f.write(b"Go.\tVa !\n")
        write_zeros(f, GIB)
    with peak_memory() as peak, pytest.raises(DataError) as error:
        read_tatoeba(tmp_path)
    assert peak[0] < PEAK_LIMIT, f"peak {peak[0] / 2**20:.0f} MiB"
    assert f"{path}:{TATOEBA_MEMBER}: declares 1,073,741,833 bytes, more than 134,217,728" in one_line(error)

    # The same archive with a central directory that claims 64 MiB: the read stops there
    raw = bytearray(path.read_bytes())
    entry = raw.rindex(b"PK\x01\x02")
    raw[entry + 24:entry + 28] = struct.pack("<I", 64 << 20)
    path.write_bytes(raw)
    with peak_memory() as peak, pytest.raises(DataError) as error:
        read_tatoeba(tmp_path)
    assert peak[0] < PEAK_LIMIT, f"peak {peak[0] / 2**20:.0f} MiB"
    assert f"{path}:{TATOEBA_MEMBER}: corrupted compressed data (Bad CRC-32" in one_line(error)


def test_tatoeba_zip_with_corrupted_deflate_data_names_the_file(tmp_path: Path) -> None:
    path = tatoeba_path(tmp_path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(TATOEBA_MEMBER, "Go.\tVa !\n" * 1000)
        offset = z.getinfo(TATOEBA_MEMBER).header_offset
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[offset + 26:offset + 30])
    raw[offset + 30 + name_len + extra_len] = 0xFF  # first deflate block: reserved type 3
    path.write_bytes(raw)
    with pytest.raises(DataError) as error:
        read_tatoeba(tmp_path)
    assert one_line(error).startswith(f"{path}:{TATOEBA_MEMBER}: corrupted compressed data (Error -3 while "
                                      f"decompressing data: invalid block type)")


def test_text_readers_are_bounded(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "MAX_MULTI30K_BYTES", 1000)
    with pytest.raises(DataError, match=r"val\.en\.gz: holds more than 1,000 bytes, the most a Multi30k file"):
        read_multi30k("val", "en")
    monkeypatch.setattr(text, "MAX_TATOEBA_BYTES", 1000)
    with pytest.raises(DataError, match=r"fra-eng\.zip:fra-eng/fra\.txt: declares 11,669,748 bytes, more than 1,000"):
        read_tatoeba()
    monkeypatch.setattr(sentences, "MAX_SENTENCE_BYTES", 1000)
    path = tmp_path / "train.gz"
    path.write_bytes(gzip.compress(b"1 a fine sentence\n" * 100))
    with pytest.raises(DataError, match=r"train\.gz: holds more than 1,000 bytes, the most a sentence file"):
        read_sentences(path)


# --- ImageFolder ------------------------------------------------------------------------------

def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def write_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def small_images(n: int) -> dict[str, bytes]:
    return {f"train/bee/{i:04d}.png": encoded(Image.new("RGB", (8, 6), (i, 2 * i, 3 * i))) for i in range(n)}


def test_huge_first_image_does_not_size_the_array(tmp_path: Path) -> None:
    files = {"train/ant/0000.png": encoded(Image.new("L", (4000, 4000), 128)), **small_images(30)}
    path = write_tar(tmp_path / "set.tar.gz", files)
    folder = ImageFolder(path, "train")
    with peak_memory() as peak, pytest.raises(DataError) as error:
        folder.to_arrays("toy", cache=False)
    assert peak[0] < PEAK_LIMIT, f"peak {peak[0] / 2**20:.0f} MiB"
    assert one_line(error).startswith(f"{path}:train/bee/0000.png: image is 8x6 but earlier ones are 4000x4000; "
                                      f"to_arrays needs one size: pass size=(height, width)")
    with peak_memory() as peak:
        arrays = folder.to_arrays("toy", size=(6, 8), cache=False)
    assert peak[0] < PEAK_LIMIT, f"peak {peak[0] / 2**20:.0f} MiB"
    assert tuple(arrays.images.shape) == (31, 3, 6, 8) and arrays.classes == ("ant", "bee")
    assert (arrays.images[0] == 128).all() and (arrays.images[1:].numpy() == np.stack(
        [np.asarray(Image.new("RGB", (8, 6), (i, 2 * i, 3 * i))).transpose(2, 0, 1) for i in range(30)])).all()


def test_resized_arrays_are_cached_apart(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "set.tar.gz", small_images(3))
    full = ImageFolder(path, "train").to_arrays("toy")
    half = ImageFolder(path, "train").to_arrays("toy", size=(3, 4))
    assert tuple(full.images.shape) == (3, 3, 6, 8) and tuple(half.images.shape) == (3, 3, 3, 4)
    assert tuple(ImageFolder(path, "train").to_arrays("toy").images.shape) == (3, 3, 6, 8)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [120, 200])  # 1.4 and 4 times the limit set below
def test_pil_decompression_bomb_names_the_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side: int) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    path = write_tar(tmp_path / "set.tar.gz", {"train/ant/0000.png": encoded(Image.new("L", (side, side))),
                                               **small_images(2)})
    folder = ImageFolder(path, "train")
    for load in (lambda: folder.to_arrays("toy", cache=False), lambda: folder[0]):
        with pytest.raises(DataError) as error:
            load()
        assert one_line(error).startswith(f"{path}:train/ant/0000.png: ")
        assert "decompression bomb" in str(error.value)


def test_bad_image_is_named_by_its_member(tmp_path: Path) -> None:
    files = {"train/ant/0000.jpg": b"not an image at all", **small_images(2)}
    path = write_tar(tmp_path / "set.tar.gz", files)
    folder = ImageFolder(path, "train")
    for load in (lambda: folder.to_arrays("toy", cache=False), lambda: folder[0]):
        with pytest.raises(DataError) as error:
            load()
        assert one_line(error) == (f"{path}:train/ant/0000.jpg: cannot decode image (not an image in a format "
                                   f"PIL reads); the file is corrupted, replace or delete it")


def test_oversized_image_member_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imagefolder, "MAX_IMAGE_BYTES", 20)  # each PNG is about 70 bytes
    path = write_tar(tmp_path / "set.tar.gz", small_images(2))
    folder = ImageFolder(path, "train")
    for load in (lambda: folder.to_arrays("toy", cache=False), lambda: folder[0]):
        with pytest.raises(DataError, match=r"set\.tar\.gz:train/bee/0000\.png: declares \d+ bytes, more than 20"):
            load()
