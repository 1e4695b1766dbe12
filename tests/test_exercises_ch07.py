"""Chapter 7's checkers against right answers written several ways, wrong answers and bad input."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from test_exercises import FUZZ, raises_not_implemented, verdict
from utils.exercises import RESULTS, ch07


def _dims(x):
    return [0] + list(range(2, x.dim()))


def _shape(x):
    return [1, -1] + [1] * (x.dim() - 2)


# ---------------------------------------------------------------- 7.1 BN forward
def bn_by_moments(x, gamma, beta, eps=1e-5):
    """The variance as E[x^2] - E[x]^2: right within the tolerance, in float64."""
    dims = _dims(x)
    mean = x.mean(dim=dims, keepdim=True)
    var = (x * x).mean(dim=dims, keepdim=True) - mean ** 2
    return gamma.reshape(_shape(x)) * (x - mean) * torch.rsqrt(var + eps) + beta.reshape(_shape(x))


def bn_by_moving_axis(x, gamma, beta, eps=1e-5):
    """Channels last, then a (rows, C) matrix: another right way."""
    moved = x.movedim(1, -1)
    flat = moved.reshape(-1, x.shape[1])
    out = (flat - flat.mean(0)) / (flat.var(0, unbiased=False) + eps).sqrt() * gamma + beta
    return out.reshape(moved.shape).movedim(-1, 1)


def bn_through_torch(x, gamma, beta, eps=1e-5):
    module = (nn.BatchNorm1d if x.dim() == 2 else nn.BatchNorm2d)(x.shape[1], eps=eps).double()
    with torch.no_grad():
        module.weight.copy_(gamma)
        module.bias.copy_(beta)
    return module(x)


def bn_unbiased(x, gamma, beta, eps=1e-5):
    dims = _dims(x)
    mean, var = x.mean(dim=dims, keepdim=True), x.var(dim=dims, keepdim=True)
    return gamma.reshape(_shape(x)) * (x - mean) / torch.sqrt(var + eps) + beta.reshape(_shape(x))


def bn_eps_outside(x, gamma, beta, eps=1e-5):
    dims = _dims(x)
    mean = x.mean(dim=dims, keepdim=True)
    std = x.var(dim=dims, unbiased=False, keepdim=True).sqrt()
    return gamma.reshape(_shape(x)) * (x - mean) / (std + eps) + beta.reshape(_shape(x))


def bn_wrong_axes(x, gamma, beta, eps=1e-5):
    """Normalizing each example over its features: LayerNorm, not BatchNorm."""
    dims = list(range(1, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    return gamma.reshape(_shape(x)) * (x - mean) / torch.sqrt(var + eps) + beta.reshape(_shape(x))


def bn_only_2d(x, gamma, beta, eps=1e-5):
    mean, var = x.mean(0), x.var(0, unbiased=False)            # wrong for images
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


@pytest.mark.parametrize("right", [bn_by_moments, bn_by_moving_axis, bn_through_torch])
def test_bn_forward_accepts_right_answers(capsys, right):
    ch07.check_batch_norm_train(right)
    status, out = verdict(capsys, "7.1")
    assert status == "pass", out


@pytest.mark.parametrize("wrong, words", [
    (bn_unbiased, "biased variance"), (bn_eps_outside, "inside the square root"),
    (bn_wrong_axes, "every axis but the channel"), (bn_only_2d, "case 2"),
    (lambda x, g, b, eps=1e-5: x, "Hint")])
def test_bn_forward_rejects_wrong_answers(capsys, wrong, words):
    ch07.check_batch_norm_train(wrong)
    status, out = verdict(capsys, "7.1")
    assert status == "fail" and words in out, out


def bn_float32(x, gamma, beta, eps=1e-5):
    return bn_by_moments(x.float(), gamma.float(), beta.float(), eps)


def bn_modifies_input(x, gamma, beta, eps=1e-5):
    dims = _dims(x)
    x -= x.mean(dim=dims, keepdim=True)
    x /= torch.sqrt(x.var(dim=dims, unbiased=False, keepdim=True) + eps)
    return gamma.reshape(_shape(x)) * x + beta.reshape(_shape(x))


@pytest.mark.parametrize("wrong, words", [(bn_float32, "must the output be"),
                                          (bn_modifies_input, "changed its input in place")])
def test_bn_forward_names_dtype_and_in_place_mistakes(capsys, wrong, words):
    ch07.check_batch_norm_train(wrong)
    status, out = verdict(capsys, "7.1")
    assert status == "fail" and words in out and "every axis but the channel" not in out, out


# ---------------------------------------------------------------- 7.2 running statistics
def running_in_place(running_mean, running_var, x, momentum=0.1):
    n = len(x)
    running_mean.mul_(1 - momentum).add_(momentum * x.mean(0))
    running_var.mul_(1 - momentum).add_(momentum * x.var(0, unbiased=False) * n / (n - 1))


def running_returned(running_mean, running_var, x, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * x.mean(0),
            (1 - momentum) * running_var + momentum * x.var(0))


def running_copy_and_return(running_mean, running_var, x, momentum=0.1):
    """In place through copy_, and the buffers returned as well: both accepted at once."""
    new = running_returned(running_mean, running_var, x, momentum)
    running_mean.copy_(new[0])
    running_var.copy_(new[1])
    return running_mean, running_var


def running_by_torch(running_mean, running_var, x, momentum=0.1):
    bn = nn.BatchNorm1d(x.shape[1], momentum=momentum).double()
    bn.running_mean, bn.running_var = running_mean, running_var   # the buffers themselves
    bn(x)


def running_flipped(running_mean, running_var, x, momentum=0.1):
    return (momentum * running_mean + (1 - momentum) * x.mean(0),
            momentum * running_var + (1 - momentum) * x.var(0))


def running_biased(running_mean, running_var, x, momentum=0.1):
    return ((1 - momentum) * running_mean + momentum * x.mean(0),
            (1 - momentum) * running_var + momentum * x.var(0, unbiased=False))


def running_rebinds(running_mean, running_var, x, momentum=0.1):
    running_mean = (1 - momentum) * running_mean + momentum * x.mean(0)   # lost on return


def running_changes_x(running_mean, running_var, x, momentum=0.1):
    x -= x.mean(0)
    running_in_place(running_mean, running_var, x, momentum)


def running_ignores_momentum(running_mean, running_var, x, momentum=0.1):
    return running_returned(running_mean, running_var, x, 0.1)


@pytest.mark.parametrize("right", [running_in_place, running_returned, running_copy_and_return,
                                   running_by_torch])
def test_running_accepts_in_place_and_returned(capsys, right):
    ch07.check_running_update(right)
    status, out = verdict(capsys, "7.2")
    assert status == "pass", out


@pytest.mark.parametrize("wrong, words", [
    (running_flipped, "flipped"), (running_biased, "unbiased variance"),
    (running_rebinds, "in place"), (running_changes_x, "changed the batch"),
    (running_ignores_momentum, "case 2")])
def test_running_rejects_wrong_answers(capsys, wrong, words):
    ch07.check_running_update(wrong)
    status, out = verdict(capsys, "7.2")
    assert status == "fail" and words in out, out


# ---------------------------------------------------------------- 7.3 backward
def backward_compact(dy, x, gamma, eps=1e-5):
    m = len(x)
    sigma = torch.sqrt(x.var(0, unbiased=False) + eps)
    x_hat = (x - x.mean(0)) / sigma
    dbeta, dgamma = dy.sum(0), (dy * x_hat).sum(0)
    return gamma / (m * sigma) * (m * dy - dbeta - x_hat * dgamma), dgamma, dbeta


def backward_by_steps(dy, x, gamma, eps=1e-5):
    """The step-by-step chain rule through mean and variance (cs231n's staged form)."""
    m = len(x)
    mu = x.mean(0)
    xc = x - mu
    var = (xc ** 2).mean(0)
    inv = 1 / torch.sqrt(var + eps)
    x_hat = xc * inv
    dx_hat = dy * gamma
    dvar = (dx_hat * xc).sum(0) * -0.5 * inv ** 3
    dmu = -(dx_hat * inv).sum(0) + dvar * (-2 * xc).mean(0)
    dx = dx_hat * inv + dvar * 2 * xc / m + dmu / m
    return dx, (dy * x_hat).sum(0), dy.sum(0)


def backward_autograd(dy, x, gamma, eps=1e-5):
    x, gamma = x.clone().requires_grad_(), gamma.clone().requires_grad_()
    beta = torch.zeros_like(gamma, requires_grad=True)
    y = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + eps) * gamma + beta
    return list(torch.autograd.grad(y, (x, gamma, beta), dy))


