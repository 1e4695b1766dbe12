"""Checkers for the exercises of Chapter 5 (initialization)."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from . import Case, check_distribution, check_function, check_value, explain, report, run_student
from .comparison import Law, law_problem, short


def _fans(shape) -> tuple[int, int]:
    """fan_in and fan_out of a weight of this shape, as torch.nn.init computes them."""
    return nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


class NotInPlace(Exception):
    """The student's initializer left the tensor it was given unchanged."""


def _in_place(student, what: str):
    """A function of (shape, *rest) that hands the student a tensor and returns that tensor.

    The student's initializer must fill the tensor it receives (as torch.nn.init does); what it
    returns does not matter, except that returning a new tensor while leaving the given one
    untouched is reported.
    """
    def call(shape, *rest):
        tensor = torch.full(shape, math.nan)
        returned = student(tensor, *rest)
        if torch.isnan(tensor).all():
            raise NotInPlace(f"{what} must fill the tensor it is given, in place (e.g. "
                             f"tensor.uniform_(..., generator=generator) or tensor.copy_(...)); "
                             f"the tensor is unchanged"
                             + (" and a new one was returned" if isinstance(returned, torch.Tensor)
                                else ""))
        return tensor
    return call


def check_fans(fans) -> None:
    """Exercise 5.1: ``fans(shape)`` returns (fan_in, fan_out) of a weight of that shape."""
    shapes = [((256, 784), "a Linear(784, 256) weight: (out, in)"),
              ((10, 10), "a square Linear weight"),
              ((64, 3, 7, 7), "a Conv2d(3, 64, 7) weight: (out channels, in channels, kh, kw)"),
              ((32, 16, 3, 5), "a Conv2d weight with a 3 x 5 kernel"),
              ((8, 4, 5), "a Conv1d(4, 8, 5) weight"),
              ((6, 2, 3, 3, 3), "a Conv3d(2, 6, 3) weight"),
              ((1, 1, 1, 1), "a 1 x 1 convolution with one channel")]
    hint = ("a weight is (out, in, *kernel): every output sees in x (kernel size) inputs, and "
            "every input reaches out x (kernel size) outputs")
    cases = [Case(desc, (shape,), tuple(float(v) for v in _fans(shape)),
                  names=("fan_in", "fan_out"), hint=hint, atol=0, rtol=0) for shape, desc in shapes]
    check_function("5.1", fans, cases)


SHAPES = [((300, 200), "a Linear(200, 300) weight"),
          ((64, 32, 3, 3), "a Conv2d(32, 64, 3) weight"),
          ((128, 512), "a Linear(512, 128) weight")]


def check_xavier_uniform(xavier_uniform_) -> None:
    """Exercise 5.2: ``xavier_uniform_(tensor, gain, generator)`` fills ``tensor`` in place."""
    hint = ("Var[U(-a, a)] = a^2 / 3, and Xavier's variance is gain^2 x 2 / (fan_in + fan_out); "
            "for a convolution both fans include the kernel size")
    cases = []
    for (shape, desc), gain in zip(SHAPES, (1.0, 5 / 3, math.sqrt(2))):
        fan_in, fan_out = _fans(shape)
        bound = gain * math.sqrt(6 / (fan_in + fan_out))
        cases.append(Case(f"{desc}, gain {gain:.3g}", (shape, gain, torch.Generator().manual_seed(7)),
                          Law.uniform(-bound, bound, shape), hint=hint))
    if not callable(xavier_uniform_):
        check_distribution("5.2", xavier_uniform_, cases)
        return
    check_distribution("5.2", _in_place(xavier_uniform_, "xavier_uniform_"), cases)


def check_kaiming_normal(kaiming_normal_) -> None:
    """Exercise 5.3: ``kaiming_normal_(tensor, mode, generator)`` for ReLU, in place."""
    hint = ("He's variance for ReLU is 2 / fan, where fan is fan_in for mode 'fan_in' (keeps the "
            "forward signal) and fan_out for 'fan_out' (keeps the gradient)")
    cases = []
    for (shape, desc), mode in zip(SHAPES + [SHAPES[1]], ("fan_in", "fan_out", "fan_out",
                                                           "fan_in")):
        fan = _fans(shape)[0 if mode == "fan_in" else 1]
        cases.append(Case(f"{desc}, mode {mode!r}", (shape, mode, torch.Generator().manual_seed(8)),
                          Law.normal(0.0, math.sqrt(2 / fan), shape), hint=hint))
    if not callable(kaiming_normal_):
        check_distribution("5.3", kaiming_normal_, cases)
        return
    check_distribution("5.3", _in_place(kaiming_normal_, "kaiming_normal_"), cases)


