"""Every checker against right answers, typical wrong answers, and bad input.

A checker must pass a right answer (however it is written), fail a wrong one with a message that
says what is wrong, print exactly one line per call, and never raise, whatever the student
hands it. The engine's pieces for Part II (arguments changed in place, trajectories, random
draws, time limits) are tested here on small exercises of that kind.
"""

import math
import signal

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.exercises import (RESULTS, Case, check_distribution, check_function, check_trajectory,
                             check_value)
from utils.exercises import ch01, ch02, ch03, ch04
from utils.exercises.comparison import Law, compare, law_problem


def verdict(capsys, exercise):
    """The recorded verdict and the printed paragraph: exactly one verdict, within 100 columns."""
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines and lines[0][:1] in "✅❌⏳", f"expected a verdict, got:\n{out}"
    assert all(line.startswith("   ") for line in lines[1:]), f"one verdict only:\n{out}"
    assert max(map(len, lines)) <= 100, f"wider than the page:\n{out}"
    return RESULTS.get(exercise), " ".join(line.strip() for line in lines)


def raises_not_implemented(*args):
    raise NotImplementedError


def raises_type_error(*args):
    return args[0] @ "oops"


BAD_INPUT = [None, 42, "text", raises_type_error, lambda *a: None, lambda *a: "text",
             lambda *a: torch.full((2, 2), float("nan"))]


# ---------------------------------------------------------------- comparing outputs
def test_compare_explains_each_kind_of_difference():
    assert compare(torch.ones(2), torch.ones(2), 1e-6, 1e-6) is None
    assert "shape (2,)" in compare(torch.ones(3), torch.ones(2), 1e-6, 1e-6)
    assert "nan" in compare(torch.tensor([1.0, math.nan]), torch.ones(2), 1e-6, 1e-6)
    assert "largest difference" in compare(torch.tensor([1.0, 3.0]), torch.ones(2), 1e-6, 1e-6)
    assert "None" in compare(None, torch.ones(2), 1e-6, 1e-6)
    assert "single number" in compare(object(), 1.0, 1e-6, 1e-6)
    assert "not a string" in compare("2.30", 2.3, 1e-6, 1e-6)
    assert "tensor of shape" in compare(object(), torch.ones(2), 1e-6, 1e-6)
    assert compare(torch.tensor(2.0), 2.0, 1e-6, 1e-6) is None
    assert compare([1.0, 2.0], torch.tensor([1.0, 2.0]), 1e-6, 1e-6) is None   # lists are fine
    assert compare(np.array([1.0, 2.0]), torch.tensor([1.0, 2.0])) is None     # and NumPy arrays


def test_compare_names_the_first_difference_in_tensors_of_any_size():
    expected = torch.arange(20.0).reshape(5, 4)
    got = expected.clone()
    got[1, 3], got[4, 0] = 0.5, 100.0
    message = compare(got, expected)
    assert "2 of 20 values differ" in message
    assert "first at position (1, 3): expected 7, got 0.5" in message
    assert "largest difference is 84, at position (4, 0)" in message
    big = torch.zeros(300, 300)
    wrong = big.clone()
    wrong[123, 45] = 1.0
    assert "position (123, 45): expected 0, got 1" in compare(wrong, big)


def test_compare_names_dtypes_and_structures():
    assert "torch.float32, expected torch.float64" in compare(torch.ones(2), torch.ones(2).double())
    assert compare(torch.ones(2).double(), torch.ones(2)) is None        # more precision is fine
    assert "torch.bool" in compare(torch.ones(2, dtype=torch.bool), torch.ones(2))
    assert "complex" in compare(torch.ones(2, dtype=torch.complex64), torch.ones(2))
    state = {"v": [torch.zeros(2), torch.ones(3)]}
    other = {"v": [torch.zeros(2), torch.tensor([1.0, 1.0, 2.0])]}
    assert "state['v'][1]" in compare(other, state, what="state")
    assert "no entry 'v'" in compare({"velocity": []}, state, what="state")


# ---------------------------------------------------------------- check_function
def test_check_function_reports_where_the_student_code_failed(capsys):
    def student(x):
        y = x * 2
        return y @ torch.ones(3)            # shape error on purpose

    check_function("9.9", student, [Case("a vector", (torch.ones(2),), torch.ones(2))])
    status, out = verdict(capsys, "9.9")
    assert status == "fail" and "raised RuntimeError" in out and "in student, line" in out
    assert "return y @ torch.ones(3)" in out


def test_check_function_catches_in_place_changes(capsys):
    def in_place(x):
        x += 1
        return x

    check_function("9.9", in_place, [Case("ones", (torch.ones(2),), torch.full((2,), 2.0))])
    status, out = verdict(capsys, "9.9")
    assert status == "fail" and "changed its argument number 1 in place" in out


def test_check_function_tuples_are_named(capsys):
    case = Case("pair", (), (torch.ones(1), torch.zeros(1)), names=("grad_w", "grad_b"))
    check_function("9.9", lambda: (torch.ones(1), torch.ones(1)), [case])
    assert "grad_b" in verdict(capsys, "9.9")[1]
    check_function("9.9", lambda: torch.ones(1), [case])
    assert "expected 2 results" in verdict(capsys, "9.9")[1]


def test_not_implemented_after_a_passing_case_is_a_failure(capsys):
    cases = [Case(f"x = {i}", (torch.tensor(float(i)),), torch.tensor(2.0 * i)) for i in range(4)]

    def half_done(x):
        if x > 1:
            raise NotImplementedError
        return 2 * x

    check_function("9.9", half_done, cases)
    status, out = verdict(capsys, "9.9")
    assert status == "fail" and "case 3 of 4" in out and "NotImplementedError" in out
    check_function("9.9", raises_not_implemented, cases)
    assert verdict(capsys, "9.9")[0] == "not attempted"


