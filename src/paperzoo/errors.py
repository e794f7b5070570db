"""Errors a user can fix. The CLI prints them as one line, without a traceback."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable


class UserError(Exception):
    """A mistake the user can correct: an unknown name, a bad setting, missing or broken data."""


class DataError(UserError):
    """A dataset file is missing, truncated or corrupted. The message names the file."""


class TrainingDiverged(UserError, FloatingPointError):
    """A loss, an evaluation or a tensor about to be checkpointed is not finite. The message names
    the step and the last good checkpoint. It is a ``FloatingPointError`` too, so experiments that
    count divergence as an outcome (a learning rate too high) catch it as such."""


class RunFolderBusy(UserError):
    """Another live process holds the run folder's lock."""


def note(message: str) -> None:
    """Tell the user something on one line of standard error (not an error: the run goes on)."""
    print(f"paperzoo: note: {message}", file=sys.stderr, flush=True)


def unknown_name(kind: str, name: str, known: Iterable[str], hint: str) -> UserError:
    """`UserError` for an unknown `name`, with close matches and the command that lists valid ones."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3)
    suggestion = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UserError(f"unknown {kind} {name!r}.{suggestion} {hint}")
