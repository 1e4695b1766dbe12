"""Chapter 9's checkers against right answers written several ways, wrong answers and bad input."""

import math
import random

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.model_selection import KFold

from test_exercises import FUZZ, raises_not_implemented, verdict
from utils.exercises import RESULTS, ch09


def _seed_from(generator):
    """An integer drawn from the torch generator, to seed NumPy or sklearn with."""
    return int(torch.randint(2 ** 31 - 1, (1,), generator=generator))


def forever(*args, **kwargs):
    while True:
        pass


def assert_fails(capsys, exercise, check, wrong, words):
    assert not check(wrong), getattr(wrong, "__name__", wrong)
    status, out = verdict(capsys, exercise)
    assert status == "fail" and out.startswith("❌"), out
    for word in [words] if isinstance(words, str) else words:
        assert word in out, (getattr(wrong, "__name__", wrong), word, out)
    return out


def assert_verdicts(capsys, exercise, check, rights, passed, wrongs):
    """Each right answer passes with ``passed`` said, each wrong one fails with its words."""
    for right in rights:
        assert check(right), right.__name__
        status, out = verdict(capsys, exercise)
        assert status == "pass" and passed in out, out
    for wrong, words in wrongs:
        assert_fails(capsys, exercise, check, wrong, words)
    check(raises_not_implemented)
    assert verdict(capsys, exercise)[0] == "not attempted"


# ---------------------------------------------------------------- 9.1 a seeded split
def split_randperm(n, n_valid, generator):
    if not 1 <= n_valid <= n - 1:
        raise ValueError(f"n_valid must be between 1 and n - 1, got {n_valid}")
    perm = torch.randperm(n, generator=generator)
    return perm[n_valid:], perm[:n_valid]


def split_argsort(n, n_valid, generator):
    """Shuffle by sorting uniform keys; return a list, the validation part sorted."""
    if n_valid < 1 or n_valid >= n:
        raise ValueError("bad n_valid")
    order = torch.rand(n, generator=generator, dtype=torch.float64).argsort()
    return [order[n_valid:], order[:n_valid].sort().values]


def split_numpy(n, n_valid, generator):
    """NumPy's own generator, seeded from the one given; NumPy int64 arrays."""
    if not 0 < n_valid < n:
        raise ValueError("n_valid out of range")
    perm = np.random.default_rng(_seed_from(generator)).permutation(n)
    return perm[n_valid:], perm[:n_valid]


def split_by_mask(n, n_valid, generator):
    if not 0 < n_valid < n:
        raise ValueError("n_valid out of range")
    valid = torch.randperm(n, generator=generator)[:n_valid]
    mask = torch.zeros(n, dtype=torch.bool)
    mask[valid] = True
    return (~mask).nonzero().flatten(), valid


def split_with_replacement(n, n_valid, generator):
    return (torch.randint(n, (n - n_valid,), generator=generator),
            torch.randint(n, (n_valid,), generator=generator))


def split_first_items(n, n_valid, generator):
    if not 0 < n_valid < n:
        raise ValueError("n_valid out of range")
    return torch.arange(n_valid, n), torch.arange(n_valid)


def split_global_rng(n, n_valid, generator):
    if not 0 < n_valid < n:
        raise ValueError("n_valid out of range")
    perm = torch.randperm(n)
    return perm[n_valid:], perm[:n_valid]


def split_numpy_global(n, n_valid, generator):
    if not 0 < n_valid < n:
        raise ValueError("n_valid out of range")
    perm = np.random.permutation(n)
    return perm[n_valid:], perm[:n_valid]


def split_reseeds_global(n, n_valid, generator):
    torch.manual_seed(0)
    return split_global_rng(n, n_valid, generator)


def split_own_generator(n, n_valid, generator):
    return split_randperm(n, n_valid, torch.Generator().manual_seed(0))


def split_valid_too_big(n, n_valid, generator):
    perm = torch.randperm(n, generator=generator)
    return perm[n_valid:], perm[:n_valid + 1]


