"""The book's plotting style and the figures that recur from chapter to chapter.

``use_book_style()`` is called once by every chapter's set-up cell, so all figures share sizes,
fonts, colours and grids. The helpers draw onto an ``Axes`` they are given (or a new one) and
return it, so a chapter can add to any figure.
"""

from __future__ import annotations

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
