"""Checkers for the exercises of Chapter 6 (optimization algorithms).

The two optimizer exercises are checked by trajectories: 60 steps on a small non-quadratic loss
in float64, with the student's step function and with ``torch.optim`` itself, under several
settings of the hyperparameters at once (the defaults, a large ``eps`` that exposes where it is
added, extreme averaging constants), and one coordinate whose gradient is always zero.
"""

from __future__ import annotations

import math

import torch

from . import Case, check_function, check_value
from .optimizer_steps import Bench, check_optimizer_step, torch_step

BENCH = Bench(606)


def check_adamax_step(adamax_step_) -> bool:
    """Exercise 6.1: ``adamax_step_(params, grads, state, lr, betas, eps)`` like torch's Adamax."""
    settings = [("lr 0.01, default betas and eps", (0.01,), {}),
                ("lr 0.05, betas (0.5, 0.9), eps 0.1", (0.05,), {"betas": (0.5, 0.9), "eps": 0.1}),
                ("lr 0.002, betas (0.95, 0.999), eps 1e-8", (0.002, (0.95, 0.999), 1e-8), {})]
    hint = ("m = beta1 m + (1 - beta1) g; u = max(beta2 u, |g| + eps) (eps inside the max); "
            "p -= lr / (1 - beta1^t) * m / u, with t the number of steps taken, this one "
            "included; only m is bias-corrected; keep m, u and t for each parameter in state")
    return check_optimizer_step("6.1", adamax_step_,
                                torch_step(torch.optim.Adamax, ("lr", "betas", "eps")),
                                settings, hint, BENCH)


def check_adadelta_step(adadelta_step_) -> bool:
    """Exercise 6.2: ``adadelta_step_(params, grads, state, lr, rho, eps)`` like torch's Adadelta."""
    settings = [("the defaults lr 1, rho 0.9, eps 1e-6", (), {}),
                ("lr 0.5, rho 0.5, eps 0.01", (0.5,), {"rho": 0.5, "eps": 0.01}),
                ("lr 2, rho 0.99, eps 1e-4", (2.0, 0.99, 1e-4), {})]
    hint = ("s = rho s + (1 - rho) g^2; delta = sqrt(d + eps) / sqrt(s + eps) * g with the d of "
            "the steps before; then d = rho d + (1 - rho) delta^2; p -= lr * delta; s and d "
            "start at zero for each parameter and eps goes inside both square roots")
    return check_optimizer_step("6.2", adadelta_step_,
                                torch_step(torch.optim.Adadelta, ("lr", "rho", "eps")),
                                settings, hint, BENCH)


def warmup_cosine_reference(step, total_steps, warmup_steps, peak_lr, final_lr=0.0) -> float:
    """Linear warmup to ``peak_lr`` over ``warmup_steps`` steps, then cosine to ``final_lr``."""
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * progress)) / 2


def check_warmup_cosine(warmup_cosine) -> bool:
    """Exercise 6.3: the learning rate of one step of linear warmup + cosine decay."""
    warm = "during warmup the rate is peak_lr * (step + 1) / warmup_steps: steps count from 0"
    cosine = ("from step warmup_steps on, progress = (step - warmup_steps) / (total_steps - "
              "warmup_steps) goes from 0 towards 1, and the rate is final_lr + (peak_lr - "
              "final_lr) * (1 + cos(pi * progress)) / 2")
    rows = [("the first step of warmup", (0, 100, 10, 0.1), {}, warm),
            ("the middle of warmup", (4, 100, 10, 0.1), {}, warm),
            ("the last step of warmup reaches the peak", (9, 100, 10, 0.1), {}, warm),
            ("the first step after warmup starts the cosine at the peak", (10, 100, 10, 0.1), {},
             cosine),
            ("halfway through the cosine", (55, 100, 10, 0.1), {}, cosine),
            ("the last step", (99, 100, 10, 0.1), {}, cosine),
            ("a floor: final_lr 0.001", (80, 100, 10, 0.1), {"final_lr": 0.001},
             cosine + "; final_lr is the floor the cosine ends at"),
            ("no warmup at all (warmup_steps 0)", (0, 50, 0, 0.3), {}, cosine),
            ("no warmup, later", (30, 50, 0, 0.3), {}, cosine),
            ("one warmup step", (0, 20, 1, 2.0), {}, warm),
            ("a long run", (3000, 10_000, 500, 0.4), {"final_lr": 0.004}, cosine)]
    cases = [Case(description, args, warmup_cosine_reference(*args, **kwargs), kwargs=kwargs,
                  hint=hint, atol=1e-12, rtol=1e-9)
             for description, args, kwargs, hint in rows]
    return check_function("6.3", warmup_cosine, cases)


def check_adagrad_step(third_step) -> bool:
    """Exercise 6.4: the size of Adagrad's third step for the gradients 3, 4, 12 (lr 1, eps 0)."""
    return check_value("6.4", third_step, 12 / 13,
                       hint="Adagrad divides the learning rate by the square root of the sum of "
                            "the squares of all the gradients so far, this step's included, and "
                            "multiplies by this step's gradient")


def check_momentum_steps(momentum_steps) -> bool:
    """Exercise 6.5: steps of optimal heavy-ball momentum to shrink the distance by 1e6, kappa 100."""
    rate = (math.sqrt(100) - 1) / (math.sqrt(100) + 1)
    return check_value("6.5", momentum_steps, math.ceil(math.log(1e-6) / math.log(rate)),
                       exact=True,
                       hint="the optimal rate is (sqrt(kappa) - 1) / (sqrt(kappa) + 1); after k "
                            "steps the distance is rate^k times the start; solve rate^k <= 1e-6 "
                            "for the smallest whole k")