def split_off_by_one(n, n_valid, generator):
    perm = torch.randperm(n, generator=generator)
    return perm[n_valid + 1:], perm[:n_valid]


def split_duplicate(n, n_valid, generator):
    perm = torch.randperm(n, generator=generator)
    valid = perm[:n_valid].clone()
    if n_valid > 1:
        valid[-1] = valid[0]
    return perm[n_valid:], valid


def split_overlap(n, n_valid, generator):
    perm = torch.randperm(n, generator=generator)
    return torch.cat([perm[n_valid + 1:], perm[:1]]), perm[:n_valid]


def split_no_check(n, n_valid, generator):
    perm = torch.randperm(n, generator=generator)
    return perm[n_valid:], perm[:n_valid]


def split_asserts(n, n_valid, generator):
    assert 0 < n_valid < n
    return split_no_check(n, n_valid, generator)


def split_masks(n, n_valid, generator):
    train, valid = split_randperm(n, n_valid, generator)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[valid] = True
    return ~mask, mask


def split_swapped(n, n_valid, generator):
    train, valid = split_randperm(n, n_valid, generator)
    return valid, train


def split_floats(n, n_valid, generator):
    train, valid = split_randperm(n, n_valid, generator)
    return train.double(), valid.double()


def split_strided(n, n_valid, generator):
    """Every k-th item: averages right, never a block, but the same split for every seed."""
    if not 0 < n_valid < n:
        raise ValueError("n_valid out of range")
    valid = torch.linspace(0, n - 1, n_valid).long()
    mask = torch.ones(n, dtype=torch.bool)
    mask[valid] = False
    return torch.arange(n)[mask], valid


def test_split_indices(capsys):
    assert_verdicts(capsys, "9.1", ch09.check_split_indices,
                    [split_randperm, split_argsort, split_numpy, split_by_mask],
                    "passed all 8 cases",
                    [(split_with_replacement, "torch.randint"),
                     (split_first_items, ["case 2 of 8", "consecutive"]),
                     (split_global_rng, "seeded alike gave different"),
                     (split_numpy_global, "seeded alike gave different"),
                     (split_reseeds_global, "case 7 of 8"),
                     (split_own_generator, "seeded differently"),
                     (split_strided, "seeded differently"),
                     (split_valid_too_big, "valid_idx has 4 indices, expected n_valid = 3"),
                     (split_off_by_one, "train_idx has 6 indices"),
                     (split_duplicate, "valid_idx holds index"),
                     (split_overlap, "in both train_idx and valid_idx"),
                     (split_no_check, ["case 8 of 8", "raise ValueError when n_valid"]),
                     (split_asserts, ["AssertionError", "assert 0 < n_valid < n"]),
                     (split_masks, "boolean mask"),
                     (split_swapped, "the other way round"),
                     (split_floats, "torch.float64")])


def test_the_split_checker_leaves_the_global_generators_alone():
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    before = ch09._global_states()
    ch09.check_split_indices(split_randperm)
    assert ch09._global_problem(before) is None


# ---------------------------------------------------------------- 9.2 k-fold indices
def kfold_tensor_split(n, k, generator):
    if not 2 <= k <= n:
        raise ValueError(f"k must be between 2 and n, got {k}")
    perm = torch.randperm(n, generator=generator)
    folds = torch.tensor_split(perm, k)
    return [(torch.cat(folds[:j] + folds[j + 1:]), fold) for j, fold in enumerate(folds)]


def kfold_sklearn(n, k, generator):
    """sklearn's KFold itself, shuffled with a seed drawn from the generator."""
    splitter = KFold(n_splits=k, shuffle=True, random_state=_seed_from(generator))
    return [(torch.as_tensor(t), torch.as_tensor(v)) for t, v in splitter.split(np.arange(n))]


