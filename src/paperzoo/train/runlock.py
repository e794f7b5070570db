"""One run per folder: an exclusive ``fcntl`` lock held for the life of a run.

Two runs writing into one folder interleave their metrics and overwrite each other's
checkpoints. :func:`run_lock` takes an exclusive, non-blocking ``flock`` on ``<folder>/.lock``;
a second run into a locked folder gets :class:`~paperzoo.errors.RunFolderBusy` (one line, exit
status 2 from the command line). The kernel drops the lock when its process dies, however it
dies, so a folder left by a killed run is never locked: it can be resumed or restarted at once.

The lock is re-entrant within a process (``paperzoo train`` holds it around the trainer, which
takes it again), since ``flock`` on a second descriptor of the same file would block its own
holder. Under torchrun only worker 0 writes into the folder, so only worker 0 locks it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import RunFolderBusy

LOCK_FILE = ".lock"
_held: dict[Path, tuple[int, int]] = {}   # folder -> (descriptor, depth)


@contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder``'s lock (creating the folder) for the ``with`` block."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = folder.resolve()
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
    else:
        _held[key] = (_acquire(folder), 1)
    try:
        yield folder
    finally:
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
        else:
            del _held[key]
            os.close(fd)   # closing the descriptor releases the lock


def _acquire(folder: Path) -> int:
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise RunFolderBusy(f"{folder} is in use by a run that is still going ({holder}); wait for it to end, "
                            "or pass another --out") from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
    return fd
