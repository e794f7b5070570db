"""Figures in the style of the papers' own (matplotlib, PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Curve = tuple[Sequence[float], Sequence[float]]


def error_curves(path: Path, curves: Mapping[str, Mapping[str, Curve]], *, title: str = "",
                 xlabel: str = "iter.", ylabel: str = "error (%)", ylim: tuple[float, float] | None = None) -> Path:
    """Training and test error against iterations, one colour per model: dashed lines for
    training error and bold lines for test error, as ResNet's Figs. 1, 4 and 6.

    ``curves[model]["train"|"test"] = (steps, errors_in_percent)``.
    """
    fig, ax = plt.subplots(figsize=(5.2, 3.8), dpi=150)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for color, (name, series) in zip(colors * 4, curves.items()):
        if "train" in series:
            ax.plot(*series["train"], "--", color=color, linewidth=0.9, alpha=0.8)
        if "test" in series:
            ax.plot(*series["test"], "-", color=color, linewidth=2.0, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(title="dashed: train, bold: test", fontsize=8, title_fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def layer_responses(path: Path, stds: Mapping[str, Sequence[float]], *, title: str = "") -> Path:
    """Standard deviation of each 3x3 layer's response, in layer order (top) and sorted by
    magnitude (bottom), as ResNet's Fig. 7."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.6, 5.2), dpi=150)
    for name, values in stds.items():
        top.plot(range(1, len(values) + 1), values, label=name, linewidth=1.2)
        bottom.plot(range(1, len(values) + 1), sorted(values, reverse=True), label=name, linewidth=1.2)
    top.set_xlabel("layer index (original)")
    bottom.set_xlabel("layer index (sorted by magnitude)")
    for ax in (top, bottom):
        ax.set_ylabel("std")
        ax.grid(alpha=0.3)
    top.legend(fontsize=8)
    if title:
        top.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def bars(path: Path, values: Mapping[str, float], errors: Mapping[str, float] | None = None, *,
         ylabel: str = "test error (%)", title: str = "", reference: Mapping[str, float] | None = None) -> Path:
    """Ours (bars, with error bars over seeds) beside the paper's numbers (markers)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6), dpi=150)
    names = list(values)
    xs = range(len(names))
    ax.bar(xs, [values[n] for n in names], yerr=[(errors or {}).get(n, 0.0) for n in names],
           color="#4c72b0", alpha=0.85, capsize=3, label="ours")
    if reference:
        ax.plot([i for i, n in enumerate(names) if n in reference], [reference[n] for n in names if n in reference],
                "D", color="#c44e52", label="paper")
    ax.set_xticks(list(xs), names, rotation=0, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