def kfold_yields(n, k, generator):
    """A generator function that hands out numpy arrays, the big folds last, train by mask."""
    if k < 2 or k > n:
        raise ValueError("k out of range")
    perm = torch.randperm(n, generator=generator).numpy()
    sizes = sorted(ch09.kfold_sizes(n, k))
    start = 0
    for size in sizes:
        valid = perm[start:start + size]
        keep = np.ones(n, dtype=bool)
        keep[valid] = False
        yield np.flatnonzero(keep), valid
        start += size


def kfold_overlapping(n, k, generator):
    return [(torch.arange(n), torch.randperm(n, generator=generator)[:size])
            for size in ch09.kfold_sizes(n, k)]


def kfold_drops_remainder(n, k, generator):
    perm = torch.randperm(n, generator=generator)
    size = n // k
    folds = [perm[j * size:(j + 1) * size] for j in range(k)]
    return [(perm[~torch.isin(perm, f)], f) for f in folds]


def kfold_last_takes_rest(n, k, generator):
    perm = torch.randperm(n, generator=generator)
    size = n // k
    folds = [perm[j * size:(j + 1) * size] for j in range(k - 1)] + [perm[(k - 1) * size:]]
    return [(perm[~torch.isin(perm, f)], f) for f in folds]


def kfold_train_includes_fold(n, k, generator):
    return [(torch.arange(n), v) for _, v in kfold_tensor_split(n, k, generator)]


def kfold_train_lacks_one(n, k, generator):
    return [(t[1:], v) for t, v in kfold_tensor_split(n, k, generator)]


def kfold_not_shuffled(n, k, generator):
    folds = torch.tensor_split(torch.arange(n), k)
    return [(torch.cat(folds[:j] + folds[j + 1:]), f) for j, f in enumerate(folds)]


def kfold_global_rng(n, k, generator):
    return kfold_tensor_split(n, k, None)


def kfold_no_check(n, k, generator):
    if k < 1:
        raise ZeroDivisionError("division by zero")
    return kfold_tensor_split(max(n, k), max(k, 2), generator)[:k] if k >= 2 else \
        [(torch.arange(0), torch.arange(n))]


def kfold_only_folds(n, k, generator):
    return [v for _, v in kfold_tensor_split(n, k, generator)]


def test_kfold_indices(capsys):
    assert_verdicts(capsys, "9.2", ch09.check_kfold_indices,
                    [kfold_tensor_split, kfold_sklearn, kfold_yields], "passed all 10 cases",
                    [(kfold_overlapping, "the folds overlap"),
                     (kfold_drops_remainder, ["case 2 of 10", "in no validation fold"]),
                     (kfold_last_takes_rest, ["case 2 of 10", "sizes [3, 3, 3, 5]"]),
                     (kfold_train_includes_fold, "in its own validation fold"),
                     (kfold_train_lacks_one, "lacks index"),
                     (kfold_not_shuffled, ["case 3 of 10", "consecutive"]),
                     (kfold_global_rng, "seeded alike gave different"),
                     (kfold_no_check, ["case 10 of 10", "raise ValueError when k"]),
                     (kfold_only_folds, "entry 1 should be a pair (train_idx of fold 1")])


@pytest.mark.parametrize("n, k", [(10, 5), (14, 4), (103, 10), (7, 2), (600, 7)])
def test_fold_sizes_are_sklearns(n, k):
    ours = sorted(ch09.kfold_sizes(n, k))
    theirs = sorted(len(v) for _, v in KFold(k).split(np.arange(n)))
    assert ours == theirs and sum(ours) == n


# ---------------------------------------------------------------- 9.3 a paired bootstrap
def _ends(level):
    return (1 - level) / 2, (1 + level) / 2


def boot_randint(a, b, level=0.95, n_boot=10_000, generator=None):
    d = a - b
    idx = torch.randint(len(d), (n_boot, len(d)), generator=generator)
    return tuple(torch.quantile(d[idx].mean(1), torch.tensor(_ends(level), dtype=d.dtype)).tolist())


