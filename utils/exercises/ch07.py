"""Checkers for the exercises of Chapter 7 (normalization).

References come from PyTorch itself (``F.batch_norm``, ``nn.BatchNorm1d``, ``F.group_norm``,
autograd) in float64, on inputs chosen to expose the usual mistakes: a batch of two (the
unbiased variance is then twice the biased one), a large ``eps`` next to a small variance
(``eps`` outside the square root), a large offset (the variance as E[x^2] - E[x]^2 is still
right in float64 and must pass), square shapes (a scale broadcast along the wrong axis).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import Case, check_function, check_value, explain, report, run_student
from .comparison import clone, compare, same, short

DTYPE = torch.float64
ATOL, RTOL = 1e-6, 1e-5


def _randn(*shape, seed: int, scale: float = 1.0, offset: float = 0.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=DTYPE) * scale + offset


def _positive(n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=generator, dtype=DTYPE) * 1.5 + 0.5


def _tailor(student, cases: list, mistakes: list) -> list:
    """Give each case the hint of the usual mistake the student's output matches, if any.

    ``mistakes`` holds (wrong function, hint) pairs; the student's function is run once more
    per case (under the time limit, errors ignored: check_function reports those).
    """
    if not callable(student):
        return cases
    for case in cases:
        args = clone(tuple(case.args))
        got, error = run_student(student, args, dict(case.kwargs))
        if error is None and not same(args, tuple(case.args)):
            case.hint = ("your function changed its input in place (x -= mean, x /= std, "
                         "x.sub_(...)); compute new tensors and leave x as it came")
            continue
        if error is not None or got is None:
            continue
        outputs = got if isinstance(got, (tuple, list)) else (got,)
        if any(isinstance(o, torch.Tensor) and o.is_floating_point() and o.dtype != DTYPE
               for o in outputs):
            case.hint = ("the inputs are float64 and so must the output be: do not call "
                         ".float() or build new tensors with torch.tensor(...) / torch.ones(...) "
                         "without dtype=x.dtype")
            continue
        for wrong, hint in mistakes:
            try:
                if compare(got, wrong(*case.args, **case.kwargs), case.atol, case.rtol) is None:
                    case.hint = hint
                    break
            except Exception:                            # an output too odd to compare
                break
    return cases


def _shape(x) -> list:
    return [1, -1] + [1] * (x.dim() - 2)


def _bn_variant(x, gamma, beta, eps=1e-5, *, unbiased=False, eps_outside=False, axes=None):
    dims = axes or [0] + list(range(2, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=unbiased, keepdim=True)
    scale = var.sqrt() + eps if eps_outside else torch.sqrt(var + eps)
    return gamma.reshape(_shape(x)) * (x - mean) / scale + beta.reshape(_shape(x))


# ---------------------------------------------------------------- 7.1 BN forward, training mode
def _bn_reference(x, gamma, beta, eps=1e-5):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


def check_batch_norm_train(batch_norm_train) -> None:
    """Exercise 7.1: ``batch_norm_train(x, gamma, beta, eps)`` like training-mode BatchNorm."""
    biased = ("normalize with the biased variance, the mean of (x - mean)^2 (divide by N, or "
              "by N*H*W for images: unbiased=False)")
    axes = ("the statistics of channel c run over every axis but the channel: dim 0 for "
            "(N, C), dims (0, 2, 3) for (N, C, H, W)")
    eps_hint = "eps goes inside the square root: (x - mean) / sqrt(var + eps)"
    rows = [("a (32, 5) batch", (_randn(32, 5, seed=1, scale=2, offset=1), _positive(5, 2),
                                 _randn(5, seed=3)), {}, axes),
            ("a (4, 3, 5, 5) batch of images", (_randn(4, 3, 5, 5, seed=4, scale=3, offset=-2),
                                                _positive(3, 5), _randn(3, seed=6)), {}, axes),
            ("a batch of two", (_randn(2, 4, seed=7), _positive(4, 8), _randn(4, seed=9)), {},
             biased),
            ("a batch of two images of 1 x 1", (_randn(2, 3, 1, 1, seed=10), _positive(3, 11),
                                                _randn(3, seed=12)), {}, biased),
            ("eps = 0.5 and features of small variance",
             (_randn(16, 3, seed=13, scale=0.3), _positive(3, 14), _randn(3, seed=15)),
             {"eps": 0.5}, eps_hint),
            ("a square (6, 6) batch", (_randn(6, 6, seed=16, scale=2), _positive(6, 17),
                                       _randn(6, seed=18)), {}, axes),
            ("a large offset (1000 + noise)", (_randn(64, 2, seed=19, offset=1000.0),
                                               _positive(2, 20), _randn(2, seed=21)), {}, axes),
            ("one channel", (_randn(8, 1, 4, 4, seed=22), _positive(1, 23), _randn(1, seed=24)),
             {}, axes)]
    cases = [Case(description, args, _bn_reference(*args, **kwargs), kwargs=kwargs, hint=hint,
                  atol=ATOL, rtol=RTOL, arg_names=("x", "gamma", "beta"))
             for description, args, kwargs, hint in rows]
    mistakes = [(lambda *a, **k: _bn_variant(*a, **k, unbiased=True),
                 "this is the unbiased variance (divide by N - 1); " + biased),
                (lambda *a, **k: _bn_variant(*a, **k, eps_outside=True),
                 "eps was added to the standard deviation; " + eps_hint),
                (lambda x, *a, **k: _bn_variant(x, *a, **k, axes=list(range(1, x.dim()))),
                 "this normalizes each example over its features (LayerNorm); " + axes)]
    check_function("7.1", batch_norm_train, _tailor(batch_norm_train, cases, mistakes))


# ---------------------------------------------------------------- 7.2 running statistics
def _running_reference(running_mean, running_var, x, momentum=0.1):
    bn = nn.BatchNorm1d(x.shape[1], momentum=momentum).to(DTYPE)
    bn.running_mean.copy_(running_mean)
    bn.running_var.copy_(running_var)
    bn.train()
    bn(x)
    return bn.running_mean.detach().clone(), bn.running_var.detach().clone()


def _wrong_variants(running_mean, running_var, x, momentum):
    """What the usual mistakes would give: (name, new mean, new var)."""
    n = len(x)
    mean, biased = x.mean(0), x.var(0, unbiased=False)
    unbiased = biased * n / (n - 1)
    keep = 1 - momentum
    return [("flipped", momentum * running_mean + keep * mean,
             momentum * running_var + keep * unbiased),
            ("biased", keep * running_mean + momentum * mean,
             keep * running_var + momentum * biased)]


def check_running_update(update_running) -> None:
    """Exercise 7.2: ``update_running(running_mean, running_var, x, momentum)`` like BatchNorm1d.

    Accepted: the buffers updated in place (whatever is returned), or the buffers left alone
    and the new ``(running_mean, running_var)`` returned.
    """
    _check_running_update(update_running)


def _check_running_update(update_running) -> bool:
    exercise = "7.2"
    if update_running is None or not callable(update_running):
        return check_function(exercise, update_running, [])
    rows = [("a (16, 4) batch, the buffers at their start (0 and 1)",
             (torch.zeros(4, dtype=DTYPE), torch.ones(4, dtype=DTYPE),
              _randn(16, 4, seed=31, scale=2, offset=3)), {}),
            ("momentum 0.3 and buffers that have seen data",
             (_randn(3, seed=32), _positive(3, 33), _randn(10, 3, seed=34, scale=0.5)),
             {"momentum": 0.3}),
            ("a batch of two", (_randn(5, seed=35), _positive(5, 36), _randn(2, 5, seed=37)), {}),
            ("momentum 1 (the buffers become the batch's statistics)",
             (_randn(2, seed=38), _positive(2, 39), _randn(8, 2, seed=40)), {"momentum": 1.0}),
            ("momentum passed by position, 0.05", (_randn(3, seed=41), _positive(3, 42),
                                                   _randn(32, 3, seed=43), 0.05), {})]
    for number, (description, args, kwargs) in enumerate(rows, start=1):
        where = f"case {number} of {len(rows)} ({description})"
        momentum = kwargs.get("momentum", args[3] if len(args) > 3 else 0.1)
        want_mean, want_var = _running_reference(*args[:3], momentum)
        given = [a.clone() for a in args[:3]] + list(args[3:])
        returned, error = run_student(update_running, tuple(given), kwargs)
        if error is not None:
            if isinstance(error, NotImplementedError) and number == 1:
                return report(exercise, "not attempted", "not attempted yet (your function "
                              "raises NotImplementedError); replace it with your code")
            return report(exercise, "fail", f"{where}: {explain(error)}.")
        if not torch.equal(given[2], args[2]):
            return report(exercise, "fail", f"{where}: your function changed the batch `x`; "
                                            f"only the running buffers may change")
        changed = not (torch.equal(given[0], args[0]) and torch.equal(given[1], args[1]))
        if changed:
            got = (given[0], given[1])
        elif isinstance(returned, (tuple, list)) and len(returned) == 2:
            got = tuple(returned)
        else:
            return report(exercise, "fail", f"{where}: the buffers are unchanged and your "
                          f"function returned {short(returned, 50)}; update running_mean and "
                          f"running_var in place (running_mean.mul_(...).add_(...)) or return "
                          f"the pair (new_mean, new_var)")
        try:
            problem = compare(got[0], want_mean, ATOL, RTOL, what="running_mean") or \
                compare(got[1], want_var, ATOL, RTOL, what="running_var")
        except Exception as error:                       # something too odd to compare
            problem = f"your result could not be read ({type(error).__name__})"
        if problem:
            hint = "running = (1 - momentum) * running + momentum * batch statistic"
            for name, mean, var in _wrong_variants(*args[:3], momentum):
                try:
                    close = torch.allclose(torch.as_tensor(got[0], dtype=DTYPE), mean,
                                           atol=ATOL, rtol=RTOL) and \
                        torch.allclose(torch.as_tensor(got[1], dtype=DTYPE), var,
                                       atol=ATOL, rtol=RTOL)
                except Exception:
                    close = False
                if close and name == "flipped":
                    hint = ("the momentum convention is flipped: in PyTorch momentum is the "
                            "weight of the new batch, (1 - momentum) that of the old value "
                            "(Keras's momentum is the other way round)")
                elif close and name == "biased":
                    hint = ("the running variance uses the unbiased variance of the batch "
                            "(divide by N - 1, unbiased=True), although BN normalizes with the "
                            "biased one")
            return report(exercise, "fail", f"{where}: {problem}. Hint: {hint}")
    return report(exercise, "pass", f"passed all {len(rows)} cases.")


# ---------------------------------------------------------------- 7.3 backward by hand
def _backward_reference(dy, x, gamma, eps=1e-5):
    x = x.clone().requires_grad_(True)
    gamma = gamma.clone().requires_grad_(True)
    beta = torch.zeros_like(gamma, requires_grad=True)
    y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    return torch.autograd.grad(y, (x, gamma, beta), dy)


def check_batch_norm_backward(bn_backward) -> None:
    """Exercise 7.3: ``bn_backward(dy, x, gamma, eps)`` returns (dx, dgamma, dbeta)."""
    dx_hint = ("dx = gamma / (N sigma) * (N dy - sum(dy) - x_hat * sum(dy * x_hat)), sums over "
               "the batch, sigma = sqrt(biased var + eps); the mean and the variance depend "
               "on every x_i, so dy * gamma / sigma alone is not enough")
    rows = [("a (16, 5) batch", (_randn(16, 5, seed=51), _randn(16, 5, seed=52, scale=2, offset=1),
                                 _positive(5, 53)), {}),
            ("a batch of two", (_randn(2, 3, seed=54), _randn(2, 3, seed=55), _positive(3, 56)),
             {}),
            ("negative gamma and eps = 0.1", (_randn(32, 4, seed=57),
                                             _randn(32, 4, seed=58, scale=0.5),
                                             -_positive(4, 59)), {"eps": 0.1}),
            ("a square (6, 6) batch", (_randn(6, 6, seed=60), _randn(6, 6, seed=61, scale=3),
                                       _positive(6, 62)), {}),
            ("an upstream gradient of ones (dx must be 0)",
             (torch.ones(8, 3, dtype=DTYPE), _randn(8, 3, seed=63), _positive(3, 64)), {})]
    cases = [Case(description, args, _backward_reference(*args, **kwargs), kwargs=kwargs,
                  names=("dx", "dgamma", "dbeta"), hint=dx_hint, atol=ATOL, rtol=RTOL,
                  arg_names=("dy", "x", "gamma"))
             for description, args, kwargs in rows]
    no_eps = ("eps is missing: sigma = sqrt(biased var + eps), with the eps passed in, in x_hat "
              "and in the factor gamma / (N sigma)")
    mistakes = [(lambda dy, x, gamma, eps=1e-5: _backward_reference(dy, x, gamma, eps=1e-300),
                 no_eps),
                (lambda dy, x, gamma, eps=1e-5: _backward_reference(dy, x, gamma, eps=1e-5),
                 "you used eps = 1e-5 whatever eps was passed; " + no_eps)]
    check_function("7.3", bn_backward, _tailor(bn_backward, cases, mistakes))


# ---------------------------------------------------------------- 7.4 GroupNorm
def check_group_norm(my_group_norm) -> None:
    """Exercise 7.4: ``my_group_norm(x, groups, weight, bias, eps)`` like ``F.group_norm``."""
    hint = ("reshape (N, C, ...) to (N, groups, C // groups, ...), normalize over every axis "
            "after the group axis with the biased variance, reshape back, then weight and bias "
            "per channel")
    rows = [("(4, 6, 5, 5) in 3 groups", (_randn(4, 6, 5, 5, seed=71, scale=2, offset=1), 3,
                                          _positive(6, 72), _randn(6, seed=73)), {}),
            ("one group (LayerNorm over C, H, W)", (_randn(3, 4, 3, 3, seed=74), 1,
                                                    _positive(4, 75), _randn(4, seed=76)), {}),
            ("one channel per group (InstanceNorm)", (_randn(2, 4, 3, 3, seed=77), 4,
                                                      _positive(4, 78), _randn(4, seed=79)), {}),
            ("a (5, 8) input in 4 groups", (_randn(5, 8, seed=80, scale=3), 4, _positive(8, 81),
                                            _randn(8, seed=82)), {}),
            ("a batch of one", (_randn(1, 6, 4, 4, seed=83), 2, _positive(6, 84),
                                _randn(6, seed=85)), {}),
            ("eps = 0.5", (_randn(2, 4, 2, 2, seed=86, scale=0.3), 2, _positive(4, 87),
                           _randn(4, seed=88)), {"eps": 0.5})]
    cases = [Case(description, args, F.group_norm(args[0], args[1], args[2], args[3],
                                                  eps=kwargs.get("eps", 1e-5)),
                  kwargs=kwargs, hint=hint, atol=ATOL, rtol=RTOL,
                  arg_names=("x", "groups", "weight", "bias"))
             for description, args, kwargs in rows]
    check_function("7.4", my_group_norm, _tailor(my_group_norm, cases, []))


# ---------------------------------------------------------------- 7.5 folding BN
def _fold_reference(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = gamma / torch.sqrt(running_var + eps)
    return W * scale[:, None], (b - running_mean) * scale + beta


def check_fold_bn(fold_bn) -> None:
    """Exercise 7.5: fold an evaluation-mode BN into the Linear layer before it."""
    hint = ("BN in evaluation mode is y = gamma (z - running_mean) / sqrt(running_var + eps) + "
            "beta; with z = x W^T + b, each output row of W is scaled by gamma / sqrt(var + eps) "
            "(W * scale[:, None]) and b_new = (b - running_mean) * scale + beta")

    def args(out, fan_in, seed, eps_var=1.0):
        return (_randn(out, fan_in, seed=seed), _randn(out, seed=seed + 1),
                _randn(out, seed=seed + 2), _positive(out, seed + 3) * eps_var,
                _positive(out, seed + 4), _randn(out, seed=seed + 5))

    rows = [("Linear(3, 5)", args(5, 3, 91), {}),
            ("a square Linear(4, 4)", args(4, 4, 101), {}),
            ("small running variances and eps = 0.1", args(3, 6, 111, 0.01), {"eps": 0.1}),
            ("one output", args(1, 7, 121), {})]
    cases = [Case(description, a, _fold_reference(*a, **kwargs), kwargs=kwargs, hint=hint,
                  names=("W_new", "b_new"), atol=ATOL, rtol=RTOL,
                  arg_names=("W", "b", "running_mean", "running_var", "gamma", "beta"))
             for description, a, kwargs in rows]
    check_function("7.5", fold_bn, cases)


# ---------------------------------------------------------------- 7.6 momentum conventions
def check_keras_momentum(torch_momentum) -> None:
    """Exercise 7.6: PyTorch's momentum for Keras's BatchNormalization(momentum=0.99)."""
    check_value("7.6", torch_momentum, 0.01,
                       hint="Keras: moving = momentum * moving + (1 - momentum) * batch; "
                            "PyTorch: running = (1 - momentum) * running + momentum * batch")
