"""File helpers shared by the dataset readers.

Whole-file reads that sniff compression, reading named files from either a folder or a tar archive
(plain or compressed, streamed in one pass, never extracted to disk), and atomic writes
(temporary file in the destination folder, then :func:`os.replace`). Every failure becomes a
:class:`~paperzoo.errors.DataError` whose one-line message names the file and says what to do.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ..errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

#: What reading a damaged gzip or tar stream can raise, beside OSError.
STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, tarfile.TarError)

REDOWNLOAD = "delete it and download it again"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of the files :func:`atomic_write` creates: what ``open(path, "w")`` would give.
_FILE_MODE = 0o666 & ~_umask()


class MissingDataError(DataError):
    """The files of a dataset are absent (as opposed to present but damaged).

    :func:`paperzoo.data.load_dataset` downloads on this error when ``download=True``.
    """


def read_decompressed(path: Path) -> bytes:
    """The bytes of `path`, decompressed when it is gzip, bzip2 or xz (told by its magic bytes)."""
    try:
        with open_decompressed(path) as f:
            return f.read()
    except FileNotFoundError as e:
        raise MissingDataError(f"{path}: file not found") from e
    except STREAM_ERRORS as e:
        raise DataError(f"{path}: truncated or corrupted compressed file ({e}); {REDOWNLOAD}") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e})") from e


def member_name(name: str) -> str:
    """A tar member name without leading ``./`` or ``/`` (archives spell paths both ways)."""
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def open_decompressed(path: Path) -> BinaryIO:
    """`path` opened for binary reading, through gzip, bzip2 or xz when its magic bytes say so.
    The result supports ``seek`` (in a compressed stream a backward seek restarts decompression)."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(GZIP_MAGIC):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


class _CountingReader:
    """Read-only file wrapper that counts the bytes read and keeps the last `keep` of them."""

    def __init__(self, raw: BinaryIO, keep: int = 1 << 20) -> None:
        self.raw, self.keep, self.count, self.tail = raw, keep, 0, bytearray()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        self.tail += data
        if len(self.tail) > 2 * self.keep:
            del self.tail[:-self.keep]
        return data


def iter_tar_files(path: Path) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    """Stream the regular files of the tar archive at `path` (plain, gzip, bzip2 or xz), in
    archive order, in a single sequential pass. Yields ``(info, tar)``; read a member's bytes
    with :func:`read_tar_member` before advancing. ``info.name`` is normalised by
    :func:`member_name`; ``info.offset_data`` is the member's offset in the uncompressed stream.

    A complete pass also checks that the archive ends with tar's end-of-archive block and that
    the compressed stream is whole, since tarfile itself takes a truncated archive, or a damaged
    header, for the end of the archive.
    """
    try:
        with open_decompressed(path) as raw:
            reader = _CountingReader(raw)
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for info in tar:
                    if info.isfile():
                        info.name = member_name(info.name)
                        yield info, tar
                _check_end_of_archive(path, reader, tar.offset)
    except FileNotFoundError as e:
        raise MissingDataError(f"{path}: file not found") from e
    except (*STREAM_ERRORS, OSError) as e:
        raise DataError(f"{path}: truncated or corrupted archive ({e}); {REDOWNLOAD}") from e


def _check_end_of_archive(path: Path, reader: _CountingReader, end: int) -> None:
    """DataError unless the block where tarfile stopped (`end`) is tar's all-zero end block."""
    while reader.read(1 << 16):  # drain: decompressors check their trailers (CRC, length) at the end
        pass
    start = end - (reader.count - len(reader.tail))  # position of `end` within the kept tail
    block = reader.tail[start:start + tarfile.BLOCKSIZE] if start >= 0 else None
    if block is not None and (len(block) < tarfile.BLOCKSIZE or any(block)):
        raise DataError(f"{path}: truncated or corrupted archive (no end-of-archive block at byte "
                        f"{end}); {REDOWNLOAD}")


def read_tar_member(tar: tarfile.TarFile, info: tarfile.TarInfo, archive: Path) -> bytes:
    """The bytes of one member during :func:`iter_tar_files`, checked for truncation."""
    try:
        f = tar.extractfile(info)
        data = f.read() if f is not None else b""
    except (*STREAM_ERRORS, OSError) as e:
        raise DataError(f"{archive}:{info.name}: truncated or corrupted archive ({e}); {REDOWNLOAD}") from e
    if len(data) != info.size:
        raise DataError(f"{archive}:{info.name}: archive is truncated; {REDOWNLOAD}")
    return data


def display(location: Path, relpath: str) -> str:
    """How messages name file `relpath` of `location` (a folder, or an archive as ``archive:member``)."""
    return str(location / relpath) if location.is_dir() else f"{location}:{relpath}"


def read_members(location: Path, relpaths: Sequence[str]) -> dict[str, bytes]:
    """Read the files `relpaths` (``/``-separated) from `location`: a folder holding them, or a
    tar archive (plain or gzip) holding them as members. An archive is streamed once and only
    the wanted members are kept in memory."""
    if location.is_dir():
        return {rel: _read_file(location / rel) for rel in relpaths}
    wanted: Collection[str] = set(relpaths)
    found = {info.name: read_tar_member(tar, info, location)
             for info, tar in iter_tar_files(location) if info.name in wanted}
    missing = [rel for rel in relpaths if rel not in found]
    if missing:
        raise DataError(f"{location}: archive lacks {', '.join(missing)}; it is incomplete or not "
                        f"the official file; {REDOWNLOAD}")
    return found


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise DataError(f"{path}: file missing from an extracted dataset folder; extract the "
                        f"official archive again (or delete the folder and use the archive)") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e})") from e


def atomic_write(dest: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Create `dest` atomically: `write` fills a temporary file in the same folder, which then
    replaces `dest` with :func:`os.replace`. If `write` raises, the temporary file is removed and
    `dest` is untouched, so a failure never leaves a partial file at `dest`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return dest
