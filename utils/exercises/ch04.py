"""Checkers for the exercises of Chapter 4 (backpropagation)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Case, check_function, check_value, explain, report, run_student
from .comparison import as_number, short


def _linear_grads(X, W, b, G):
    X, W, b = (t.clone().requires_grad_(True) for t in (X, W, b))
    (X @ W.T + b).backward(G)
    return X.grad, W.grad, b.grad


def check_linear_backward(linear_backward) -> None:
    """Exercise 4.1: gradients of Y = X W^T + b given dL/dY: returns (dX, dW, db)."""
    g = torch.Generator().manual_seed(41)
    inputs = [("by hand: X=[[1, 2]], W=[[3, 4]], b=[5], dL/dY=[[1]]",
               torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]]), torch.tensor([5.0]),
               torch.tensor([[1.0]])),
              ("a batch of 4, 3 inputs, 2 outputs", torch.randn(4, 3, generator=g),
               torch.randn(2, 3, generator=g), torch.randn(2, generator=g),
               torch.randn(4, 2, generator=g)),
              ("one example (n=1), 5 inputs, 3 outputs", torch.randn(1, 5, generator=g),
               torch.randn(3, 5, generator=g), torch.randn(3, generator=g),
               torch.randn(1, 3, generator=g)),
              ("a batch of 16, 1 output", torch.randn(16, 4, generator=g),
               torch.randn(1, 4, generator=g), torch.randn(1, generator=g),
               torch.randn(16, 1, generator=g))]
    cases = [Case(desc, (X, W, b, G), _linear_grads(X, W, b, G), names=("dX", "dW", "db"),
                  hint="each gradient has the shape of its variable: dX = G @ W (n, d), "
                       "dW = G.T @ X (m, d), db = G.sum(0) (m,): the bias is added to every "
                       "example, so its gradient sums over the batch")
             for desc, X, W, b, G in inputs]
    check_function("4.1", linear_backward, cases)


def check_tanh_backward(tanh_backward) -> None:
    """Exercise 4.2: dL/dz for t = tanh(z), from the output t and dL/dt only."""
    g = torch.Generator().manual_seed(42)
    z = torch.randn(3, 4, generator=g) * 2
    inputs = [("z = 0 (t = 0), where tanh'(0) = 1", torch.zeros(3), torch.ones(3)),
              ("a batch (3, 4)", z, torch.randn(3, 4, generator=g)),
              ("saturated units, z = ±10", torch.tensor([-10.0, 10.0]), torch.tensor([1.0, 1.0]))]
    cases = []
    for desc, z, G in inputs:
        leaf = z.clone().requires_grad_(True)
        torch.tanh(leaf).backward(G)
        cases.append(Case(desc, (torch.tanh(z), G), leaf.grad, atol=1e-6,
                          hint="tanh'(z) = 1 - tanh(z)^2 = 1 - t^2: the backward pass needs only "
                               "the saved output t; multiply elementwise by the incoming gradient"))
    check_function("4.2", tanh_backward, cases)


class _NotAValue(Exception):
    """The student's exp returned something other than a Value."""


