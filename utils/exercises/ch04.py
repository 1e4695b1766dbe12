"""Checkers for the exercises of Chapter 4 (backpropagation)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Case, check_function, check_value, explain, report, run_student
from .comparison import as_number, short


def _tied_grads(X, W, G):
    X, W = (t.clone().requires_grad_(True) for t in (X, W))
    ((X @ W.T) @ W).backward(G)
    return X.grad, W.grad


def check_tied_backward(tied_backward) -> None:
    """Exercise 4.1: a linear autoencoder with tied weights, X_hat = (X W^T) W.

    Given X (n, d), W (q, d) and G = dL/dX_hat (n, d), return (dX, dW). W is used twice, so
    its gradient is the sum of two contributions.
    """
    g = torch.Generator().manual_seed(41)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    inputs = [("by hand: X=[[1, 2]], W=[[3, 4]], G=[[1, 0]]", torch.tensor([[1.0, 2.0]]),
               torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])),
              ("a batch of 4, d=3, a code of q=2", randn(4, 3), randn(2, 3), randn(4, 3)),
              ("a square W (q = d = 3): a wrong transpose keeps the shape", randn(5, 3),
               randn(3, 3), randn(5, 3)),
              ("one example (n=1), d=5, q=2", randn(1, 5), randn(2, 5), randn(1, 5)),
              ("a batch of 16, d=4, a code of q=1", randn(16, 4), randn(1, 4), randn(16, 4))]
    hint = ("W is used twice, by the encoder Z = X W^T and by the decoder X_hat = Z W, so dW is "
            "the sum of two contributions, each the weight gradient of one linear map. Find dZ "
            "first, and let the shapes decide the order of each product")
    cases = [Case(desc, (X, W, G), _tied_grads(X, W, G), names=("dX", "dW"), hint=hint)
             for desc, X, W, G in inputs]
    check_function("4.1", tied_backward, cases)


def check_tanh_backward(tanh_backward) -> None:
    """Exercise 4.2: dL/dz for t = tanh(z), from the output t and dL/dt only."""
    g = torch.Generator().manual_seed(42)
    z = torch.randn(3, 4, generator=g) * 2
    inputs = [("z = 0 (t = 0)", torch.zeros(3), torch.ones(3)),
              ("a batch (3, 4)", z, torch.randn(3, 4, generator=g)),
              ("saturated units, z = ±10", torch.tensor([-10.0, 10.0]), torch.tensor([1.0, 1.0]))]
    cases = []
    for desc, z, G in inputs:
        leaf = z.clone().requires_grad_(True)
        torch.tanh(leaf).backward(G)
        cases.append(Case(desc, (torch.tanh(z), G), leaf.grad, atol=1e-6,
                          hint="differentiate tanh(z) = (e^z - e^-z) / (e^z + e^-z) with the "
                               "quotient rule and write the result with t = tanh(z) alone; "
                               "the backward pass then combines it with the incoming gradient"))
    check_function("4.2", tanh_backward, cases)


class _NotAValue(Exception):
    """The student's function returned something other than a Value."""


def check_power_node(power, Value) -> None:
    """Exercise 4.3: ``power(a, b)``, the operation a ** b on two ``Value``s of the chapter's
    scalar engine (a > 0), with a backward pass that reaches both the base and the exponent.
    """
    if not callable(power) or isinstance(power, type):
        report("4.3", "fail", f"expected a function, got {short(power, 60)}: pass your function "
                              f"itself, check_power_node(my_power, Value)")
        return
    if not isinstance(Value, type):
        report("4.3", "fail", f"the second argument should be the chapter's Value class, got "
                              f"{short(Value, 60)}: check_power_node(my_power, Value)")
        return

    def node(a, b):  # the student's power, refusing anything but a Value
        out = power(a, b)
        if not isinstance(out, Value):
            raise _NotAValue(out)
        return out

    ln = math.log
    # (description, leaf values, build from the leaves, value, expected gradient of each leaf)
    tests = [("a ** b at a = 2, b = 3", (2.0, 3.0), lambda a, b: node(a, b), 8.0,
              (12.0, 8 * ln(2))),
             ("a ** b at a = 4, b = 0.5 (a square root)", (4.0, 0.5), lambda a, b: node(a, b),
              2.0, (0.25, 2 * ln(4))),
             ("x ** x at x = 2: x is base and exponent, its gradients must add up", (2.0,),
              lambda x: node(x, x), 4.0, (4 * (ln(2) + 1),)),
             ("(a ** b) ** b at a = 1.5, b = 2: a chain of two", (1.5, 2.0),
              lambda a, b: node(node(a, b), b), 1.5 ** 4, (4 * 1.5 ** 3, 1.5 ** 4 * 4 * ln(1.5)))]
    for number, (desc, starts, build, value, grads) in enumerate(tests, start=1):
        where = f"case {number} of {len(tests)} ({desc})"
        leaves = []
        for x0 in starts:
            leaf, error = run_student(Value, (x0,))
            if error is not None:
                report("4.3", "fail", f"Value({x0}) raised {type(error).__name__}: pass the "
                                      f"chapter's Value class as the second argument")
                return
            leaves.append(leaf)
        out, error = run_student(build, tuple(leaves))
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
        names = ["a", "b"] if len(starts) == 2 else ["x"]
        checks = [("the value", getattr(out, "data", None), value, "")]
        checks += [(f"{name}.grad", getattr(leaf, "grad", None), grad, name)
                   for name, leaf, grad in zip(names, leaves, grads)]
        for what, got, right, name in checks:
            got, problem = as_number(got, what)
            if problem or not math.isclose(got, right, rel_tol=1e-6, abs_tol=1e-9):
                problem = problem or f"{what} is {got:.6g}, expected {right:.6g}"
                if name == "x":
                    hint = ("x is both the base and the exponent: each role contributes to "
                            "x.grad, so both must be added (+=), not assigned")
                elif name == "a":
                    hint = ("for the base, treat b as a constant (the power rule), multiply by "
                            "out.grad and add it to a.grad")
                elif name == "b":
                    hint = ("for the exponent, treat a as a constant: a^b = e^(b ln a); "
                            "multiply by out.grad and add it to b.grad")
                else:
                    hint = "out.data is a.data ** b.data"
                report("4.3", "fail", f"{where}: {problem}. Hint: {hint}")
                return
    report("4.3", "pass", f"passed all {len(tests)} cases.")


