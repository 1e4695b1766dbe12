"""Checkers for the exercises of Chapter 9 (training practice).

The two splits (9.1, 9.2) are random, so their checkers test properties, not one split: the
parts are disjoint and cover ``range(n)`` once, have the sizes asked for (the fold sizes of
``sklearn.model_selection.KFold``), look like a shuffle (a validation part is no block of
consecutive items and averages about ``(n - 1) / 2``), come from the generator passed in, and
leave the global random generators of torch, NumPy and Python alone. The bootstrap interval
(9.3) is checked against the exact bootstrap distribution, estimated with 400 000 resamples:
each endpoint must lie between the reference's quantiles at ``q ± 6`` standard errors of an
empirical quantile of ``n_boot`` draws, ``sqrt(q (1 - q) / n_boot)``, which holds for any right
way of drawing the resamples and for discrete bootstrap distributions. Successive halving's
arithmetic (9.4) and the number of seeds (9.6) are checked exactly against references over
many settings (the t quantile from scipy, or from exact closed forms where scipy is missing);
the test-set question (9.5) by letters, with one hint per misjudged loop. Every checker of a
function takes ``time_limit`` (the engine's, by default), so that a test can stop an endless
loop sooner.
"""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import torch

from . import (TIME_LIMIT, Case, StudentError, _first_line, _not_a_function, _run_cases, explain,
               report, run_student)
from .comparison import as_number, short

Z = 6.0           # standard errors a sampled statistic may stray
M_REFERENCE = 400_000   # resamples of the reference bootstrap distribution
_NOT_ATTEMPTED = ("not attempted yet (your function raises NotImplementedError); replace it with "
                  "your code")


# ---------------------------------------------------------------- shared pieces
def _call(fn, args: tuple, kwargs: dict | None = None, time_limit=TIME_LIMIT, take: int = 0):
    """Call the student's function; a returned iterator is read (``take`` items at most)."""
    def run():
        value = fn(*args, **(kwargs or {}))
        if take and hasattr(value, "__next__"):    # a generator of folds, like KFold.split
            value = list(itertools.islice(value, take))
        return value
    value, error = run_student(run, (), None, time_limit)
    if error is not None:
        raise StudentError(error)
    return value


def _read(reader, *args) -> tuple:
    """``reader(*args)``, a (value, problem) pair; an output too odd to read is a problem too."""
    try:
        return reader(*args)
    except Exception as error:
        return None, f"your result could not be read ({_first_line(error)})"


def _verdict_on_error(exercise: str, error: StudentError, first: bool, where: str = "") -> bool:
    if first and isinstance(error.error, NotImplementedError):
        return report(exercise, "not attempted", _NOT_ATTEMPTED)
    return report(exercise, "fail", f"{where}{explain(error)}.")


