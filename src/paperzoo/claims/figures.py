"""Figures in the style of the papers' own (matplotlib, PNG)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

Curve = tuple[Sequence[float], Sequence[float]]


def _save(fig, path: Path, title: str = "", ax=None) -> Path:
    """Title the figure (``ax``'s title, else the figure's), lay it out, write it and free it."""
    if title and ax is not None:
        ax.set_title(title, fontsize=10)
    elif title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97) if title and ax is None else None)
    fig.savefig(path)
    plt.close(fig)
    return path


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
    return _save(fig, path, title, ax)


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
    return _save(fig, path, title, top)


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
    return _save(fig, path, title, ax)


def line_panels(path: Path, panels: Mapping[str, Mapping[str, Curve]], *, xlabel: str, ylabel: str,
                logx: bool = False, logy: bool = False, ylim: tuple[float, float] | None = None,
                styles: Mapping[str, str] | None = None, colors: Mapping[str, str] | None = None,
                title: str = "") -> Path:
    """Side-by-side panels of lines, one panel per key of ``panels`` (its title), one line per
    curve, the same colour for the same label in every panel: training cost against iterations
    (Adam's Figs. 1 and 2), loss against step size per setting (Adam's Fig. 4), an error against
    a sample count. ``styles[label]`` is a matplotlib format string (``"--"``, ``"o-"``) for
    that label (without a colour letter); lines are solid otherwise. ``colors[label]`` fixes a
    label's colour (e.g. Fig. 4's red and green). Non-finite values are not drawn."""
    n = len(panels)
    width = 4.2 if n <= 3 else 3.0
    fig, axes = plt.subplots(1, n, figsize=(width * n + 1.0, 3.6), dpi=150, sharey=n > 1, squeeze=False)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = list(dict.fromkeys(label for series in panels.values() for label in series))
    color = {label: cycle[i % len(cycle)] for i, label in enumerate(labels)} | dict(colors or {})
    for ax, (name, series) in zip(axes[0], panels.items()):
        for label, (xs, ys) in series.items():
            ax.plot(xs, ys, (styles or {}).get(label, "-"), color=color[label], linewidth=1.4, markersize=4,
                    label=label)
        ax.set_xlabel(xlabel)
        ax.set_xscale("log" if logx else "linear")
        ax.set_yscale("log" if logy else "linear")
        ax.grid(alpha=0.3, which="both" if logy else "major")
        if name:
            ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel(ylabel)
    if ylim:
        axes[0][0].set_ylim(*ylim)
    axes[0][-1].legend(fontsize=7)
    return _save(fig, path, title)


def lines(path: Path, curves: Mapping[str, Curve], **kwargs) -> Path:
    """One panel of :func:`line_panels`: ``lines(path, {"Adam": (steps, costs), ...}, xlabel=..., ylabel=...)``."""
    return line_panels(path, {"": curves}, **kwargs)


Heatmap = tuple[Sequence[Sequence[float]], Sequence[str], Sequence[str]]


def heatmaps(path: Path, panels: Mapping[str, Heatmap], *, xlabel: str = "", ylabel: str = "",
             title: str = "") -> Path:
    """Side-by-side grey-scale matrices with labelled rows and columns, one panel per key of
    ``panels`` (its title): ``panels[name] = (matrix (rows, columns), column labels, row labels)``.
    Attention weights as Bahdanau et al.'s Fig. 3 draws them, a target word per row and a source
    word per column, black = 0 and white = the panel's largest weight (noted under the panel)."""
    n = len(panels)
    sizes = [(max(len(cols), 1), max(len(rows), 1)) for _, cols, rows in panels.values()]
    width = sum(max(2.4, 0.32 * c + 1.2) for c, _ in sizes) + 0.4
    height = max(2.4, 0.32 * max(r for _, r in sizes) + 1.6)
    fig, axes = plt.subplots(1, n, figsize=(width, height), dpi=150, squeeze=False,
                             gridspec_kw={"width_ratios": [c for c, _ in sizes]})
    for ax, (name, (matrix, cols, rows)) in zip(axes[0], panels.items()):
        top = max((max(row) for row in matrix), default=1.0) or 1.0
        ax.imshow(matrix, cmap="gray", vmin=0.0, vmax=top, aspect="equal", interpolation="nearest")
        ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        ax.set_xlabel(f"{xlabel} (white = {top:.2f})" if xlabel else f"white = {top:.2f}", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_title(name, fontsize=9, pad=4)
    return _save(fig, path, title)


def tile(images, *, columns: int, size: tuple[int, int] = (28, 28), gap: int = 1,
         background: float = 0.0) -> torch.Tensor:
    """Grey images (each flattened or ``size``-shaped) laid out row by row, ``columns`` to a row, with a ``gap``
    of ``background`` around each: one (rows·(h + gap) + gap, columns·(w + gap) + gap) canvas."""
    images = torch.stack([torch.as_tensor(img, dtype=torch.float32).reshape(size) for img in images])
    rows = -(-len(images) // columns)
    (h, w) = size
    canvas = torch.full((rows * (h + gap) + gap, columns * (w + gap) + gap), float(background))
    for i, img in enumerate(images):
        top, left = (gap + k * (n + gap) for k, n in zip(divmod(i, columns), size))
        canvas[top:top + h, left:left + w] = img
    return canvas


def image_grid(path: Path, images, *, columns: int, size: tuple[int, int] = (28, 28), title: str = "",
               cmap: str = "gray", frame_last: bool = False) -> Path:
    """Grey images (values in [0, 1]) as one :func:`tile`, as the papers' sample figures (GAN Figs. 2-3,
    VAE Figs. 4-5). ``cmap="gray"``: white strokes on black; ``"gray_r"``: black on white. ``frame_last``
    outlines the last column in yellow (GAN Fig. 2 marks the nearest training image so)."""
    canvas = tile(images, columns=columns, size=size, background=1.0 if cmap == "gray_r" else 0.0)
    rows, w = (canvas.shape[0] - 1) // (size[0] + 1), size[1]
    width = max(columns * 0.34 + 0.4, 3.2)
    title = "\n".join(textwrap.wrap(title, width=int(width * 12))) if title else ""  # ~12 characters an inch at 10 pt
    fig, ax = plt.subplots(figsize=(width, rows * 0.34 + 0.3 + 0.18 * (title.count("\n") + 1 if title else 0)), dpi=150)
    ax.imshow(canvas.numpy(), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    if frame_last:
        # through the middle of the gap pixels around the last column
        ax.add_patch(Rectangle(((columns - 1) * (w + 1), -0.5), w + 1, canvas.shape[0], fill=False,
                               edgecolor="yellow", linewidth=1.5))
    ax.set_axis_off()
    return _save(fig, path, title, ax)
