"""The book's plotting style and the figures that recur from chapter to chapter.

``use_book_style()`` is called once by every chapter's set-up cell, so all figures share sizes,
fonts, colours and grids. The helpers draw onto an ``Axes`` they are given (or a new one) and
return it, so a chapter can add to any figure.
"""

from __future__ import annotations

import html

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

# Okabe-Ito colours: distinguishable with every common form of colour blindness.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

BOOK_STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (figure size, colours, grid, fonts)."""
    mpl.rcParams.update(BOOK_STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None,
               height: float | None = None, **kwargs):
    """A pyplot figure with a grid of axes (always 2-D), sized by the number of panels."""
    base_w, base_h = BOOK_STYLE["figure.figsize"]
    size = (width or min(base_w * ncols * 0.75 + 1.5, 12.0), height or base_h * (0.8 + 0.2 * nrows))
    return plt.subplots(nrows, ncols, figsize=size, squeeze=False, **kwargs)


def plot_history(history, axes=None):
    """Loss (left) and accuracy (right, classification only) per epoch, train vs held-out.

    One legend (on the loss panel) serves both panels: the colours mean the same in each.
    """
    has_acc = any(np.isfinite(history.train_acc)) if history.train_acc else False
    if axes is None:
        _, grid = new_figure(ncols=2 if has_acc else 1)
        axes = grid[0]
    epochs = history.epoch
    axes[0].clear()
    axes[0].plot(epochs, history.train_loss, "o-", label="train")
    axes[0].plot(epochs, history.eval_loss, "s--", label=history.eval_name)
    axes[0].set(xlabel="epoch", ylabel="loss", title="Loss")
    axes[0].legend()
    if has_acc and len(axes) > 1:
        axes[1].clear()
        axes[1].plot(epochs, history.train_acc, "o-", label="train")
        axes[1].plot(epochs, history.eval_acc, "s--", label=history.eval_name)
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in axes:  # few ticks: easier to read, and much cheaper to redraw in the live plot
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(6, integer=True))
        ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    return axes


def show_images(images, labels=None, ncols: int = 8, scale: float = 1.2, cmap: str = "gray"):
    """A grid of images (N, C, H, W) or (N, H, W) with optional titles; returns the figure."""
    images = torch.as_tensor(images).detach().cpu()
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    elif images.ndim == 4:
        images = images.permute(0, 2, 3, 1)
        images = (images - images.min()) / (images.max() - images.min() + 1e-12)
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale * 1.15),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].numpy(), cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    return fig


def plot_confusion(counts, class_names, ax=None, normalize: bool = True):
    """Draw a confusion matrix; rows are true classes, normalised to sum to one."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    shown = counts / counts.sum(1, keepdim=True).clamp(min=1) if normalize else counts
    if ax is None:
        _, grid = new_figure(width=6.2, height=5.2)
        ax = grid[0, 0]
    ax.imshow(shown.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.grid(False)
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=60, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set(xlabel="predicted", ylabel="true")
    for i in ticks:
        for j in ticks:
            if shown[i, j] >= 0.01:
                ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else int(shown[i, j]),
                        ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.5 * shown.max() else "black")
    return ax


def _ticks(lo: float, hi: float, n: int, integer: bool = False):
    """Nice tick values covering [lo, hi] (matplotlib's locator, without drawing anything)."""
    if not hi > lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1), hi + (abs(hi) * 0.1 or 1)
    locator = mpl.ticker.MaxNLocator(n, integer=integer, steps=[1, 2, 2.5, 5, 10])
    ticks = [float(t) for t in locator.tick_values(lo, hi)]
    ticks = [t for t in ticks if lo - 1e-9 * (hi - lo) <= t <= hi + 1e-9 * (hi - lo)] or ticks
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    digits = max(0, -int(np.floor(np.log10(step)))) if step > 0 else 0
    return ticks, [f"{t:.{digits}f}" for t in ticks]


def history_svg(history, width: int = 640, height: int = 220) -> str:
    """Loss (and accuracy) per epoch, train vs held-out, as a small SVG drawn without matplotlib.

    The training loop's live plot uses this instead of ``plot_history``: matplotlib needs about
    50 ms for the first drawing of a figure, which is more than a short run can spare, while
    this costs well under a millisecond and is as crisp in the book.
    """
    finite = lambda values: [v for v in values if np.isfinite(v)]  # noqa: E731
    panels = [("Loss", history.train_loss, history.eval_loss)]
    if finite(history.train_acc) or finite(history.eval_acc):
        panels.append(("Accuracy", history.train_acc, history.eval_acc))
    styles = [("train", COLORS[0], "", "circle"), (history.eval_name, COLORS[1], "5,3", "square")]
    epochs = list(history.epoch)
    x_lo, x_hi = 1, max(epochs[-1] if epochs else 1, 2)
    x_ticks, x_labels = _ticks(x_lo, x_hi, 6, integer=True)
    panel_w = width / len(panels)
    left, right, top, bottom = 48, 12, 24, 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, (title, *series) in enumerate(panels):
        x0, x1 = i * panel_w + left, (i + 1) * panel_w - right
        y0, y1 = height - bottom, top
        values = finite(series[0]) + finite(series[1]) or [0.0, 1.0]
        y_ticks, y_labels = _ticks(min(values), max(values), 5)
        y_lo, y_hi = min(y_ticks[0], min(values)), max(y_ticks[-1], max(values))
        pad_x, pad_y = 0.04 * (x1 - x0), 0.04 * (y0 - y1)      # keep markers off the axes
        px = lambda x: x0 + pad_x + (x - x_lo) / (x_hi - x_lo) * (x1 - x0 - 2 * pad_x)  # noqa: E731
        py = lambda y: y0 - pad_y - (y - y_lo) / ((y_hi - y_lo) or 1) * (y0 - y1 - 2 * pad_y)  # noqa: E731
        parts.append(f'<text x="{x0}" y="{top - 8}" font-size="12">{title}</text>')
        for t, label in zip(y_ticks, y_labels):
            parts.append(f'<line x1="{x0}" x2="{x1}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
                         f'stroke="#000" stroke-opacity="0.12"/>'
                         f'<text x="{x0 - 5}" y="{py(t) + 4:.1f}" text-anchor="end">{label}</text>')
        for t, label in zip(x_ticks, x_labels):
            parts.append(f'<text x="{px(t):.1f}" y="{y0 + 15}" text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{height - 4}" text-anchor="middle">'
                     f'epoch</text><path d="M{x0},{y1} V{y0} H{x1}" fill="none" stroke="#333"/>')
        for (name, color, dash, marker), ys in zip(styles, series):
            points = [(px(x), py(y)) for x, y in zip(epochs, ys) if np.isfinite(y)]
            if not points:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                         f'stroke-width="1.8" stroke-dasharray="{dash}"/>')
            for x, y in points:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>'
                             if marker == "circle" else
                             f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" '
                             f'fill="{color}"/>')
        if i == 0:                                   # one legend serves both panels
            for k, (name, color, dash, _) in enumerate(styles):
                y = top + 6 + 15 * k
                parts.append(f'<line x1="{x1 - 70}" x2="{x1 - 50}" y1="{y}" y2="{y}" '
                             f'stroke="{color}" stroke-width="1.8" stroke-dasharray="{dash}"/>'
                             f'<text x="{x1 - 45}" y="{y + 4}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
