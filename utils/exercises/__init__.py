"""Exercise checkers: tell a student exactly what is wrong, and never crash.

Every chapter's exercises have a module here (``ch01``, ``ch02``, ...) whose ``check_*``
functions a student calls with their own function or answer. A checker runs reference cases,
edge cases included, and prints exactly one line per call: a pass, or the first failing case
with what was expected and what came back, plus a hint. Bad input (None, a string for a number,
a wrong shape or dtype, an exception inside the student's code, NaN, an endless loop) is
reported in words, never as a traceback.

This module calls the student's code and reports; ``comparison`` compares outputs and words
the differences. The pieces the chapter modules use:

- ``Case``               one call: arguments, the reference output, and the hint if it fails.
  ``Case.from_reference(description, reference, args, mutates=("params", "state"))`` runs a
  reference on a copy of ``args`` and records its output and the arguments it changed in place:
  the student's function must change those the same way. Arguments not named in ``mutates``
  (or ``may_change``) must come back unchanged.
- ``check_function``     run a student's function on cases; compare outputs and changed arguments.
- ``check_trajectory``   run N steps of an experiment (say 50 optimizer steps) with the student's
  step function and with the reference's; report the first step at which they part.
- ``check_distribution`` cases whose expected output is a ``comparison.Law``: the student's
  random draws must follow it (mean, std, kurtosis, bounds, Kolmogorov-Smirnov distance) and
  must come from the generator they are given (``generator_problem``).
- ``check_value``        a numeric answer, right to 3 significant figures (or exactly, for counts),
  failed with "too large" or "too small" only, so that the right one is never revealed.
- ``run_student`` / ``explain``  call the student's code under a time limit, and word its error.

Every call of the student's code gets ``TIME_LIMIT`` seconds (10) through ``signal.setitimer``
and SIGALRM, which interrupt Python code but not one long C call (a huge matmul ends first).
That works in the main thread on Linux and macOS, which is where a Jupyter kernel runs a cell;
on Windows, or in another thread, there is no limit and an endless loop hangs as it would
without a checker.

Every verdict is also stored in ``RESULTS`` (exercise -> 'pass', 'fail' or 'not attempted'),
which ``tools/grade.py`` reads after executing a student's notebook. A function that raises
``NotImplementedError`` (the stub) before any case passed is 'not attempted'; later, a 'fail'.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import signal
import textwrap
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from .comparison import as_number, clone, compare, same, short

RESULTS: dict[str, str] = {}
TIME_LIMIT = 10.0  # seconds for one call of the student's code
WIDTH = 100        # a verdict is wrapped to the width of the book's code and outputs
_HERE = str(Path(__file__).resolve().parents[1])  # frames inside utils/ are not the student's


@dataclass
class Case:
    """One call of the student's function: ``args`` go in, ``expected`` must come back.

    ``expected`` may be a tensor, a number, a tuple of them (compared element by element, named
    by ``names``), a ``Law`` for random draws, or None when the return value does not matter.
    ``after`` maps an argument's name to the value it must hold after the call (the function
    must change it in place); ``may_change`` names arguments left unchecked; every other
    argument must come back unchanged. ``arg_names`` name the arguments in messages.
    ``hint`` is shown when this case fails.
    """

    description: str
    args: tuple
    expected: Any
    hint: str = ""
    names: tuple = ()
    atol: float = 1e-5
    rtol: float = 1e-4
    kwargs: dict = field(default_factory=dict)
    arg_names: tuple = ()
    after: dict = field(default_factory=dict)
    may_change: tuple = ()

    @classmethod
    def from_reference(cls, description: str, reference: Callable, args: tuple, *,
                       mutates: tuple = (), **options) -> "Case":
        """A case whose expectations come from running ``reference`` on a copy of ``args``.

        ``mutates`` names the arguments (as ``reference``'s parameters are named) that the
        reference changes in place; the student's function must leave them equal to the
        reference's copies. The reference's return value becomes ``expected``.
        """
        names = tuple(inspect.signature(reference).parameters)[:len(args)]
        names += tuple(f"argument {i + 1}" for i in range(len(names), len(args)))
        copies = clone(tuple(args))
        expected = reference(*copies, **options.get("kwargs", {}))
        after = {name: copies[names.index(name)] for name in mutates}
        return cls(description, tuple(args), expected, arg_names=names, after=after, **options)


def report(exercise: str, status: str, message: str) -> bool:
    """Print the verdict on one exercise and record it in ``RESULTS``.

    One verdict, as one paragraph wrapped to the book's 100 columns (continuation lines are
    indented), so that it reads without horizontal scrolling in the rendered book.
    """
    RESULTS[exercise] = status
    mark = {"pass": "✅", "fail": "❌", "not attempted": "⏳"}[status]
    print(textwrap.fill(f"{mark} Exercise {exercise}: {' '.join(message.split())}", WIDTH,
                        subsequent_indent="   ", break_on_hyphens=False))
    return status == "pass"


# ---------------------------------------------------------------- calling the student's code
class _TimeUp(BaseException):
    """Raised by SIGALRM inside the student's code; a BaseException so `except Exception` misses it."""