def boot_multinomial(a, b, level=0.95, n_boot=10_000, generator=None):
    """torch.multinomial, indices drawn seed-major (transposed), a tensor of two returned."""
    n = len(a)
    idx = torch.multinomial(torch.ones(n, n_boot).T.contiguous(), n, replacement=True,
                            generator=generator).T
    means = (a[idx] - b[idx]).mean(0)
    return torch.quantile(means, torch.tensor(_ends(level), dtype=means.dtype))


def boot_numpy(a, b, level=0.95, n_boot=10_000, generator=None):
    rng = np.random.default_rng(_seed_from(generator))
    d = (a - b).numpy()
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    low, high = np.percentile(means, [100 * q for q in _ends(level)])
    return low, high


def boot_loop(a, b, level=0.95, n_boot=10_000, generator=None):
    """A plain loop, the lower order statistic as each quantile (no interpolation)."""
    n, means = len(a), []
    for _ in range(n_boot):
        i = torch.randint(n, (n,), generator=generator)
        means.append(float((a[i] - b[i]).mean()))
    means.sort()
    lo, hi = _ends(level)
    return means[int(lo * n_boot)], means[min(int(hi * n_boot), n_boot - 1)]


def boot_unpaired(a, b, level=0.95, n_boot=10_000, generator=None):
    ia = torch.randint(len(a), (n_boot, len(a)), generator=generator)
    ib = torch.randint(len(b), (n_boot, len(b)), generator=generator)
    means = a[ia].mean(1) - b[ib].mean(1)
    return tuple(torch.quantile(means, torch.tensor(_ends(level), dtype=means.dtype)).tolist())


def boot_permutation(a, b, level=0.95, n_boot=10_000, generator=None):
    d, means = a - b, []
    for _ in range(min(n_boot, 500)):
        means.append(d[torch.randperm(len(d), generator=generator)].mean())
    means = torch.stack(means)
    return tuple(torch.quantile(means, torch.tensor(_ends(level), dtype=means.dtype)).tolist())


def boot_data_quantiles(a, b, level=0.95, n_boot=10_000, generator=None):
    d = a - b
    idx = torch.randint(len(d), (n_boot, len(d)), generator=generator)
    ends = torch.tensor(_ends(level), dtype=d.dtype)
    return tuple(torch.quantile(d[idx].flatten(), ends).tolist())


def boot_data_sd(a, b, level=0.95, n_boot=10_000, generator=None):
    d = a - b
    z = stats.norm.ppf((1 + level) / 2)
    return float(d.mean() - z * d.std()), float(d.mean() + z * d.std())


def boot_swapped(a, b, level=0.95, n_boot=10_000, generator=None):
    return boot_randint(b, a, level, n_boot, generator)


def boot_ignores_level(a, b, level=0.95, n_boot=10_000, generator=None):
    return boot_randint(a, b, 0.95, n_boot, generator)


def boot_level_half(a, b, level=0.95, n_boot=10_000, generator=None):
    return boot_randint(a, b, 0.5, n_boot, generator)


def boot_alpha_not_halved(a, b, level=0.95, n_boot=10_000, generator=None):
    """quantile(1 - level) and quantile(level): a 90% interval for level 0.95."""
    return boot_randint(a, b, 2 * level - 1, n_boot, generator)


def boot_reversed(a, b, level=0.95, n_boot=10_000, generator=None):
    low, high = boot_randint(a, b, level, n_boot, generator)
    return high, low


def boot_global_rng(a, b, level=0.95, n_boot=10_000, generator=None):
    return boot_randint(a, b, level, n_boot, None)


def boot_own_generator(a, b, level=0.95, n_boot=10_000, generator=None):
    return boot_randint(a, b, level, n_boot, torch.Generator().manual_seed(0))


def boot_in_place(a, b, level=0.95, n_boot=10_000, generator=None):
    a -= b
    return boot_randint(a, torch.zeros_like(a), level, n_boot, generator)


def boot_strings(a, b, level=0.95, n_boot=10_000, generator=None):
    return tuple(f"{x:.4f}" for x in boot_randint(a, b, level, n_boot, generator))