def _indices(value, what: str) -> tuple[torch.Tensor | None, str | None]:
    """``value`` as a 1-D int64 tensor of indices, or why it is not one."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        value = torch.from_numpy(value.astype(np.int64))
    if not isinstance(value, torch.Tensor):
        return None, (f"{what} should be a tensor of indices (a LongTensor, as torch.randperm "
                      f"gives), got {short(value, 60)}")
    if value.dtype == torch.bool:
        return None, (f"{what} is a boolean mask; return the indices themselves "
                      f"(mask.nonzero().flatten() turns a mask into indices)")
    if value.is_floating_point() or value.is_complex():
        return None, (f"{what} has dtype {value.dtype}; indices are integers (torch.long, as "
                      f"torch.randperm gives)")
    if value.ndim != 1:
        return None, f"{what} should be 1-D, got shape {tuple(value.shape)}"
    return value.detach().cpu().long(), None


def _index_problem(idx: torch.Tensor, n: int, what: str) -> str | None:
    """Indices outside range(n), or repeated."""
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)][0].item()
        return f"{what} holds {bad}, outside range(n) = 0, ..., {n - 1}"
    counts = torch.bincount(idx, minlength=n) if len(idx) else torch.zeros(n, dtype=torch.long)
    if (counts > 1).any():
        i = int((counts > 1).nonzero()[0])
        return (f"{what} holds index {i} {int(counts[i])} times; draw a permutation "
                f"(torch.randperm), not indices with replacement (torch.randint)")
    return None


def _shuffle_problem(valid: torch.Tensor, n: int, what: str) -> str | None:
    """Whether ``valid`` fails to look like a random subset of range(n) (n large enough)."""
    m = len(valid)
    if n < 50 or m < 2 or m > n - 2:
        return None
    if int(valid.max() - valid.min()) + 1 == m:
        return (f"{what} is the block of consecutive indices {int(valid.min())} to "
                f"{int(valid.max())}: shuffle first (torch.randperm(n, generator=generator)), "
                f"then cut")
    mean = valid.double().mean().item()
    se = math.sqrt((n * n - 1) / 12 / m * (n - m) / (n - 1))
    if abs(mean - (n - 1) / 2) > Z * se:
        return (f"{what} is not a random sample of range({n}): its indices average {mean:.1f}, "
                f"a shuffled split averages {(n - 1) / 2:.1f} ± {Z * se:.1f}")
    return None


def _global_states():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _global_problem(before) -> str | None:
    t, n, p = _global_states()
    if not torch.equal(t, before[0]):
        return ("your function drew from (or re-seeded) torch's global random generator; draw "
                "only from the generator you are given (generator=generator), so that a split "
                "does not depend on what ran before it")
    if n[0] != before[1][0] or not np.array_equal(n[1], before[1][1]) or n[2:] != before[1][2:]:
        return ("your function drew from (or re-seeded) NumPy's global random generator; draw "
                "from the generator you are given")
    if p != before[2]:
        return ("your function drew from (or re-seeded) Python's module random; draw from the "
                "generator you are given")
    return None


def _same_draws(draws: list) -> bool:
    return all(torch.equal(x, y) for a, b in zip(draws, draws[1:]) for x, y in zip(a, b))


def _generator_problem(draw) -> str | None:
    """Reproducible with one seed, and different for other seeds and for a second call."""
    first = draw(torch.Generator().manual_seed(0))
    if not _same_draws([first, draw(torch.Generator().manual_seed(0))]):
        return ("two generators seeded alike gave different results: draw every random number "
                "from the generator you are given (generator=generator), not from a global one")
    shared = torch.Generator().manual_seed(0)
    draw(shared)
    others = [draw(shared), draw(torch.Generator().manual_seed(1)),
              draw(torch.Generator().manual_seed(2))]
    if _same_draws([first] + others):
        return ("generators seeded differently (and a second call with one generator) gave the "
                "same result: do not re-seed the generator or make your own; draw from the one "
                "you are given, which moves on with every draw")
    return None


def _rejects_problem(fn, args: tuple, wanted: str, time_limit) -> str | None:
    """None when fn(*args) raises ValueError, else what it did instead."""
    def run():              # a generator function raises only once it is read
        value = fn(*args)
        return list(itertools.islice(value, 1000)) if hasattr(value, "__next__") else value
    value, error = run_student(run, (), None, time_limit)
    shown = ", ".join(map(repr, args[:-1]))
    if error is None:
        return (f"called with ({shown}, generator) it returned {short(value, 60)}; raise "
                f"ValueError when {wanted}")
    if not isinstance(error, ValueError):
        return (f"called with ({shown}, generator) {explain(error)}; check the arguments "
                f"yourself and raise ValueError when {wanted}")
    return None


# ---------------------------------------------------------------- 9.1 a seeded split
def _two(got, names: tuple, read, what: str = "your result") -> tuple[list | None, str | None]:
    """A pair named ``names``, each item read by ``read(item, name)``, or why it is not one."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return None, f"{what} should be a pair ({', '.join(names)}), got {short(got, 60)}"
    items = []
    for name, item in zip(names, got):
        value, problem = read(item, name)
        if problem:
            return None, problem
        items.append(value)
    return items, None


def _split_problem(got, n: int, n_valid: int) -> tuple[tuple | None, str | None]:
    pair, problem = _two(got, ("train_idx", "valid_idx"), _indices)
    if problem:
        return None, problem
    train, valid = pair
    if len(valid) != n_valid and (len(train), len(valid)) == (n_valid, n - n_valid):
        return None, (f"train_idx has {len(train)} indices and valid_idx {len(valid)}, expected "
                      f"the other way round: return (train_idx, valid_idx) in this order")
    if len(valid) != n_valid:
        return None, f"valid_idx has {len(valid)} indices, expected n_valid = {n_valid}"
    if len(train) != n - n_valid:
        return None, f"train_idx has {len(train)} indices, expected n - n_valid = {n - n_valid}"
    problem = _index_problem(valid, n, "valid_idx") or _index_problem(train, n, "train_idx")
    if problem:
        return None, problem
    both = torch.isin(train, valid)
    if both.any():
        return None, (f"index {int(train[both][0])} is in both train_idx and valid_idx, so the "
                      f"model would train on validation data; cut one permutation into two parts")
    problem = _shuffle_problem(valid, n, "valid_idx")
    if problem:
        return None, problem
    return (train.sort().values, valid.sort().values), None


def _generator_verdict(draw) -> str | None:
    """What is wrong with how ``draw`` uses its generator (or the global ones), else None."""
    before = _global_states()
    try:
        return _generator_problem(draw) or _global_problem(before)
    except StudentError as error:
        return explain(error)
    except ValueError as error:                   # what came back could not be read
        return str(error)