class StudentError(Exception):
    """The student's code raised ``error`` (or ran out of time) inside a step that we drive."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise ``_TimeUp`` in the code inside after ``seconds``; a timer set before is put back."""
    main = threading.current_thread() is threading.main_thread()
    if not seconds or not hasattr(signal, "setitimer") or not main:
        yield  # Windows, or not the main thread: no limit
        return

    def alarm(signum, frame):
        raise _TimeUp(seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    started = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        if outer:  # someone else's alarm was pending: let it ring when it would have
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3))


def run_student(fn: Callable, args: tuple = (), kwargs: dict | None = None,
                time_limit: float | None = TIME_LIMIT) -> tuple[Any, BaseException | None]:
    """Call ``fn(*args, **kwargs)`` within the time limit: ``(value, None)`` or ``(None, error)``."""
    try:
        with _time_limit(time_limit):
            return fn(*args, **(kwargs or {})), None
    except (Exception, _TimeUp) as error:
        return None, error


def _student_line(error: BaseException) -> str:
    """Where in the student's own code the error happened, e.g. ' (in f, line 3: return X @ w)'."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith(_HERE) and "-packages" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f" (in {frame.name}, line {frame.lineno}{code})"


def explain(error: BaseException) -> str:
    """One sentence about an error from the student's code, pointing at their line."""
    if isinstance(error, StudentError):
        error = error.error
    if isinstance(error, _TimeUp):
        return f"your function did not finish within {error.args[0]:g} s; look for a loop that never ends"
    return f"your function raised {_first_line(error)}{_student_line(error)}"


def _first_line(error: BaseException) -> str:
    """'ValueError: the first line of its message', at most 200 characters of it."""
    try:
        text = (str(error).strip().splitlines() or [""])[0][:200]
    except Exception:  # an exception whose __str__ fails
        text = ""
    return f"{type(error).__name__}{': ' + text if text else ''}"


def _not_a_function(fn) -> str | None:
    if fn is None:
        return "you passed None; pass your function itself, e.g. check(my_function), without calling it"
    if not callable(fn):
        return (f"expected a function, got {short(fn, 60)} ({type(fn).__name__}): pass the "
                f"function itself, without calling it")
    return None


# ---------------------------------------------------------------- the checks
def _compare_outputs(got, case: Case) -> str | None:
    if isinstance(case.expected, tuple):
        names = case.names or tuple(f"output {i + 1}" for i in range(len(case.expected)))
        if not isinstance(got, (tuple, list)) or len(got) != len(case.expected):
            return f"expected {len(case.expected)} results ({', '.join(names)}), got {short(got, 80)}"
        for name, g, e in zip(names, got, case.expected):
            problem = compare(g, e, case.atol, case.rtol, what=name)
            if problem:
                return problem
        return None
    return compare(got, case.expected, case.atol, case.rtol)