def backward_ignores_statistics(dy, x, gamma, eps=1e-5):
    sigma = torch.sqrt(x.var(0, unbiased=False) + eps)
    x_hat = (x - x.mean(0)) / sigma
    return dy * gamma / sigma, (dy * x_hat).sum(0), dy.sum(0)


def backward_swapped(dy, x, gamma, eps=1e-5):
    dx, dgamma, dbeta = backward_compact(dy, x, gamma, eps)
    return dx, dbeta, dgamma


@pytest.mark.parametrize("right", [backward_compact, backward_by_steps, backward_autograd])
def test_backward_accepts_right_answers(capsys, right):
    ch07.check_batch_norm_backward(right)
    status, out = verdict(capsys, "7.3")
    assert status == "pass", out


def backward_no_eps(dy, x, gamma, eps=1e-5):
    return backward_compact(dy, x, gamma, 0.0)


def backward_fixed_eps(dy, x, gamma, eps=1e-5):
    return backward_compact(dy, x, gamma, 1e-5)


@pytest.mark.parametrize("wrong, words", [
    (backward_ignores_statistics, "depend on every x_i"), (backward_swapped, "dgamma"),
    (backward_no_eps, "eps is missing"), (backward_fixed_eps, "whatever eps was passed"),
    (lambda dy, x, g, eps=1e-5: backward_compact(dy, x, g)[0], "expected 3 results")])