def test_bootstrap_interval(capsys):
    assert_verdicts(capsys, "9.3", ch09.check_bootstrap_interval,
                    [boot_randint, boot_multinomial, boot_numpy, boot_loop],
                    "passed all 6 cases",
                    [(boot_unpaired, ["case 1 of 6", "use the same indices for a and b"]),
                     (boot_permutation, ["case 1 of 6", "zero width", "with replacement"]),
                     (boot_data_quantiles, ["times as wide", "not of the differences"]),
                     (boot_data_sd, ["times as wide", "standard deviation"]),
                     (boot_swapped, ["case 1 of 6", "b - a"]),
                     (boot_ignores_level, ["case 2 of 6", "too wide", "how you use level"]),
                     (boot_level_half, ["case 1 of 6", "too narrow", "level"]),
                     (boot_alpha_not_halved, ["case 1 of 6", "too narrow", "(1 - level) / 2"]),
                     (boot_reversed, "the smaller endpoint first"),
                     (boot_global_rng, "seeded alike gave different"),
                     (boot_own_generator, "seeded differently"),
                     (boot_in_place, "changed a or b in place"),
                     (boot_strings, "not a string")])


@pytest.mark.parametrize("number", range(5))
def test_right_bootstraps_pass_for_many_seeds(number):
    """The windows hold a right answer with any generator seed (none of 40 falls outside)."""
    _, a, b, level, n_boot = ch09._bootstrap_cases()[number]
    window = ch09.bootstrap_window(a, b, level, n_boot)
    for seed in range(40):
        right = boot_randint if seed % 2 else boot_numpy
        low, high = right(a, b, level, n_boot, torch.Generator().manual_seed(1000 + seed))
        assert ch09._interval_problem(low, high, window, a, b, level) is None, (seed, low, high)


def test_the_unpaired_interval_is_clearly_wider_on_the_first_case():
    _, a, b, level, n_boot = ch09._bootstrap_cases()[0]
    window = ch09.bootstrap_window(a, b, level, n_boot)
    assert ch09._unpaired_width(a, b, level, torch.Generator().manual_seed(0)) > 5 * window["width"]