def check_exp_node(exp, Value) -> None:
    """Exercise 4.3: an ``exp`` operation for the chapter's scalar ``Value`` engine.

    ``exp(v)`` must return a new Value whose backward adds ``out.grad * e^{v}`` to ``v.grad``.
    """
    if not callable(exp):
        report("4.3", "fail", f"expected a function, got {short(exp, 60)}: pass your function "
                              f"itself, check_exp_node(my_exp, Value)")
        return
    if not isinstance(Value, type):
        report("4.3", "fail", f"the second argument should be the chapter's Value class, got "
                              f"{short(Value, 60)}: check_exp_node(my_exp, Value)")
        return

    def node(v):  # the student's exp, refusing anything but a Value
        out = exp(v)
        if not isinstance(out, Value):
            raise _NotAValue(out)
        return out

    tests = [("exp(x) at x = 0", 0.0, lambda x: node(x), 1.0, 1.0),
             ("exp(x) at x = 2", 2.0, lambda x: node(x), math.exp(2), math.exp(2)),
             ("exp(x) * x at x = 1: x is used twice, gradients must add up", 1.0,
              lambda x: node(x) * x, math.e, 2 * math.e),
             ("exp(exp(x)) at x = 0.5: a chain of two", 0.5, lambda x: node(node(x)),
              math.exp(math.exp(0.5)), math.exp(math.exp(0.5)) * math.exp(0.5))]
    for number, (desc, x0, build, value, grad) in enumerate(tests, start=1):
        where = f"case {number} of {len(tests)} ({desc})"
        x, error = run_student(Value, (x0,))
        if error is not None:
            report("4.3", "fail", f"Value({x0}) raised {type(error).__name__}: pass the chapter's "
                                  f"Value class as the second argument")
            return
        out, error = run_student(build, (x,))
        if error is None:
            _, error = run_student(out.backward)
        if isinstance(error, NotImplementedError) and number == 1:
            report("4.3", "not attempted", "not attempted yet (your function raises "
                                           "NotImplementedError); replace it with your code")
            return
        if isinstance(error, _NotAValue):
            returned = error.args[0]
            report("4.3", "fail", f"{where}: your function returned {short(returned, 60)}"
                                  f"{'' if returned is None else f' (a {type(returned).__name__})'}; "
                                  f"return the new Value")
            return
        if error is not None:
            report("4.3", "fail", f"{where}: {explain(error)}")
            return
        for what, got, right in [("the value", getattr(out, "data", None), value),
                                 ("x.grad", getattr(x, "grad", None), grad)]:
            got, problem = as_number(got, what)
            if problem or not math.isclose(got, right, rel_tol=1e-6):
                hint = ("use +=, not =, in _backward: a node used twice receives a gradient from "
                        "each use" if number == 3 else "d e^v / dv = e^v, times out.grad (the chain "
                        "rule); set out._backward to a function that adds this to v.grad")
                problem = problem or f"{what} is {got:.6g}, expected {right:.6g}"
                report("4.3", "fail", f"{where}: {problem}."
                                      + (f" Hint: {hint}" if what == "x.grad" else ""))
                return
    report("4.3", "pass", f"passed all {len(tests)} cases.")


def _mlp_grads(X, y, W1, b1, W2, b2):
    params = [t.clone().requires_grad_(True) for t in (W1, b1, W2, b2)]
    W1, b1, W2, b2 = params
    F.cross_entropy(torch.relu(X @ W1.T + b1) @ W2.T + b2, y).backward()
    return tuple(p.grad for p in params)


def check_mlp_backward(mlp_backward) -> None:
    """Exercise 4.4: all gradients of a ReLU MLP with cross-entropy, by hand (no autograd)."""
    g = torch.Generator().manual_seed(44)
    cases = []
    hint = ("go backwards: dO = (softmax(O) - one_hot(y)) / n; dW2 = dO.T @ H, db2 = dO.sum(0); "
            "dH = dO @ W2; dZ = dH * (Z > 0); dW1 = dZ.T @ X, db1 = dZ.sum(0)")
    for desc, n, d, h, q in [("a batch of 8, 4 -> 5 -> 3", 8, 4, 5, 3),
                             ("one example (n=1), 3 -> 6 -> 2", 1, 3, 6, 2),
                             ("a batch of 32, 10 -> 16 -> 10", 32, 10, 16, 10)]:
        args = (torch.randn(n, d, generator=g), torch.randint(0, q, (n,), generator=g),
                torch.randn(h, d, generator=g), torch.randn(h, generator=g),
                torch.randn(q, h, generator=g), torch.randn(q, generator=g))
        cases.append(Case(desc, args, _mlp_grads(*args), names=("dW1", "db1", "dW2", "db2"),
                          atol=1e-5, hint=hint))
    X, y, W1, b1, W2, b2 = cases[0].args
    huge = (X, y, W1, b1, W2 * 1000, b2)                    # logits in the thousands
    cases.append(Case("the first batch with W2 1000 times larger: logits in the thousands", huge,
                      _mlp_grads(*huge), names=("dW1", "db1", "dW2", "db2"), atol=1e-3,
                      hint="exp(1000) overflows to inf and inf/inf is nan: take the softmax with "
                           "torch.softmax, or subtract each row's maximum before exponentiating"))
    check_function("4.4", mlp_backward, cases)


def check_reverse_passes(answer) -> None:
    """Exercise 4.5: reverse-mode passes for the full Jacobian of f: R^1000 -> R^10."""
    check_value("4.5", answer, 10, exact=True,
                hint="one backward pass gives the gradient of one output with respect to every "
                     "input, that is, one row of the Jacobian")


def check_sigmoid_bound(answer) -> None:
    """Exercise 4.6: the largest factor a gradient keeps through 10 sigmoids with unit weights."""
    check_value("4.6", answer, 0.25 ** 10,
                hint="each sigmoid multiplies the gradient by σ'(z) = σ(z)(1 - σ(z)); what is its "
                     "largest value, and where?")
