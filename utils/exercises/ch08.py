"""Checkers for the exercises of Chapter 8 (regularization).

Dropout is random, so its checker tests the law of the mask rather than one mask: every entry of
the output is either 0 or the input divided by the keep probability, the share kept is within
five standard errors of 1 - p, the masks of different rows and columns are independent (a mask
shared across the batch fails), evaluation mode and the edge cases p = 0 and p = 1 are exact, and
the draws come from the generator passed in. The two optimizer steps are checked by 60-step
trajectories against ``torch.optim`` in float64; early stopping by cases against the rule of
``utils.train.EarlyStopping``; the Keras conversion as a number.
"""

from __future__ import annotations

import math

import torch

from . import (Case, check_function, check_value, explain, generator_problem, report,
               run_student, StudentError, _not_a_function)
from .comparison import _as_tensor, clone, same
from .optimizer_steps import Bench, check_optimizer_step, torch_step

DTYPE = torch.float64
Z = 5.0           # standard errors a sampled statistic may stray


# ---------------------------------------------------------------- 8.1 inverted dropout
def _call(fn, args, copy=True):
    """Call the student's function on copies of the tensors (a generator is passed as it is)."""
    if copy:
        args = tuple(a if isinstance(a, torch.Generator) else clone(a) for a in args)
    value, error = run_student(fn, args)
    if error is not None:
        raise StudentError(error)
    return value


def _dropout_problem(fn, X, p, what) -> str | None:
    """None when fn(X, p, True, generator) looks like one draw of inverted dropout, else why."""
    given = X.clone()
    got = _call(fn, (given, p, True, torch.Generator().manual_seed(3)), copy=False)
    out, problem = _as_tensor(got, X, what)
    if problem:
        return problem
    if not same(given, X):
        return "your function changed its input X in place; return a new tensor instead"
    if tuple(out.shape) != tuple(X.shape):
        return f"{what} has shape {tuple(out.shape)}, expected {tuple(X.shape)} (the input's)"
    if not torch.isfinite(out).all():
        return f"{what} holds NaN or infinite values"
    q = 1 - p
    kept = out != 0
    if 0 < p < 1:
        for axis in range(X.ndim):
            if X.shape[axis] > 1 and (kept == kept.narrow(axis, 0, 1)).all():
                return (f"{what}: the mask is the same along axis {axis} (every slice along it "
                        f"keeps the same entries), so the masks are not independent; "
                        f"draw one keep-or-drop decision per entry, a mask of shape X.shape")
    rate, n = kept.double().mean().item(), kept.numel()
    se = math.sqrt(q * p / n)
    if abs(rate - q) > Z * se:
        return (f"{what}: {rate:.1%} of the entries were kept, expected about {q:.0%} "
                f"(1 - p, give or take {Z * se:.1%}); p is the probability of *dropping* an entry")
    scaled = torch.isclose(out, X / q, rtol=1e-5, atol=1e-12)
    if not (scaled | ~kept).all():
        i = tuple(int(k) for k in (~scaled & kept).nonzero()[0])
        ratio = (out[i] / X[i]).item()
        return (f"{what}: a kept entry is {ratio:.4g} times the input at {i}, expected "
                f"1 / (1 - p) = {1 / q:.4g}; inverted dropout scales what it keeps by "
                f"1 / (1 - p) at training time")
    if X.ndim == 2 and 0 < p < 1:
        for axis, name in ((0, "columns"), (1, "rows")):
            share = kept.double().mean(axis)
            expected = math.sqrt(p * q / X.shape[axis])
            if share.numel() > 10 and share.std().item() > 2 * expected:
                return (f"{what}: the share kept varies across the {name} far more than "
                        f"chance allows, so the masks are not independent; draw one keep-or-drop "
                        f"decision per entry (a mask of shape X.shape), not one shared by a "
                        f"whole row or column")
    return None


