"""Metrics as JSON lines (one file per run), optionally mirrored to TensorBoard."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


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
        """Drop records logged after ``step`` (they belong to the part of a run being redone)."""
        if self.path is not None and self.path.exists():
            kept = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
            self.records = [r for r in kept if r["step"] <= step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in self.records))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _clean(v: Any) -> Any:
    v = float(v)
    return None if math.isnan(v) else v
