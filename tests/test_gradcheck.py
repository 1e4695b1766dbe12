"""The finite-difference gradient check: right gradients pass, wrong ones fail, kinks are named."""

import pytest
import torch

from utils.gradcheck import gradient_check, numerical_gradient


def f_smooth(W, b):
    return torch.tanh(W @ torch.linspace(-1, 1, 4, dtype=W.dtype) + b).pow(2).sum()


def test_numerical_gradient_matches_autograd():
    x = torch.randn(3, 4, dtype=torch.float64)
    x_ = x.clone().requires_grad_(True)
    (x_.sin() * x_).sum().backward()
    torch.testing.assert_close(numerical_gradient(lambda t: (t.sin() * t).sum(), x), x_.grad)


def test_agrees_with_torch_gradcheck_on_right_and_wrong_gradients():
    W, b = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    report = gradient_check(f_smooth, [W, b])
    assert report.ok and "passed" in str(report)
    assert torch.autograd.gradcheck(f_smooth, (W.requires_grad_(), b.requires_grad_()))

    class Wrong(torch.autograd.Function):            # a sine whose backward forgot a factor
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x.cos() * 0.5

    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert not torch.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False)
    report = gradient_check(lambda t: Wrong.apply(t).sum(), [x.detach()])
    assert not report.ok and "FAILED" in str(report) and report.worst[0] == 0


def test_given_gradients_are_checked_and_shapes_explained():
    x = torch.randn(4, dtype=torch.float64)
    assert gradient_check(lambda t: (t ** 2).sum(), x, 2 * x).ok
    assert not gradient_check(lambda t: (t ** 2).sum(), x, x).ok
    assert not gradient_check(lambda t: (t ** 2).sum(), x, torch.full_like(x, float("nan"))).ok
    with pytest.raises(ValueError, match="shape of its input"):
        gradient_check(lambda t: (t ** 2).sum(), x, 2 * x[:2])


def test_kinks_are_reported_not_counted_as_errors():
    x = torch.tensor([1e-8, 0.5, -0.5], dtype=torch.float64)      # the first sits on ReLU's kink
    report = gradient_check(lambda t: torch.relu(t).sum(), x)
    assert report.ok and report.kinks == [(0, (0,))] and "kink" in str(report)


def test_float32_gets_a_warning():
    x = torch.randn(4)
    report = gradient_check(lambda t: (t ** 3).sum(), x)
    assert report.warnings and "float64" in str(report)
    assert gradient_check(lambda t: (t ** 3).sum(), x.double()).ok
