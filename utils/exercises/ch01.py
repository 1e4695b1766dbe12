"""Checkers for the exercises of Chapter 1 (linear regression)."""

from __future__ import annotations

import itertools

import torch

from . import (Case, StudentError, check_function, check_value, explain, generator_problem, report,
               run_student)
from .comparison import short

_BROADCAST = ("if y has shape (n, 1), Xw + b - y must too; a (n,) vector minus a (n, 1) "
              "column broadcasts to an (n, n) matrix")


def _data(n: int, d: int, seed: int, noise: float = 0.1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = X @ torch.randn(d, 1, generator=g) + 0.7 + noise * torch.randn(n, 1, generator=g)
    return X, y


def _grad(X, y, w, b):
    w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
    loss = ((X @ w + b - y) ** 2 / 2).mean()
    return tuple(g.detach() for g in torch.autograd.grad(loss, (w, b)))


def check_linreg_grad(linreg_grad) -> None:
    """Exercise 1.1: ``linreg_grad(X, y, w, b)`` returns the gradients of the mean ½-squared loss."""
    cases = []
    for desc, n, d, seed in [("n=3 examples, d=2 features", 3, 2, 0),
                             ("one example (n=1)", 1, 3, 1),
                             ("one feature (d=1)", 50, 1, 2),
                             ("n=200, d=5", 200, 5, 3)]:
        X, y = _data(n, d, seed)
        g = torch.Generator().manual_seed(seed + 10)
        w, b = torch.randn(d, 1, generator=g), torch.randn((), generator=g)
        cases.append(Case(desc, (X, y, w, b), _grad(X, y, w, b), names=("grad_w", "grad_b"),
                          hint=f"grad_w = X.T @ r / n and grad_b = r.mean() with r = X @ w + b - y; {_BROADCAST}"))
    X, y, w, b = torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [5.0]]), torch.tensor([[1.0]]), torch.tensor(0.0)
    assert [g.item() for g in _grad(X, y, w, b)] == [-4.0, -2.5]
    cases.insert(0, Case("a case to do by hand: X=[[1],[2]], y=[[3],[5]], w=[[1]], b=0, where "
                         "grad_w = -4 and grad_b = -2.5", (X, y, w, b), _grad(X, y, w, b),
                         names=("grad_w", "grad_b"),
                         hint="the residuals are r = [-2, -3]; grad_w = (1*(-2) + 2*(-3)) / 2 and "
                              f"grad_b = (-2 - 3) / 2 (the ½ cancels the 2 of the square); {_BROADCAST}"))
    check_function("1.1", linreg_grad, cases)


def _lstsq(X, y):
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    theta = torch.linalg.lstsq(X1, y.double()).solution
    return theta[:-1].float(), theta[-1, 0].float()


def check_closed_form(closed_form) -> None:
    """Exercise 1.2: ``closed_form(X, y)`` returns the (w, b) that minimise the squared loss."""
    cases = []
    X = torch.tensor([[0.0], [1.0], [2.0]])
    cases.append(Case("3 points on the line y = 2x + 1, which must be recovered exactly",
                      (X, 2 * X + 1), (torch.tensor([[2.0]]), torch.tensor(1.0)), names=("w", "b"),
                      hint="append a column of ones to X so that b is estimated with w", atol=1e-4))
    for desc, n, d, seed in [("noisy data, n=100, d=3", 100, 3, 4),
                             ("exactly determined, n=d+1=5", 5, 4, 5),
                             ("data with a large offset (b = 0.7, features shifted by 50)", 80, 2, 6)]:
        X, y = _data(n, d, seed)
        if "offset" in desc:
            X = X + 50  # the same targets: b must absorb the shift
        cases.append(Case(desc, (X, y), _lstsq(X, y), names=("w", "b"), atol=2e-3, rtol=2e-3,
                          hint="solve (X1.T X1) theta = X1.T y with X1 = [X, 1]; torch.linalg.solve "
                               "or torch.linalg.lstsq is more accurate than inverting a matrix"))
    check_function("1.2", closed_form, cases)