def _arguments_problem(args: tuple, case: Case) -> str | None:
    """Whether the call changed the arguments it must not change, and changed the others right."""
    names = tuple(case.arg_names)
    for i, (now, before) in enumerate(zip(args, case.args)):
        name = names[i] if i < len(names) else None
        if name not in case.after and name not in case.may_change and not same(now, before):
            which = f"`{name}`" if name else f"number {i + 1}"
            return f"your function changed its argument {which} in place; compute a new tensor instead"
    for name, wanted in case.after.items():
        now, before = args[names.index(name)], case.args[names.index(name)]
        problem = compare(now, wanted, case.atol, case.rtol, what=name)
        if problem and same(now, before):
            return (f"your function did not change `{name}`; update it in place (p -= ..., "
                    f"p.mul_(...), state['v'] = ...), rebinding a name inside the function does not")
        if problem:
            return f"after the call, {problem}"
    return None


def _run_cases(student_fn, cases: list[Case], time_limit) -> tuple[str, str] | None:
    """Run every case; None if all pass, else (status, message) for the first that does not."""
    problem = _not_a_function(student_fn)
    if problem:
        return "fail", problem
    for number, case in enumerate(cases, start=1):
        where = f"case {number} of {len(cases)} ({case.description})"
        hint = f" Hint: {case.hint}" if case.hint else ""
        args = clone(tuple(case.args))
        got, error = run_student(student_fn, args, case.kwargs, time_limit)
        if isinstance(error, NotImplementedError) and number == 1:
            return "not attempted", ("not attempted yet (your function raises NotImplementedError); "
                                     "replace it with your code")
        if error is not None:
            return "fail", f"{where}: {explain(error)}.{hint}"
        try:
            problem = _arguments_problem(args, case) or (
                None if case.expected is None else _compare_outputs(got, case))
        except Exception as error:  # an output so odd that comparing it failed
            problem = f"your result could not be read ({_first_line(error)})"
        if problem:
            return "fail", f"{where}: {problem}.{hint}"
    return None


def _passed(cases: list) -> str:
    return f"passed all {len(cases)} cases" if len(cases) > 1 else "passed the case"


def check_function(exercise: str, student_fn: Callable | None, cases: list[Case], *,
                   time_limit: float | None = TIME_LIMIT) -> bool:
    """Run ``student_fn`` on every case; print a pass or the first failure; return True on pass."""
    verdict = _run_cases(student_fn, cases, time_limit)
    if verdict:
        return report(exercise, *verdict)
    return report(exercise, "pass", f"{_passed(cases)}.")


def generator_problem(draw: Callable[[torch.Generator], Any]) -> str | None:
    """None when ``draw(generator)`` uses the generator it is given as random code should.

    Three rules: generators seeded alike give equal results (reproducible runs), two calls with
    one generator give different results (each epoch, each layer, new numbers), and generators
    seeded differently give different results. ``draw`` returns something ``same`` can compare;
    it may raise ``StudentError``.
    """
    try:
        first, again = draw(torch.Generator().manual_seed(0)), draw(torch.Generator().manual_seed(0))
        if not same(first, again):
            return ("two generators seeded alike gave different results: draw every random number "
                    "from the generator you are given (generator=generator), not from torch's global one")
        shared = torch.Generator().manual_seed(0)
        draw(shared)
        if same(draw(shared), first):
            return ("two calls with the same generator gave the same result: do not re-seed it or "
                    "make your own; draw from the one you are given, which moves on with every draw")
        if same(draw(torch.Generator().manual_seed(1)), first):
            return ("generators seeded differently gave the same result: do not re-seed the generator "
                    "or make your own; draw from the one you are given")
    except Exception as error:
        return f"called again with another generator, {explain(error)}"
    return None


def check_distribution(exercise: str, student_fn: Callable | None, cases: list[Case], *,
                       time_limit: float | None = TIME_LIMIT) -> bool:
    """Check random draws: each case's ``expected`` is a ``Law`` the output must follow.

    The first case's ``args`` must hold a ``torch.Generator``; with it the function must also
    pass ``generator_problem`` (reproducible, and new numbers on every call).
    """
    verdict = _run_cases(student_fn, cases, time_limit)
    if verdict:
        return report(exercise, *verdict)
    args = cases[0].args
    spot = next((i for i, a in enumerate(args) if isinstance(a, torch.Generator)), None)
    if spot is not None:
        def draw(generator):
            value, error = run_student(student_fn, tuple(clone(args[:spot])) + (generator,)
                                       + tuple(clone(args[spot + 1:])), cases[0].kwargs, time_limit)
            if error is not None:
                raise StudentError(error)
            return torch.as_tensor(value)
        problem = generator_problem(draw)
        if problem:
            return report(exercise, "fail", problem)
    return report(exercise, "pass", f"{_passed(cases)}: the draws follow the law.")


