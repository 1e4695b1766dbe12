"""Every checker against right answers, typical wrong answers, and bad input.

A checker must pass a right answer, fail a wrong one with a message that says what is wrong,
and never raise, whatever the student hands it.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from utils.exercises import RESULTS, Case, check_function, check_value, compare
from utils.exercises import ch01, ch02, ch03, ch04


def verdict(capsys, exercise):
    return RESULTS.get(exercise), capsys.readouterr().out


def raises_not_implemented(*args):
    raise NotImplementedError


def raises_type_error(*args):
    return args[0] @ "oops"


BAD_INPUT = [None, 42, "text", raises_type_error, lambda *a: None, lambda *a: "text",
             lambda *a: torch.full((2, 2), float("nan"))]


# ---------------------------------------------------------------- the shared machinery
def test_compare_explains_each_kind_of_difference():
    assert compare(torch.ones(2), torch.ones(2), 1e-6, 1e-6) is None
    assert "shape (2,)" in compare(torch.ones(3), torch.ones(2), 1e-6, 1e-6)
    assert "nan" in compare(torch.tensor([1.0, math.nan]), torch.ones(2), 1e-6, 1e-6)
    assert "largest difference" in compare(torch.tensor([1.0, 3.0]), torch.ones(2), 1e-6, 1e-6)
    assert "None" in compare(None, torch.ones(2), 1e-6, 1e-6)
    assert "single number" in compare("x", 1.0, 1e-6, 1e-6)
    assert "tensor of shape" in compare(object(), torch.ones(2), 1e-6, 1e-6)
    assert compare(torch.tensor(2.0), 2.0, 1e-6, 1e-6) is None
    assert compare([1.0, 2.0], torch.tensor([1.0, 2.0]), 1e-6, 1e-6) is None   # lists are fine


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
    assert status == "fail" and "in place" in out


def test_check_function_tuples_are_named(capsys):
    case = Case("pair", (), (torch.ones(1), torch.zeros(1)), names=("grad_w", "grad_b"))
    check_function("9.9", lambda: (torch.ones(1), torch.ones(1)), [case])
    assert "grad_b" in verdict(capsys, "9.9")[1]
    check_function("9.9", lambda: torch.ones(1), [case])
    assert "expected 2 results" in verdict(capsys, "9.9")[1]


def test_check_value_does_not_reveal_the_answer(capsys):
    check_value("9.9", 4.0, 2.0)
    status, out = verdict(capsys, "9.9")
    assert status == "fail" and "too large" in out and "2 times" in out and "2.0 " not in out
    check_value("9.9", 2.01, 2.0)
    assert verdict(capsys, "9.9")[0] == "pass"
    for bad in (None, "abc", float("nan"), [1, 2]):
        check_value("9.9", bad, 2.0)
        assert verdict(capsys, "9.9")[0] in ("fail", "not attempted")


# ---------------------------------------------------------------- Chapter 1
def linreg_grad(X, y, w, b):
    r = X @ w + b - y
    return X.T @ r / len(X), r.mean()


def closed_form(X, y):
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1)
    theta = torch.linalg.lstsq(X1, y).solution
    return theta[:-1], theta[-1, 0]


def closed_form_normal_equations(X, y):
    X1 = torch.cat([X, torch.ones(len(X), 1)], dim=1)
    theta = torch.linalg.solve(X1.T @ X1, X1.T @ y)
    return theta[:-1], theta[-1, 0]


def minibatches(n, batch_size, generator):
    return list(torch.randperm(n, generator=generator).split(batch_size))


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
    ("1.3", ch01.check_minibatches, [minibatches], [
        (lambda n, bs, generator: list(torch.arange(n).split(bs)), "not shuffled"),
        (lambda n, bs, generator: list(torch.randperm(n).split(bs)), "same generator seed"),
        (lambda n, bs, generator: [torch.randint(0, n, (bs,), generator=generator) for _ in range(n // bs)], "batch sizes"),
        (lambda n, bs, generator: list(torch.randint(0, n, (n,), generator=generator).split(bs)), "exactly once"),
    ]),
]


@pytest.mark.parametrize("exercise, check, right, wrong", CHAPTER_1 + [
    ("2.1", ch02.check_masked_softmax,
     [lambda O, m: torch.softmax(O.masked_fill(~m, float("-inf")), dim=1)],
     [(lambda O, m: torch.softmax(O, dim=1) * m, "expected"),                       # not renormalised
      (lambda O, m: (O.exp() * m) / (O.exp() * m).sum(1, keepdim=True), "subtract each row's maximum"),
      (lambda O, m: torch.softmax(O.masked_fill(~m, float("-inf")), dim=0), "expected")]),
    ("2.2", ch02.check_smoothed_cross_entropy,
     [lambda O, y, eps: F.cross_entropy(O, y, label_smoothing=eps)],
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


@pytest.mark.parametrize("exercise, check, right, wrong", [
    ("1.4", ch01.check_critical_lr, lambda: 2 / torch.linalg.eigvalsh(
        (lambda X1: X1.T @ X1 / len(X1))(torch.cat([ch01.critical_lr_data()[0], torch.ones(200, 1)], 1))).max().item(),
     [lambda right: 2 * right, lambda right: right / 2, lambda right: 1 / torch.linalg.eigvalsh(
         (lambda X: X.T @ X / len(X))(ch01.critical_lr_data()[0])).max().item() * 2 * 1.3]),
    ("1.5", ch01.check_mse_lr, lambda: 0.015, [lambda right: 0.03, lambda right: 0.06]),
    ("2.5", ch02.check_initial_loss, lambda: math.log(10), [lambda right: 0.1, lambda right: math.log2(10)]),
    ("3.5", ch03.check_maxout_parameters, lambda: 2 * (784 * 256 + 256) + 256 * 10 + 10,
     [lambda right: 784 * 256 + 256 + 2570, lambda right: 2 * 784 * 256 + 2570]),
    ("4.5", ch04.check_reverse_passes, lambda: 10, [lambda right: 1000, lambda right: 1]),
    ("4.6", ch04.check_sigmoid_bound, lambda: 0.25 ** 10, [lambda right: 0.5 ** 10, lambda right: 0.25]),
])
def test_numeric_checkers(capsys, exercise, check, right, wrong):  # noqa: D103
    check(right())
    assert verdict(capsys, exercise)[0] == "pass"
    check(torch.tensor(right()))                  # a tensor holding the number is fine
    assert verdict(capsys, exercise)[0] == "pass"
    for w in wrong:
        check(w(right()))
        status, out = verdict(capsys, exercise)
        assert status == "fail" and "Hint" in out, out
    for bad in (None, "1.0x", [1.0, 2.0], float("inf")):
        check(bad)
        assert verdict(capsys, exercise)[0] in ("fail", "not attempted")


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


def mlp_backward(X, y, W1, b1, W2, b2, relu_grad=lambda Z: (Z > 0).to(Z.dtype), mean=True):
    Z = X @ W1.T + b1
    H = torch.relu(Z)
    dO = torch.softmax(H @ W2.T + b2, dim=1) - F.one_hot(y, W2.shape[0])
    dO = dO / len(y) if mean else dO
    dZ = dO @ W2 * relu_grad(Z)
    return dZ.T @ X, dZ.sum(0), dO.T @ H, dO.sum(0)


@pytest.mark.parametrize("exercise, check, right, wrong", [
    ("3.1", ch03.check_log_sigmoid,
     [F.logsigmoid, lambda x: torch.minimum(x, torch.zeros_like(x)) - torch.log1p(torch.exp(-x.abs()))],
     [(naive_log_sigmoid, "-inf"),
      (lambda x: (x.exp() / (1 + x.exp())).log(), "nan"),
      (lambda x: -torch.log1p(torch.exp(-x)), "contains -inf"),            # overflows for x = -1000
      (lambda x: F.logsigmoid(x.float()), "float64")]),
    ("3.2", ch03.check_collapse,
     [lambda W1, b1, W2, b2: (W2 @ W1, W2 @ b1 + b2)],
     [(lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2), "order of the product"),   # 1x1 passes, 3x3 not
      (lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2), "W2 b1 + b2")]),
    ("3.3", ch03.check_maxout,
     [lambda X, W, b: (torch.einsum("nd,kmd->knm", X, W) + b[:, None]).amax(0),
      lambda X, W, b: torch.stack([X @ W[j].T + b[j] for j in range(len(W))]).max(0).values],
     [(lambda X, W, b: (torch.einsum("nd,kmd->knm", X, W) + b[:, None]).amax(2), "expected shape"),
      (lambda X, W, b: (torch.einsum("nd,kmd->knm", X, W) + b[:, None]).mean(0), "maximum over the pieces"),
      (lambda X, W, b: torch.stack([X @ W[j].T + b[j] for j in range(len(W))]).max(0), "returns (values, indices)")]),
    ("3.4", ch03.check_swish_grad,
     [lambda x, beta: torch.sigmoid(beta * x) * (1 + beta * x * (1 - torch.sigmoid(beta * x)))],
     [(lambda x, beta: torch.sigmoid(beta * x) * (1 + x * (1 - torch.sigmoid(beta * x))), "inner factor"),
      (lambda x, beta: torch.sigmoid(beta * x), "product rule")]),
    ("4.1", ch04.check_linear_backward,
     [lambda X, W, b, G: (G @ W, G.T @ X, G.sum(0))],
     [(lambda X, W, b, G: (G @ W, X.T @ G, G.sum(0)), "shape"),
      (lambda X, W, b, G: (G @ W, G.T @ X, G.mean(0)), "sums over the batch")]),
    ("4.2", ch04.check_tanh_backward,
     [lambda t, G: G * (1 - t ** 2)],
     [(lambda t, G: G * (1 - torch.tanh(t) ** 2), "saved output"),
      (lambda t, G: 1 - t ** 2, "incoming gradient")]),
    ("4.4", ch04.check_mlp_backward,
     [mlp_backward],
     [(lambda *a: mlp_backward(*a, relu_grad=torch.ones_like), "Z > 0"),
      (lambda *a: mlp_backward(*a, mean=False), "expected")]),
])
def test_checkers_of_chapters_3_and_4(capsys, exercise, check, right, wrong):
    _right_wrong_bad(capsys, exercise, check, right, wrong)


def test_non_monotone_checker(capsys):
    ch03.check_non_monotone({"GELU", "silu", "mish"})
    assert verdict(capsys, "3.6")[0] == "pass"
    for answer, message in [({"gelu", "silu"}, "1 non-monotone"), ({"gelu", "silu", "mish", "elu"},
                            "elu is monotone"), ({"swish"}, "unknown name"), ("gelu", "a set of names"),
                            ([1, 2], "a set of names")]:
        ch03.check_non_monotone(answer)
        status, out = verdict(capsys, "3.6")
        assert status == "fail" and message in out, out
    ch03.check_non_monotone(None)
    assert verdict(capsys, "3.6")[0] == "not attempted"


class Scalar:
    """A minimal scalar autograd node with the interface of Chapter 4's Value."""

    def __init__(self, data, parents=()):
        self.data, self.grad, self.parents, self._backward = data, 0.0, parents, lambda: None

    def __mul__(self, other):
        out = Scalar(self.data * other.data, (self, other))

        def backward():
            self.grad += out.grad * other.data
            other.grad += out.grad * self.data
        out._backward = backward
        return out

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


def exp_node(v, accumulate=True, factor=1.0):
    out = Scalar(math.exp(v.data), (v,))

    def backward():
        if accumulate:
            v.grad += factor * out.grad * out.data
        else:
            v.grad = factor * out.grad * out.data
    out._backward = backward
    return out


def test_exp_node_checker(capsys):
    ch04.check_exp_node(exp_node, Scalar)
    assert verdict(capsys, "4.3")[0] == "pass", capsys.readouterr().out
    for answer, message in [(lambda v: exp_node(v, accumulate=False), "use +="),
                            (lambda v: exp_node(v, factor=0.0), "d e^v / dv"),
                            (lambda v: Scalar(math.exp(v.data) + 1, (v,)), "the value is"),
                            (lambda v: None, "returned None"), (raises_type_error, "TypeError"),
                            (42, "pass your function")]:
        ch04.check_exp_node(answer, Scalar)
        status, out = verdict(capsys, "4.3")
        assert status == "fail" and message in out, out
    ch04.check_exp_node(raises_not_implemented, Scalar)
    assert verdict(capsys, "4.3")[0] == "not attempted"