def test_time_limit_stops_an_endless_loop(capsys):
    def forever(x):
        while True:
            try:
                x = x + 1
            except Exception:             # the limit is not an Exception: this cannot swallow it
                pass

    before = signal.getsignal(signal.SIGALRM)
    check_function("9.9", forever, [Case("one", (torch.zeros(1),), torch.zeros(1))], time_limit=0.2)
    status, out = verdict(capsys, "9.9")
    assert status == "fail" and "did not finish within 0.2 s" in out
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    signal.setitimer(signal.ITIMER_REAL, 100)                  # a timer someone else had set is kept
    try:
        check_function("9.9", lambda x: x, [Case("one", (torch.zeros(1),), torch.zeros(1))])
        assert verdict(capsys, "9.9")[0] == "pass" and 90 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_arguments_may_be_allowed_to_change(capsys):
    def scale_(x, factor):
        x.mul_(factor)
        return x

    case = Case("x = [1, 2], factor 3", (torch.tensor([1.0, 2.0]), 3.0), torch.tensor([3.0, 6.0]),
                arg_names=("x", "factor"), may_change=("x",))
    check_function("9.9", scale_, [case])
    assert verdict(capsys, "9.9")[0] == "pass"
    case.may_change = ()
    check_function("9.9", scale_, [case])
    assert "changed its argument `x` in place" in verdict(capsys, "9.9")[1]


# ---------------------------------------------------------------- arguments changed in place
def sgd_momentum_step(params, grads, state, lr, momentum):
    """Reference: heavy-ball momentum as torch.optim.SGD does it, v = m v + g, p -= lr v, in place."""
    velocity = state.setdefault("velocity", [torch.zeros_like(p) for p in params])
    for p, g, v in zip(params, grads, velocity):
        v.mul_(momentum).add_(g)
        p.sub_(lr * v)


def momentum_by_assignment(params, grads, state, lr, momentum):   # right, written another way
    if "velocity" not in state:
        state["velocity"] = [torch.zeros_like(p) for p in params]
    for i, (p, g) in enumerate(zip(params, grads)):
        state["velocity"][i] = momentum * state["velocity"][i] + g
        p -= lr * state["velocity"][i]


def momentum_cases():
    params = [torch.tensor([1.0, -2.0]), torch.ones(2, 2)]
    grads = [torch.tensor([0.5, 0.5]), torch.full((2, 2), -1.0)]
    moving = {"velocity": [torch.tensor([0.1, 0.0]), torch.zeros(2, 2)]}
    return [Case.from_reference("the first step, state {}", sgd_momentum_step,
                                (params, grads, {}, 0.1, 0.9), mutates=("params", "state")),
            Case.from_reference("a step with some velocity", sgd_momentum_step,
                                (params, grads, moving, 0.1, 0.9), mutates=("params", "state"))]


def test_in_place_updates_are_compared_by_name(capsys):
    for right in (sgd_momentum_step, momentum_by_assignment):
        check_function("6.1", right, momentum_cases())
        assert verdict(capsys, "6.1")[0] == "pass"

    def returns_new(params, grads, state, lr, momentum):
        return [p - lr * g for p, g in zip(params, grads)]

    def changes_grads(params, grads, state, lr, momentum):
        sgd_momentum_step(params, grads, state, lr, momentum)
        grads[0].zero_()

    def dampened(params, grads, state, lr, momentum):
        sgd_momentum_step(params, [(1 - momentum) * g for g in grads], state, lr, momentum)

    def other_key(params, grads, state, lr, momentum):
        sgd_momentum_step(params, grads, state, lr, momentum)
        state["v"] = state.pop("velocity")

    for wrong, words in [(returns_new, "did not change `params`"),
                         (changes_grads, "changed its argument `grads` in place"),
                         (dampened, "after the call, params[0]: "),
                         (other_key, "after the call, state has no entry 'velocity'")]:
        check_function("6.1", wrong, momentum_cases())
        status, out = verdict(capsys, "6.1")
        assert status == "fail" and words in out, out


