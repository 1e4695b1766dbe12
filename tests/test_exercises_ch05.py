"""Chapter 5's checkers: right answers however they are written (and drawn with other random
numbers), typical wrong answers with the words the student should see, and bad input.

Every checker must print one verdict within 100 columns, never raise, never pass a wrong scale,
and pass a right answer for many different draws.
"""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from test_exercises import FUZZ, raises_not_implemented, verdict
from utils.exercises import RESULTS, ch05


def prod_fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def skip(generator, k):
    """Advance the generator by k draws: a right answer that draws other random numbers."""
    torch.rand(k, generator=generator)


# ---------------------------------------------------------------- 5.1 fans
FANS_RIGHT = [prod_fans,
              lambda shape: nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)),
              lambda shape: (torch.empty(shape)[0].numel(), torch.empty(shape)[:, 0].numel()),
              lambda shape: [float(v) for v in prod_fans(shape)],
              lambda shape: tuple(torch.tensor(prod_fans(shape)))]


@pytest.mark.parametrize("right", FANS_RIGHT)
def test_fans_accepts_every_right_answer(capsys, right):
    ch05.check_fans(right)
    status, out = verdict(capsys, "5.1")
    assert status == "pass", out


@pytest.mark.parametrize("wrong, words", [
    (lambda s: (s[1], s[0]), "Conv2d(3, 64, 7)"),                       # forgets the kernel
    (lambda s: prod_fans(s)[::-1], "fan_in"),                             # swapped
    (lambda s: (s[1] * s[2] * s[3], s[0] * s[2] * s[3]) if len(s) == 4 else (s[1], s[0]),
     "Conv1d"),                                                           # only Linear and Conv2d
    (lambda s: (s[1] * math.prod(s[2:]), s[0]), "fan_out"),              # fan-out without kernel
    (lambda s: s[1] * math.prod(s[2:]), "expected 2 results"),
])
def test_fans_rejects_wrong_answers(capsys, wrong, words):
    ch05.check_fans(wrong)
    status, out = verdict(capsys, "5.1")
    assert status == "fail" and words in out, out
    assert "Hint" in out


# ---------------------------------------------------------------- 5.2 and 5.3: random draws
def xavier_bound(shape, gain):
    return gain * math.sqrt(6 / sum(prod_fans(shape)))


def he_std(shape, mode):
    return math.sqrt(2 / prod_fans(shape)[0 if mode == "fan_in" else 1])


def xavier_right(k):
    """Right answers, each drawing different numbers for every k."""
    def torch_init(t, gain, g):
        skip(g, k)
        return nn.init.xavier_uniform_(t, gain=gain, generator=g)

    def uniform(t, gain, g):
        skip(g, k)
        with torch.no_grad():
            t.uniform_(-xavier_bound(t.shape, gain), xavier_bound(t.shape, gain), generator=g)

    def copy_in(t, gain, g):                       # fills by copy_, returns nothing
        skip(g, k)
        t.copy_((torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1)
                * xavier_bound(t.shape, gain))

    def by_slice(t, gain, g):                      # fills by t[...] = ...
        skip(g, k)
        t[...] = (torch.rand(t.shape, generator=g) - 0.5) * 2 * xavier_bound(t.shape, gain)
        return t
    return [torch_init, uniform, copy_in, by_slice][k % 4]


def he_right(k):
    def torch_init(t, mode, g):
        skip(g, k)
        return nn.init.kaiming_normal_(t, mode=mode, nonlinearity="relu", generator=g)

    def normal(t, mode, g):
        skip(g, k)
        with torch.no_grad():
            return t.normal_(0.0, he_std(t.shape, mode), generator=g)

    def copy_in(t, mode, g):
        skip(g, k)
        t.copy_(torch.randn(t.shape, generator=g) * he_std(t.shape, mode))

    def gain_form(t, mode, g):                     # gain / sqrt(fan), gain = calculate_gain
        skip(g, k)
        fan = prod_fans(t.shape)[0 if mode == "fan_in" else 1]
        std = nn.init.calculate_gain("relu") / math.sqrt(fan)
        with torch.no_grad():
            t.normal_(0.0, std, generator=g)
    return [torch_init, normal, copy_in, gain_form][k % 4]


