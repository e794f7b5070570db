"""Where datasets live: ``--data-root``, else ``$PAPERZOO_DATA``, else ``~/.cache/paperzoo``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA = "PAPERZOO_DATA"
ENV_CACHE = "PAPERZOO_CACHE"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The data root (absolute): the explicit argument, else ``$PAPERZOO_DATA``, else ``~/.cache/paperzoo``."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    if os.environ.get(ENV_DATA):
        return Path(os.environ[ENV_DATA]).expanduser().absolute()
    return Path("~/.cache/paperzoo").expanduser()


def cache_dir() -> Path:
    """A writable folder for derived files (decoded image arrays): ``$PAPERZOO_CACHE`` or
    ``~/.cache/paperzoo/derived``. The data root itself may be read-only."""
    path = Path(os.environ.get(ENV_CACHE) or "~/.cache/paperzoo/derived").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