def _epoch(minibatches, n: int, batch_size: int, generator) -> list[torch.Tensor]:
    """The batches of one call as 1-D index tensors; raises StudentError or ValueError (why)."""
    value, error = run_student(minibatches, (n, batch_size, generator))
    if error is None:  # batches may come from a generator function: take at most n + 1 of them
        try:
            batches = iter(value)
        except TypeError:
            raise ValueError(f"your function should return a list of index batches, got "
                             f"{short(value, 60)}") from None
        value, error = run_student(lambda: list(itertools.islice(batches, n + 1)))
    if error is not None:
        raise StudentError(error)
    batches = []
    for number, batch in enumerate(value, start=1):
        try:
            batch = torch.as_tensor(batch).reshape(-1)
        except Exception:
            raise ValueError(f"batch {number} is {short(batch, 60)}; each batch should be a tensor "
                             f"of indices") from None
        if batch.is_floating_point() or batch.is_complex() or batch.dtype == torch.bool:
            raise ValueError(f"batch {number} has dtype {batch.dtype}; indices must be integers "
                             f"(torch.randperm gives int64)")
        batches.append(batch.long())
    return batches


def check_minibatches(minibatches) -> None:
    """Exercise 1.3: ``minibatches(n, batch_size, generator)`` returns shuffled index batches.

    Besides the batches themselves, the order must come from the generator given: equally
    seeded generators give the same batches, and a new call (a new epoch) a new order.
    """
    if not callable(minibatches):
        report("1.3", "fail", "pass your function itself, e.g. check_minibatches(minibatches)")
        return
    for number, (n, batch_size) in enumerate([(10, 3), (100, 10), (7, 7), (5, 1), (4, 10)], start=1):
        where = f"n={n}, batch_size={batch_size}"
        try:
            batches = _epoch(minibatches, n, batch_size, torch.Generator().manual_seed(0))
        except StudentError as error:
            if number == 1 and isinstance(error.error, NotImplementedError):
                report("1.3", "not attempted", "not attempted yet (your function raises NotImplementedError)")
            else:
                report("1.3", "fail", f"{where}: {explain(error)}")
            return
        except ValueError as error:
            report("1.3", "fail", f"{where}: {error}")
            return
        sizes = [len(b) for b in batches]
        expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if sizes != expected:
            report("1.3", "fail", f"{where}: expected batch sizes {expected}, got {sizes}"
                                  " (every batch is full except possibly the last)")
            return
        seen = torch.cat(batches).sort().values
        if not torch.equal(seen, torch.arange(n)):
            report("1.3", "fail", f"{where}: every index 0..{n - 1} must appear exactly once "
                                  f"per epoch; got {seen.tolist()[:20]}")
            return
        if n == 100:
            order = torch.cat(batches)
    if torch.equal(order, torch.arange(100)):
        report("1.3", "fail", "the batches are not shuffled: SGD needs a random order each epoch")
        return
    problem = generator_problem(lambda g: torch.cat(_epoch(minibatches, 100, 10, g)))
    if problem:
        report("1.3", "fail", f"n=100, batch_size=10: {problem}; torch.randperm(n, generator=generator) "
                              "does all of this")
        return
    report("1.3", "pass", "batches cover every example once, are shuffled, and are reproducible.")


def critical_lr_data():
    """The data set of Exercise 1.4: 200 examples with two features of very different scale.

    The features are far from centred, so the bias matters: leaving the column of ones out
    of the Hessian moves the critical learning rate by about 20%, not within rounding.
    """
    g = torch.Generator().manual_seed(14)
    X = torch.randn(200, 2, generator=g) * torch.tensor([0.2, 1.0]) + torch.tensor([0.5, 1.5])
    y = X @ torch.tensor([[1.0], [-2.0]]) + 0.3 + 0.1 * torch.randn(200, 1, generator=g)
    return X, y


def check_critical_lr(answer) -> None:
    """Exercise 1.4: the learning rate above which gradient descent diverges on ``critical_lr_data``."""
    X, _ = critical_lr_data()
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    expected = 2 / torch.linalg.eigvalsh(X1.T @ X1 / len(X1)).max().item()
    check_value("1.4", answer, expected,
                hint="gradient descent on a quadratic converges when lr < 2 / (largest eigenvalue "
                     "of the Hessian); here the Hessian is X1.T @ X1 / n with X1 = [X, 1]")


def check_mse_lr(answer) -> None:
    """Exercise 1.5: the lr that makes ``nn.MSELoss`` follow the ½-loss trajectory with lr = 0.03."""
    check_value("1.5", answer, 0.015,
                hint="nn.MSELoss has no ½, so its gradient is twice ours; which lr undoes that?")