@pytest.mark.parametrize("k", range(20))
def test_initializers_pass_right_answers_with_other_draws(capsys, k):
    ch05.check_xavier_uniform(xavier_right(k))
    status, out = verdict(capsys, "5.2")
    assert status == "pass", (k, out)
    ch05.check_kaiming_normal(he_right(k))
    status, out = verdict(capsys, "5.3")
    assert status == "pass", (k, out)


@pytest.mark.parametrize("scale", [0.9, 0.95, 1.05, 1.1, 1 / math.sqrt(2), math.sqrt(3)])
def test_initializers_never_pass_a_wrong_scale(capsys, scale):
    def xavier(t, gain, g):
        with torch.no_grad():
            b = scale * xavier_bound(t.shape, gain)
            t.uniform_(-b, b, generator=g)

    def he(t, mode, g):
        with torch.no_grad():
            t.normal_(0.0, scale * he_std(t.shape, mode), generator=g)

    ch05.check_xavier_uniform(xavier)
    status, out = verdict(capsys, "5.2")
    assert status == "fail" and ("standard deviation" in out or "outside" in out), out
    ch05.check_kaiming_normal(he)
    status, out = verdict(capsys, "5.3")
    assert status == "fail" and "standard deviation" in out, out


def fill(draw):
    """An initializer from a function of (shape, extra, generator) that returns the draws."""
    def init(t, extra, g):
        with torch.no_grad():
            t.copy_(draw(t.shape, extra, g))
    return init


@pytest.mark.parametrize("wrong, words", [
    (fill(lambda s, gain, g: torch.randn(s, generator=g) * xavier_bound(s, gain) / math.sqrt(3)),
     "outside"),                                                              # normal law
    (fill(lambda s, gain, g: (torch.rand(s, generator=g) * 2 - 1) * math.sqrt(3 / sum(prod_fans(s)))
          * gain), "standard deviation"),                                     # forgot the 2
    (fill(lambda s, gain, g: (torch.rand(s, generator=g) * 2 - 1) * xavier_bound(s, 1.0)),
     "gain"),                                                                 # ignores the gain
    (fill(lambda s, gain, g: (torch.rand(s, generator=g) * 2 - 1) * gain
          * math.sqrt(6 / (s[0] + s[1]))), "Conv2d"),                         # no kernel in fans
    (fill(lambda s, gain, g: torch.rand(s, generator=g) * xavier_bound(s, gain)), "mean"),
    (lambda t, gain, g: t.uniform_(-xavier_bound(t.shape, gain), xavier_bound(t.shape, gain)),
     "generator"),                                                            # global RNG
    (lambda t, gain, g: torch.empty(t.shape).uniform_(-0.1, 0.1, generator=g), "in place"),
])
def test_xavier_uniform_rejects_wrong_answers(capsys, wrong, words):
    ch05.check_xavier_uniform(wrong)
    status, out = verdict(capsys, "5.2")
    assert status == "fail" and words in out, out


@pytest.mark.parametrize("wrong, words", [
    (fill(lambda s, mode, g: torch.randn(s, generator=g)
          * he_std(s, "fan_out" if mode == "fan_in" else "fan_in")), "fan_"),       # modes swapped
    (fill(lambda s, mode, g: torch.randn(s, generator=g) * he_std(s, "fan_in")), "mode 'fan_out'"),
    (fill(lambda s, mode, g: (torch.rand(s, generator=g) * 2 - 1) * math.sqrt(3) * he_std(s, mode)),
     "kurtosis"),                                                             # uniform, same std
    (fill(lambda s, mode, g: torch.randn(s, generator=g) * he_std(s, mode) / math.sqrt(2)),
     "standard deviation"),                                                   # LeCun's variance
    (fill(lambda s, mode, g: torch.randn(s, generator=g) * he_std(s, mode) ** 2), "standard deviation"),
    (lambda t, mode, g: t.normal_(0.0, he_std(t.shape, mode)), "generator"),
])
def test_kaiming_normal_rejects_wrong_answers(capsys, wrong, words):
    ch05.check_kaiming_normal(wrong)
    status, out = verdict(capsys, "5.3")
    assert status == "fail" and words in out, out


