"""Comparing a student's output with the reference, and saying in one sentence how it differs.

``compare(got, expected)`` returns None when they agree, else a sentence a student can act on:
the first differing position and both values there, the largest difference, a wrong shape, a
dtype named (``torch.float32`` where ``torch.float64`` was expected), NaN, a string given for a
number. ``expected`` may be a number, a tensor, a tuple, list or dict of them (compared entry by
entry, named ``state['v'][0]``), or a ``Law``: then ``got`` must look like independent draws
from that probability law, judged by mean, standard deviation, kurtosis, bounds and the
Kolmogorov-Smirnov distance, with tolerances of several standard errors of sampling.

``clone`` and ``same`` copy a case's arguments and tell whether a call changed them in place.
Nothing here calls the student's code; ``utils.exercises`` does, and reports.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

Z = 6.0  # tolerances of statistics are Z standard errors: a right answer fails once in ~1e8 draws


def short(value, limit: int = 160) -> str:
    """A value as a student would recognise it: small tensors in full, big ones by shape."""
    if isinstance(value, torch.Tensor):
        text = (str(value.detach().cpu().double().numpy().round(5).tolist())
                if value.numel() <= 12 and not value.is_complex() else
                f"a {value.dtype} tensor of shape {tuple(value.shape)}")
    else:
        try:
            text = repr(value)
        except Exception:  # a student's object whose __repr__ fails
            text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "..."


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def as_number(value, what: str = "your result") -> tuple[float | None, str | None]:
    """``(float, None)`` for anything that is one real number, else ``(None, why not)``."""
    if isinstance(value, str):
        return None, f'{what} is the string {short(value, 40)}; give a number, not a string (2.5, not "2.5")'
    if value is Ellipsis:
        return None, f"{what} is ... (Ellipsis); replace it with a number"
    if isinstance(value, (bool, np.bool_)):
        return None, f"{what} is {value}, a bool; give a number"
    if isinstance(value, complex):
        return None, f"{what} is the complex number {value}; give a real number"
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        try:
            tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
        except Exception:
            return None, f"{what} should be a single number, got {short(value, 60)}"
        if tensor.numel() != 1:
            return None, f"{what} should be a single number, got a tensor of shape {tuple(tensor.shape)}"
        if tensor.dtype == torch.bool or tensor.is_complex():
            return None, f"{what} has dtype {tensor.dtype}; give a real number"
        return tensor.item(), None
    try:
        return float(value), None
    except Exception:
        return None, f"{what} should be a single number, got a {type(value).__name__} {short(value, 60)}"


def _as_tensor(got, like: torch.Tensor, what: str) -> tuple[torch.Tensor | None, str | None]:
    """``got`` as a CPU tensor (numbers, lists and NumPy arrays are converted), or why it cannot be."""
    try:
        if isinstance(got, torch.Tensor):
            tensor = got.detach().cpu()
        elif isinstance(got, (np.ndarray, np.generic)):
            tensor = torch.from_numpy(np.array(got))
        elif _is_number(got) or isinstance(got, (list, tuple, bool, complex)):
            tensor = torch.tensor(got)
            if tensor.is_floating_point() and like.is_floating_point():  # Python floats are float64
                tensor = torch.tensor(got, dtype=like.dtype)
        else:
            raise TypeError
    except Exception:
        return None, (f"{what} should be a tensor of shape {tuple(like.shape)}, "
                      f"got a {type(got).__name__} {short(got, 60)}")
    if tensor.is_complex() or tensor.dtype == torch.bool and like.dtype != torch.bool:
        return None, f"{what} has dtype {tensor.dtype}, expected {like.dtype}"
    if (tensor.is_floating_point() and like.is_floating_point()
            and torch.finfo(tensor.dtype).eps > torch.finfo(like.dtype).eps):
        return None, f"{what} has dtype {tensor.dtype}, expected {like.dtype}: it lost precision"
    return tensor.to_dense() if tensor.is_sparse else tensor, None


def _position(flat_index: int, shape) -> tuple:
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat_index), shape)) if shape else ()


def _tensor_problem(got, expected: torch.Tensor, atol: float, rtol: float, what: str) -> str | None:
    got, problem = _as_tensor(got, expected, what)
    if problem:
        return problem
    if got.shape != expected.shape:
        return f"{what}: expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
    g, e = got.double().flatten(), expected.detach().cpu().double().flatten()
    wrong = ~torch.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not wrong.any():
        return None
    shown = f" (expected {short(expected)}, got {short(got)})" if expected.numel() <= 12 else ""
    if expected.ndim == 0:
        return f"{what}: expected {e.item():.6g}, got {g.item():.6g}"
    broken = (~torch.isfinite(g) & torch.isfinite(e)).nonzero()
    if len(broken):
        i = broken[0].item()
        count = f" ({len(broken)} non-finite values in all)" if len(broken) > 1 else ""
        return (f"{what} contains {g[i].item()} at position {_position(i, expected.shape)}, where "
                f"{e[i].item():.6g} was expected{count}{shown}")
    first = wrong.nonzero()[0].item()
    gap = (g - e).abs().nan_to_num(nan=math.inf).where(wrong, torch.zeros(()).double())
    worst = int(gap.argmax())
    return (f"{what}: {int(wrong.sum())} of {e.numel()} values differ; the first at position "
            f"{_position(first, expected.shape)}: expected {e[first].item():.6g}, got {g[first].item():.6g}; "
            f"the largest difference is {gap[worst].item():.3g}, at position "
            f"{_position(worst, expected.shape)}{shown}")


def compare(got, expected, atol: float = 1e-5, rtol: float = 1e-4, what: str = "your result") -> str | None:
    """None when ``got`` matches ``expected`` within ``atol + rtol * |expected|``, else why not."""
    if isinstance(expected, Law):
        return law_problem(got, expected, what)
    if got is None:
        return f"{what} is None; did you forget a `return`?"
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{what} should be a dict with keys {list(expected)}, got {short(got, 60)}"
        for key, value in expected.items():
            if key not in got:
                return f"{what} has no entry {key!r}"
            problem = compare(got[key], value, atol, rtol, f"{what}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"{what} should be a list of {len(expected)} entries, got {short(got, 60)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = compare(g, e, atol, rtol, f"{what}[{i}]")
            if problem:
                return problem
        return None
    if _is_number(expected):
        value, problem = as_number(got, what)
        if problem:
            return problem
        if math.isnan(value) or not math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
            return f"{what}: expected {expected:.6g}, got {value:.6g}"
        return None
    return _tensor_problem(got, torch.as_tensor(expected), atol, rtol, what)


# ---------------------------------------------------------------- random draws
@dataclass(frozen=True)
class Law:
    """A probability law that a tensor of random draws must follow; build with ``uniform``/``normal``.

    ``kurtosis`` is E[(x - mean)^4] / std^4 (1.8 for a uniform law, 3 for a normal one);
    ``low`` and ``high`` bound the support; ``cdf`` maps float64 values to probabilities;
    ``shape``, when given, is the shape the tensor of draws must have.
    """

    name: str
    mean: float
    std: float
    kurtosis: float
    cdf: Callable[[torch.Tensor], torch.Tensor]
    low: float = -math.inf
    high: float = math.inf
    shape: tuple | None = None

    @staticmethod
    def uniform(low: float, high: float, shape: tuple | None = None) -> "Law":
        return Law(f"uniform({low:.4g}, {high:.4g})", (low + high) / 2, (high - low) / math.sqrt(12), 1.8,
                   lambda x: ((x - low) / (high - low)).clamp(0, 1), low, high, shape)

    @staticmethod
    def normal(mean: float, std: float, shape: tuple | None = None) -> "Law":
        return Law(f"normal(mean {mean:.4g}, std {std:.4g})", mean, std, 3.0,
                   lambda x: 0.5 * (1 + torch.erf((x - mean) / (std * math.sqrt(2)))), shape=shape)


def law_problem(got, law: Law, what: str = "your result") -> str | None:
    """None when the values of ``got`` could well be independent draws from ``law``, else why not.

    Each statistic may stray Z standard errors of sampling from the law's value: the mean by
    std/sqrt(n), the standard deviation by std*sqrt((kurtosis - 1)/4n), the kurtosis by
    sqrt(24/n) (exact for a normal law, generous for lighter tails; laws with heavier tails
    than normal need a wider one). The Kolmogorov-Smirnov distance, the largest gap between the
    empirical and the law's cumulative distribution, may reach sqrt(ln(2/1e-9) / 2n).
    """
    if got is None:
        return f"{what} is None; did you forget a `return`?"
    if not isinstance(got, (torch.Tensor, np.ndarray)):
        return f"{what} should be a tensor of random numbers, got {short(got, 60)}"
    tensor, problem = _as_tensor(got, torch.empty(()), what)
    if problem:
        return problem
    if not tensor.is_floating_point():
        return f"{what} has dtype {tensor.dtype}; random draws must be floating point"
    if law.shape is not None and tensor.shape != tuple(law.shape):
        return f"{what}: expected shape {tuple(law.shape)}, got shape {tuple(tensor.shape)}"
    x = tensor.double().flatten()
    n = x.numel()
    if n < 100:
        return f"{what} has {n} values; expected a tensor of random draws"
    if not torch.isfinite(x).all():
        return f"{what} contains {x[~torch.isfinite(x)][0].item()}"
    outside = int(((x < law.low) | (x > law.high)).sum())
    if outside:
        return (f"{outside} of {n} values of {what} lie outside [{law.low:.4g}, {law.high:.4g}], "
                f"where {law.name} puts all its mass")
    mean, std = x.mean().item(), x.std().item()
    kurtosis = ((x - mean) ** 4).mean().item() / std ** 4 if std > 0 else math.inf
    for statistic, value, right, error in [
            ("mean", mean, law.mean, law.std / math.sqrt(n)),
            ("standard deviation", std, law.std, law.std * math.sqrt((law.kurtosis - 1) / (4 * n))),
            ("kurtosis", kurtosis, law.kurtosis, math.sqrt(24 / n))]:
        if not abs(value - right) <= Z * error:
            return (f"the {statistic} of {what} is {value:.3g}, the law {law.name} requires "
                    f"{right:.3g} ± {Z * error:.2g}")
    cdf = law.cdf(x.sort().values)
    ranks = torch.arange(1, n + 1, dtype=torch.float64) / n
    distance = torch.maximum(ranks - cdf, cdf - (ranks - 1 / n)).max().item()
    limit = math.sqrt(math.log(2 / 1e-9) / (2 * n))
    if distance > limit:
        return (f"the values of {what} do not follow {law.name}: their cumulative distribution is "
                f"{distance:.3f} away from the law's (Kolmogorov-Smirnov distance), sampling "
                f"explains at most {limit:.3f}")
    return None


# ---------------------------------------------------------------- arguments changed in place
def clone(value):
    """A copy of a case's arguments that a student's function may change without harm."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, torch.Generator):
        twin = torch.Generator(device=value.device)
        twin.set_state(value.get_state())
        return twin
    if isinstance(value, dict):
        return {key: clone(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clone(v) for v in value)
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def same(a, b) -> bool:
    """Whether ``a`` still equals ``b`` exactly (NaN equals NaN), looking into lists and dicts."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return torch.equal(a, b) or a.is_floating_point() and bool(((a == b) | (a.isnan() & b.isnan())).all())
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) or not isinstance(b, (torch.Tensor, dict, list, tuple))
