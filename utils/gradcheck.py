"""Finite-difference gradient checking: is a hand-written gradient right?

A gradient derived by hand (or a new autograd rule) is checked by comparing it with the
**central difference** ``(f(x + δ e_i) - f(x - δ e_i)) / 2δ`` for every coordinate ``i``.
Chapter 4 shows why the details below matter:

- the error of the central difference is about ``δ² f'''/6`` (truncation) plus about
  ``eps_machine |f| / δ`` (round-off), so the step ``δ`` must be neither large nor tiny, and
  float32 is too coarse for a strict check: work in float64. The differences divide by the
  step actually taken, ``fl(x + δ) - x``, which in float32 can differ from ``δ`` by several
  percent;
- at a **kink** (ReLU at 0, max, abs) the two sides of the difference see different slopes and
  the comparison is meaningless. The helper detects this by comparing the one-sided
  differences ``(f(x+δ) - f(x)) / δ`` and ``(f(x) - f(x-δ)) / δ``, which agree to O(δ) where
  ``f`` is smooth. At such a coordinate it only checks that the gradient lies between the two
  one-sided slopes (a wrong sign or a wild value still fails), names the coordinate, and does
  not count it as compared;
- a check that compared too few coordinates proves nothing: when fewer than half of them
  could be compared, the verdict is "inconclusive", never "passed".

``gradient_check`` plays the same role as ``torch.autograd.gradcheck`` but takes any gradient
(by default autograd's, or one you pass) and explains what it found.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import torch

SHOWN = 5          # how many skipped coordinates a verdict names


class Differences(NamedTuple):
    """The finite-difference estimates of a gradient, each shaped like the input."""

    central: torch.Tensor
    forward: torch.Tensor      # (f(x + δ) - f(x)) / δ
    backward: torch.Tensor     # (f(x) - f(x - δ)) / δ
    roundoff: torch.Tensor     # eps |f| / δ: how far round-off alone can move a difference


def finite_differences(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       delta: float = 1e-6) -> Differences:
    """Central and one-sided differences of the scalar function ``f`` at ``x``, coordinate by
    coordinate (2 evaluations of ``f`` per coordinate, plus one at ``x``), in float64 arithmetic
    on the values ``f`` returns, divided by the steps actually taken. ``roundoff`` estimates
    the error that rounding ``f``'s values (to the precision ``f`` computes in) adds."""
    x = x.detach().clone().contiguous()
    flat = x.view(-1)
    central, forward, backward, roundoff = (torch.zeros(flat.numel(), dtype=torch.float64)
                                            for _ in range(4))
    with torch.no_grad():
        value = f(x)
        dtype = value.dtype if isinstance(value, torch.Tensor) else torch.float64
        eps = torch.finfo(dtype).eps if dtype.is_floating_point else torch.finfo(x.dtype).eps
        f0 = float(value)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + delta
            up, step_up = float(f(x)), flat[i].item() - old
            flat[i] = old - delta
            down, step_down = float(f(x)), old - flat[i].item()
            flat[i] = old
            if step_up <= 0 or step_down <= 0:          # δ below the spacing of the numbers at x
                central[i] = forward[i] = backward[i] = float("nan")     # undefined
                roundoff[i] = float("inf")
                continue
            central[i] = (up - down) / (step_up + step_down)
            forward[i], backward[i] = (up - f0) / step_up, (f0 - down) / step_down
            roundoff[i] = eps * max(abs(f0), abs(up), abs(down)) / min(step_up, step_down)
    return Differences(*(t.view(x.shape) for t in (central, forward, backward, roundoff)))


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       delta: float = 1e-6) -> torch.Tensor:
    """Central-difference gradient of the scalar function ``f`` at ``x`` (float64, x's shape)."""
    return finite_differences(f, x, delta).central


@dataclass
class GradCheck:
    """The verdict of ``gradient_check``; printing it explains the verdict in words.

    ``status`` is "passed", "FAILED" or "inconclusive"; ``ok`` is True only for "passed".
    """

    ok: bool
    status: str
    max_error: float                   # largest relative error over the compared coordinates
    worst: tuple                       # (input number, index) of that error, or of a bad kink
    tolerance: float
    compared: int = 0                  # coordinates compared with the central difference
    total: int = 0                     # coordinates in all inputs
    kinks: list = field(default_factory=list)       # (input, index) where one-sided ones disagree
    roundoff: list = field(default_factory=list)    # (input, index) swamped by round-off
    kink_problem: str = ""             # a gradient outside the one-sided slopes at a kink
    warnings: list = field(default_factory=list)

    def __str__(self) -> str:
        if self.status == "passed":
            text = (f"gradient check passed: {self.compared} of {self.total} coordinates "
                    f"compared, largest relative error {self.max_error:.2e} "
                    f"(tolerance {self.tolerance:.0e})")
        elif self.status == "FAILED" and self.kink_problem:
            text = f"gradient check FAILED: {self.kink_problem}; the gradient there is wrong"
        elif self.status == "FAILED":
            which, index = self.worst
            text = (f"gradient check FAILED: relative error {self.max_error:.2e} at input "
                    f"{which}, index {index} (tolerance {self.tolerance:.0e}); the gradient "
                    f"there is wrong")
        else:
            text = (f"gradient check INCONCLUSIVE: only {self.compared} of {self.total} "
                    f"coordinates could be compared, too few to prove anything"
                    + (f" (the largest relative error among them was {self.max_error:.2e})"
                       if self.compared else "")
                    + ". " + "; ".join(self._advice()))
        for places, what, after in [
                (self.roundoff, "where round-off swamps the differences", ""),
                (self.kinks, "next to a kink (the one-sided differences disagree)",
                 "; there the gradient was only checked to lie between the one-sided slopes")]:
            if places:
                named = ", ".join(f"input {k} index {i}" for k, i in places[:SHOWN])
                more = f" and {len(places) - SHOWN} more" if len(places) > SHOWN else ""
                text += f". Skipped {len(places)} coordinate(s) {what}: {named}{more}{after}"
        lines = [text] + [f"warning: {w}" for w in self.warnings]
        return "\n".join(textwrap.fill(line, width=88, subsequent_indent="  ",
                                       break_on_hyphens=False) for line in lines)

    def _advice(self) -> list:
        advice = []
        if self.roundoff and self.warnings:
            advice.append("Work in float64 (x.double())")
        elif self.roundoff:
            advice.append("Round-off dominates: take a larger step")
        if self.kinks:
            advice.append(("m" if advice else "M") + "ove the point away from the kinks, or "
                          "take a smaller step")
        return advice or ["Check more coordinates"]

    __repr__ = __str__