def test_backward_rejects_wrong_answers(capsys, wrong, words):
    ch07.check_batch_norm_backward(wrong)
    status, out = verdict(capsys, "7.3")
    assert status == "fail" and words in out, out


# ---------------------------------------------------------------- 7.4 GroupNorm
def gn_reshape(x, groups, weight, bias, eps=1e-5):
    N, C = x.shape[:2]
    g = x.reshape(N, groups, -1)
    out = ((g - g.mean(-1, keepdim=True)) / torch.sqrt(g.var(-1, unbiased=False, keepdim=True)
                                                        + eps)).reshape(x.shape)
    return out * weight.reshape(_shape(x)) + bias.reshape(_shape(x))


def gn_module(x, groups, weight, bias, eps=1e-5):
    module = nn.GroupNorm(groups, x.shape[1], eps=eps).double()
    with torch.no_grad():
        module.weight.copy_(weight)
        module.bias.copy_(bias)
    return module(x)


def gn_by_loop(x, groups, weight, bias, eps=1e-5):
    per = x.shape[1] // groups
    parts = []
    for k in range(groups):
        part = x[:, k * per:(k + 1) * per]
        dims = list(range(1, x.dim()))
        mean = part.mean(dim=dims, keepdim=True)
        var = ((part - mean) ** 2).mean(dim=dims, keepdim=True)
        parts.append((part - mean) / (var + eps).sqrt())
    return torch.cat(parts, 1) * weight.reshape(_shape(x)) + bias.reshape(_shape(x))


