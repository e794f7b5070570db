"""Metrics as JSON lines (one file per run), optionally mirrored to TensorBoard."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import DataError, note
from .checkpoint import write_text_atomic


class MetricLogger:
    """Appends ``{"step": ..., "split": ..., <metrics>}`` records to ``metrics.jsonl``.

    On resume the file is truncated to the records at or before the resumed step, so the
    log of a resumed run reads exactly like the log of an uninterrupted one.
    """

    def __init__(self, run_dir: Path | None, *, tensorboard: bool = False) -> None:
        self.path = run_dir / "metrics.jsonl" if run_dir else None
        self.records: list[dict[str, Any]] = []
        self._tb = None
        if tensorboard and run_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                from ..errors import UserError

                raise UserError("TensorBoard logging needs the tensorboard package: "
                                "pip install 'paperzoo[tensorboard]'") from None
            self._tb = SummaryWriter(str(run_dir / "tb"))

    def log(self, step: int, split: str, metrics: dict[str, float]) -> None:
        record = {"step": step, "split": split, **{k: _clean(v) for k, v in metrics.items()}}
        self.records.append(record)
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in metrics.items():
                self._tb.add_scalar(f"{split}/{k}", v, step)

    def truncate_after(self, step: int) -> None:
        """Drop records logged after ``step`` (they belong to the part of a run being redone).
        The file is replaced atomically: a kill while rewriting it loses nothing."""
        if self.path is not None and self.path.exists():
            self.records = [r for r in read_metrics(self.path) if r["step"] <= step]
            write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in self.records))

    def load(self) -> None:
        """Read the records already in the file (a finished run being looked at again)."""
        if self.path is not None and self.path.exists():
            self.records = read_metrics(self.path)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl``. A torn last line (a run killed while writing it) is
    dropped with a note; any other line that is not a record is a :class:`DataError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not (isinstance(record, dict) and isinstance(record.get("step"), int)
                    and isinstance(record.get("split"), str)):
                raise ValueError("not a metrics record")
        except (ValueError, RecursionError):
            if number == len(lines):   # no newline after it: the write was cut short
                note(f"ignoring the torn last line of {path} (a run stopped while writing it)")
                break
            raise DataError(f"{path}, line {number}, is not a metrics record; the file is damaged") from None
        records.append(record)
    return records


def _clean(v: Any) -> Any:
    v = float(v)
    return None if math.isnan(v) else v