def check_relu_std(answer) -> None:
    """Exercise 5.4: std of the 20th pre-activation, ReLU stack with LeCun's variance 1/n."""
    check_value("5.4", answer, 2 ** -9.5,
                hint="the first layer keeps the variance (n x 1/n x E[x^2] = 1); each of the "
                     "19 layers after it sees the output of a ReLU, whose mean square is half "
                     "the variance of its input; and a standard deviation is a square root")


def check_leaky_gain(answer) -> None:
    """Exercise 5.7: the gain for LeakyReLU with negative slope 0.2."""
    check_value("5.7", answer, math.sqrt(2 / (1 + 0.2 ** 2)),
                hint="for z ~ N(0, q), half of the z are positive and keep z^2, half are negative "
                     "and give (a z)^2; the gain is the number whose square times that mean "
                     "square gives back q")


def _orthogonal_problem(W, rows: int, cols: int) -> str | None:
    if not isinstance(W, torch.Tensor):
        return f"your result should be a tensor of shape {(rows, cols)}, got {short(W, 60)}"
    if tuple(W.shape) != (rows, cols):
        return f"expected shape {(rows, cols)}, got shape {tuple(W.shape)}"
    if not W.is_floating_point():
        return f"your result has dtype {W.dtype}; it should be floating point"
    W = W.detach().double()
    if not torch.isfinite(W).all():
        return "your result contains NaN or infinite values"
    small = min(rows, cols)
    gram = W @ W.T if rows <= cols else W.T @ W
    error = (gram - torch.eye(small, dtype=torch.float64)).abs()
    if error.max() > 1e-4:
        i, j = divmod(int(error.argmax()), small)
        which = "rows" if rows <= cols else "columns"
        return (f"its {which} are not orthonormal: the dot product of {which[:-1]} {i} with "
                f"{which[:-1]} {j} is {float(gram[i, j]):.4g}, it should be "
                f"{1 if i == j else 0}")
    if rows * cols >= 10_000:   # a random orthogonal matrix has entries like N(0, 1/max(rows, cols))
        problem = law_problem(W, Law.normal(0.0, 1 / math.sqrt(max(rows, cols))), "its entries")
        if problem:
            return (problem + "; a random orthogonal matrix spreads every vector over all "
                              "directions (signed permutations are orthogonal but not random)")
    return None


def check_orthogonal(orthogonal) -> None:
    """Exercise 5.5: ``orthogonal(rows, cols, generator)`` a random (semi-)orthogonal matrix."""
    if not callable(orthogonal):
        check_function("5.5", orthogonal, [])
        return
    for number, (rows, cols) in enumerate([(256, 256), (128, 300), (300, 128), (3, 3)], start=1):
        where = f"case {number} of 4 ({rows} x {cols})"
        W, error = run_student(orthogonal, (rows, cols, torch.Generator().manual_seed(number)))
        if isinstance(error, NotImplementedError) and number == 1:
            report("5.5", "not attempted", "not attempted yet (your function raises "
                                           "NotImplementedError); replace it with your code")
            return
        if error is not None:
            report("5.5", "fail", f"{where}: {explain(error)}.")
            return
        try:
            problem = _orthogonal_problem(W, rows, cols)
        except Exception as error:                       # an output too odd to read
            problem = f"your result could not be read ({type(error).__name__})"
        if problem:
            report("5.5", "fail", f"{where}: {problem}. Hint: take the Q of a QR decomposition "
                                  f"of a Gaussian matrix of the larger shape, transposed "
                                  f"where needed")
            return

    def draw(seed):
        value, error = run_student(orthogonal, (64, 64, torch.Generator().manual_seed(seed)))
        return value if error is None and isinstance(value, torch.Tensor) else None
    first, again, other = draw(0), draw(0), draw(1)
    if first is None or again is None or other is None or not torch.equal(first, again):
        report("5.5", "fail", "two generators seeded alike gave different matrices: draw every "
                              "random number from the generator you are given")
        return
    if torch.equal(first, other):
        report("5.5", "fail", "generators seeded differently gave the same matrix: draw from "
                              "the generator you are given")
        return
    report("5.5", "pass", "passed all 4 shapes: orthonormal, random, and drawn from the "
                          "generator you are given.")