# ---------------------------------------------------------------- 5.4 and 5.7: numbers
def test_value_exercises(capsys):
    for right in (2 ** -9.5, math.sqrt(0.5 ** 19), torch.tensor(2 ** -9.5), np.float32(2 ** -9.5),
                  0.001381):
        ch05.check_relu_std(right)
        status, out = verdict(capsys, "5.4")
        assert status == "pass", (right, out)
    for wrong, words in ((2 ** -10, "too small"), (2 ** -19, "factor of 10"), (1.0, "too large"),
                         (-(2 ** -9.5), "sign"), ("2^-9.5", "fail" and "")):
        ch05.check_relu_std(wrong)
        status, out = verdict(capsys, "5.4")
        assert status == "fail" and words in out, (wrong, out)
    for right in (math.sqrt(2 / 1.04), nn.init.calculate_gain("leaky_relu", 0.2),
                  torch.tensor(math.sqrt(2 / 1.04)).double()):
        ch05.check_leaky_gain(right)
        status, out = verdict(capsys, "5.7")
        assert status == "pass", (right, out)
    for wrong, words in ((math.sqrt(2), "too large"), (2 / 1.04, "too large"),
                         (math.sqrt(2 / 1.2), "too small"), (1.0, "too small")):
        ch05.check_leaky_gain(wrong)
        status, out = verdict(capsys, "5.7")
        assert status == "fail" and words in out and "Hint" in out, (wrong, out)
    for checker, exercise in ((ch05.check_relu_std, "5.4"), (ch05.check_leaky_gain, "5.7")):
        checker(None)
        assert verdict(capsys, exercise)[0] == "not attempted"


# ---------------------------------------------------------------- 5.5 orthogonal
def qr_orthogonal(rows, cols, g):
    Q, R = torch.linalg.qr(torch.randn(max(rows, cols), min(rows, cols), generator=g))
    Q = Q * torch.sign(torch.diagonal(R))
    return Q if rows >= cols else Q.T


def svd_orthogonal(rows, cols, g):                 # the polar factor of a Gaussian matrix
    U, _, Vh = torch.linalg.svd(torch.randn(rows, cols, generator=g, dtype=torch.float64),
                                full_matrices=False)
    return U @ Vh


def orthogonal_right(k):
    def torch_init(rows, cols, g):
        skip(g, k)
        return nn.init.orthogonal_(torch.empty(rows, cols), generator=g)

    def qr(rows, cols, g):
        skip(g, k)
        return qr_orthogonal(rows, cols, g)

    def svd(rows, cols, g):
        skip(g, k)
        return svd_orthogonal(rows, cols, g)
    return [torch_init, qr, svd][k % 3]


@pytest.mark.parametrize("k", range(20))
def test_orthogonal_passes_right_answers_with_other_draws(capsys, k):
    ch05.check_orthogonal(orthogonal_right(k))
    status, out = verdict(capsys, "5.5")
    assert status == "pass", (k, out)


@pytest.mark.parametrize("wrong, words", [
    (lambda r, c, g: torch.eye(r, c), "signed permutations"),
    (lambda r, c, g: torch.randn(r, c, generator=g) / math.sqrt(max(r, c)), "orthonormal"),
    (lambda r, c, g: 1.05 * qr_orthogonal(r, c, g), "orthonormal"),           # wrong scale
    (lambda r, c, g: qr_orthogonal(max(r, c), min(r, c), g), "expected shape"),  # no transpose
    (lambda r, c, g: qr_orthogonal(r, c, torch.Generator().manual_seed(0)), "generator"),
    (lambda r, c, g: qr_orthogonal(r, c, None), "generator"),
    (lambda r, c, g: (qr_orthogonal(r, c, g) * 100).long(), "dtype"),
    (lambda r, c, g: qr_orthogonal(r, c, g).numpy(), "tensor"),
    (raises_not_implemented, "not attempted"),
])
def test_orthogonal_rejects_wrong_answers(capsys, wrong, words):
    ch05.check_orthogonal(wrong)
    status, out = verdict(capsys, "5.5")
    assert status in ("fail", "not attempted") and words in out, out


# ---------------------------------------------------------------- 5.6 LSUV
def linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def lsuv_hooks(model, X):
    with torch.no_grad():
        for layer in linears(model):
            seen = {}
            handle = layer.register_forward_hook(lambda m, i, out: seen.update(out=out))
            model(X)
            handle.remove()
            layer.weight /= seen["out"].std()