def check_dropout(dropout) -> bool:
    """Exercise 8.1: ``dropout(X, p, training=True, generator=None)``, inverted dropout."""
    problem = _not_a_function(dropout)
    if problem:
        return report("8.1", "fail", problem)
    g = torch.Generator().manual_seed(81)
    big = torch.rand(400, 250, generator=g, dtype=torch.float32) + 0.1
    signed = torch.randn(6, 7, 8, generator=g, dtype=DTYPE)
    signed[signed == 0] = 0.5
    cases = [("p = 0.3 on a 400 x 250 batch", big, 0.3),
             ("p = 0.8: most entries dropped", big, 0.8),
             ("p = 0.5 on a 3-D float64 tensor with negative entries", signed, 0.5),
             ("a batch of one", big[:1], 0.25)]
    try:
        for number, (description, X, p) in enumerate(cases, start=1):
            where = f"case {number} of {len(cases) + 4} ({description})"
            problem = _dropout_problem(dropout, X, p, "your result")
            if problem:
                return report("8.1", "fail", f"{where}: {problem}.")
        exact = [("training=False returns the input unchanged", (big[:20], 0.5, False, None),
                  big[:20], "in evaluation mode dropout does nothing: return X as it is"),
                 ("p = 0 returns the input", (big[:20], 0.0, True, torch.Generator()), big[:20],
                  "with p = 0 nothing is dropped and 1 / (1 - p) = 1"),
                 ("p = 1 returns zeros, without NaN", (big[:20], 1.0, True, torch.Generator()),
                  torch.zeros_like(big[:20]), "with p = 1 every entry is dropped; avoid 0 / 0 "
                  "(treat p = 1 on its own)")]
        for number, (description, args, expected, hint) in enumerate(exact, start=len(cases) + 1):
            where = f"case {number} of {len(cases) + 4} ({description})"
            got = _call(dropout, args)
            out, problem = _as_tensor(got, expected, "your result")
            if problem is None and (tuple(out.shape) != tuple(expected.shape)
                                    or not torch.equal(out.to(expected.dtype), expected)):
                problem = "your result differs from the expected one"
            if problem:
                return report("8.1", "fail", f"{where}: {problem}. Hint: {hint}.")
    except StudentError as error:
        if isinstance(error.error, NotImplementedError):
            return report("8.1", "not attempted", "not attempted yet (your function raises "
                                                  "NotImplementedError); replace it with your code")
        return report("8.1", "fail", f"{explain(error)}.")

    def draw(generator):
        return torch.as_tensor(_call(dropout, (big[:50], 0.5, True, generator)))

    problem = generator_problem(draw)
    if problem:
        return report("8.1", "fail", f"case {len(cases) + 4} of {len(cases) + 4} "
                                     f"(the generator): {problem}.")
    return report("8.1", "pass", f"passed all {len(cases) + 4} cases: the masks follow the law.")


# ---------------------------------------------------------------- 8.2 and 8.3, two optimizer steps
BENCH = Bench(808)


def check_sgd_weight_decay(sgd_step_) -> bool:
    """Exercise 8.2: ``sgd_step_(params, grads, state, lr, momentum, weight_decay)`` like SGD."""
    settings = [("lr 0.1, weight_decay 0.01", (0.1, 0.0, 0.01), {}),
                ("lr 0.05, momentum 0.9, weight_decay 0.1", (0.05, 0.9, 0.1), {}),
                ("lr 0.2, momentum 0.5, no decay", (0.2,), {"momentum": 0.5})]
    hint = ("PyTorch's weight_decay is the L2 penalty: g = grad + weight_decay * p first; then, "
            "with momentum, b = momentum * b + g (b = g at the first step) and p -= lr * b; "
            "keep b for each parameter in state")
    return check_optimizer_step("8.2", sgd_step_,
                                torch_step(torch.optim.SGD, ("lr", "momentum", "weight_decay")),
                                settings, hint, BENCH)


def check_adamw_step(adamw_step_) -> bool:
    """Exercise 8.3: ``adamw_step_(params, grads, state, lr, betas, eps, weight_decay)``."""
    settings = [("lr 0.01, weight_decay 0.1", (0.01, (0.9, 0.999), 1e-8, 0.1), {}),
                ("lr 0.05, betas (0.5, 0.9), eps 0.1, weight_decay 1.0",
                 (0.05, (0.5, 0.9), 0.1, 1.0), {}),
                ("lr 0.002, the defaults otherwise (weight_decay 0.01)", (0.002,), {}),
                ("lr 0.01, weight_decay 0.5 given by name", (0.01,), {"weight_decay": 0.5})]
    hint = ("decoupled decay acts on the weights, not on the gradient: p *= 1 - lr * "
            "weight_decay, then Adam's step with the plain gradient (m and v never see the "
            "decay), bias-corrected with t counting this step")
    return check_optimizer_step("8.3", adamw_step_,
                                torch_step(torch.optim.AdamW,
                                           ("lr", "betas", "eps", "weight_decay")),
                                settings, hint, BENCH)


