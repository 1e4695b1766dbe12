"""Checking an optimizer step that a student writes by hand (Chapters 6 and 8).

The student's ``step(params, grads, state, *hyperparameters)`` must update the tensors in
``params`` in place, as ``torch.optim`` does. The checker runs it for 60 steps on a small
non-quadratic loss in float64, side by side with the ``torch.optim`` class itself, under several
settings at once, and reports the first step at which the two part. The loss has one coordinate
whose gradient is always zero, which exposes where ``eps`` and the decay terms are added.
"""

from __future__ import annotations

import torch

from . import check_trajectory

DTYPE = torch.float64
STEPS = 60


class Bench:
    """The loss and starting point of the trajectories, drawn from ``seed``."""

    def __init__(self, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.X = torch.randn(8, 3, generator=g, dtype=DTYPE)
        self.Y = torch.rand(8, 2, generator=g, dtype=DTYPE) * 1.6 - 0.8
        self.start = [torch.randn(2, 3, generator=g, dtype=DTYPE),
                      torch.randn(2, generator=g, dtype=DTYPE),
                      torch.tensor([2.0, -3.0, 0.5], dtype=DTYPE)]

    def loss(self, W, b, u):
        """A small regression through tanh, plus a bowl in u[0], u[1]; u[2] gets no gradient."""
        return ((self.X @ W.T + b).tanh() - self.Y).pow(2).mean() + 0.1 * u[0] ** 2 \
            + 2.0 * u[1] ** 2 + 0.0 * u[2]

    def gradients(self, params) -> list[torch.Tensor]:
        leaves = [p.detach().clone().requires_grad_() for p in params]
        return list(torch.autograd.grad(self.loss(*leaves), leaves))


def torch_step(optimizer_class, names: tuple):
    """A step function with the exercise's signature that lets ``torch.optim`` do the work.

    ``names`` are the optimizer's arguments that the exercise's positional arguments stand for,
    in order (``("lr", "momentum", "weight_decay")`` for SGD, say).
    """
    def step(params, grads, state, *args, **kwargs):
        if "optimizer" not in state:
            state["optimizer"] = optimizer_class(params, **dict(zip(names, args)), **kwargs)
        for p, g in zip(params, grads):
            p.grad = g.clone()
        state["optimizer"].step()
    return step


def check_optimizer_step(exercise: str, student_step, reference_step, settings: list[tuple],
                         hint: str, bench: Bench) -> bool:
    """Run every setting side by side; each is one (description, args, kwargs) of the step."""
    start = {}
    for description, _, _ in settings:
        start[f"params ({description})"] = [p.clone() for p in bench.start]
        start[f"state ({description})"] = {}

    def advance(step, state, k):
        for description, args, kwargs in settings:
            params = state[f"params ({description})"]
            before = [p.clone() for p in params]
            originals = list(params)
            returned = step(params, bench.gradients(params), state[f"state ({description})"],
                            *args, **kwargs)
            if any(p is not q for p, q in zip(params, originals)):
                raise ValueError("it put new tensors into the list params (params[i] = ...) "
                                 "instead of updating the tensors passed in, which a model "
                                 "would never see; update each tensor in place (p.sub_(...), "
                                 "p.mul_(...), p -= ...)")
            if all(torch.equal(p, q) for p, q in zip(originals, before)):
                raise ValueError("the tensors passed in are unchanged after the call"
                                 + ("; it returned something instead" if returned is not None
                                    else "") + ": update the tensors in params in place "
                                 "(p.sub_(...), p -= ...) and return nothing")

    return check_trajectory(exercise, student_step, reference_step, start, advance, steps=STEPS,
                            watch=tuple(k for k in start if k.startswith("params")),
                            atol=1e-9, rtol=1e-7, hint=hint)
