"""A 2-D classification playground: small MLPs learning a decision boundary.

In the spirit of TensorFlow Playground: choose a data set of points in the plane, a network
(width, depth, activation) and a learning rate, and watch the boundary between the two classes
form while the network trains. The pieces are usable on their own:

- ``make_dataset``   circles, XOR, spirals or Gaussian blobs (synthetic on purpose: the point
                     is to see what shapes a network can draw)
- ``make_mlp``       a fully connected network with the chosen activation
- ``fit``            full-batch Adam, keeping snapshots of the predicted probabilities
- ``draw_boundary``  one snapshot: probability as colour, the 0.5 contour, the points

``Playground()`` as the last expression of a cell shows both forms, like ``widgets.Explorer``:
in Jupyter and Colab a live UI that trains in the kernel and redraws as it goes; in the book,
where there is no kernel, a pre-computed animation (every data set and activation, with a
play button over the training steps).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from functools import cached_property
from io import BytesIO

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .plot import BOOK_STYLE, COLORS
from .widgets import Explorer, column_layout

DATASETS = ["circles", "xor", "spirals", "blobs"]
ACTIVATIONS = {"none (linear)": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
               "relu": nn.ReLU, "gelu": nn.GELU}
LIMIT = 1.5                                   # the plane shown: [-LIMIT, LIMIT] squared
GRID = 64                                     # points per side at which the network is drawn
# The picture, live and in the book: 368 x 344 pixels, whose 11-point title reads at 12 pixels.
FIGSIZE, DPI = (4.6, 4.3), 80


def make_dataset(name: str, n: int = 300, noise: float = 0.05, seed: int = 0):
    """``n`` points in the plane with labels 0/1: X of shape (n, 2), y of shape (n,) (long)."""
    g = torch.Generator().manual_seed(seed)
    half = n // 2
    if name == "circles":           # a disc inside a ring: needs a closed boundary
        radius = torch.cat([torch.rand(half, generator=g) * 0.5,
                            0.75 + torch.rand(n - half, generator=g) * 0.35])
        angle = torch.rand(n, generator=g) * 2 * math.pi
        X = radius[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)
        y = (torch.arange(n) >= half).long()
    elif name == "xor":             # opposite quadrants share a class: no single line works
        X = torch.rand(n, 2, generator=g) * 2 - 1
        X = X + 0.1 * X.sign()      # a small gap along the axes
        y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).long()
    elif name == "spirals":         # two interleaved spirals: the hard one
        t = torch.sqrt(torch.rand(n, generator=g)) * 1.2 + 0.05
        y = (torch.arange(n) >= half).long()
        angle = 3 * math.pi * t + math.pi * y
        X = t[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)
    elif name == "blobs":           # two Gaussian clouds: a straight line is enough
        y = (torch.arange(n) >= half).long()
        centres = torch.tensor([[-0.5, -0.4], [0.5, 0.4]])
        X = centres[y] + 0.3 * torch.randn(n, 2, generator=g)
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    X = X + noise * torch.randn(n, 2, generator=g)
    return X, y


def make_mlp(width: int = 16, depth: int = 2, activation: str = "relu") -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with ``activation``, then one output logit."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")
    layers, d = [], 2
    for _ in range(depth):
        layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, 1))


def grid_points():
    """The ``GRID x GRID`` points of the plane at which boundaries are drawn, shape (GRID², 2)."""
    axis = torch.linspace(-LIMIT, LIMIT, GRID)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], dim=1)


def fit(net: nn.Module, X, y, *, steps: int = 300, lr: float = 0.03, every: int = 25,
        optimizer: torch.optim.Optimizer | None = None):
    """Train ``net`` with full-batch Adam (or ``optimizer``) on binary cross-entropy.

    Returns snapshots taken every ``every`` steps (and at step 0): a list of dicts with the
    step, loss, training accuracy and the probability of class 1 on the grid (GRID x GRID).
    Pass the same ``optimizer`` to continue a run in several calls.
    """
    with one_thread():
        return _fit(net, X, y, steps, lr, every, optimizer)


@contextmanager
def one_thread():
    """Run torch on one thread: networks this small gain nothing from more, and on a busy
    machine (a shared CI runner) extra threads mostly wait for each other, several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _fit(net, X, y, steps, lr, every, optimizer):
    optimizer = optimizer or torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    target, points, snapshots = y.float()[:, None], grid_points(), []
    for step in range(steps + 1):
        logits = net(X)
        loss = loss_fn(logits, target)
        if step % every == 0 or step == steps:
            with torch.no_grad():
                probs = torch.sigmoid(net(points)).reshape(GRID, GRID)
            snapshots.append({"step": step, "loss": loss.item(), "probs": probs,
                              "accuracy": ((logits > 0).long().squeeze(1) == y).float().mean().item()})
        if step == steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return snapshots