# ---------------------------------------------------------------- 8.4 early stopping
def early_stopping_reference(curve, patience, min_delta=0.0):
    """(the epoch training stops after, the best epoch), both counted from 1, for a loss curve.

    An epoch improves only if its loss is below the best so far by more than ``min_delta``
    (NaN never improves); training stops after ``patience`` epochs without improvement, or at
    the end of the curve. The best epoch is the last one that improved (0 if none did).
    """
    if patience < 1:
        raise ValueError(f"patience must be at least 1 epoch, got {patience}: with patience 0 "
                         f"training would stop after its first epoch whatever the loss")
    best, best_epoch = None, 0
    for epoch, value in enumerate(curve, start=1):
        if math.isfinite(value) and (best is None or value < best - min_delta):
            best, best_epoch = value, epoch
        if epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(curve), best_epoch


def check_early_stopping(early_stopping) -> bool:
    """Exercise 8.4: ``early_stopping(curve, patience, min_delta)`` -> (stop epoch, best epoch)."""
    rule = ("an epoch improves only if its loss is below the best so far by more than min_delta; "
            "stop after patience epochs in a row without improvement; epochs count from 1")
    rows = [("a clear minimum at epoch 4", ([0.9, 0.7, 0.6, 0.5, 0.55, 0.6, 0.7, 0.8], 3, 0.0),
             rule),
            ("patience 1", ([0.9, 0.7, 0.72, 0.5, 0.4], 1, 0.0), rule),
            ("never stops: the loss keeps falling", ([1.0, 0.9, 0.8, 0.7], 2, 0.0),
             "if patience never runs out, training ends after the last epoch of the curve"),
            ("a small improvement does not count with min_delta 0.01",
             ([0.9, 0.8, 0.795, 0.79, 0.785, 0.6], 3, 0.01),
             "compare with the best value so far minus min_delta, not with the previous epoch"),
            ("slow creep: each epoch beats the previous by less than min_delta, the best by more",
             ([1.0, 0.995, 0.99, 0.985, 0.98, 0.975, 0.97], 2, 0.008),
             "compare with the best *so far* (it only changes on an improvement), not with the "
             "previous epoch"),
            ("an improvement by exactly min_delta does not count",
             ([1.0, 0.75, 0.5, 0.25], 2, 0.25), "improving means beating the best by *more* than "
             "min_delta"),
            ("a tie with the best does not count", ([0.5, 0.5, 0.5, 0.4], 2, 0.0), rule),
            ("the first epoch is the best", ([0.3, 0.4, 0.5, 0.6, 0.7], 2, 0.0), rule),
            ("noise after the minimum", ([0.8, 0.6, 0.5, 0.52, 0.49, 0.51, 0.53, 0.5, 0.6], 3,
                                         0.0), rule),
            ("a NaN never improves", ([0.5, float("nan"), 0.7, 0.8, 0.9], 2, 0.0),
             "a NaN loss is not an improvement (every comparison with NaN is False, so test "
             "for an improvement, not for its absence)"),
            ("a NaN first loss, then improvements", ([float("nan"), 0.5, 0.4, 0.45, 0.5], 2,
                                                     0.0),
             "start from an infinite best (or no best yet): a NaN first epoch is no "
             "improvement, and the next finite loss is")]
    cases = [Case(description, args, early_stopping_reference(*args), names=("stop epoch",
                  "best epoch"), hint=hint, atol=0, rtol=0)
             for description, args, hint in rows]
    return check_function("8.4", early_stopping, cases)


# ---------------------------------------------------------------- 8.5 the Keras rate
def check_keep_probability(answer) -> bool:
    """Exercise 8.5: the notes' NumPy p (keep probability) that matches Keras's Dropout(0.8)."""
    return check_value("8.5", answer, 0.2,
                       hint="Keras's argument is the fraction of the units dropped; the NumPy "
                            "code's mask `rand < p` keeps a unit with probability p")