def _check_indices(exercise: str, fn, second: str, settings: list, read, folds: bool, bad: list,
                   wanted: str, passed: str, time_limit) -> bool:
    """9.1 and 9.2: run ``fn(n, second, generator)`` on ``settings`` and read each result with
    ``read`` (``folds``: it is a list of ``second`` pairs, maybe yielded one by one); then
    check the generator on the last setting, then that the ``bad`` settings raise ValueError."""
    problem = _not_a_function(fn)
    if problem:
        return report(exercise, "fail", problem)
    total = len(settings) + 2
    for number, (n, x) in enumerate(settings, start=1):
        where = f"case {number} of {total} (n = {n}, {second} = {x}): "
        try:
            got = _call(fn, (n, x, torch.Generator().manual_seed(number)), time_limit=time_limit,
                        take=x + 1 if folds else 0)
        except StudentError as error:
            return _verdict_on_error(exercise, error, number == 1, where)
        _, problem = _read(read, got, n, x)
        if problem:
            return report(exercise, "fail", f"{where}{problem}.")
    n, x = settings[-1]

    def draw(generator):
        parts, problem = _read(read, _call(fn, (n, x, generator), time_limit=time_limit,
                                           take=x + 1 if folds else 0), n, x)
        if problem:
            raise ValueError(problem)
        return parts

    problem = _generator_verdict(draw)
    if problem:
        return report(exercise, "fail", f"case {total - 1} of {total} (the generator): {problem}.")
    for args in bad:
        problem = _rejects_problem(fn, args + (torch.Generator().manual_seed(0),), wanted,
                                   time_limit)
        if problem:
            return report(exercise, "fail", f"case {total} of {total} (bad {second}): {problem}.")
    return report(exercise, "pass", f"passed all {total} cases: {passed}.")


def check_split_indices(split_indices, *, time_limit: float | None = TIME_LIMIT) -> bool:
    """Exercise 9.1: ``split_indices(n, n_valid, generator)`` -> (train_idx, valid_idx)."""
    return _check_indices("9.1", split_indices, "n_valid",
                          [(10, 3), (1000, 200), (2, 1), (7, 6), (60, 1), (5000, 1000)],
                          _split_problem, False, [(10, 0), (10, 10), (10, 11), (5, -1)],
                          "n_valid is not between 1 and n - 1",
                          "disjoint, complete, shuffled, and drawn from the generator", time_limit)


