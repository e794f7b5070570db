"""Tests read the real datasets in ``../shared/data`` (beside the checkout) and never download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PAPERZOO_DATA") or REPO.parent / "shared" / "data").absolute()
os.environ["PAPERZOO_DATA"] = str(SHARED_DATA)
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; in CI its absence is a failure, elsewhere a skip."""
    if not (SHARED_DATA / "mnist").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the shared datasets at {SHARED_DATA}")
        pytest.skip(f"no shared datasets at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_thread():
    """Small tensor work runs fastest on one thread (and CI's 2 cores are shared); a module opts
    in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