def gn_channels_interleaved(x, groups, weight, bias, eps=1e-5):
    """Groups of every `groups`-th channel instead of contiguous ones."""
    N, C = x.shape[:2]
    g = x.reshape(N, C // groups, groups, -1).transpose(1, 2).reshape(N, groups, -1)
    out = (g - g.mean(-1, keepdim=True)) / torch.sqrt(g.var(-1, unbiased=False, keepdim=True)
                                                      + eps)
    out = out.reshape(N, groups, C // groups, -1).transpose(1, 2).reshape(x.shape)
    return out * weight.reshape(_shape(x)) + bias.reshape(_shape(x))


def gn_unbiased(x, groups, weight, bias, eps=1e-5):
    N = x.shape[0]
    g = x.reshape(N, groups, -1)
    out = ((g - g.mean(-1, keepdim=True)) / torch.sqrt(g.var(-1, keepdim=True) + eps))
    return out.reshape(x.shape) * weight.reshape(_shape(x)) + bias.reshape(_shape(x))


@pytest.mark.parametrize("right", [gn_reshape, gn_module, gn_by_loop])
def test_group_norm_accepts_right_answers(capsys, right):
    ch07.check_group_norm(right)
    status, out = verdict(capsys, "7.4")
    assert status == "pass", out


@pytest.mark.parametrize("wrong", [gn_channels_interleaved, gn_unbiased,
                                   lambda x, g, w, b, eps=1e-5: F.layer_norm(x, x.shape[1:])])
def test_group_norm_rejects_wrong_answers(capsys, wrong):
    ch07.check_group_norm(wrong)
    status, out = verdict(capsys, "7.4")
    assert status == "fail" and "Hint" in out, out


# ---------------------------------------------------------------- 7.5 folding
def fold_by_matrix(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = torch.diag(gamma / torch.sqrt(running_var + eps))
    return scale @ W, scale @ (b - running_mean) + beta


def fold_by_modules(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    bn = nn.BatchNorm1d(len(b), eps=eps).double().eval()
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(running_mean)
        bn.running_var.copy_(running_var)
        b_new = bn(b[None])[0]                         # the folded layer at x = 0
        W_new = (bn(W.T + b) - b_new).T                # at x = e_k, minus that: column k
    return W_new, b_new


def fold_wrong_axis(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = gamma / torch.sqrt(running_var + eps)
    return W * scale[None, :] if W.shape[0] == W.shape[1] else W * scale[:, None], \
        (b - running_mean) * scale + beta


def fold_no_eps(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = gamma / torch.sqrt(running_var)
    return W * scale[:, None], (b - running_mean) * scale + beta


def fold_forgets_bias(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = gamma / torch.sqrt(running_var + eps)
    return W * scale[:, None], beta - running_mean * scale


def fold_in_place(W, b, running_mean, running_var, gamma, beta, eps=1e-5):
    scale = gamma / torch.sqrt(running_var + eps)
    W.mul_(scale[:, None])
    return W, (b - running_mean) * scale + beta


@pytest.mark.parametrize("right", [fold_by_matrix, fold_by_modules])
def test_fold_accepts_right_answers(capsys, right):
    ch07.check_fold_bn(right)
    status, out = verdict(capsys, "7.5")
    assert status == "pass", out


@pytest.mark.parametrize("wrong, words", [
    (fold_wrong_axis, "square"), (fold_no_eps, "eps"), (fold_forgets_bias, "b_new"),
    (fold_in_place, "in place")])
def test_fold_rejects_wrong_answers(capsys, wrong, words):
    ch07.check_fold_bn(wrong)
    status, out = verdict(capsys, "7.5")
    assert status == "fail" and words in out, out


# ---------------------------------------------------------------- 7.6 momentum
@pytest.mark.parametrize("answer, status", [(0.01, "pass"), (1 - 0.99, "pass"),
                                            (torch.tensor(0.01), "pass"), (0.99, "fail"),
                                            (0.1, "fail"), (None, "not attempted")])
def test_keras_momentum(capsys, answer, status):
    ch07.check_keras_momentum(answer)
    got, out = verdict(capsys, "7.6")
    assert got == status, out


# ---------------------------------------------------------------- every checker, bad input
CHECKERS = [("7.1", ch07.check_batch_norm_train), ("7.2", ch07.check_running_update),
            ("7.3", ch07.check_batch_norm_backward), ("7.4", ch07.check_group_norm),
            ("7.5", ch07.check_fold_bn), ("7.6", ch07.check_keras_momentum)]


@pytest.mark.parametrize("exercise, check", CHECKERS)
def test_stubs_are_not_attempted(capsys, exercise, check):
    check(None if exercise == "7.6" else raises_not_implemented)
    status, out = verdict(capsys, exercise)
    assert status == "not attempted", out


@pytest.mark.parametrize("exercise, check", CHECKERS)
def test_no_input_makes_a_chapter_7_checker_raise(capsys, exercise, check):
    for bad in FUZZ:
        RESULTS.clear()
        check(bad)
        status, out = verdict(capsys, exercise)
        if bad is None and exercise == "7.6":
            assert status == "not attempted", out
        else:
            assert status == "fail" and out.startswith("❌"), (bad, out)
