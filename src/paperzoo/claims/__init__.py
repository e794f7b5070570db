"""Claims: a paper's statement turned into a runnable experiment with a verdict.

The names below load on first use, so that importing :mod:`paperzoo.claims.catalog` (the command
line, the model registry) does not load the training machinery.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "Claim": "core", "Comparison": "core", "ReproduceResult": "core", "RunContext": "core", "collect_results": "core",
    "reproduce": "core", "summarize": "core", "describe": "core",
    "Outcome": "outcome", "Target": "outcome", "Verdict": "outcome",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