# ---------------------------------------------------------------- 9.4 successive halving
def schedule_loop(n_configs, min_epochs, eta):
    rungs = [(n_configs, min_epochs)]
    while rungs[-1][0] > 1:
        n, r = rungs[-1]
        rungs.append((max(n // eta, 1), r * eta))
    return rungs


def schedule_recursive(n_configs, min_epochs, eta):
    if n_configs == 1:
        return [[1, min_epochs]]
    return [[n_configs, min_epochs]] + schedule_recursive(max(n_configs // eta, 1),
                                                          min_epochs * eta, eta)


def cost_zip(schedule, resume=True):
    previous = [0] + [r for _, r in schedule[:-1]]
    return sum(n * (r - p if resume else r) for (n, r), p in zip(schedule, previous))


def schedule_stops_early(n_configs, min_epochs, eta):
    rungs, n, r = [(n_configs, min_epochs)], n_configs, min_epochs
    while n >= eta:
        n, r = n // eta, r * eta
        rungs.append((n, r))
    return rungs


def schedule_extra_rung(n_configs, min_epochs, eta):
    rungs = schedule_loop(n_configs, min_epochs, eta)
    return rungs + [(1, rungs[-1][1] * eta)]


def schedule_ceil(n_configs, min_epochs, eta):
    rungs = [(n_configs, min_epochs)]
    while rungs[-1][0] > 1:
        n, r = rungs[-1]
        rungs.append((math.ceil(n / eta), r * eta))
    return rungs


def schedule_log(n_configs, min_epochs, eta):
    rungs = int(math.log(n_configs) / math.log(eta)) + 1 if n_configs > 1 else 1
    return [(max(n_configs // eta ** i, 1), min_epochs * eta ** i) for i in range(rungs)]


def schedule_extra_epochs(n_configs, min_epochs, eta):
    rungs = schedule_loop(n_configs, min_epochs, eta)
    return [(n, r - (rungs[i - 1][1] if i else 0)) for i, (n, r) in enumerate(rungs)]


def schedule_zero(n_configs, min_epochs, eta):
    rungs, n, r = [(n_configs, min_epochs)], n_configs, min_epochs
    while n > 1:
        n, r = n // eta, r * eta
        rungs.append((n, r))
    return rungs


def cost_always_restarts(schedule, resume=True):
    return sum(n * r for n, r in schedule)


def cost_always_resumes(schedule, resume=True):
    return cost_zip(schedule, True)


def cost_last_rung_only(schedule, resume=True):
    return schedule[-1][0] * schedule[-1][1]


def test_halving(capsys):
    check = ch09.check_halving
    for schedule in (schedule_loop, schedule_recursive, ch09.halving_schedule_reference):
        for cost in (cost_zip, ch09.halving_cost_reference):
            assert check(schedule, cost), (schedule.__name__, cost.__name__)
            status, out = verdict(capsys, "9.4")
            assert status == "pass" and "passed all 65 cases" in out, out
    for schedule, words in [(schedule_stops_early, "case 6 of 51"),
                            (schedule_extra_rung, "case 1 of 51"),
                            (schedule_ceil, "case 3 of 51"),
                            (schedule_log, ["case 4 of 51", "logarithm"]),
                            (schedule_extra_epochs, "case 1 of 51"),
                            (schedule_zero, ["case 6 of 51", "max(n // eta, 1)"])]:
        out = assert_fails(capsys, "9.4", lambda s: check(s, cost_zip), schedule, words)
        assert "halving_schedule" in out and "Hint" in out, out
    for cost, words in [(cost_always_restarts, ["resume=True", "only the epochs beyond"]),
                        (cost_always_resumes, ["resume=False", "from scratch"]),
                        (cost_last_rung_only, "halving_cost")]:
        assert_fails(capsys, "9.4", lambda c: check(schedule_loop, c), cost, words)
    check(raises_not_implemented, raises_not_implemented)
    assert verdict(capsys, "9.4")[0] == "not attempted"
    assert_fails(capsys, "9.4", lambda c: check(schedule_loop, c), raises_not_implemented,
                 "write it too")


def test_halving_reference_numbers():
    assert ch09.halving_schedule_reference(27, 1, 3) == [(27, 1), (9, 3), (3, 9), (1, 27)]
    assert ch09.halving_schedule_reference(8, 1, 3) == [(8, 1), (2, 3), (1, 9)]
    assert ch09.halving_schedule_reference(1, 4, 2) == [(1, 4)]
    schedule = ch09.halving_schedule_reference(27, 1, 3)
    assert ch09.halving_cost_reference(schedule, True) == 81       # 27 + 9*2 + 3*6 + 1*18
    assert ch09.halving_cost_reference(schedule, False) == 108     # 4 rungs of 27 epochs


# ---------------------------------------------------------------- 9.5 test-set selection
def test_test_leaks(capsys):
    for right in ({"A", "C", "E"}, ["a", "c", "e"], "ACE", "a, c, e", ("E", "A", "C"),
                  frozenset("ace"), "A C E", ["A ", "C", "E", "A"]):
        assert ch09.check_test_leaks(right), right
        assert verdict(capsys, "9.5")[0] == "pass"
    out = assert_fails(capsys, "9.5", ch09.check_test_leaks, {"A"}, ["2 loops that leak are "
                                                                     "missing", "C:", "E:"])
    assert "A:" not in out and "B:" not in out
    out = assert_fails(capsys, "9.5", ch09.check_test_leaks, "ABCE", ["1 loop you named does "
                                                                      "not leak", "B:"])
    assert "A:" not in out and "C:" not in out
    assert_fails(capsys, "9.5", ch09.check_test_leaks, {"B", "D"},
                 ["3 loops that leak are missing", "2 loops you named do not leak"])
    assert_fails(capsys, "9.5", ch09.check_test_leaks, set(), "3 loops that leak are missing")
    for bad, words in [("F", "'F' is not a loop"), ("text", "'T', 'X' are not a loop"),
                       ({"A", "AB"}, "one letter"), (3, "set of letters"),
                       ({"A": True}, "set of letters"), ([1, 2], "one letter")]:
        assert_fails(capsys, "9.5", ch09.check_test_leaks, bad, words)
    ch09.check_test_leaks(None)
    assert verdict(capsys, "9.5")[0] == "not attempted"


# ---------------------------------------------------------------- 9.6 how many seeds
def seeds_scipy(sd_diff, half_width, level=0.95):
    n = 2
    while stats.t.ppf((1 + level) / 2, n - 1) * sd_diff / math.sqrt(n) > half_width:
        n += 1
    return n


def seeds_vectorized(sd_diff, half_width, level=0.95):
    """All candidates at once with t.isf; returns a NumPy integer."""
    n = np.arange(2, 20_000)
    ok = stats.t.isf((1 - level) / 2, n - 1) * sd_diff / np.sqrt(n) <= half_width
    return n[np.argmax(ok)]


def seeds_fallback(sd_diff, half_width, level=0.95):
    """With the checker's own t quantile (no scipy) and a torch integer."""
    n = 2
    while ch09.t_quantile((1 + level) / 2, n - 1) * sd_diff / n ** 0.5 > half_width:
        n += 1
    return torch.tensor(n)


def seeds_normal(sd_diff, half_width, level=0.95):
    z = stats.norm.ppf((1 + level) / 2)
    return max(2, math.ceil((z * sd_diff / half_width) ** 2))


def seeds_df_n(sd_diff, half_width, level=0.95):
    n = 2
    while stats.t.ppf((1 + level) / 2, n) * sd_diff / math.sqrt(n) > half_width:
        n += 1
    return n


def seeds_no_sqrt(sd_diff, half_width, level=0.95):
    n = 2
    while stats.t.ppf((1 + level) / 2, n - 1) * sd_diff / n > half_width:
        n += 1
    return n


def seeds_float(sd_diff, half_width, level=0.95):
    return float(seeds_scipy(sd_diff, half_width, level))


def seeds_one_too_many(sd_diff, half_width, level=0.95):
    n = 2
    while stats.t.ppf((1 + level) / 2, n - 1) * sd_diff / math.sqrt(n) > half_width:
        n += 1
    return n + 1


def seeds_unrounded(sd_diff, half_width, level=0.95):
    return (stats.norm.ppf((1 + level) / 2) * sd_diff / half_width) ** 2


def seeds_from_one(sd_diff, half_width, level=0.95):
    n = 1
    while stats.norm.ppf((1 + level) / 2) * sd_diff / math.sqrt(n) > half_width:
        n += 1
    return n


def test_seeds_needed(capsys):
    assert_verdicts(capsys, "9.6", ch09.check_seeds_needed,
                    [seeds_scipy, seeds_vectorized, seeds_fallback, ch09.seeds_needed_reference],
                    "passed all 8 cases",
                    [(seeds_normal, ["expected 7 seeds, got 4", "normal quantile"]),
                     (seeds_df_n, ["expected 7 seeds, got 6", "n - 1 degrees of freedom, not n"]),
                     (seeds_no_sqrt, ["got 4", "sqrt(n)"]),
                     (seeds_float, ["7.0", "float", "return an int"]),
                     (seeds_one_too_many, "the smallest n"),
                     (seeds_unrounded, "whole number"),
                     (lambda sd, hw, level=0.95: str(seeds_scipy(sd, hw, level)), "not a string"),
                     (seeds_from_one, "case 1 of 8")])     # the normal quantile, from n = 1


def test_the_seed_cases_are_far_from_ties_and_tell_mistakes_apart():
    """No case sits on the boundary, and the normal quantile is wrong on most of them."""
    normal_wrong = 0
    for sd, hw, level in ch09.SEEDS_CASES:
        n = ch09.seeds_needed_reference(sd, hw, level)
        t = stats.t.ppf((1 + level) / 2, n - 1)
        assert t * sd / math.sqrt(n) < hw * (1 - 1e-6)
        if n > 2:
            assert stats.t.ppf((1 + level) / 2, n - 2) * sd / math.sqrt(n - 1) > hw * (1 + 1e-6)
        normal_wrong += seeds_normal(sd, hw, level) != n
    assert normal_wrong >= 5


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 9, 10, 29, 30, 100, 1539])
def test_the_fallback_t_quantile_matches_scipy(df, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("no scipy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    for p in (0.6, 0.75, 0.9, 0.95, 0.975, 0.995, 0.025):
        assert math.isclose(ch09.t_quantile(p, df), stats.t.ppf(p, df), rel_tol=1e-9), (p, df)


# ---------------------------------------------------------------- every checker, bad input
CHECKERS = {
    "9.1": ch09.check_split_indices,
    "9.2": ch09.check_kfold_indices,
    "9.3": ch09.check_bootstrap_interval,
    "9.4": lambda answer: ch09.check_halving(answer, cost_zip),
    "9.4 (cost)": lambda answer: ch09.check_halving(schedule_loop, answer),
    "9.5": ch09.check_test_leaks,
    "9.6": ch09.check_seeds_needed,
}


@pytest.mark.parametrize("name", CHECKERS)
def test_no_input_makes_a_chapter_9_checker_raise(capsys, name):
    exercise = name.split()[0]
    for bad in FUZZ:
        RESULTS.clear()
        CHECKERS[name](bad)
        status, out = verdict(capsys, exercise)
        if bad is None and exercise == "9.5":
            assert status == "not attempted", out
        else:
            assert status == "fail" and out.startswith("❌"), (bad, out)


@pytest.mark.parametrize("check, exercise", [
    (lambda f: ch09.check_split_indices(f, time_limit=0.3), "9.1"),
    (lambda f: ch09.check_kfold_indices(f, time_limit=0.3), "9.2"),
    (lambda f: ch09.check_bootstrap_interval(f, time_limit=0.3), "9.3"),
    (lambda f: ch09.check_halving(f, cost_zip, time_limit=0.3), "9.4"),
    (lambda f: ch09.check_halving(schedule_loop, f, time_limit=0.3), "9.4"),
    (lambda f: ch09.check_seeds_needed(f, time_limit=0.3), "9.6")])
def test_an_endless_loop_is_stopped(capsys, check, exercise):
    assert not check(forever)
    status, out = verdict(capsys, exercise)
    assert status == "fail" and "did not finish within 0.3 s" in out, out


def test_a_students_error_names_their_line(capsys):
    def split_indices(n, n_valid, generator):
        perm = torch.randperm(n, generator=generator)
        return perm[n_valid:], perm[:n_valid] + perm.unknown

    ch09.check_split_indices(split_indices)
    status, out = verdict(capsys, "9.1")
    assert status == "fail" and "AttributeError" in out and "perm.unknown" in out, out



class Unreadable:
    """An object whose every use fails, as a student's odd result might."""

    def __getattr__(self, name):
        raise RuntimeError("unreadable")

    def __len__(self):
        raise RuntimeError("unreadable")

    def __iter__(self):
        raise RuntimeError("unreadable")


@pytest.mark.parametrize("name", CHECKERS)
def test_odd_results_are_reported_not_raised(capsys, name):
    odd = [lambda *a: Unreadable(), lambda *a: (Unreadable(), Unreadable()),
           lambda *a: [(Unreadable(), Unreadable())] * 10,
           lambda *a: torch.ones(3, dtype=torch.long).to_sparse(),
           lambda *a: (torch.arange(5).to_sparse(), torch.arange(5).to_sparse())]
    for bad in odd + ([Unreadable(), {"A", Unreadable()}] if name == "9.5" else []):
        RESULTS.clear()
        CHECKERS[name](bad)
        status, out = verdict(capsys, name.split()[0])
        assert status == "fail" and out.startswith("❌"), (bad, out)