def gradient_check(f: Callable[..., torch.Tensor], inputs, gradients=None, *,
                   delta: float = 1e-6, tolerance: float = 1e-5) -> GradCheck:
    """Compare gradients of the scalar ``f(*inputs)`` with central differences.

    ``gradients``: the gradients to check, one per input; by default autograd's (so that the
    check tests autograd's rules for ``f``). The relative error per coordinate is
    ``|g - n| / max(|g| + |n|, 1e-8)``. Two kinds of coordinates are not compared: those where
    round-off could move the difference by more than ``tolerance`` times the largest entry of
    any gradient (or difference), and those where the one-sided differences disagree (a kink), where
    ``g`` must only lie between the two one-sided slopes. The verdict is "passed" only when
    no compared coordinate fails and at least half of all coordinates were compared.
    """
    inputs = [inputs] if isinstance(inputs, torch.Tensor) else list(inputs)
    warnings = []
    if any(x.dtype != torch.float64 for x in inputs):
        warnings.append("inputs are not float64: round-off of order 1e-7 / δ swamps the check; "
                        "use x.double()")
    if gradients is None:
        leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
        gradients = torch.autograd.grad(f(*leaves), leaves, allow_unused=True)
        gradients = [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, gradients)]
    gradients = [gradients] if isinstance(gradients, torch.Tensor) else list(gradients)
    if len(gradients) != len(inputs):
        raise ValueError(f"got {len(gradients)} gradients for {len(inputs)} inputs")

    for k, (x, g) in enumerate(zip(inputs, gradients)):
        if g.shape != x.shape:
            raise ValueError(f"gradient {k} has shape {tuple(g.shape)}, input {k} has shape "
                             f"{tuple(x.shape)}: a gradient has the shape of its input")
    gradients = [g.detach().to(torch.float64) for g in gradients]
    differences = []
    for k, x in enumerate(inputs):
        def f_k(value, k=k):
            return f(*inputs[:k], value, *inputs[k + 1:])
        differences.append(finite_differences(f_k, x, delta))
    # the size of the gradient: round-off that could move a difference by more than
    # `tolerance` times it leaves that coordinate unresolved
    entries = torch.cat([t.flatten() for g, d in zip(gradients, differences)
                         for t in (g, d.central)]).abs().nan_to_num(0.0, 0.0, 0.0)
    scale = entries.max().item() if entries.numel() else 0.0

    worst, max_error, kink_problem = (0, ()), 0.0, ""
    kinks, roundoff, compared, total = [], [], 0, 0
    for k, (g, d) in enumerate(zip(gradients, differences)):
        unresolved = d.roundoff > tolerance * scale
        slopes = 1.0 + d.forward.abs() + d.backward.abs()
        kink = ~unresolved & ((d.forward - d.backward).abs() > 1e-3 * slopes)
        kinks += [(k, tuple(i)) for i in torch.nonzero(kink).tolist()]
        roundoff += [(k, tuple(i)) for i in torch.nonzero(unresolved).tolist()]
        total += g.numel()
        compared += g.numel() - int(kink.sum()) - int(unresolved.sum())
        # next to a kink the gradient must lie between the one-sided slopes (with a margin)
        low = torch.minimum(d.forward, d.backward) - 1e-3 * slopes
        high = torch.maximum(d.forward, d.backward) + 1e-3 * slopes
        outside = kink & ~((low <= g) & (g <= high))              # NaN is outside too
        if outside.any() and not kink_problem:
            i = tuple(torch.nonzero(outside)[0].tolist())
            kink_problem = (f"at input {k}, index {i}, next to a kink, the gradient "
                            f"{g[i].item():.4g} is not between the one-sided slopes "
                            f"{d.forward[i].item():.4g} and {d.backward[i].item():.4g}")
            worst = (k, i)
        error = (g - d.central).abs() / (g.abs() + d.central.abs()).clamp_min(1e-8)
        error = error.nan_to_num(nan=float("inf")).masked_fill(kink | unresolved, 0.0)
        if error.numel() and error.max().item() > max_error:
            max_error = error.max().item()
            if not kink_problem:
                worst = (k, tuple(torch.nonzero(error == error.max())[0].tolist()))
    if kink_problem or max_error > tolerance:
        status = "FAILED"
    elif compared == 0 or 2 * compared < total:
        status = "inconclusive"
    else:
        status = "passed"
    return GradCheck(ok=status == "passed", status=status, max_error=max_error, worst=worst,
                     tolerance=tolerance, compared=compared, total=total, kinks=kinks,
                     roundoff=roundoff, kink_problem=kink_problem, warnings=warnings)
