"""Exercise checkers: tell a student exactly what is wrong, and never crash.

Every chapter's exercises have a module here (``ch01``, ``ch02``, ...) whose ``check_*``
functions a student calls with their own function or answer. A checker runs reference cases,
edge cases included, and prints one line: a pass, or the first failing case with what was
expected and what came back, plus a hint. Bad input (None, a wrong shape or dtype, an exception
inside the student's code, NaN) is reported in words, never as a traceback.

This module holds the machinery the chapter modules share:

- ``Case``            one input, the reference output, and the hint to show if it fails
- ``check_function``  run a student's function on cases and compare with the references
- ``check_value``     compare a numeric answer with the right one (without revealing it)

Every verdict is also stored in ``RESULTS`` (exercise -> 'pass', 'fail' or 'not attempted'),
which ``tools/grade.py`` reads after executing a student's notebook.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

RESULTS: dict[str, str] = {}
_HERE = str(Path(__file__).resolve().parents[1])  # frames inside utils/ are not the student's


@dataclass
class Case:
    """One reference case: ``args`` go to the student's function, ``expected`` must come back.

    ``expected`` may be a tensor, a number, or a tuple of them (compared element by element,
    named by ``names``). ``hint`` is shown when this case fails.
    """

    description: str
    args: tuple
    expected: Any
    hint: str = ""
    names: tuple = ()
    atol: float = 1e-5
    rtol: float = 1e-4
    kwargs: dict = field(default_factory=dict)


def report(exercise: str, status: str, message: str) -> bool:
    """Print the verdict on one exercise and record it in ``RESULTS``."""
    RESULTS[exercise] = status
    mark = {"pass": "✅", "fail": "❌", "not attempted": "⏳"}[status]
    print(f"{mark} Exercise {exercise}: {message}")
    return status == "pass"


def _short(value, limit: int = 160) -> str:
    if isinstance(value, torch.Tensor):
        text = str(value.detach().cpu().numpy().round(5).tolist()) if value.numel() <= 12 else (
            f"tensor of shape {tuple(value.shape)}")
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _student_line(error: BaseException) -> str:
    """Where in the student's own code the error happened, e.g. ' (line 3: return X @ w)'."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith(_HERE) and "-packages" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" (in {frame.name}, line {frame.lineno}{code})"


def _clone(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    return value


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


def compare(got, expected, atol: float, rtol: float, what: str = "your result") -> str | None:
    """None when ``got`` matches ``expected``, else a sentence saying how it differs."""
    if got is None:
        return f"{what} is None; did you forget a `return`?"
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            got = float(got)
        except (TypeError, ValueError, RuntimeError):
            return f"{what} should be a single number, got {type(got).__name__} {_short(got)}"
        if math.isnan(got):
            return f"{what} is nan"
        if not math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
            return f"expected {expected:.6g}, got {got:.6g}"
        return None
    expected = torch.as_tensor(expected)
    try:
        got = torch.as_tensor(got)
    except (TypeError, ValueError, RuntimeError):
        return (f"{what} should be a tensor of shape {tuple(expected.shape)}, "
                f"got a {type(got).__name__}")
    if got.is_complex() or got.dtype == torch.bool and not expected.dtype == torch.bool:
        return f"{what} has dtype {got.dtype}, expected {expected.dtype}"
    if got.shape != expected.shape:
        return f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
    got, expected = got.detach().cpu().double(), expected.double()
    bad = ~torch.isfinite(got) & torch.isfinite(expected)
    if bad.any():
        where = tuple(torch.nonzero(bad)[0].tolist())
        return f"{what} contains {got[where].item()} at position {where}, where {expected[where].item():.6g} was expected"
    if not torch.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True):
        diff = (got - expected).abs().nan_to_num(nan=float("inf"))
        where = tuple(torch.nonzero(diff == diff.max())[0].tolist()) if diff.ndim else ()
        return (f"expected {_short(expected)}, got {_short(got)} "
                f"(largest difference {diff.max().item():.3g} at position {where})")
    return None


def check_function(exercise: str, student_fn: Callable | None, cases: list[Case]) -> bool:
    """Run ``student_fn`` on every case; print a pass or the first failure; return True on pass."""
    if student_fn is None:
        return report(exercise, "fail", "you passed None; pass your function itself, "
                                         "e.g. check(my_function), without calling it")
    if not callable(student_fn):
        return report(exercise, "fail", f"expected a function, got a {type(student_fn).__name__}: "
                                         f"pass the function itself, without calling it")
    for number, case in enumerate(cases, start=1):
        where = f"case {number} of {len(cases)} ({case.description})"
        args = _clone(case.args)
        try:
            got = student_fn(*args, **case.kwargs)
        except NotImplementedError:
            return report(exercise, "not attempted", "not attempted yet (your function raises "
                                                      "NotImplementedError); replace it with your code")
        except Exception as error:  # the student's code failed: say where and how
            return report(exercise, "fail", f"{where}: your function raised {type(error).__name__}: "
                                             f"{error}{_student_line(error)}"
                                             + (f". Hint: {case.hint}" if case.hint else ""))
        if not _same(args, case.args):
            return report(exercise, "fail", f"{where}: your function changed its input in place; "
                                             f"compute a new tensor instead")
        problem = _compare_outputs(got, case)
        if problem:
            hint = f" Hint: {case.hint}" if case.hint else ""
            return report(exercise, "fail", f"{where}: {problem}.{hint}")
    return report(exercise, "pass", f"passed all {len(cases)} cases.")


def _compare_outputs(got, case: Case) -> str | None:
    if isinstance(case.expected, tuple):
        names = case.names or tuple(f"output {i + 1}" for i in range(len(case.expected)))
        if not isinstance(got, (tuple, list)) or len(got) != len(case.expected):
            return f"expected {len(case.expected)} results ({', '.join(names)}), got {_short(got, 80)}"
        for name, g, e in zip(names, got, case.expected):
            problem = compare(g, e, case.atol, case.rtol, what=name)
            if problem:
                return f"{name}: {problem}"
        return None
    return compare(got, case.expected, case.atol, case.rtol)


def check_value(exercise: str, answer, expected: float, *, rtol: float = 0.02, hint: str = "") -> bool:
    """Check a numeric answer without revealing the right one: say only how far off it is."""
    if answer is None or answer is Ellipsis:
        return report(exercise, "not attempted", "not attempted yet: assign your answer (a number)")
    try:
        value = float(answer)
    except (TypeError, ValueError, RuntimeError):
        return report(exercise, "fail", f"the answer should be one number, got "
                                         f"{type(answer).__name__} {_short(answer, 60)}")
    if not math.isfinite(value):
        return report(exercise, "fail", f"the answer is {value}; it should be a finite number")
    if math.isclose(value, expected, rel_tol=rtol, abs_tol=1e-12):
        return report(exercise, "pass", f"{value:.6g} is right.")
    direction = "too large" if value > expected else "too small"
    ratio = value / expected if expected else float("inf")
    return report(exercise, "fail", f"{value:.6g} is {direction} (about {ratio:.3g} times the right "
                                     f"answer)." + (f" Hint: {hint}" if hint else ""))