def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """Reference: training-mode BatchNorm1d; the running statistics are updated in place."""
    mean, var = x.mean(0), x.var(0, unbiased=False)
    running_mean.mul_(1 - momentum).add_(momentum * mean)
    running_var.mul_(1 - momentum).add_(momentum * x.var(0))        # unbiased, as PyTorch does
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def test_in_place_running_statistics(capsys):
    g = torch.Generator().manual_seed(7)
    x, gamma, beta = torch.randn(16, 3, generator=g) * 2 + 1, torch.rand(3, generator=g), torch.randn(3, generator=g)
    layer = torch.nn.BatchNorm1d(3)
    layer.weight.data, layer.bias.data = gamma.clone(), beta.clone()
    mean, var = torch.zeros(3), torch.ones(3)
    torch.testing.assert_close(batchnorm_forward(x, gamma, beta, mean, var), layer(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close((mean, var), (layer.running_mean, layer.running_var))   # the reference is right

    cases = [Case.from_reference("a batch of 16", batchnorm_forward, (x, gamma, beta, torch.zeros(3), torch.ones(3)),
                                 mutates=("running_mean", "running_var"))]
    check_function("7.1", lambda x, *rest: batchnorm_forward(x, *rest), cases)
    assert verdict(capsys, "7.1")[0] == "pass"

    def biased(x, gamma, beta, running_mean, running_var):
        out = batchnorm_forward(x, gamma, beta, running_mean, running_var.clone())
        running_var.mul_(0.9).add_(0.1 * x.var(0, unbiased=False))
        return out

    def rebinds(x, gamma, beta, running_mean, running_var):
        out = batchnorm_forward(x, gamma, beta, running_mean.clone(), running_var)
        running_mean = 0.9 * running_mean + 0.1 * x.mean(0)          # a new tensor: the caller never sees it
        return out

    for wrong, words in [(biased, "after the call, running_var: "), (rebinds, "did not change `running_mean`")]:
        check_function("7.1", wrong, cases)
        status, out = verdict(capsys, "7.1")
        assert status == "fail" and words in out, out


# ---------------------------------------------------------------- trajectories
A = torch.tensor([[3.0, 0.5], [0.5, 1.0]])
START = {"params": [torch.tensor([1.0, -2.0])], "opt": {}}


def advance(step, state, k):
    """One step of momentum on f(p) = ½ pᵀAp."""
    step(state["params"], [A @ state["params"][0]], state["opt"], 0.1, 0.9)


def run_trajectory(student, **options):
    return check_trajectory("6.2", student, sgd_momentum_step, START, advance, watch=("params",), **options)


def test_trajectory_passes_right_steps_written_differently(capsys):
    def own_names(params, grads, state, lr, momentum):             # the state's layout is its own
        for i, (p, g) in enumerate(zip(params, grads)):
            state[i] = momentum * state.get(i, torch.zeros_like(p)) + g
            p.sub_(lr * state[i])

    for right in (sgd_momentum_step, momentum_by_assignment, own_names):
        assert run_trajectory(right)
        assert verdict(capsys, "6.2") == ("pass", "✅ Exercise 6.2: all 50 steps agree with the reference.")


def test_trajectory_reports_the_first_step_that_differs(capsys):
    def forgetful(params, grads, state, lr, momentum):              # no velocity kept between calls
        sgd_momentum_step(params, grads, {}, lr, momentum)

    def resets(params, grads, state, lr, momentum):                 # loses the velocity after 10 steps
        state["t"] = state.get("t", 0) + 1
        if state["t"] == 11:
            state.pop("velocity")
        sgd_momentum_step(params, grads, state, lr, momentum)

    def dampened(params, grads, state, lr, momentum):
        sgd_momentum_step(params, [(1 - momentum) * g for g in grads], state, lr, momentum)

    for wrong, words in [(forgetful, "step 2 of 50: params[0]: "), (resets, "step 11 of 50"),
                         (dampened, "step 1 of 50: params[0]: 2 of 2 values differ")]:
        run_trajectory(wrong)
        status, out = verdict(capsys, "6.2")
        assert status == "fail" and words in out and "expected" in out and "got" in out, out
    run_trajectory(resets)
    assert "steps 1 to 10 agree" in verdict(capsys, "6.2")[1]


def test_trajectory_errors_time_limits_and_stubs(capsys):
    calls = []

    def breaks_at_3(params, grads, state, lr, momentum):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("boom")
        sgd_momentum_step(params, grads, state, lr, momentum)

    def forever(*args):
        while True:
            pass

    run_trajectory(breaks_at_3)
    status, out = verdict(capsys, "6.2")
    assert status == "fail" and "step 3 of 50: your function raised ValueError: boom" in out
    run_trajectory(forever, time_limit=0.2)
    assert "did not finish within 0.2 s" in verdict(capsys, "6.2")[1]
    run_trajectory(raises_not_implemented)
    assert verdict(capsys, "6.2")[0] == "not attempted"

    def functional(step, state, k):                                 # a step that returns new values
        state["w"], state["v"] = step(state["w"], A @ state["w"], state["v"])

    start = {"w": torch.tensor([1.0, -2.0]), "v": torch.zeros(2)}
    reference = lambda w, g, v: (w - 0.1 * (0.9 * v + g), 0.9 * v + g)   # noqa: E731
    assert check_trajectory("6.3", lambda w, g, v: (w - 0.1 * (0.9 * v + g), 0.9 * v + g), reference, start, functional)
    verdict(capsys, "6.3")
    for bad in BAD_INPUT + [lambda w, g, v: (w, v)]:
        check_trajectory("6.3", bad, reference, start, functional)
        status, out = verdict(capsys, "6.3")
        assert status == "fail" and out.startswith("❌"), out


# ---------------------------------------------------------------- random draws
def fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


SHAPES = [(200, 300), (64, 32, 3, 3)]         # 60,000 and 18,432 draws


def xavier_cases(seed=5):
    return [Case(f"shape {shape}", (shape, torch.Generator().manual_seed(seed)),
                 Law.uniform(-math.sqrt(6 / sum(fans(shape))), math.sqrt(6 / sum(fans(shape))), shape))
            for shape in SHAPES]


def he_cases(seed=5):
    return [Case(f"shape {shape}", (shape, torch.Generator().manual_seed(seed)),
                 Law.normal(0.0, math.sqrt(2 / fans(shape)[0]), shape)) for shape in SHAPES]


def bound(shape):
    return math.sqrt(6 / sum(fans(shape)))


XAVIER_RIGHT = [lambda shape, g: torch.nn.init.xavier_uniform_(torch.empty(shape), generator=g),
                lambda shape, g: (torch.rand(shape, generator=g) * 2 - 1) * bound(shape),
                lambda shape, g: torch.empty(shape).uniform_(-bound(shape), bound(shape), generator=g)]
HE_RIGHT = [lambda shape, g: torch.nn.init.kaiming_normal_(torch.empty(shape), generator=g),
            lambda shape, g: torch.randn(shape, generator=g) * math.sqrt(2 / fans(shape)[0]),
            lambda shape, g: torch.normal(0.0, math.sqrt(2 / fans(shape)[0]), shape, generator=g).double()]


def test_right_random_draws_pass_for_every_seed(capsys):
    for seed in range(20):                        # each way of writing it, on 6 or 7 seeds
        for cases, rights in ((xavier_cases(seed), XAVIER_RIGHT), (he_cases(seed), HE_RIGHT)):
            check_distribution("5.1", rights[seed % len(rights)], cases)
            status, out = verdict(capsys, "5.1")
            assert status == "pass", (seed, out)


def test_wrong_laws_fail_naming_the_statistic(capsys):
    std = lambda shape: math.sqrt(2 / fans(shape)[0])                  # noqa: E731
    for cases, wrong, words in [
            (xavier_cases(), lambda s, g: torch.randn(s, generator=g) * bound(s) / math.sqrt(3), "lie outside"),
            (xavier_cases(), lambda s, g: (torch.rand(s, generator=g) * 2 - 1) * math.sqrt(3 / sum(fans(s))),
             "standard deviation of your result is 0.0447, the law uniform(-0.1095, 0.1095) requires 0.0632 ±"),
            (xavier_cases(), lambda s, g: torch.rand(s, generator=g) * bound(s), "the mean of your result is"),
            (he_cases(), lambda s, g: torch.randn(s, generator=g) * math.sqrt(2 / fans(s)[1]), "standard deviation"),
            (he_cases(), lambda s, g: torch.nn.init.kaiming_uniform_(torch.empty(s), generator=g), "kurtosis"),
            (he_cases(), lambda s, g: torch.randn(s, generator=g) * std(s) + 0.01, "the mean"),
            (he_cases(), lambda s, g: torch.nn.init.trunc_normal_(torch.empty(s), std=std(s), a=-2 * std(s),
                                                                  b=2 * std(s), generator=g), "standard deviation"),
            (he_cases(), lambda s, g: torch.randn(s, generator=g).mul(std(s)).long(), "dtype torch.int64"),
            (he_cases(), lambda s, g: torch.randn(s[::-1], generator=g) * std(s), "expected shape (200, 300)"),
            (he_cases(), lambda s, g: torch.randn(s) * std(s), "generators seeded alike"),
            (he_cases(), lambda s, g: torch.randn(s, generator=torch.Generator().manual_seed(0)) * std(s),
             "same generator gave the same result"),
            (he_cases(), lambda s, g: torch.randn(s, generator=g.manual_seed(0)) * std(s),
             "same generator gave the same result")]:
        check_distribution("5.1", wrong, cases)
        status, out = verdict(capsys, "5.1")
        assert status == "fail" and words in out, out


def test_kolmogorov_smirnov_distance_catches_a_wrong_shape():
    normal = Law.normal(0.0, 1.0)
    impostor = Law("uniform-shaped", 0.0, 1.0, 3.0, Law.uniform(-math.sqrt(3), math.sqrt(3)).cdf)
    draws = torch.randn(100_000, generator=torch.Generator().manual_seed(0))
    assert law_problem(draws, normal) is None
    assert "Kolmogorov-Smirnov" in law_problem(draws, impostor)
    assert "random numbers" in law_problem([0.1, 0.2], normal)
    assert "random draws" in law_problem(torch.zeros(5), normal)


# ---------------------------------------------------------------- numeric answers
def test_check_value_accepts_three_significant_figures_and_reveals_nothing(capsys):
    for right in (math.log(10), 2.30, 2.3, 2.303, np.float32(2.3026), torch.tensor([2.3026])):
        check_value("9.9", right, math.log(10))
        assert verdict(capsys, "9.9") == ("pass", "✅ Exercise 9.9: correct.")
    for wrong, words in [(2.31, "too large"), (2.29, "too small"), (1.0, "too small"),
                         (100.0, "too large (off by more than a factor of 10)"), (-2.3, "sign is wrong"),
                         ("2.30", "not a string"), (True, "a bool"), (..., "Ellipsis"), ([1, 2], "single number"),
                         (float("nan"), "finite"), (2 + 1j, "complex"), (torch.ones(3), "single number")]:
        check_value("9.9", wrong, math.log(10))
        status, out = verdict(capsys, "9.9")
        assert status == "fail" and words in out, out
        assert "2.30" not in out.replace('"2.30"', "").replace("'2.30'", "") and "times" not in out, out
    check_value("9.9", 404_000, 404_490, exact=True)
    assert verdict(capsys, "9.9")[0] == "fail"
    check_value("9.9", 404_490.0, 404_490, exact=True)
    assert verdict(capsys, "9.9")[0] == "pass"
    check_value("9.9", None, 2.0)
    assert verdict(capsys, "9.9")[0] == "not attempted"


# ---------------------------------------------------------------- the notebooks' own solutions
def softmax(O):                              # Chapter 2's helpers, which its solutions use
    E = (O - O.max(dim=1, keepdim=True).values).exp()
    return E / E.sum(dim=1, keepdim=True)


def log_softmax(O):
    shifted = O - O.max(dim=1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def notebook_masked_softmax(O, mask):
    O = O.masked_fill(~mask, float("-inf"))
    E = (O - O.max(dim=1, keepdim=True).values).exp()
    return E / E.sum(dim=1, keepdim=True)


def notebook_smoothed_cross_entropy(O, y, eps):
    q = O.shape[1]
    target = (1 - eps) * F.one_hot(y, q).to(O.dtype) + eps / q
    return -(target * log_softmax(O)).sum(dim=1).mean()


def notebook_mse_softmax_grad(O, y):
    P = softmax(O)
    E = P - F.one_hot(y, O.shape[1]).to(P.dtype)
    return P * (E - (P * E).sum(dim=1, keepdim=True)) / len(y)


def notebook_residual_backward(X, y, W1, b1, W2, b2, W3, b3):
    Z1 = X @ W1.T + b1
    A1 = torch.relu(Z1)
    Z2 = A1 @ W2.T + b2
    A2 = A1 + torch.relu(Z2)
    O = A2 @ W3.T + b3
    dO = (torch.softmax(O, dim=1) - F.one_hot(y, O.shape[1]).to(O.dtype)) / len(y)
    dA2 = dO @ W3
    dZ2 = dA2 * (Z2 > 0).to(Z2.dtype)
    dA1 = dA2 + dZ2 @ W2                 # A1 feeds the skip connection and the second layer
    dZ1 = dA1 * (Z1 > 0).to(Z1.dtype)
    return (dZ1.T @ X, dZ1.sum(dim=0), dZ2.T @ A1, dZ2.sum(dim=0), dO.T @ A2, dO.sum(dim=0))


def test_the_notebooks_solutions_pass(capsys):
    for check, solution in [(ch02.check_masked_softmax, notebook_masked_softmax),
                            (ch02.check_smoothed_cross_entropy, notebook_smoothed_cross_entropy),
                            (ch02.check_mse_softmax_grad, notebook_mse_softmax_grad),
                            (ch04.check_residual_backward, notebook_residual_backward)]:
        check(solution)
        out = capsys.readouterr().out
        assert out.startswith("✅") and len(out.splitlines()) == 1, out


# ---------------------------------------------------------------- Chapter 1
def linreg_grad(X, y, w, b):
    r = X @ w + b - y                       # (n, 1): keep y as a column, or it broadcasts to (n, n)
    return X.T @ r / len(X), r.mean()


def closed_form(X, y):                      # the notebook's solution
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1)
    theta = torch.linalg.lstsq(X1, y).solution
    return theta[:-1], theta[-1, 0]


def closed_form_normal_equations(X, y):
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1)
    theta = torch.linalg.solve(X1.T @ X1, X1.T @ y)
    return theta[:-1], theta[-1, 0]


def minibatches(n, batch_size, generator):  # the notebook's solution
    return list(torch.randperm(n, generator=generator).split(batch_size))


def minibatches_by_slicing(n, batch_size, generator):
    order = torch.rand(n, generator=generator).argsort()
    return [order[i:i + batch_size].tolist() for i in range(0, n, batch_size)]


def minibatches_generator(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def reseeds_global(n, batch_size, generator):
    torch.manual_seed(0)
    return list(torch.randperm(n).split(batch_size))


CHAPTER_1 = [
    ("1.1", ch01.check_linreg_grad, [linreg_grad], [
        (lambda X, y, w, b: (X.T @ (X @ w + b - y), (X @ w + b - y).sum()), "expected"),       # no 1/n
        (lambda X, y, w, b: (X.T @ (X @ w + b - y.squeeze()) / len(X), (X @ w + b - y).mean()), "shape"),
        (lambda X, y, w, b: (X.T @ (X @ w + b - y) / len(X), (X @ w + b - y).mean(0)), "shape ()"),
        (lambda X, y, w, b: (2 * X.T @ (X @ w + b - y) / len(X), (X @ w + b - y).mean()), "expected"),
    ]),
    ("1.2", ch01.check_closed_form, [closed_form, closed_form_normal_equations], [
        (lambda X, y: (torch.linalg.lstsq(X, y).solution, torch.tensor(0.0)), "append a column of ones"),
        (lambda X, y: (torch.zeros(X.shape[1], 1), y.mean()), "expected"),
    ]),
    ("1.3", ch01.check_minibatches, [minibatches, minibatches_by_slicing, minibatches_generator], [
        (lambda n, bs, generator: list(torch.arange(n).split(bs)), "not shuffled"),
        (lambda n, bs, generator: list(torch.randperm(n).split(bs)), "seeded alike gave different"),
        (lambda n, bs, generator: [torch.randint(0, n, (bs,), generator=generator) for _ in range(n // bs)], "batch sizes"),
        (lambda n, bs, generator: list(torch.randint(0, n, (n,), generator=generator).split(bs)), "exactly once"),
        (reseeds_global, "same generator gave the same result"),
        (lambda n, bs, generator: list(torch.randperm(n, generator=torch.Generator().manual_seed(0)).split(bs)),
         "same generator gave the same result"),
        (lambda n, bs, generator: list(torch.randperm(n, generator=generator.manual_seed(0)).split(bs)),
         "same generator gave the same result"),
        (lambda n, bs, generator: list(torch.randperm(n, generator=generator).float().split(bs)), "integers"),
        (lambda n, bs, generator: torch.randperm(n, generator=generator).sum().item(), "list of index batches"),
    ]),
]


@pytest.mark.parametrize("exercise, check, right, wrong", CHAPTER_1 + [
    ("2.1", ch02.check_masked_softmax,
     [lambda O, m: torch.softmax(O.masked_fill(~m, float("-inf")), dim=1),
      lambda O, m: torch.softmax(torch.where(m, O, -1e9), dim=1),            # a stand-in that is small enough
      lambda O, mask: (lambda E: E / E.sum(dim=1, keepdim=True))(              # the notebook's solution
          (O.masked_fill(~mask, float("-inf")) - O.masked_fill(~mask, float("-inf")).max(dim=1, keepdim=True).values).exp())],
     [(lambda O, m: torch.softmax(O, dim=1) * m, "expected"),                       # not renormalised
      (lambda O, m: (O.exp() * m) / (O.exp() * m).sum(1, keepdim=True), "subtract each row's maximum"),
      (lambda O, m: torch.softmax(O.masked_fill(~m, float("-inf")), dim=0), "expected"),
      (lambda O, m: torch.softmax(O.masked_fill(~m, -20.0), dim=1), "allowed logits far below zero"),
      (lambda O, m: torch.softmax(O.masked_fill(~m, -12.0), dim=1), "stand-in such as -20")]),
    ("2.2", ch02.check_smoothed_cross_entropy,
     [lambda O, y, eps: F.cross_entropy(O, y, label_smoothing=eps),
      lambda O, y, eps: -(((1 - eps) * F.one_hot(y, O.shape[1]).to(O.dtype) + eps / O.shape[1])
                          * torch.log_softmax(O, dim=1)).sum(dim=1).mean()],
     [(lambda O, y, eps: F.cross_entropy(O, y), "eps=0.1"),
      (lambda O, y, eps: -(((1 - eps) * F.one_hot(y, O.shape[1]) + eps / O.shape[1]) * torch.softmax(O, 1).log()).sum(1).mean(), "log_softmax"),
      (lambda O, y, eps: -(((1 - eps) * F.one_hot(y, O.shape[1]) + eps / O.shape[1]) * torch.log_softmax(O, 1)).sum(1).sum(), "expected")]),
    ("2.3", ch02.check_mse_softmax_grad,
     [lambda O, y: (lambda P, E: P * (E - (P * E).sum(1, keepdim=True)) / len(y))(
         torch.softmax(O, 1), torch.softmax(O, 1) - F.one_hot(y, O.shape[1]))],
     [(lambda O, y: (torch.softmax(O, 1) - F.one_hot(y, O.shape[1])) / len(y), "expected"),     # the CE gradient
      (lambda O, y: (lambda P, E: P * (E - (P * E).sum(1, keepdim=True)))(
          torch.softmax(O, 1), torch.softmax(O, 1) - F.one_hot(y, O.shape[1])), "batch size")]),
    ("2.4", ch02.check_top_k_accuracy,
     [lambda O, y, k: (O.topk(k, dim=1).indices == y[:, None]).any(1).float().mean(),
      lambda O, y, k: (O.topk(k, dim=1).indices == y[:, None]).any(dim=1).float().mean().item(),  # the notebook's
      lambda O, y, k: sum(int(y[i]) in O[i].topk(k).indices.tolist() for i in range(len(y))) / len(y)],
     [(lambda O, y, k: (O.argmax(1) == y).float().mean(), "expected"),             # ignores k
      (lambda O, y, k: (O.topk(k, dim=1).indices == y[:, None]).sum(), "expected")]),  # a count
])
def test_checker_right_wrong_and_bad_input(capsys, exercise, check, right, wrong):
    _right_wrong_bad(capsys, exercise, check, right, wrong)


def _right_wrong_bad(capsys, exercise, check, right, wrong):
    for answer in right:
        check(answer)
        status, out = verdict(capsys, exercise)
        assert status == "pass", out
    for answer, message in wrong:
        check(answer)
        status, out = verdict(capsys, exercise)
        assert status == "fail" and message in out, out
    check(raises_not_implemented)
    assert verdict(capsys, exercise)[0] == "not attempted"
    for bad in BAD_INPUT:
        check(bad)                                # must not raise
        status, out = verdict(capsys, exercise)
        assert status == "fail" and out.startswith("❌"), (bad, out)


def critical_lr():                          # the notebook's solution
    X_ex, _ = ch01.critical_lr_data()
    X_ex1 = torch.cat([X_ex, torch.ones(len(X_ex), 1)], dim=1)
    return 2 / torch.linalg.eigvalsh(X_ex1.T @ X_ex1 / len(X_ex1)).max().item()


def critical_lr_without_bias(right):
    X_ex, _ = ch01.critical_lr_data()
    return 2 / torch.linalg.eigvalsh(X_ex.T @ X_ex / len(X_ex)).max().item()


def three_figures(x):
    return float(f"{x:.3g}")


@pytest.mark.parametrize("exercise, check, right, wrong", [
    ("1.4", ch01.check_critical_lr, critical_lr,
     [lambda right: 2 * right, lambda right: right / 2, critical_lr_without_bias]),
    ("1.5", ch01.check_mse_lr, lambda: 0.03 / 2, [lambda right: 0.03, lambda right: 0.06]),
    ("2.5", ch02.check_initial_loss, lambda: -math.log(1 / 10), [lambda right: 0.1, lambda right: math.log2(10)]),
    ("3.5", ch03.check_maxout_parameters, lambda: 2 * (784 * 256 + 256) + (256 * 10 + 10),
     [lambda right: 784 * 256 + 256 + 2570, lambda right: 2 * 784 * 256 + 2570, three_figures]),
    ("4.5", ch04.check_reverse_passes, lambda: 10, [lambda right: 1000, lambda right: 1, lambda right: 10.4]),
    ("4.6", ch04.check_sigmoid_bound, lambda: (2 * 0.25) ** 10,
     [lambda right: 0.25 ** 10, lambda right: 0.5, lambda right: 2.0 ** 10, lambda right: 0.5 ** 9]),
    ("4.7", ch04.check_tanh_factor, lambda: math.sqrt(1 / 3),
     [lambda right: 1 / 3, lambda right: 1.0, lambda right: math.sqrt(1 / 6), lambda right: 0.25]),
])
def test_numeric_checkers(capsys, exercise, check, right, wrong):  # noqa: D103
    answers = [right(), torch.tensor(right()), np.float64(right())]      # the notebook's, as a tensor, NumPy
    if exercise not in ("3.5", "4.5"):                                   # counts must be exact
        answers.append(three_figures(right()))
    for answer in answers:
        check(answer)
        status, out = verdict(capsys, exercise)
        assert status == "pass" and out.endswith("correct."), out
    for w in wrong:
        check(w(right()))
        status, out = verdict(capsys, exercise)
        assert status == "fail" and "Hint" in out and "times" not in out, out
    for bad in ("1.0x", [1.0, 2.0], float("inf"), str(right())):
        check(bad)
        assert verdict(capsys, exercise)[0] == "fail"
    check(None)
    assert verdict(capsys, exercise)[0] == "not attempted"


def test_the_bias_column_matters_in_exercise_1_4():
    right = critical_lr()
    assert abs(critical_lr_without_bias(right) / right - 1) > 0.1


def test_critical_lr_from_the_chapter_is_the_divergence_boundary():
    """The number checker 1.4 expects is really where gradient descent starts to diverge."""
    X, y = ch01.critical_lr_data()
    X1 = torch.cat([X, torch.ones(len(X), 1)], 1)
    critical = 2 / torch.linalg.eigvalsh(X1.T @ X1 / len(X1)).max().item()

    def final_loss(lr, steps=400):
        theta = torch.zeros(3, 1)
        for _ in range(steps):
            theta -= lr * X1.T @ (X1 @ theta - y) / len(X1)
        return ((X1 @ theta - y) ** 2 / 2).mean().item()

    assert final_loss(0.95 * critical) < 1.0 < final_loss(1.05 * critical)


# ---------------------------------------------------------------- Chapters 3 and 4
def naive_log_sigmoid(x):
    return torch.sigmoid(x).log()


def log_sigmoid(x):                          # the notebook's solution
    return torch.clamp(x, max=0) - torch.log1p(torch.exp(-x.abs()))


def residual_backward(X, y, W1, b1, W2, b2, W3, b3, relu_grad=lambda Z: (Z > 0).to(Z.dtype), mean=True,
                      softmax=None, skip=True):
    Z1 = X @ W1.T + b1
    A1 = torch.relu(Z1)
    Z2 = A1 @ W2.T + b2
    A2 = A1 + torch.relu(Z2)
    O = A2 @ W3.T + b3
    dO = (softmax or (lambda O: torch.softmax(O, dim=1)))(O) - F.one_hot(y, W3.shape[0])
    dO = dO / len(y) if mean else dO
    dA2 = dO @ W3
    dZ2 = dA2 * relu_grad(Z2)
    dA1 = dA2 + dZ2 @ W2 if skip else dZ2 @ W2
    dZ1 = dA1 * relu_grad(Z1)
    return dZ1.T @ X, dZ1.sum(0), dZ2.T @ A1, dZ2.sum(0), dO.T @ A2, dO.sum(0)


def residual_backward_by_autograd(X, y, *params):
    params = [p.clone().requires_grad_(True) for p in params]
    W1, b1, W2, b2, W3, b3 = params
    A1 = torch.relu(X @ W1.T + b1)
    loss = F.nll_loss(torch.log_softmax((A1 + torch.relu(A1 @ W2.T + b2)) @ W3.T + b3, 1), y)
    return torch.autograd.grad(loss, params)


def tied_backward(X, W, G):                  # the notebook's solution
    Z = X @ W.T                              # the code
    dZ = G @ W.T                             # the decoder's VJP with respect to its input
    return dZ @ W, Z.T @ G + dZ.T @ X        # W: the decoder's use plus the encoder's


def swish_grad(x, beta):                     # the notebook's solution
    s = torch.sigmoid(beta * x)
    return s + beta * x * s * (1 - s)


@pytest.mark.parametrize("exercise, check, right, wrong", [
    ("3.1", ch03.check_log_sigmoid,
     [F.logsigmoid, log_sigmoid, lambda x: log_sigmoid(x).numpy(), lambda x: log_sigmoid(x).tolist(),
      lambda x: torch.minimum(x, torch.zeros_like(x)) - torch.log1p(torch.exp(-x.abs()))],
     [(naive_log_sigmoid, "-inf"),
      (lambda x: (x.exp() / (1 + x.exp())).log(), "nan"),
      (lambda x: -torch.log1p(torch.exp(-x)), "contains -inf"),            # overflows for x = -1000
      (lambda x: F.logsigmoid(x.float()), "case 5 of 5 (float64 input: the result must stay float64): "
                                          "your result has dtype torch.float32, expected torch.float64"),
      (lambda x: F.logsigmoid(x).float().numpy(), "torch.float32, expected torch.float64")]),
    ("3.2", ch03.check_collapse,
     [lambda W1, b1, W2, b2: (W2 @ W1, W2 @ b1 + b2)],
     [(lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2), "order of the product"),   # 1x1 passes, 3x3 not
      (lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2), "W2 b1 + b2")]),
    ("3.3", ch03.check_maxout,
     [lambda X, W, b: (torch.einsum("nd,kmd->knm", X, W) + b[:, None, :]).max(dim=0).values,   # the notebook's
      lambda X, W, b: torch.stack([X @ W[j].T + b[j] for j in range(len(W))]).max(0).values],
     [(lambda X, W, b: (torch.einsum("nd,kmd->knm", X, W) + b[:, None]).amax(2), "expected shape"),
      (lambda X, W, b: (torch.einsum("nd,kmd->knm", X, W) + b[:, None]).mean(0), "maximum over the pieces"),
      (lambda X, W, b: torch.stack([X @ W[j].T + b[j] for j in range(len(W))]).max(0), "returns (values, indices)")]),
    ("3.4", ch03.check_swish_grad,
     [swish_grad, lambda x, beta: torch.sigmoid(beta * x) * (1 + beta * x * (1 - torch.sigmoid(beta * x)))],
     [(lambda x, beta: torch.sigmoid(beta * x) * (1 + x * (1 - torch.sigmoid(beta * x))), "inner factor"),
      (lambda x, beta: torch.sigmoid(beta * x), "product rule"),
      (lambda x, b: (1 + torch.exp(-b * x) + b * x * torch.exp(-b * x)) / (1 + torch.exp(-b * x)) ** 2,
       "contains nan")]),
    ("4.1", ch04.check_tied_backward,
     [tied_backward, lambda X, W, G: (G @ W.T @ W, W @ (X.T @ G + G.T @ X)),
      lambda X, W, G: (lambda Xl, Wl: (torch.autograd.grad((Xl @ Wl.T @ Wl * G).sum(), (Xl, Wl))))(
          X.clone().requires_grad_(True), W.clone().requires_grad_(True))],
     [(lambda X, W, G: (G @ W.T @ W, (X @ W.T).T @ G), "W is used twice"),          # the decoder's use only
      (lambda X, W, G: (G @ W.T @ W, (G @ W.T).T @ X), "W is used twice"),          # the encoder's use only
      (lambda X, W, G: (G @ W.T @ W, W @ X.T @ G + W.T @ G.T @ X), "W is used twice"),   # a wrong transpose
      (lambda X, W, G: (G @ W.T, W @ (X.T @ G + G.T @ X)), "shape"),
      (lambda X, W, G: (G @ W.T @ W, W @ (X.T @ G + G.T @ X) / len(X)), "W is used twice")]),
    ("4.2", ch04.check_tanh_backward,
     [lambda t, G: G * (1 - t ** 2), lambda t, G: G - G * t * t],
     [(lambda t, G: G * (1 - torch.tanh(t) ** 2), "quotient rule"),
      (lambda t, G: 1 - t ** 2, "incoming gradient"),
      (lambda t, G: G * t * (1 - t), "quotient rule")]),                # the sigmoid's form
    ("4.4", ch04.check_residual_backward,
     [residual_backward, residual_backward_by_autograd],
     [(lambda *a: residual_backward(*a, skip=False), "receives a gradient from each"),
      (lambda *a: residual_backward(*a, relu_grad=torch.ones_like), "one vector-Jacobian product each"),
      (lambda *a: residual_backward(*a, mean=False), "expected"),
      (lambda *a: residual_backward(*a, softmax=lambda O: O.exp() / O.exp().sum(1, keepdim=True)), "contains nan")]),
])
def test_checkers_of_chapters_3_and_4(capsys, exercise, check, right, wrong):
    _right_wrong_bad(capsys, exercise, check, right, wrong)


def test_non_monotone_checker(capsys):
    for right in ({"gelu", "silu", "mish"}, {"GELU", "silu", "mish"}, ["mish", "gelu", "silu"]):
        ch03.check_non_monotone(right)
        status, out = verdict(capsys, "3.6")
        assert status == "pass" and "gelu" not in out.lower(), out     # the output shows no names
    for answer, message in [({"gelu", "silu"}, "1 non-monotone"), ({"gelu", "silu", "mish", "elu"},
                            "elu is monotone"), ({"swish"}, "unknown name"), ("gelu", "a set of names"),
                            ([1, 2], "a set of names"), (3, "a set of names"), (True, "a set of names"),
                            (..., "a set of names"), ({"gelu": 1}, "a set of names")]:
        ch03.check_non_monotone(answer)
        status, out = verdict(capsys, "3.6")
        assert status == "fail" and message in out, out
    ch03.check_non_monotone(None)
    assert verdict(capsys, "3.6")[0] == "not attempted"


class Scalar:
    """A minimal scalar autograd node with the interface of Chapter 4's Value."""

    def __init__(self, data, parents=(), op=""):
        self.data, self.grad, self.parents, self._backward = data, 0.0, parents, lambda: None

    def __mul__(self, other):
        other = other if isinstance(other, Scalar) else Scalar(other)
        out = Scalar(self.data * other.data, (self, other))

        def backward():
            self.grad += out.grad * other.data
            other.grad += out.grad * self.data
        out._backward = backward
        return out

    __rmul__ = __mul__

    def backward(self):
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    visit(p)
                order.append(v)
        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def power_node(a, b, accumulate=True, base_factor=1.0, exponent_factor=1.0):
    out = Scalar(a.data ** b.data, (a, b))

    def backward():
        da = base_factor * b.data * a.data ** (b.data - 1) * out.grad
        db = exponent_factor * out.data * math.log(a.data) * out.grad
        if accumulate:
            a.grad += da
            b.grad += db
        else:
            a.grad = da
            b.grad = db
    out._backward = backward
    return out


def notebook_power_node(a, b):              # the notebook's solution, with Scalar for Value
    out = Scalar(a.data ** b.data, (a, b), "**")

    def _backward():
        a.grad += b.data * a.data ** (b.data - 1) * out.grad
        b.grad += out.data * math.log(a.data) * out.grad
    out._backward = _backward
    return out


def power_by_exp_log(a, b):                 # written another way: a^b = e^(b ln a)
    out = Scalar(math.exp(b.data * math.log(a.data)), (a, b))

    def backward():
        a.grad += out.grad * out.data * b.data / a.data
        b.grad += out.grad * out.data * math.log(a.data)
    out._backward = backward
    return out


def test_power_node_checker(capsys):
    for right in (power_node, notebook_power_node, power_by_exp_log):
        ch04.check_power_node(right, Scalar)
        status, out = verdict(capsys, "4.3")
        assert status == "pass", out
    for answer, message in [(lambda a, b: power_node(a, b, accumulate=False), "must be added (+=)"),
                            (lambda a, b: power_node(a, b, exponent_factor=0.0), "for the exponent"),
                            (lambda a, b: power_node(a, b, base_factor=0.0), "for the base"),
                            (lambda a, b: power_node(a, b, base_factor=b.data), "the power rule"),
                            (lambda a, b: Scalar(a.data ** b.data, (a, b)), "a.grad is 0"),  # no backward
                            (lambda a, b: Scalar(a.data ** b.data + 1, (a, b)), "the value is"),
                            (lambda a, b: None, "returned None"), (raises_type_error, "TypeError"),
                            (lambda a, b: a.data ** b.data, "(a float); return the new Value"),
                            (lambda a, b: Scalar("e", (a, b)), "the value is the string"),
                            (Scalar(1.0), "expected a function"), (Scalar, "expected a function"),
                            (None, "expected a function"), (42, "pass your function")]:
        ch04.check_power_node(answer, Scalar)
        status, out = verdict(capsys, "4.3")
        assert status == "fail" and message in out, (answer, out)
    for value_class in (Scalar(1.0), None, 3, lambda x: 1 / 0):
        ch04.check_power_node(power_node, value_class)
        status, out = verdict(capsys, "4.3")
        assert status == "fail" and "Value class" in out, out
    ch04.check_power_node(raises_not_implemented, Scalar)
    assert verdict(capsys, "4.3")[0] == "not attempted"


# ---------------------------------------------------------------- no input makes a checker raise
def _generator_function(*args):
    yield torch.ones(2)


def _raises(kind):
    def student(*args):
        raise kind("the student's own error")
    return student


FUZZ = [None, ..., True, 3, 2.5, "text", "2.30", [1, 2], {}, set(), Scalar(1.0), object(), Scalar,
        lambda *a: None, lambda *a: "text", lambda *a: [1, 2], lambda *a: {}, lambda *a: {"a": 1},
        lambda *a: [[1, 2], [3]], lambda *a: ["a", "b"], lambda *a: np.ones(3), lambda *a: np.array(["a"]),
        lambda *a: np.array([1, None], dtype=object), lambda *a: torch.ones(3, dtype=torch.int64),
        lambda *a: torch.ones(3, dtype=torch.complex64), lambda *a: torch.ones(3, dtype=torch.bool),
        lambda *a: torch.full((2, 2), float("nan")), lambda *a: torch.full((5,), float("inf")),
        lambda *a: torch.ones(2000, 2000), lambda *a: torch.full((2000, 2000), 1e38), lambda *a: torch.empty(0),
        lambda *a: float("nan"), lambda *a: 1e308, lambda *a: 1j, lambda *a: True, lambda *a: (None,) * 4,
        lambda *a: ("a", "b", "c", "d"), lambda *a: (torch.ones(2),) * 4, lambda *a: iter([1, 2]),
        lambda *a: object(), lambda *a: Scalar(1.0), lambda *a: torch.ones(2, requires_grad=True) * 2,
        lambda: 1, lambda a, b, c, d, e, f, g, h, i: 1, _generator_function,
        _raises(TypeError), _raises(ValueError), _raises(ZeroDivisionError), _raises(RuntimeError),
        _raises(AttributeError), _raises(IndexError), _raises(KeyError)]

CHECKERS = {"1.1": ch01.check_linreg_grad, "1.2": ch01.check_closed_form, "1.3": ch01.check_minibatches,
            "1.4": ch01.check_critical_lr, "1.5": ch01.check_mse_lr,
            "2.1": ch02.check_masked_softmax, "2.2": ch02.check_smoothed_cross_entropy,
            "2.3": ch02.check_mse_softmax_grad, "2.4": ch02.check_top_k_accuracy, "2.5": ch02.check_initial_loss,
            "3.1": ch03.check_log_sigmoid, "3.2": ch03.check_collapse, "3.3": ch03.check_maxout,
            "3.4": ch03.check_swish_grad, "3.5": ch03.check_maxout_parameters, "3.6": ch03.check_non_monotone,
            "4.1": ch04.check_tied_backward, "4.2": ch04.check_tanh_backward,
            "4.3": lambda answer: ch04.check_power_node(answer, Scalar),
            "4.3 (Value)": lambda answer: ch04.check_power_node(power_node, answer),
            "4.4": ch04.check_residual_backward, "4.5": ch04.check_reverse_passes,
            "4.6": ch04.check_sigmoid_bound, "4.7": ch04.check_tanh_factor,
            "5.1": lambda answer: check_distribution("5.1", answer, he_cases()),
            "6.1": lambda answer: check_function("6.1", answer, momentum_cases()),
            "6.2": lambda answer: run_trajectory(answer)}
ANSWERS_NOT_FUNCTIONS = {"1.4", "1.5", "2.5", "3.5", "3.6", "4.5", "4.6", "4.7"}   # None there is "not attempted"


@pytest.mark.parametrize("name", CHECKERS)
def test_no_input_makes_a_checker_raise(capsys, name):
    exercise = name.split()[0]
    for bad in FUZZ:
        RESULTS.clear()
        CHECKERS[name](bad)
        status, out = verdict(capsys, exercise)
        if name == "4.3 (Value)" and bad is Scalar:                 # the right class
            assert status == "pass", out
        elif bad is None and exercise in ANSWERS_NOT_FUNCTIONS:
            assert status == "not attempted" and out.startswith("⏳"), out
        else:
            assert status == "fail" and out.startswith("❌"), (bad, out)