# ---------------------------------------------------------------- 9.2 k-fold indices
def kfold_sizes(n: int, k: int) -> list[int]:
    """The validation fold sizes of ``sklearn.model_selection.KFold(k)`` on n items."""
    return [n // k + 1] * (n % k) + [n // k] * (k - n % k)


def _kfold_problem(got, n: int, k: int) -> tuple[list | None, str | None]:
    if not isinstance(got, (list, tuple)) or len(got) != k:
        return None, f"your result should be a list of k = {k} pairs (train_idx, valid_idx), " \
                     f"got {short(got, 60)}"
    folds = []
    for j, pair in enumerate(got, start=1):
        indices, problem = _two(pair, (f"train_idx of fold {j}", f"valid_idx of fold {j}"),
                                _indices, f"entry {j}")
        if problem:
            return None, problem
        train, valid = indices
        problem = _index_problem(valid, n, f"valid_idx of fold {j}")
        if problem:
            return None, problem
        folds.append((train, valid))
    owner = torch.zeros(n, dtype=torch.long)
    for j, (_, valid) in enumerate(folds, start=1):
        again = owner[valid] != 0
        if again.any():
            i = int(valid[again][0])
            return None, (f"index {i} is in validation folds {int(owner[i])} and {j}: the folds "
                          f"overlap; shuffle once and cut that one permutation into k parts")
        owner[valid] = j
    if (owner == 0).any():
        i = int((owner == 0).nonzero()[0])
        return None, (f"index {i} is in no validation fold (the folds hold "
                      f"{int((owner != 0).sum())} of {n} indices): the n % k items left over "
                      f"must go into folds too, one more item each in the first folds")
    sizes = [len(valid) for _, valid in folds]
    if sorted(sizes) != sorted(kfold_sizes(n, k)):
        return None, (f"the validation folds have sizes {sizes}; they should differ by at most "
                      f"one (n // k or n // k + 1 items each, as sklearn's KFold makes them)")
    for j, (train, valid) in enumerate(folds, start=1):
        problem = _index_problem(train, n, f"train_idx of fold {j}")
        if problem:
            return None, problem
        inside = torch.isin(train, valid)
        if inside.any():
            return None, (f"train_idx of fold {j} holds index {int(train[inside][0])}, which is "
                          f"in its own validation fold; train on every index except the fold's")
        if len(train) != n - len(valid):
            missing = (~torch.isin(torch.arange(n), torch.cat([train, valid]))).nonzero()
            return None, (f"train_idx of fold {j} lacks index {int(missing[0])}; train on every "
                          f"index outside the validation fold (n - {len(valid)} of them)")
    problem = _shuffle_problem(folds[0][1], n, "the validation fold 1")
    if problem:
        return None, problem
    return [index.sort().values for pair in folds for index in pair], None


def check_kfold_indices(kfold_indices, *, time_limit: float | None = TIME_LIMIT) -> bool:
    """Exercise 9.2: ``kfold_indices(n, k, generator)`` -> a list of k (train, valid) pairs."""
    return _check_indices("9.2", kfold_indices, "k",
                          [(10, 5), (14, 4), (103, 10), (5, 5), (7, 2), (2, 2), (1000, 3),
                           (600, 7)], _kfold_problem, True, [(10, 1), (10, 11), (5, 0)],
                          "k is not between 2 and n",
                          "every index in exactly one fold, the sizes of KFold's, shuffled by the "
                          "generator", time_limit)


# ---------------------------------------------------------------- 9.3 a paired bootstrap
def _bootstrap_means(d: torch.Tensor, m: int, generator: torch.Generator,
                     chunk: int = 50_000) -> torch.Tensor:
    """The means of ``m`` resamples (with replacement) of ``d``, sorted."""
    parts = []
    for start in range(0, m, chunk):
        idx = torch.randint(len(d), (min(chunk, m - start), len(d)), generator=generator)
        parts.append(d[idx].mean(1))
    return torch.cat(parts).sort().values


def _unpaired_width(a, b, level, generator) -> float:
    ia = torch.randint(len(a), (100_000, len(a)), generator=generator)
    ib = torch.randint(len(b), (100_000, len(b)), generator=generator)
    means = (a[ia].mean(1) - b[ib].mean(1))
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    low, high = torch.quantile(means, q).tolist()
    return high - low


def bootstrap_window(a, b, level: float, n_boot: int) -> dict:
    """The reference for one case: the ranges a right answer's endpoints fall in, and widths.

    An empirical q-quantile of ``n_boot`` draws sits at a probability level within
    ``sqrt(q (1 - q) / n_boot)`` (one standard error) of q, whatever the law; the window is the
    reference quantiles at ``q ± Z`` such errors (plus the reference's own).
    """
    d = (a - b).double()
    means = _bootstrap_means(d, M_REFERENCE, torch.Generator().manual_seed(903))
    window = {}
    for name, q in (("low", (1 - level) / 2), ("high", (1 + level) / 2)):
        w = Z * math.sqrt(q * (1 - q)) * (1 / math.sqrt(n_boot) + 1 / math.sqrt(M_REFERENCE))
        ends = torch.tensor([max(q - w, 0.0), q, min(q + w, 1.0)], dtype=torch.float64)
        lo, mid, hi = torch.quantile(means, ends).tolist()
        slack = 1e-9 * (1 + abs(mid))
        window[name] = (lo - slack, mid, hi + slack)
    window["width"] = window["high"][1] - window["low"][1]
    return window


def _bootstrap_cases():
    g = torch.Generator().manual_seed(93)
    base = 0.85 + 0.02 * torch.randn(20, generator=g, dtype=torch.float64)
    noise = 0.002 * torch.randn(2, 20, generator=g, dtype=torch.float64)
    a10, b10 = base[:10] + 0.012 + noise[0, :10], base[:10] + noise[1, :10]
    a5, b5 = base[10:15] - 0.008 + noise[0, 10:15], base[10:15] + noise[1, 10:15]
    a3 = torch.tensor([0.861, 0.874, 0.852], dtype=torch.float64)
    b3 = torch.tensor([0.850, 0.869, 0.851], dtype=torch.float64)
    a20, b20 = base + 0.004 + noise[0], base + noise[1]
    b_const = base[:8].clone()
    a_const = b_const + 0.02
    return [("10 seeds, the two recipes' accuracies strongly correlated", a10, b10, 0.95, 10_000),
            ("5 seeds, recipe A worse, level 0.9", a5, b5, 0.9, 5_000),
            ("3 seeds, level 0.8", a3, b3, 0.8, 4_000),
            ("20 seeds, level 0.99, n_boot 20000", a20, b20, 0.99, 20_000),
            ("the same difference at every seed", a_const, b_const, 0.95, 2_000)]


def _pair(got) -> tuple[tuple | None, str | None]:
    """The two endpoints as floats (a tensor of two is fine), or why they are not."""
    if isinstance(got, (torch.Tensor, np.ndarray)) and got.ndim == 1 and got.shape[0] == 2:
        got = tuple(got)
    pair, problem = _two(got, ("low", "high"), as_number)
    if problem:
        return None, problem
    low, high = pair
    if not (math.isfinite(low) and math.isfinite(high)):
        return None, f"your interval ({low}, {high}) is not finite"
    return (low, high), None


def _inside(value: float, window: tuple) -> bool:
    return window[0] <= value <= window[2]


def _interval_problem(low, high, window, a, b, level) -> str | None:
    if low > high:
        return (f"low = {low:.4g} is above high = {high:.4g}; return (low, high), the smaller "
                f"endpoint first")
    if _inside(low, window["low"]) and _inside(high, window["high"]):
        return None
    width, right = high - low, window["width"]
    expected = (f"expected low in [{window['low'][0]:.4g}, {window['low'][2]:.4g}] and high in "
                f"[{window['high'][0]:.4g}, {window['high'][2]:.4g}] (the Monte Carlo error of "
                f"n_boot resamples), got ({low:.4g}, {high:.4g})")
    if right > 1e-9 and width <= 1e-12 * (1 + abs(low)):
        return (f"{expected}: your interval has zero width. Hint: resample with replacement "
                f"(torch.randint(n, (n_boot, n), generator=generator)); a permutation of the "
                f"seeds always has the same mean")
    if _inside(-high, window["low"]) and _inside(-low, window["high"]):
        return (f"{expected}. Hint: your interval is the right one for b - a; the difference is "
                f"a - b (recipe A minus recipe B)")
    if width > window["high"][2] - window["low"][0]:
        unpaired = _unpaired_width(a, b, level, torch.Generator().manual_seed(931))
        if abs(width / unpaired - 1) < 0.35:
            return (f"{expected}: your interval is {width / right:.1f} times as wide as the "
                    f"paired bootstrap's. Hint: resample the seed indices once per bootstrap "
                    f"sample and use the same indices for a and b; resampling them "
                    f"independently ignores that a[i] and b[i] share seed i")
        if width < 1.8 * right:
            return (f"{expected}: your interval is too wide ({width / right:.2f} times the "
                    f"bootstrap's). Hint: the endpoints are the (1 - level) / 2 and "
                    f"(1 + level) / 2 quantiles of the resample means; check how you use level")
        return (f"{expected}: your interval is {width / right:.1f} times as wide as the "
                f"bootstrap's. Hint: the interval is for the mean of a - b, so take the "
                f"quantiles of the n_boot resample means, not of the differences themselves "
                f"(or their standard deviation)")
    if width < window["high"][0] - window["low"][2]:
        return (f"{expected}: your interval is too narrow ({width / right:.2f} times the "
                f"bootstrap's). Hint: the endpoints are the (1 - level) / 2 and (1 + level) / 2 "
                f"quantiles of the resample means; check how you use level")
    return (f"{expected}. Hint: for each of n_boot resamples draw n seed indices with "
            f"replacement, take the mean of a[idx] - b[idx]; the endpoints are the "
            f"(1 - level) / 2 and (1 + level) / 2 quantiles of those means")


def check_bootstrap_interval(bootstrap_interval, *,
                             time_limit: float | None = TIME_LIMIT) -> bool:
    """Exercise 9.3: ``bootstrap_interval(a, b, level, n_boot, generator)`` -> (low, high)."""
    problem = _not_a_function(bootstrap_interval)
    if problem:
        return report("9.3", "fail", problem)
    cases = _bootstrap_cases()
    total = len(cases) + 1
    for number, (description, a, b, level, n_boot) in enumerate(cases, start=1):
        where = f"case {number} of {total} ({description}): "
        a_in, b_in = a.clone(), b.clone()
        try:
            got = _call(bootstrap_interval,
                        (a_in, b_in, level, n_boot, torch.Generator().manual_seed(number)),
                        None, time_limit)
        except StudentError as error:
            return _verdict_on_error("9.3", error, number == 1, where)
        if not (torch.equal(a_in, a) and torch.equal(b_in, b)):
            return report("9.3", "fail", f"{where}your function changed a or b in place; "
                                         f"compute new tensors instead.")
        pair, problem = _read(_pair, got)
        if problem is None:
            problem = _interval_problem(*pair, bootstrap_window(a, b, level, n_boot), a, b, level)
        if problem:
            return report("9.3", "fail", f"{where}{problem}.")

    _, a, b, level, _ = cases[0]

    def draw(generator):
        got = _call(bootstrap_interval, (a.clone(), b.clone(), level, 2_000, generator), None,
                    time_limit)
        pair, problem = _read(_pair, got)
        if problem:
            raise ValueError(problem)
        return (torch.tensor(pair, dtype=torch.float64),)

    problem = _generator_verdict(draw)
    if problem:
        return report("9.3", "fail", f"case {total} of {total} (the generator): {problem}.")
    return report("9.3", "pass", f"passed all {total} cases: every interval lies within the "
                                 f"Monte Carlo error of the paired percentile bootstrap.")


# ---------------------------------------------------------------- 9.4 successive halving
def halving_schedule_reference(n_configs: int, min_epochs: int, eta: int) -> list[tuple]:
    """The rungs (configurations, epochs each is trained to) of successive halving.

    Each rung keeps the best ``n // eta`` configurations of the one before, but at least one,
    and trains them to ``eta`` times as many epochs (counted from the start); the schedule ends
    with the first rung that holds a single configuration.
    """
    rungs, n, r = [(n_configs, min_epochs)], n_configs, min_epochs
    while n > 1:
        n, r = max(n // eta, 1), r * eta
        rungs.append((n, r))
    return rungs


def halving_cost_reference(schedule, resume: bool = True) -> int:
    """The epochs successive halving trains in all: promoted runs continue, or restart."""
    total, before = 0, 0
    for n, r in schedule:
        total += n * (r - before if resume else r)
        before = r
    return total


def _schedule_cases() -> list[Case]:
    named = [("27 configurations, eta 3", (27, 1, 3),
              "27, 9, 3, 1 configurations, trained to 1, 3, 9, 27 epochs (counted from the "
              "start, not the epochs added): the schedule ends with the rung of one"),
             ("one configuration", (1, 5, 3), "with one configuration there is one rung, "
                                               "[(1, min_epochs)]"),
             ("n not a power of eta: 10, eta 3", (10, 2, 3),
              "keep n // eta configurations: 10 // 3 = 3, then 1"),
             ("243 configurations, eta 3", (243, 1, 3),
              "count the rungs with integer division in a loop; a floating-point logarithm "
              "gives log(243) / log(3) = 4.999..."),
             ("1000 configurations, eta 10", (1000, 1, 10),
              "log10(1000) in floating point is 2.9999999999999996: use integer arithmetic"),
             ("8 configurations, eta 3: 8 // 3 = 2, then 2 // 3 = 0 becomes 1", (8, 1, 3),
              "keep max(n // eta, 1): a rung never has zero configurations, and the last rung "
              "has one"),
             ("eta 2, 8 configurations", (8, 1, 2), "8, 4, 2, 1 configurations"),
             ("11 configurations, eta 2: floor, not rounding", (11, 1, 2),
              "floor division: 11 // 2 = 5, then 2, then 1"),
             ("2 configurations, eta 4", (2, 3, 4), "2 // 4 = 0, so keep one")]
    cases = [Case(description, args, halving_schedule_reference(*args), hint=hint, atol=0,
                  rtol=0) for description, args, hint in named]
    for n, r, eta in itertools.product((3, 5, 9, 16, 28, 81, 100), (1, 3), (2, 3, 4)):
        args = (n, r, eta)
        cases.append(Case(f"n_configs {n}, min_epochs {r}, eta {eta}", args,
                          halving_schedule_reference(*args), atol=0, rtol=0,
                          hint="rung i holds max(n // eta, 1) of the rung before, trained to "
                               "min_epochs * eta ** i epochs in all; stop at one configuration"))
    return cases


def _cost_cases() -> list[Case]:
    hint_resume = ("a promoted configuration continues from its checkpoint: in rung i it pays "
                   "only the epochs beyond the rung before, r_i - r_(i-1)")
    hint_restart = "restarting, each rung pays n_i * r_i epochs: every run trains from scratch"
    cases = []
    for n, r, eta in [(27, 1, 3), (1, 5, 3), (10, 2, 3), (8, 1, 2), (81, 2, 3), (11, 1, 2),
                      (100, 1, 4)]:
        schedule = halving_schedule_reference(n, r, eta)
        for resume, hint in ((True, hint_resume), (False, hint_restart)):
            cases.append(Case(f"schedule {schedule}, resume={resume}", (schedule, resume),
                              halving_cost_reference(schedule, resume), hint=hint, atol=0,
                              rtol=0, arg_names=("schedule", "resume")))
    return cases


def check_halving(halving_schedule, halving_cost, *,
                  time_limit: float | None = TIME_LIMIT) -> bool:
    """Exercise 9.4: ``halving_schedule(n_configs, min_epochs, eta)`` and ``halving_cost``.

    ``halving_cost(schedule, resume=True)`` is the total number of epochs trained.
    """
    for fn, name in ((halving_schedule, "halving_schedule"), (halving_cost, "halving_cost")):
        problem = _not_a_function(fn)
        if problem:
            return report("9.4", "fail", f"{name}: {problem}")
    schedule_cases, cost_cases = _schedule_cases(), _cost_cases()
    verdict = _run_cases(halving_schedule, schedule_cases, time_limit)
    if verdict:
        return report("9.4", verdict[0], verdict[1] if verdict[0] == "not attempted"
                      else f"halving_schedule, {verdict[1]}")
    verdict = _run_cases(halving_cost, cost_cases, time_limit)
    if verdict:
        status, message = verdict
        return report("9.4", "fail", "halving_schedule passed; halving_cost "
                      + ("raises NotImplementedError: write it too" if status == "not attempted"
                         else message))
    return report("9.4", "pass", f"passed all {len(schedule_cases) + len(cost_cases)} cases.")


# ---------------------------------------------------------------- 9.5 test-set selection
LEAKY = frozenset("ACE")
_HINTS = {
    "A": "A: which loss does the scheduler's step() receive, and which decisions about the "
         "training does it take with it?",
    "B": "B: the test set is touched once, after the epoch was chosen on validation losses; "
         "does anything chosen depend on it?",
    "C": "C: where do the mean and standard deviation come from, and what do they carry into "
         "the model's inputs?",
    "D": "D: every choice is made on validation; retraining on train + validation uses no test "
         "data, and the test set is scored once at the end.",
    "E": "E: which data set decides the augmentation strength, a hyperparameter like any other?",
}


def _letters(answer) -> tuple[set | None, str | None]:
    """The set of letters an answer names, or why it cannot be read."""
    if isinstance(answer, str):
        text = answer
        for separator in ",;/+&":
            text = text.replace(separator, " ")
        items = list("".join(text.split()))
    elif isinstance(answer, (set, frozenset, list, tuple)):
        items = list(answer)
        for item in items:
            if not isinstance(item, str) or len(item.strip()) != 1:
                return None, (f"the answer holds {short(item, 30)}; each entry should be one "
                              f"letter, as in {{'A', 'D'}}")
        items = [item.strip() for item in items]
    else:
        return None, (f"the answer should be a set of letters such as {{'A', 'D'}} (or the "
                      f"string 'AD'), got {short(answer, 60)} ({type(answer).__name__})")
    letters = {item.upper() for item in items}
    others = sorted(letters - set("ABCDE"))
    if others:
        return None, (f"{', '.join(map(repr, others))} {'is' if len(others) == 1 else 'are'} "
                      f"not a loop; name loops by the letters A to E")
    return letters, None


def check_test_leaks(leaky) -> bool:
    """Exercise 9.5: the set of loops (letters A to E) that use the test set to decide."""
    if leaky is None:
        return report("9.5", "not attempted", "not attempted yet: assign the set of letters "
                                              "of the loops that leak, e.g. leaky = {'A', 'D'}")
    letters, problem = _read(_letters, leaky)
    if problem:
        return report("9.5", "fail", problem)
    wrong = sorted(letters ^ LEAKY)
    if not wrong:
        return report("9.5", "pass", "correct: those loops, and only those, let the test set "
                                     "shape the model.")
    missed = [x for x in wrong if x in LEAKY]
    extra = [x for x in wrong if x not in LEAKY]
    parts = []
    if missed:
        parts.append(f"{len(missed)} loop{'s' if len(missed) > 1 else ''} that leak "
                     f"{'are' if len(missed) > 1 else 'is'} missing")
    if extra:
        parts.append(f"{len(extra)} loop{'s' if len(extra) > 1 else ''} you named "
                     f"{'do' if len(extra) > 1 else 'does'} not leak")
    hints = " ".join(_HINTS[x] for x in wrong)
    return report("9.5", "fail", f"{' and '.join(parts)}. Think again about {hints}")


# ---------------------------------------------------------------- 9.6 how many seeds
def t_quantile(p: float, df: int) -> float:
    """Student's t quantile, from scipy when it is there, else by bisection on an exact CDF.

    The fallback uses the closed forms of Abramowitz and Stegun (26.7.3 and 26.7.4) for the
    probability P(|T| < t) with an integer number of degrees of freedom.
    """
    try:
        from scipy import stats
        return float(stats.t.ppf(p, df))
    except ImportError:
        pass
    if not (0 < p < 1) or df < 1 or int(df) != df:
        raise ValueError(f"need 0 < p < 1 and a whole number of degrees of freedom, got {p}, {df}")

    def central(t):          # P(|T| < t) for t >= 0
        theta = math.atan(t / math.sqrt(df))
        c2, s = math.cos(theta) ** 2, math.sin(theta)
        if df % 2 == 1:
            term, total = math.cos(theta), 0.0
            if df > 1:
                total = term
                for j in range(1, (df - 3) // 2 + 1):
                    term *= c2 * (2 * j) / (2 * j + 1)
                    total += term
            return 2 / math.pi * (theta + s * total)
        term, total = 1.0, 1.0
        for j in range(1, (df - 2) // 2 + 1):
            term *= c2 * (2 * j - 1) / (2 * j)
            total += term
        return s * total

    target = abs(2 * p - 1)
    low, high = 0.0, 1.0
    while central(high) < target:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if central(mid) < target else (low, mid)
    return math.copysign((low + high) / 2, p - 0.5)


def seeds_needed_reference(sd_diff: float, half_width: float, level: float = 0.95,
                           df_offset: int = -1, root: bool = True) -> int:
    """The smallest n >= 2 whose paired-t half-width t * sd / sqrt(n) is at most ``half_width``.

    ``df_offset`` and ``root`` give the usual mistakes (n degrees of freedom, no square root).
    """
    n = 2
    while t_quantile((1 + level) / 2, n + df_offset) * sd_diff / (math.sqrt(n) if root else n) \
            > half_width:
        n += 1
    return n


def _normal_answer(sd_diff: float, half_width: float, level: float) -> int:
    z = math.sqrt(2) * _erfinv(level)
    return max(2, math.ceil((z * sd_diff / half_width) ** 2 - 1e-12))


def _erfinv(y: float) -> float:
    return float(torch.special.erfinv(torch.tensor(y, dtype=torch.float64)))


SEEDS_CASES = [(1.0, 1.0, 0.95), (0.02, 0.01, 0.95), (0.1, 1.0, 0.95), (1.0, 0.5, 0.9),
               (0.03, 0.01, 0.99), (0.004, 0.003, 0.95), (1.0, 2.0, 0.5), (1.0, 0.05, 0.95)]


_SEED_MISTAKES = [
    (lambda sd, hw, level: _normal_answer(sd, hw, level),
     "that is the normal quantile's answer; with n seeds the paired interval uses Student's t "
     "with n - 1 degrees of freedom, whose quantile is larger for small n"),
    (lambda sd, hw, level: seeds_needed_reference(sd, hw, level, df_offset=0),
     "the t quantile has n - 1 degrees of freedom, not n"),
    (lambda sd, hw, level: seeds_needed_reference(sd, hw, level, root=False),
     "the half-width is t * sd_diff / sqrt(n): the standard error of a mean"),
    (lambda sd, hw, level: seeds_needed_reference(sd, hw, level) + 1,
     "return the smallest n that is enough, not the first that is too many"),
    (lambda sd, hw, level: seeds_needed_reference(sd, hw, level) - 1,
     "the half-width must be at most half_width: check the last n you tried"),
]


def _whole_number(got) -> tuple[int | None, str | None]:
    if isinstance(got, torch.Tensor) and got.numel() == 1 and not got.is_floating_point() \
            and not got.is_complex() and got.dtype != torch.bool:
        got = got.item()
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        _, problem = as_number(got, "your result")
        return None, problem or (f"your result is {short(got, 30)}, a {type(got).__name__}; a "
                                 f"number of seeds is a whole number: return an int (math.ceil "
                                 f"and a loop counter give one)")
    return int(got), None


def _seeds_hint(answers: dict, case: tuple, got: int) -> str:
    """The mistake that explains every answer seen (else this one), or the rule itself."""
    if got < 2:
        return "a t interval needs n >= 2 seeds (n - 1 >= 1 degree of freedom)"
    for explains_all in (True, False):
        for mistake, hint in _SEED_MISTAKES:
            seen = answers.items() if explains_all else [(case, got)]
            if all(mistake(*c) == n for c, n in seen):
                return hint
    return ("count up from n = 2 until t_((1 + level) / 2, n - 1) * sd_diff / sqrt(n) <= "
            "half_width")


def check_seeds_needed(seeds_needed, *, time_limit: float | None = TIME_LIMIT) -> bool:
    """Exercise 9.6: ``seeds_needed(sd_diff, half_width, level=0.95)`` -> the smallest n >= 2.

    Only valid settings are passed (positive sd_diff and half_width, 0 < level < 1).
    """
    problem = _not_a_function(seeds_needed)
    if problem:
        return report("9.6", "fail", problem)
    total = len(SEEDS_CASES)
    for number, (sd, hw, level) in enumerate(SEEDS_CASES, start=1):
        where = f"case {number} of {total} (sd_diff {sd:g}, half_width {hw:g}, level {level:g}): "
        try:
            got = _call(seeds_needed, (sd, hw, level), None, time_limit)
        except StudentError as error:
            return _verdict_on_error("9.6", error, number == 1, where)
        got, problem = _read(_whole_number, got)
        if problem:
            return report("9.6", "fail", f"{where}{problem}.")
        right = seeds_needed_reference(sd, hw, level)
        if got == right:
            continue
        answers = {}
        for case in SEEDS_CASES:          # what the other cases say about the mistake
            value, error = run_student(seeds_needed, case, None, time_limit)
            n, problem = (None, "error") if error else _read(_whole_number, value)
            if problem is None:
                answers[case] = n
        hint = _seeds_hint(answers, (sd, hw, level), got)
        return report("9.6", "fail", f"{where}expected {right} seeds, got {got}. Hint: {hint}.")
    return report("9.6", "pass", f"passed all {total} cases.")
