"""A learning-rate schedule drawn against the step (``paperzoo schedule``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_schedule(path: Path, rates: Sequence[float], *, title: str = "") -> Path:
    """Learning rate against iteration, one point per step (a log scale when it spans more than
    two decades, as step and plateau schedules do)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4), dpi=150)
    ax.plot(range(len(rates)), rates, linewidth=1.4)
    ax.set_xlabel("iter.")
    ax.set_ylabel("learning rate")
    if min(rates) > 0 and max(rates) / min(rates) > 100:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