def draw_boundary(ax, snapshot: dict, X, y, title: str = "") -> None:
    """Probability of class 1 as colour, the 0.5 boundary as a line, and the training points."""
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("book", [COLORS[0], "#FFFFFF", COLORS[1]])
    probs = snapshot["probs"].numpy()
    ax.imshow(probs, origin="lower", extent=(-LIMIT, LIMIT, -LIMIT, LIMIT), cmap=cmap,
              vmin=0, vmax=1, alpha=0.55, interpolation="bilinear")
    if probs.min() < 0.5 < probs.max():
        axis = np.linspace(-LIMIT, LIMIT, GRID)
        ax.contour(axis, axis, probs, levels=[0.5], colors="black", linewidths=1.2)
    ax.scatter(X[:, 0], X[:, 1], c=[COLORS[int(c)] for c in y], s=12, edgecolors="black",
               linewidths=0.4)
    ax.set(xlim=(-LIMIT, LIMIT), ylim=(-LIMIT, LIMIT), xticks=[], yticks=[], aspect="equal")
    ax.grid(False)
    ax.set_title(title or f"step {snapshot['step']}: loss {snapshot['loss']:.3f}, "
                          f"accuracy {snapshot['accuracy']:.0%}")


class Playground:
    """The decision-boundary playground: live training in Jupyter, an animation in the book.

    ``static`` lists the activations pre-computed for the book's animation (every data set
    is included); ``steps`` and ``every`` set its length and frame spacing.
    """

    def __init__(self, *, width: int = 16, depth: int = 2, lr: float = 0.03, steps: int = 300,
                 every: int = 30, static=("none (linear)", "tanh", "relu"), n: int = 300,
                 seed: int = 0):
        self.width, self.depth, self.lr, self.n, self.seed = width, depth, lr, n, seed
        self.steps, self.every, self.static = steps, every, list(static)
        self._ui = None

    def run(self, dataset: str, activation: str, width=None, depth=None, lr=None, steps=None):
        """Train one configuration from a seeded start; returns (X, y, snapshots)."""
        X, y = make_dataset(dataset, n=self.n, seed=self.seed)
        torch.manual_seed(self.seed)
        net = make_mlp(width or self.width, depth or self.depth, activation)
        return X, y, fit(net, X, y, steps=steps or self.steps, lr=lr or self.lr, every=self.every)

    @cached_property
    def runs(self) -> dict:
        """(data set, activation) -> (X, y, snapshots) for every data set and ``static`` activation."""
        return {(d, a): self.run(d, a) for d in DATASETS for a in self.static}

    def explorer(self) -> Explorer:
        """The book's form: the pre-computed ``runs`` as frames, with a play button."""
        runs = self.runs
        steps = [s["step"] for s in next(iter(runs.values()))[2]]

        def draw(fig, dataset, activation, step):
            X, y, snapshots = runs[dataset, activation]
            draw_boundary(fig.subplots(), snapshots[steps.index(step)], X, y)

        return Explorer(draw, dataset=DATASETS, activation=self.static, step=steps,
                        start={"dataset": "spirals", "activation": "relu", "step": steps[-1]},
                        play="step", width=FIGSIZE[0], height=FIGSIZE[1], dpi=DPI,
                        colors=32)      # 132 pictures: a small palette keeps the page light

    def widget(self):
        """The live form: pick everything, press the button, watch the network train.

        It opens on the untrained network; changing a setting shows the new untrained network.
        """
        import ipywidgets as w

        style = {"description_width": "initial"}
        dataset = w.Dropdown(options=DATASETS, value="spirals", description="data", style=style)
        activation = w.Dropdown(options=list(ACTIVATIONS), value="relu", description="activation",
                                style=style)
        width = w.IntSlider(value=self.width, min=1, max=64, description="width", style=style)
        depth = w.IntSlider(value=self.depth, min=1, max=5, description="depth", style=style)
        lr = w.SelectionSlider(options=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3], value=0.03,
                               description="learning rate", style=style)
        button = w.Button(description=f"train {self.steps} steps", button_style="primary")
        image = w.Image(format="png")

        def show(X, y, snapshot):
            with mpl.rc_context(BOOK_STYLE):
                fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
                draw_boundary(fig.subplots(), snapshot, X, y)
                buffer = BytesIO()
                fig.savefig(buffer, format="png", dpi=DPI)
            image.value = buffer.getvalue()

        def train(_button=None):
            X, y = make_dataset(dataset.value, n=self.n, seed=self.seed)
            torch.manual_seed(self.seed)
            net = make_mlp(width.value, depth.value, activation.value)
            optimizer = torch.optim.Adam(net.parameters(), lr=lr.value)
            show(X, y, fit(net, X, y, steps=0)[0])
            every = max(self.steps // 15, 1)
            for start in range(0, self.steps, every):      # redraw as it goes
                snapshot = fit(net, X, y, steps=every, every=every, optimizer=optimizer)[-1]
                snapshot["step"] = start + every
                show(X, y, snapshot)

        def reset(_change=None):                           # the untrained network
            X, y = make_dataset(dataset.value, n=self.n, seed=self.seed)
            torch.manual_seed(self.seed)
            net = make_mlp(width.value, depth.value, activation.value)
            show(X, y, fit(net, X, y, steps=0)[0])

        button.on_click(train)
        for control in (dataset, activation, width, depth):
            control.observe(reset, names="value")
        reset()
        return w.VBox([w.HBox([dataset, activation, lr]), w.HBox([width, depth, button]), image],
                      layout=column_layout())

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self._ui is None:
            self._ui = self.widget()
        return {
            "text/plain": "Decision-boundary playground (run the notebook to train live)",
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2, "version_minor": 0, "model_id": self._ui.model_id},
            "text/html": self.explorer().static_html(),
        }
