"""Per-layer statistics of a network on one batch: "if you suspect the initialization, debug
the variance".

``layer_stats(model, X, y)`` runs one forward and one backward pass and records, for every
layer, what tells a healthy network from a sick one:

- ``mean`` and ``std`` of the layer's output (the forward signal: it should neither vanish nor
  explode with depth);
- ``zero`` and ``dead`` for ReLU-like layers: the fraction of outputs that are exactly 0, and the
  fraction of units (features, or channels of an image) that are 0 for every example of the
  batch (dead units pass no gradient);
- ``grad_std``: the standard deviation of the gradient of the loss with respect to the layer's
  output (the backward signal);
- ``weight_grad_std`` and ``update_ratio``: the size of the weight's gradient, and how large one
  optimizer step is relative to the weight itself (about 1e-3 is the classic rule of thumb).

It uses forward hooks and a tensor hook on each output, removes them afterwards, and leaves the
model as it found it (parameters, gradients, buffers such as BatchNorm's running
statistics, optimizer state). Chapter 5 introduces it;
Chapters 7 and 12 use it again.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

import torch
from torch import nn

SKIPPED = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
           nn.Dropout3d, nn.AlphaDropout)
RELU_LIKE = (nn.ReLU, nn.ReLU6)
COLUMNS = ("mean", "std", "zero", "dead", "grad_std", "weight_grad_std", "update_ratio")


@dataclass
class LayerStats:
    """The numbers ``layer_stats`` recorded: one row (a dict) per layer, in forward order."""

    rows: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)    # name -> detached output (with keep=True)

    def column(self, key: str) -> list:
        """One statistic for every layer, in forward order, e.g. ``stats.column("std")``."""
        if not self.rows or key not in self.rows[0]:
            known = ", ".join(self.rows[0]) if self.rows else "nothing (no layer was recorded)"
            raise KeyError(f"no statistic {key!r}; the rows have {known}")
        return [row[key] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        if not self.rows:
            return "no layer recorded"
        head = (f"{'layer':<14}{'kind':<10}{'mean':>10}{'std':>10}{'zero':>7}{'dead':>7}"
                f"{'grad std':>10}{'w grad std':>11}{'update/w':>10}")
        lines = [head, "-" * len(head)]
        for row in self.rows:
            lines.append(f"{row['name'][:13]:<14}{row['kind'][:9]:<10}"
                         f"{_num(row['mean'], 10)}{_num(row['std'], 10)}"
                         f"{_frac(row['zero'])}{_frac(row['dead'])}{_num(row['grad_std'], 10)}"
                         f"{_num(row['weight_grad_std'], 11)}{_num(row['update_ratio'], 10)}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:   # IPython shows the table
        printer.text(str(self))

    def plot(self, axes=None, title: str = ""):
        """Per-layer std of the activations and of their gradients, on a log scale.

        Returns the figure; ``axes`` (a pair) draws into existing axes instead.
        """
        from . import plot as book_plot

        if axes is None:
            fig, axes = book_plot.new_figure(ncols=2, width=7, height=2.8)
            axes = axes[0]
        else:
            fig = axes[0].figure
        steps = range(1, len(self.rows) + 1)
        for ax, key, label in ((axes[0], "std", "std of the output"),
                               (axes[1], "grad_std", "std of the gradient")):
            values = [v if v > 0 else math.nan for v in self.column(key)]
            ax.plot(steps, values, marker=".", lw=1)
            if any(v > 0 for v in values if math.isfinite(v)):
                ax.set_yscale("log")
            ax.set_xlabel("layer (forward order)")
            ax.set_ylabel(label)
        if title:
            fig.suptitle(title)
        return fig


def _num(value: float, width: int) -> str:
    if value is None or not math.isfinite(value):
        return f"{'-':>{width}}"
    return f"{value:>{width}.2e}" if value and (abs(value) < 1e-2 or abs(value) >= 1e3) \
        else f"{value:>{width}.3f}"


def _frac(value: float) -> str:
    return f"{'-':>7}" if not math.isfinite(value) else f"{value:>7.0%}"


def _check_inputs(model, X, modules):
    if not isinstance(model, nn.Module):
        raise TypeError(f"layer_stats needs an nn.Module, got {type(model).__name__}")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"layer_stats needs a batch X as a tensor, got {type(X).__name__}")
    if X.ndim == 0 or len(X) < 2:
        raise ValueError("layer_stats needs a batch of at least 2 examples (a std needs two)")
    if modules is None:
        modules = [(name, m) for name, m in model.named_modules()
                   if not list(m.children()) and not isinstance(m, SKIPPED)]
    else:
        names = {m: name for name, m in model.named_modules()}
        missing = [type(m).__name__ for m in modules if m not in names]
        if missing:
            raise ValueError(f"these modules are not part of the model: {', '.join(missing)}")
        modules = [(names[m], m) for m in modules]
    if not modules:
        raise ValueError("the model has no layer to record")
    return modules


def _dead_units(out: torch.Tensor) -> float:
    """Fraction of units (dimension 1: features or channels) that are 0 for every example."""
    if out.ndim < 2:
        return float((out == 0).all())
    active = (out != 0).transpose(0, 1).reshape(out.shape[1], -1).any(dim=1)
    return float(1 - active.float().mean())


def layer_stats(model: nn.Module, X: torch.Tensor, y: torch.Tensor | None = None, *,
                loss_fn=None, optimizer: torch.optim.Optimizer | None = None,
                lr: float | None = None, modules=None, keep: bool = False) -> LayerStats:
    """Record per-layer statistics of ``model`` on the batch ``X`` (see the module docstring).

    With labels ``y`` the backward pass starts from ``loss_fn(model(X), y)`` (cross-entropy by
    default). Without them it backpropagates a fixed standard-normal gradient divided by the
    batch size, which is what the analysis of variance through depth assumes.
    ``modules`` chooses the layers (default: every leaf module but Flatten, Identity and
    Dropout). ``optimizer`` makes ``update_ratio`` the size of that optimizer's real step
    (taken and then undone); ``lr`` makes it ``lr * weight_grad_std / weight std`` (plain SGD).
    ``keep=True`` also keeps every recorded output in ``stats.outputs``.
    """
    modules = _check_inputs(model, X, modules)
    stats = LayerStats()
    records, handles = {}, []
    params = [p for p in model.parameters()]
    saved_grads = [p.grad for p in params]
    saved_buffers = [b.detach().clone() for b in model.buffers()]   # BatchNorm's running stats

    def forward_hook(name, module):
        def hook(mod, inputs, out):
            if not isinstance(out, torch.Tensor):
                return
            value = out.detach().float()
            relu_like = isinstance(module, RELU_LIKE)
            records[name] = {
                "name": name or type(module).__name__, "kind": type(module).__name__,
                "mean": float(value.mean()), "std": float(value.std()),
                "zero": float((value == 0).float().mean()) if relu_like else math.nan,
                "dead": _dead_units(value) if relu_like else math.nan,
                "grad_std": math.nan,
            }
            if keep:
                stats.outputs[name] = value.cpu().clone()
            if out.requires_grad:
                def grad_hook(grad, name=name):
                    records[name]["grad_std"] = float(grad.detach().float().std())
                handles.append(out.register_hook(grad_hook))
        return hook

    try:
        for name, module in modules:
            handles.append(module.register_forward_hook(forward_hook(name, module)))
        for p in params:
            p.grad = None
        with torch.enable_grad():
            out = model(X)
            if y is not None:
                loss = (loss_fn or nn.CrossEntropyLoss())(out, y)
            else:
                g = torch.Generator().manual_seed(0)
                direction = torch.randn(out.shape, generator=g).to(out.device, out.dtype)
                loss = (out * direction).sum() / len(X)
            if loss.requires_grad:
                loss.backward()
    finally:
        for handle in handles:
            handle.remove()

    ratios = _update_ratios(modules, optimizer, lr)
    by_name = dict(modules)
    for name, row in records.items():                       # in forward order
        weight = getattr(by_name[name], "weight", None)
        has_grad = isinstance(weight, torch.Tensor) and weight.grad is not None
        row["weight_grad_std"] = float(weight.grad.float().std()) if has_grad else math.nan
        row["update_ratio"] = ratios.get(name, math.nan)
        stats.rows.append(row)
    for p, grad in zip(params, saved_grads):
        p.grad = grad
    with torch.no_grad():
        for b, old in zip(model.buffers(), saved_buffers):
            b.copy_(old)
    return stats


def _update_ratios(modules, optimizer, lr) -> dict:
    """std(update of the weight) / std(weight) per layer; the optimizer's step is undone."""
    weights = {name: m.weight for name, m in modules
               if isinstance(getattr(m, "weight", None), torch.Tensor)
               and m.weight.grad is not None}
    if not weights:
        return {}
    if optimizer is not None:
        import copy
        params = [p for group in optimizer.param_groups for p in group["params"]]
        before = [p.detach().clone() for p in params]
        state = copy.deepcopy(optimizer.state_dict())
        optimizer.step()
        updates = {name: (w.detach() - before[_index(params, w)]).float()
                   for name, w in weights.items() if _index(params, w) is not None}
        with torch.no_grad():
            for p, old in zip(params, before):
                p.copy_(old)
        optimizer.load_state_dict(state)
        return {name: float(updates[name].std() / before[_index(params, w)].float().std())
                for name, w in weights.items() if name in updates}
    if lr is not None:
        return {name: float(lr * w.grad.float().std() / w.detach().float().std())
                for name, w in weights.items()}
    return {}


def _index(params, w):
    return next((i for i, p in enumerate(params) if p is w), None)


def describe_problem(stats: LayerStats, low: float = 1e-3, high: float = 1e3) -> str:
    """A sentence on what the table shows: vanishing or exploding signals, dead units."""
    std, grad = stats.column("std"), stats.column("grad_std")
    words = []
    if std[-1] < low * std[0]:
        words.append(f"the forward signal shrinks {std[0] / std[-1]:.1e}-fold through the layers")
    elif std[-1] > high * std[0]:
        words.append(f"the forward signal grows {std[-1] / std[0]:.1e}-fold through the layers")
    finite = [g for g in grad if math.isfinite(g)]
    if finite and finite[0] < low * finite[-1]:
        words.append("the gradient vanishes on its way back to the first layer")
    elif finite and finite[0] > high * finite[-1]:
        words.append("the gradient explodes on its way back to the first layer")
    dead = [d for d in stats.column("dead") if math.isfinite(d)]
    if dead and max(dead) > 0.5:
        words.append(f"up to {max(dead):.0%} of a layer's units are dead")
    text = "; ".join(words) if words else "no layer's signal vanishes or explodes"
    return textwrap.fill(text[0].upper() + text[1:] + ".", 100)