def lsuv_by_hand(model, X):                        # walks the Sequential itself
    with torch.no_grad():
        h = X
        for module in model:
            if isinstance(module, nn.Linear):
                module.weight.mul_(1 / module(h).std())
            h = module(h)


def lsuv_iterated(model, X):                       # Mishkin and Matas's loop, to a tolerance
    with torch.no_grad():
        for layer in linears(model):
            for _ in range(10):
                seen = {}
                handle = layer.register_forward_hook(lambda m, i, out: seen.update(out=out))
                model(X)
                handle.remove()
                if abs(seen["out"].std().item() - 1) < 1e-4:
                    break
                layer.weight.data = layer.weight.data / seen["out"].std()


@pytest.mark.parametrize("right", [lsuv_hooks, lsuv_by_hand, lsuv_iterated])
def test_lsuv_accepts_right_answers(capsys, right):
    ch05.check_lsuv(right)
    status, out = verdict(capsys, "5.6")
    assert status == "pass", out


def lsuv_all_at_once(model, X):                    # measures every layer before rescaling any
    stds = []
    handles = [m.register_forward_hook(lambda m, i, out: stds.append(out.std()))
               for m in linears(model)]
    with torch.no_grad():
        model(X)
        for h in handles:
            h.remove()
        for layer, s in zip(linears(model), stds):
            layer.weight /= s


def lsuv_bias_too(model, X):
    lsuv_hooks(model, X)
    with torch.no_grad():
        for layer in linears(model):
            layer.bias += 0.1


def lsuv_new_weights(model, X):                    # re-initializes instead of rescaling
    with torch.no_grad():
        for layer in linears(model):
            nn.init.orthogonal_(layer.weight)
    lsuv_hooks(model, X)


def lsuv_variance(model, X):                       # divides by the variance
    with torch.no_grad():
        for layer in linears(model):
            seen = {}
            handle = layer.register_forward_hook(lambda m, i, out: seen.update(out=out))
            model(X)
            handle.remove()
            layer.weight /= seen["out"].var()


def lsuv_changes_X(model, X):
    X /= X.std()
    lsuv_hooks(model, X)


@pytest.mark.parametrize("wrong, words", [
    (lsuv_all_at_once, "should be 1"), (lsuv_bias_too, "bias changed"),
    (lsuv_new_weights, "positive multiple"), (lsuv_variance, "should be 1"),
    (lsuv_changes_X, "changed the batch"), (lambda model, X: None, "should be 1"),
])
def test_lsuv_rejects_wrong_answers(capsys, wrong, words):
    ch05.check_lsuv(wrong)
    status, out = verdict(capsys, "5.6")
    assert status == "fail" and words in out, out


def test_lsuv_net_is_a_bad_start():
    model = ch05.lsuv_net(0)
    stds = ch05._linear_output_stds(model, torch.randn(64, 32))
    assert len(stds) == 8 and stds[0] > 3


# ---------------------------------------------------------------- no input makes a checker raise
CHECKERS = {"5.1": ch05.check_fans, "5.2": ch05.check_xavier_uniform,
            "5.3": ch05.check_kaiming_normal, "5.4": ch05.check_relu_std,
            "5.5": ch05.check_orthogonal, "5.6": ch05.check_lsuv, "5.7": ch05.check_leaky_gain}
VALUES = {"5.4", "5.7"}


@pytest.mark.parametrize("exercise", CHECKERS)
def test_no_input_makes_a_chapter_5_checker_raise(capsys, exercise):
    for bad in FUZZ:
        RESULTS.clear()
        CHECKERS[exercise](copy.copy(bad) if isinstance(bad, list) else bad)
        status, out = verdict(capsys, exercise)
        if bad is None and exercise in VALUES:
            assert status == "not attempted" and out.startswith("⏳"), out
        else:
            assert status == "fail" and out.startswith("❌"), (bad, out)


@pytest.mark.parametrize("exercise", ["5.1", "5.2", "5.3", "5.5", "5.6"])
def test_stubs_are_not_attempted(capsys, exercise):
    CHECKERS[exercise](raises_not_implemented)
    status, out = verdict(capsys, exercise)
    assert status == "not attempted" and out.startswith("⏳"), out
