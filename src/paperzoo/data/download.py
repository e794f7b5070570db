"""Fetch the official dataset files, for users with a network.

:func:`download_file` streams a URL (``https://``, ``http://``, or ``file://``) into a temporary
file in the destination folder with a progress bar, checks its SHA-256, and only then moves it
into place with :func:`os.replace`, so a failed or interrupted download never leaves a partial
file at the destination. :func:`download_dataset` fetches everything
:func:`~paperzoo.data.load_dataset` needs for one dataset; the URLs and digests (with where each
digest came from) are in :mod:`paperzoo.data.catalog`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from ..errors import DataError
from ._io import atomic_write
from .catalog import DatasetInfo, RemoteFile, dataset_info
from .root import data_root

CHUNK = 1 << 20
TIMEOUT_S = 60
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ChecksumError(DataError):
    """A downloaded (or present) file's SHA-256 differs from the published one."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(url: str, dest: str | os.PathLike, *, sha256: str | None, progress: bool = True) -> Path:
    """Download `url` to `dest` atomically and verify its SHA-256.

    `sha256` is required: pass the published hex digest. Passing ``sha256=None`` explicitly
    downloads without verification and emits a warning.

    Raises:
        ChecksumError: the content's digest differs (the message names `dest` and both digests;
            nothing is left at `dest`).
        DataError: the URL could not be fetched (no network, HTTP error); the message names the
            file to place by hand and where.
    """
    dest = Path(dest)
    if sha256 is None:
        warnings.warn(f"downloading {url} to {dest} without a checksum: its content is not verified",
                      stacklevel=2)
    elif not _SHA256.fullmatch(sha256.lower()):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    expected = sha256.lower() if sha256 else None

    def fetch(out: BinaryIO) -> None:
        actual = _stream(url, out, dest, progress)
        if expected and actual != expected:
            raise ChecksumError(f"{dest}: checksum mismatch for {url}: expected sha256 {expected}, got "
                                f"{actual}; the download is corrupted or the file changed upstream "
                                f"(nothing was written)")

    try:
        return atomic_write(dest, fetch)
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as e:
        reason = getattr(e, "reason", e)
        raise DataError(f"{dest}: could not download {url} ({reason}); without a network, fetch that "
                        f"URL elsewhere and place the file at {dest}") from e
    except OSError as e:
        raise DataError(f"{dest}: could not write the download ({e})") from e


def _stream(url: str, out: BinaryIO, dest: Path, progress: bool) -> str:
    """Copy `url` into `out` in chunks, with a progress bar; the hex SHA-256 of what was copied."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "paperzoo"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                  disable=not progress, leave=False) as bar:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def download_dataset(name: str, root: str | os.PathLike | None = None, *, progress: bool = True) -> list[Path]:
    """Fetch the official files of dataset `name` (mnist, fashion-mnist, cifar10 -- python
    version --, cifar100 -- python version --) into ``<root>/<name's folder>/``.

    Files already present with the right SHA-256 are kept; each other file is tried from its
    mirrors in order. Returns the files' paths.

    Raises:
        DataError: a file could not be fetched from any mirror; the message lists the files to
            place by hand and the folder.
    """
    info = dataset_info(name)
    folder = data_root(root) / info.folder
    return [_fetch(info, remote, folder, progress) for remote in info.files]


def _fetch(info: DatasetInfo, remote: RemoteFile, folder: Path, progress: bool) -> Path:
    dest = folder / remote.name
    if dest.is_file() and sha256_file(dest) == remote.sha256:
        return dest
    errors = []
    for url in remote.urls:
        try:
            return download_file(url, dest, sha256=remote.sha256, progress=progress)
        except DataError as e:
            errors.append(str(e))
    files = ", ".join(f"{f.name} ({f.urls[0]})" for f in info.files)
    raise DataError(f"{dest}: could not download {info.title} ({'; '.join(errors)}). Without a network, "
                    f"fetch these files elsewhere and place them in {folder}/: {files}")
