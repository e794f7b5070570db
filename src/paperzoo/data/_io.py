"""File helpers shared by the dataset readers.

Whole-file reads that sniff compression, reading named files from either a folder or a tar archive
(plain or compressed, streamed in one pass, never extracted to disk) or a zip archive, and atomic
writes (temporary file in the destination folder, then :func:`os.replace`). Every failure becomes
a :class:`~paperzoo.errors.DataError` whose one-line message names the file and says what to do.

Reads take a ``max_bytes`` bound (what the format's header, or its known maximum, allows) and
read in chunks, stopping as soon as the data passes it: a small compressed file that expands to
gigabytes (a decompression bomb, or a damaged length field) fails after ``max_bytes`` bytes, not
after exhausting memory.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ..errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

#: What reading a damaged gzip or tar stream can raise, beside OSError.
STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, tarfile.TarError)

REDOWNLOAD = "delete it and download it again"

#: How much a bounded read asks of a stream at a time.
CHUNK_BYTES = 1 << 20


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


def read_decompressed(path: Path, max_bytes: int | None = None, why: str = "") -> bytes:
    """The bytes of `path`, decompressed when it is gzip, bzip2 or xz (told by its magic bytes).
    With `max_bytes`, DataError as soon as the (decompressed) data passes it; `why` says in the
    message where the bound comes from."""
    with decompressed(path) as f:
        return f.read() if max_bytes is None else read_bounded(f, max_bytes, str(path), why)


@contextlib.contextmanager
def decompressed(path: Path) -> Iterator[BinaryIO]:
    """`path` opened by :func:`open_decompressed`; a failure to open or read it inside the
    ``with`` block becomes a DataError naming it (MissingDataError if it does not exist)."""
    try:
        with open_decompressed(path) as f:
            yield f
    except FileNotFoundError as e:
        raise MissingDataError(f"{path}: file not found") from e
    except STREAM_ERRORS as e:
        raise DataError(f"{path}: truncated or corrupted compressed file ({e}); {REDOWNLOAD}") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e})") from e


def read_bounded(f: BinaryIO, max_bytes: int, where: str, why: str = "") -> bytes:
    """The rest of `f`, read in chunks; DataError naming `where` as soon as it passes `max_bytes`,
    so a compressed stream is never expanded more than a chunk beyond the bound. `why` says in
    the message where the bound comes from (``"the most a CIFAR-10 batch holds"``)."""
    buf = io.BytesIO()
    while chunk := f.read(min(CHUNK_BYTES, max_bytes + 1 - buf.tell())):
        buf.write(chunk)
        if buf.tell() > max_bytes:
            raise too_large(where, f"holds more than {max_bytes:,} bytes", why)
    return buf.getvalue()


def too_large(where: str, what: str, why: str = "") -> DataError:
    """The DataError for data larger than its format allows: `what` (``"holds more than N
    bytes"``), then `why` (where the bound comes from)."""
    because = f", {why}" if why else ""
    return DataError(f"{where}: {what}{because}; it is corrupted or not the official file (possibly a "
                     f"decompression bomb); {REDOWNLOAD}")


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


def read_tar_member(tar: tarfile.TarFile, info: tarfile.TarInfo, archive: Path,
                    max_bytes: int | None = None, why: str = "") -> bytes:
    """The bytes of one member during :func:`iter_tar_files`, checked for truncation. With
    `max_bytes`, a member whose header declares more is refused before anything is read (tarfile
    never reads past the declared size)."""
    where = f"{archive}:{info.name}"
    if max_bytes is not None and info.size > max_bytes:
        raise too_large(where, f"declares {info.size:,} bytes, more than {max_bytes:,}", why)
    try:
        f = tar.extractfile(info)
        data = read_bounded(f, info.size, where) if f is not None else b""
    except (*STREAM_ERRORS, OSError) as e:
        raise DataError(f"{where}: truncated or corrupted archive ({e}); {REDOWNLOAD}") from e
    if len(data) != info.size:
        raise DataError(f"{where}: archive is truncated; {REDOWNLOAD}")
    return data


#: What opening or reading a damaged zip archive can raise, beside OSError and the stream errors
#: (NotImplementedError: an unknown compression method; RuntimeError: an encrypted member).
ZIP_ERRORS = (*STREAM_ERRORS, zipfile.BadZipFile, zipfile.LargeZipFile, OSError, NotImplementedError,
              RuntimeError)


def read_zip_member(path: Path, member: str, max_bytes: int, why: str = "") -> bytes:
    """The bytes of `member` of the zip archive at `path`. A member that declares more than
    `max_bytes` is refused before it is read, and the read stops once past `max_bytes` in case the
    declared size lies; a missing member, damaged compressed data or a bad CRC is a DataError."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_zip_entry(archive, path, member, max_bytes, why)
    except KeyError:
        raise DataError(f"{path}: archive lacks {member}; it is incomplete or not the official file; "
                        f"{REDOWNLOAD}") from None
    except FileNotFoundError as e:
        raise MissingDataError(f"{path}: file not found") from e
    except ZIP_ERRORS as e:
        raise DataError(f"{path}: truncated or corrupted zip archive ({e}); {REDOWNLOAD}") from e


def _read_zip_entry(archive: zipfile.ZipFile, path: Path, member: str, max_bytes: int, why: str) -> bytes:
    """One member's bytes for :func:`read_zip_member`; a failure names archive and member."""
    where = f"{path}:{member}"
    info = archive.getinfo(member)
    if info.file_size > max_bytes:
        raise too_large(where, f"declares {info.file_size:,} bytes, more than {max_bytes:,}", why)
    try:
        with archive.open(info) as f:
            return read_bounded(f, max_bytes, where, why)  # type: ignore[arg-type]
    except ZIP_ERRORS as e:
        raise DataError(f"{where}: corrupted compressed data ({e}); {REDOWNLOAD}") from e


def display(location: Path, relpath: str) -> str:
    """How messages name file `relpath` of `location` (a folder, or an archive as ``archive:member``)."""
    return str(location / relpath) if location.is_dir() else f"{location}:{relpath}"


def read_members(location: Path, relpaths: Sequence[str], max_bytes: int | None = None,
                 why: str = "") -> dict[str, bytes]:
    """Read the files `relpaths` (``/``-separated) from `location`: a folder holding them, or a
    tar archive (plain or gzip) holding them as members. An archive is streamed once and only
    the wanted members are kept in memory. With `max_bytes`, a file larger than that is a
    DataError (`why` says where the bound comes from), found before it is read whole."""
    if location.is_dir():
        return {rel: _read_file(location / rel, max_bytes, why) for rel in relpaths}
    wanted: Collection[str] = set(relpaths)
    found = {info.name: read_tar_member(tar, info, location, max_bytes, why)
             for info, tar in iter_tar_files(location) if info.name in wanted}
    missing = [rel for rel in relpaths if rel not in found]
    if missing:
        raise DataError(f"{location}: archive lacks {', '.join(missing)}; it is incomplete or not "
                        f"the official file; {REDOWNLOAD}")
    return found


def _read_file(path: Path, max_bytes: int | None = None, why: str = "") -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read() if max_bytes is None else read_bounded(f, max_bytes, str(path), why)
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