def _residual_grads(X, y, W1, b1, W2, b2, W3, b3):
    params = [t.clone().requires_grad_(True) for t in (W1, b1, W2, b2, W3, b3)]
    W1, b1, W2, b2, W3, b3 = params
    A1 = torch.relu(X @ W1.T + b1)
    A2 = A1 + torch.relu(A1 @ W2.T + b2)
    F.cross_entropy(A2 @ W3.T + b3, y).backward()
    return tuple(p.grad for p in params)


def check_residual_backward(residual_backward) -> None:
    """Exercise 4.4: all gradients of a ReLU network with a skip connection and the mean
    cross-entropy, by hand (no autograd)."""
    g = torch.Generator().manual_seed(44)
    names = ("dW1", "db1", "dW2", "db2", "dW3", "db3")
    hint = ("go backwards one forward line at a time, one vector-Jacobian product each, as in "
            "the chapter's table; a value that two later lines use receives a gradient from each")
    cases = []
    for desc, n, d, h, q in [("a batch of 8, 4 -> 5 -> 5 -> 3", 8, 4, 5, 3),
                             ("one example (n=1), 3 -> 6 -> 6 -> 2", 1, 3, 6, 2),
                             ("a batch of 32, 10 -> 16 -> 16 -> 10", 32, 10, 16, 10)]:
        args = (torch.randn(n, d, generator=g), torch.randint(0, q, (n,), generator=g),
                torch.randn(h, d, generator=g), torch.randn(h, generator=g),
                torch.randn(h, h, generator=g) / math.sqrt(h), torch.randn(h, generator=g),
                torch.randn(q, h, generator=g), torch.randn(q, generator=g))
        cases.append(Case(desc, args, _residual_grads(*args), names=names, atol=1e-5, hint=hint))
    X, y, W1, b1, W2, b2, W3, b3 = cases[0].args
    huge = (X, y, W1, b1, W2, b2, W3 * 1000, b3)             # logits in the thousands
    cases.append(Case("the first batch with W3 1000 times larger: logits in the thousands", huge,
                      _residual_grads(*huge), names=names, atol=1e-3,
                      hint="exp(1000) overflows to inf and inf/inf is nan: take the softmax with "
                           "torch.softmax, or subtract each row's maximum before exponentiating"))
    check_function("4.4", residual_backward, cases)


def check_reverse_passes(answer) -> None:
    """Exercise 4.5: passes of the cheaper mode for the full Jacobian of f: R^1000 -> R^10."""
    check_value("4.5", answer, 10, exact=True,
                hint="one pass of one mode gives a row of the Jacobian, one pass of the other "
                     "a column; count the rows and the columns")


def check_sigmoid_bound(answer) -> None:
    """Exercise 4.6: the bound on d a_10 / d a_0 for a_k = sigmoid(2 a_{k-1})."""
    check_value("4.6", answer, (2 / 4) ** 10,
                hint="write the derivative of one link, a_k = σ(2 a_(k-1)), with the chain rule: "
                     "which factors does it have, and how large can each be? Then chain ten")


def check_tanh_factor(answer) -> None:
    """Exercise 4.7: the per-layer factor of the gradient norm, tanh with PyTorch's default
    initialization (uniform in ±1/sqrt(fan-in), a variance of 1/(3 fan-in))."""
    check_value("4.7", answer, math.sqrt(1 / 3),
                hint="near 0, tanh' is about 1, so only the weights' part of the factor is left. "
                     "What does fan-in × v come to with PyTorch's default v, and does it scale "
                     "a vector's length or its squared length?")
