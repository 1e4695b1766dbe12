"""Checkers for the exercises of Chapter 3 (multilayer perceptrons and activation functions)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Case, check_function, check_value, report
from .comparison import short

_HUGE = torch.tensor([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0])


def check_log_sigmoid(log_sigmoid) -> None:
    """Exercise 3.1: log σ(x), accurate to 1e-5 for inputs as large as ±1000 in float32."""
    g = torch.Generator().manual_seed(31)
    hint = ("log(sigmoid(x)) rounds sigmoid(-1000) to 0 and its log to -inf, and "
            "exp(x) / (1 + exp(x)) is inf/inf = nan at x = 1000. Use "
            "log σ(x) = min(x, 0) - log(1 + exp(-|x|)) (torch.log1p): the exponent is never positive")
    inputs = [("x = 0, where log σ(0) = -log 2", torch.tensor([0.0])),
              ("moderate values, x in [-5, 5]", torch.linspace(-5, 5, 11)),
              ("a random batch of shape (4, 6)", torch.randn(4, 6, generator=g) * 3),
              ("huge inputs, ±1000 and ±100 (float32)", _HUGE)]
    cases = [Case(desc, (x,), F.logsigmoid(x), hint=hint, atol=1e-5, rtol=1e-5)
             for desc, x in inputs]
    cases.append(Case("float64 input: the result must stay float64", (_HUGE.double(),),
                      F.logsigmoid(_HUGE.double()), atol=1e-5, rtol=1e-5,
                      hint="do not hard-code the dtype of intermediate tensors: torch.zeros(n) is "
                           "float32, torch.zeros_like(x) has the dtype of x"))
    check_function("3.1", log_sigmoid, cases)


def _collapse(W1, b1, W2, b2):
    return W2 @ W1, W2 @ b1 + b2


def check_collapse(collapse) -> None:
    """Exercise 3.2: one linear layer (W, b) equal to Linear(W1, b1) followed by Linear(W2, b2)."""
    g = torch.Generator().manual_seed(32)
    shapes = [("by hand: 1 -> 1 -> 1, W1=[[2]], b1=[1], W2=[[3]], b2=[-1]", None),
              ("square layers, 3 -> 3 -> 3", (3, 3, 3)),
              ("widening then narrowing, 2 -> 5 -> 1", (2, 5, 1)),
              ("narrowing then widening, 6 -> 2 -> 4", (6, 2, 4))]
    cases = []
    for desc, shape in shapes:
        if shape is None:
            args = (torch.tensor([[2.0]]), torch.tensor([1.0]), torch.tensor([[3.0]]),
                    torch.tensor([-1.0]))
        else:
            d, h, q = shape
            args = (torch.randn(h, d, generator=g), torch.randn(h, generator=g),
                    torch.randn(q, h, generator=g), torch.randn(q, generator=g))
        cases.append(Case(desc, args, _collapse(*args), names=("W", "b"),
                          hint="apply the two layers to x: W2 (W1 x + b1) + b2 = (W2 W1) x + "
                               "(W2 b1 + b2). W has shape (out of layer 2, in of layer 1); "
                               "the order of the product matters"))
    check_function("3.2", collapse, cases)


def _maxout(X, W, b):
    return (torch.einsum("nd,kmd->knm", X, W) + b[:, None, :]).max(dim=0).values


def check_maxout(maxout) -> None:
    """Exercise 3.3: ``maxout(X, W, b)`` with X (n, d), W (k, m, d), b (k, m) -> (n, m)."""
    g = torch.Generator().manual_seed(33)
    X = torch.randn(5, 3, generator=g)
    one = torch.tensor([[-2.0], [0.5], [3.0]])
    relu_W = torch.stack([torch.eye(3), torch.zeros(3, 3)])            # max(x, 0) = ReLU
    inputs = [("by hand: k=2 pieces max(x, -x) = |x| on x = [-2, 0.5, 3]",
               one, torch.tensor([[[1.0]], [[-1.0]]]), torch.zeros(2, 1)),
              ("k=1 piece is just a linear layer", X, torch.randn(1, 4, 3, generator=g),
               torch.randn(1, 4, generator=g)),
              ("k=2 pieces, with the second all zero: this is ReLU", X, relu_W, torch.zeros(2, 3)),
              ("k=3 pieces, m=4 units, biases", X, torch.randn(3, 4, 3, generator=g),
               torch.randn(3, 4, generator=g)),
              ("one example (n=1)", X[:1], torch.randn(4, 2, 3, generator=g),
               torch.randn(4, 2, generator=g))]
    cases = [Case(desc, (X, W, b), _maxout(X, W, b),
                  hint="compute all k linear pieces, X @ W[j].T + b[j] for each j, stack them "
                       "(shape (k, n, m)) and take the maximum over the pieces (dim 0), not over "
                       "the units; .max(dim=...) returns (values, indices)")
             for desc, X, W, b in inputs]
    check_function("3.3", maxout, cases)


def _swish_grad(x, beta):
    x = x.clone().requires_grad_(True)
    (x * torch.sigmoid(beta * x)).sum().backward()
    return x.grad


def check_swish_grad(swish_grad) -> None:
    """Exercise 3.4: d/dx of swish_β(x) = x σ(βx), written without autograd."""
    x = torch.linspace(-6, 6, 25)
    inputs = [("β = 1 (SiLU), x in [-6, 6]", x, 1.0),
              ("β = 0: swish is x / 2, its derivative 1/2", x, 0.0),
              ("β = 0.5", x, 0.5),
              ("β = 10: close to ReLU", x, 10.0),
              ("large inputs ±50, β = 1", torch.tensor([-50.0, -20.0, 20.0, 50.0]), 1.0),
              ("huge inputs ±100 and ±1000 (float32), β = 1", _HUGE, 1.0),
              ("huge inputs, β = 10", _HUGE, 10.0)]
    hint = ("product rule: d/dx [x σ(βx)] = σ(βx) + x · β σ(βx)(1 - σ(βx)); do not forget the inner "
            "factor β of the chain rule. Write it with torch.sigmoid: e^(-βx) overflows to inf in "
            "float32 once -βx > 88, and inf/inf is nan")
    cases = [Case(desc, (x, beta), _swish_grad(x, beta), atol=1e-5, hint=hint)
             for desc, x, beta in inputs]
    check_function("3.4", swish_grad, cases)


def check_maxout_parameters(answer) -> None:
    """Exercise 3.5: parameters of 784 -> Maxout(256 units, k=2) -> Linear(10)."""
    check_value("3.5", answer, 784 * 256 * 2 + 256 * 2 + 256 * 10 + 10, exact=True,
                hint="each Maxout unit has k = 2 linear pieces, each with 784 weights and a bias; "
                     "then count the output layer's weights and biases")


NON_MONOTONE = {"gelu", "silu", "mish"}
NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "mish", "softplus"]


def check_non_monotone(answer) -> None:
    """Exercise 3.6: which of ``NAMES`` are not monotone (with PyTorch's default parameters)."""
    if answer is None:
        report("3.6", "not attempted", "not attempted yet: assign a set of names, e.g. {'relu'}")
        return
    if (not isinstance(answer, (set, frozenset, list, tuple))
            or not all(isinstance(a, str) for a in answer)):
        report("3.6", "fail", f"the answer should be a set of names such as {{'tanh', 'elu'}}, "
                              f"got {short(answer, 60)}")
        return
    given = {a.lower().strip() for a in answer}
    unknown = given - set(NAMES)
    if unknown:
        report("3.6", "fail", f"unknown name(s) {sorted(unknown)}; choose from {NAMES}")
        return
    x = torch.linspace(-6, 6, 1201, requires_grad=True)
    for name in sorted(given - NON_MONOTONE):
        slope, = torch.autograd.grad(getattr(F, name)(x).sum(), x)
        report("3.6", "fail", f"{name} is monotone: its derivative is never negative (smallest "
                              f"value {slope.min():.3g} on [-6, 6]); plot it in the explorer")
        return
    missing = NON_MONOTONE - given
    if missing:
        report("3.6", "fail", f"{len(missing)} non-monotone function(s) missing: look in the "
                              "explorer for a stretch where the function decreases (its "
                              "derivative is negative); going below zero is not the test, "
                              "ELU and Leaky ReLU do that and still only rise")
        return
    report("3.6", "pass", "correct: each of them decreases somewhere before it rises.")