def lsuv_net(seed: int = 0, depth: int = 8, width: int = 64, activation=nn.Tanh) -> nn.Sequential:
    """A deep net with a deliberately bad start (weights N(0, 1), biases 0) for Exercise 5.6."""
    g = torch.Generator().manual_seed(seed)
    layers = []
    for i in range(depth):
        linear = nn.Linear(32 if i == 0 else width, width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=g))
            linear.bias.zero_()
        layers += [linear, activation()]
    return nn.Sequential(*layers)


def _linear_output_stds(model, X) -> list[float]:
    stds = []
    hooks = [m.register_forward_hook(lambda mod, i, out: stds.append(float(out.std())))
             for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model(X)
    finally:
        for h in hooks:
            h.remove()
    return stds


def check_lsuv(lsuv_) -> None:
    """Exercise 5.6: ``lsuv_(model, X)`` rescales every Linear weight, in forward order, so that
    its output has standard deviation 1 on the batch X (LSUV, Mishkin and Matas 2016)."""
    if not callable(lsuv_):
        check_function("5.6", lsuv_, [])
        return
    g = torch.Generator().manual_seed(56)
    setups = [("8 tanh layers of width 64, weights N(0, 1)", lsuv_net(0), torch.randn(256, 32, generator=g)),
              ("12 ReLU layers, weights N(0, 1)", lsuv_net(1, depth=12, activation=nn.ReLU),
               torch.randn(128, 32, generator=g)),
              ("4 tanh layers, inputs 100 times too large", lsuv_net(2, depth=4),
               100 * torch.randn(64, 32, generator=g))]
    for number, (desc, model, X) in enumerate(setups, start=1):
        where = f"case {number} of {len(setups)} ({desc})"
        before = copy.deepcopy(model.state_dict())
        X_given = X.clone()
        _, error = run_student(lsuv_, (model, X_given))
        if isinstance(error, NotImplementedError) and number == 1:
            report("5.6", "not attempted", "not attempted yet (your function raises "
                                           "NotImplementedError); replace it with your code")
            return
        if error is not None:
            report("5.6", "fail", f"{where}: {explain(error)}.")
            return
        if not torch.equal(X_given, X):
            report("5.6", "fail", f"{where}: your function changed the batch X; leave it as it is")
            return
        after = model.state_dict()
        for name, old in before.items():
            new = after[name]
            if name.endswith("bias") and not torch.equal(new, old):
                report("5.6", "fail", f"{where}: {name} changed; LSUV rescales the weights only")
                return
            if name.endswith("weight"):
                if not torch.isfinite(new).all():
                    report("5.6", "fail", f"{where}: {name} contains NaN or infinite values")
                    return
                scale = float((new * old).sum() / (old * old).sum())
                if scale <= 0 or (new - scale * old).abs().max() > 1e-4 * scale * old.abs().max():
                    report("5.6", "fail", f"{where}: {name} is not a positive multiple of the "
                                          f"weight it started from; LSUV only rescales each weight "
                                          f"matrix (divides it by one number)")
                    return
        stds = _linear_output_stds(model, X)
        off = [k for k, s in enumerate(stds) if not abs(s - 1) < 0.01]
        if off:
            k = off[0]
            report("5.6", "fail", f"{where}: the output of Linear layer {k + 1} has standard "
                                  f"deviation {stds[k]:.4g} on X, it should be 1 (within 0.01). "
                                  f"Hint: go through the layers in forward order, and measure each "
                                  f"layer's output after the layers before it were rescaled")
            return
    report("5.6", "pass", f"passed all {len(setups)} cases: every Linear output has standard "
                          f"deviation 1.")
