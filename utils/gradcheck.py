"""Finite-difference gradient checking: is a hand-written gradient right?

A gradient derived by hand (or a new autograd rule) is checked by comparing it with the
**central difference** ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every coordinate ``i``.
Chapter 4 shows why the details below matter:

- the error of the central difference is about ``h² f'''`` (truncation) plus about
  ``eps_machine |f| / h`` (round-off), so ``h`` must be neither large nor tiny, and float32 is
  too coarse for a strict check: work in float64;
- at a **kink** (ReLU at 0, max, abs) the two sides of the difference see different slopes and
  the comparison is meaningless. The helper detects this by comparing the one-sided
  differences ``(f(x+h) - f(x)) / h`` and ``(f(x) - f(x-h)) / h``, which agree to O(h) where
  ``f`` is smooth, and reports those coordinates separately instead of calling them errors.

``gradient_check`` plays the same role as ``torch.autograd.gradcheck`` but takes any gradient
(a function's output, not only autograd's) and explains what it found.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Callable

import torch


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       h: float = 1e-6) -> torch.Tensor:
    """Central-difference gradient of the scalar function ``f`` at ``x`` (same shape as x)."""
    return _differences(f, x, h)[0]


def _differences(f, x, h):
    x = x.detach().clone()
    flat = x.view(-1)
    central, forward, backward = (torch.zeros_like(flat) for _ in range(3))
    with torch.no_grad():
        f0 = float(f(x))
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            up = float(f(x))
            flat[i] = old - h
            down = float(f(x))
            flat[i] = old
            central[i] = (up - down) / (2 * h)
            forward[i], backward[i] = (up - f0) / h, (f0 - down) / h
    return central.view_as(x), forward.view_as(x), backward.view_as(x)


@dataclass
class GradCheck:
    """The verdict of ``gradient_check``; printing it explains the verdict in words."""

    ok: bool
    max_error: float                   # largest relative error over the smooth coordinates
    worst: tuple                       # (input number, index) of that error
    tolerance: float
    kinks: list = field(default_factory=list)       # coordinates within h of a kink
    warnings: list = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            text = (f"gradient check passed: largest relative error {self.max_error:.2e} "
                    f"(tolerance {self.tolerance:.0e})")
        else:
            which, index = self.worst
            text = (f"gradient check FAILED: relative error {self.max_error:.2e} at input {which}, "
                    f"index {index} (tolerance {self.tolerance:.0e}); the gradient there is wrong"
                    + (", or the check itself is too coarse (see the warning)" if self.warnings
                       else ""))
        if self.kinks:
            text += (f"; {len(self.kinks)} coordinate(s) lie within h of a kink (the one-sided "
                     f"differences disagree), where finite differences are meaningless: "
                     f"they were skipped")
        lines = [text] + [f"warning: {w}" for w in self.warnings]
        return "\n".join(textwrap.fill(line, width=80, subsequent_indent="  ") for line in lines)

    __repr__ = __str__


def gradient_check(f: Callable[..., torch.Tensor], inputs, gradients=None, *, h: float = 1e-6,
                   tolerance: float = 1e-5) -> GradCheck:
    """Compare gradients of the scalar ``f(*inputs)`` with central differences.

    ``gradients``: the gradients to check, one per input; by default autograd's. The relative
    error per coordinate is ``|g - n| / max(|g| + |n|, 1e-8)``. Coordinates where the one-sided
    differences disagree (a kink) are skipped and listed. Returns a ``GradCheck``.
    """
    inputs = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs)
    warnings = []
    if any(x.dtype != torch.float64 for x in inputs):
        warnings.append("inputs are not float64: round-off of order 1e-7 / h swamps the check; "
                        "use x.double()")
    if gradients is None:
        leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
        gradients = torch.autograd.grad(f(*leaves), leaves, allow_unused=True)
        gradients = [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, gradients)]
    gradients = [gradients] if isinstance(gradients, torch.Tensor) else list(gradients)
    if len(gradients) != len(inputs):
        raise ValueError(f"got {len(gradients)} gradients for {len(inputs)} inputs")

    worst, max_error, kinks = (0, ()), 0.0, []
    for k, (x, g) in enumerate(zip(inputs, gradients)):
        if g.shape != x.shape:
            raise ValueError(f"gradient {k} has shape {tuple(g.shape)}, input {k} has shape "
                             f"{tuple(x.shape)}: a gradient has the shape of its input")

        def f_k(value, k=k):
            return f(*inputs[:k], value, *inputs[k + 1:])

        central, forward, backward = _differences(f_k, x, h)
        scale = 1.0 + forward.abs() + backward.abs()
        kink = (forward - backward).abs() > 1e-3 * scale
        kinks += [(k, tuple(i)) for i in torch.nonzero(kink).tolist()]
        g = g.detach().to(central.dtype)
        error = (g - central).abs() / (g.abs() + central.abs()).clamp_min(1e-8)
        error = error.nan_to_num(nan=float("inf")).masked_fill(kink, 0.0)   # NaN is an error
        if error.numel() and error.max().item() > max_error:
            max_error = error.max().item()
            worst = (k, tuple(torch.nonzero(error == error.max())[0].tolist()))
    return GradCheck(ok=max_error <= tolerance, max_error=max_error, worst=worst,
                     tolerance=tolerance, kinks=kinks, warnings=warnings)