def check_trajectory(exercise: str, student_step: Callable | None, reference_step: Callable,
                     start: dict, advance: Callable, *, steps: int = 50, watch: tuple | None = None,
                     atol: float = 1e-5, rtol: float = 1e-4, hint: str = "",
                     time_limit: float | None = TIME_LIMIT) -> bool:
    """Run ``steps`` steps of an experiment with the student's step function and the reference's.

    ``start`` is the state before step 1, a dict of named tensors (or lists and dicts of them);
    each run gets its own copy. ``advance(step, state, k)`` carries out step k = 1, 2, ... on
    ``state`` with the step function ``step``, e.g. computes gradients at ``state["params"]``
    and calls ``step(state["params"], grads, state["opt"], lr)``, or stores what ``step``
    returns back into ``state``. After every step the entries named in ``watch`` (default: all)
    are compared, and the first step at which they differ is reported with both values.
    """
    problem = _not_a_function(student_step)
    if problem:
        return report(exercise, "fail", problem)
    hint = f" Hint: {hint}" if hint else ""

    def student(*args, **kwargs):
        value, error = run_student(student_step, args, kwargs, time_limit)
        if error is not None:
            raise StudentError(error)
        return value

    ours, theirs = clone(start), clone(start)
    for k in range(1, steps + 1):
        advance(reference_step, ours, k)
        where = f"step {k} of {steps}"
        try:
            advance(student, theirs, k)
        except StudentError as error:
            if k == 1 and isinstance(error.error, NotImplementedError):
                return report(exercise, "not attempted", "not attempted yet (your function raises "
                                                         "NotImplementedError); replace it with your code")
            return report(exercise, "fail", f"{where}: {explain(error)}.{hint}")
        except Exception as error:  # what the step returned could not be used
            return report(exercise, "fail", f"{where}: what your function returned could not be used "
                                            f"({_first_line(error)}).{hint}")
        for name in watch or tuple(start):
            try:
                problem = compare(theirs.get(name), ours[name], atol, rtol, what=name)
            except Exception as error:
                problem = f"{name} could not be read ({_first_line(error)})"
            if problem:
                agreed = f"; steps 1 to {k - 1} agree" if k > 2 else "; step 1 agrees" if k == 2 else ""
                return report(exercise, "fail", f"{where}: {problem}{agreed}.{hint}")
    return report(exercise, "pass", f"all {steps} steps agree with the reference.")


def check_value(exercise: str, answer, expected: float, *, exact: bool = False, hint: str = "") -> bool:
    """Check a numeric answer without revealing the right one.

    Passes when the answer agrees with ``expected`` to 3 significant figures (2.30 for
    ln 10 = 2.302585), or exactly when ``exact`` (counts). A wrong answer is only called too
    large or too small, and off by more than a factor of 10 when it is: never a ratio.
    """
    if answer is None:
        return report(exercise, "not attempted", "not attempted yet: assign your answer (a number)")
    value, problem = as_number(answer, "the answer")
    if problem:
        return report(exercise, "fail", problem)
    if not math.isfinite(value):
        return report(exercise, "fail", f"the answer is {value}; it should be a finite number")
    tolerance = 0.0 if exact else (0.5 * 10 ** (math.floor(math.log10(abs(expected))) - 2)
                                   if expected else 0.0) * (1 + 1e-9)
    if abs(value - expected) <= tolerance:
        return report(exercise, "pass", "correct.")
    far = expected and (value / expected > 10 or 0 < value / expected < 0.1)
    sign = " and its sign is wrong" if expected and value * expected < 0 else ""
    return report(exercise, "fail", f"the answer is too {'large' if value > expected else 'small'}"
                                    f"{' (off by more than a factor of 10)' if far else ''}{sign}."
                                    + (f" Hint: {hint}" if hint else ""))
