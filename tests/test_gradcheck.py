"""The finite-difference gradient check: right gradients pass, wrong ones fail, and a check
that compared too little (kinks, round-off) never passes; skipped coordinates are named."""

import pytest
import torch

from utils.gradcheck import finite_differences, gradient_check, numerical_gradient


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
    assert (report.compared, report.total) == (2, 3) and "input 0 index (0,)" in str(report)


def relu_sum(t):
    return torch.relu(t).sum()


def test_a_check_that_compared_nothing_does_not_pass():
    x = torch.tensor([1e-8], dtype=torch.float64)                # its only coordinate is a kink
    report = gradient_check(relu_sum, x, delta=1e-5)
    assert not report.ok and report.status == "inconclusive" and report.compared == 0
    text = str(report)
    assert "passed" not in text and "INCONCLUSIVE" in text and "input 0 index (0,)" in text
    assert "away from the kinks" in text


def test_mostly_kinks_is_inconclusive_and_names_the_first_few():
    x = torch.tensor([1e-8, -1e-8, 2e-8, -2e-8, 3e-8, -3e-8, 4e-8, 0.5], dtype=torch.float64)
    report = gradient_check(relu_sum, x)
    assert not report.ok and report.status == "inconclusive" and len(report.kinks) == 7
    assert "and 2 more" in str(report) and "passed" not in str(report)


def test_a_wild_gradient_at_a_kink_fails():
    x = torch.tensor([1e-8], dtype=torch.float64)
    for wrong in (123.0, -1.0, float("nan")):
        report = gradient_check(relu_sum, x, torch.tensor([wrong], dtype=torch.float64),
                                delta=1e-5)
        assert not report.ok and report.status == "FAILED", wrong
        assert "between the one-sided slopes" in str(report)
    x = torch.tensor([1e-8, 0.5, 0.7], dtype=torch.float64)      # kink plus smooth coordinates
    report = gradient_check(relu_sum, x, torch.tensor([5.0, 1.0, 1.0], dtype=torch.float64))
    assert not report.ok and report.status == "FAILED"


def test_float32_gets_a_warning():
    x = torch.randn(4)
    report = gradient_check(lambda t: (t ** 3).sum(), x)
    assert report.warnings and "float64" in str(report) and not report.ok
    assert gradient_check(lambda t: (t ** 3).sum(), x.double()).ok


def test_a_zero_gradient_never_passes_in_float32():
    """Round-off makes f(x + δ) = f(x - δ) in float32: an all-zero gradient must not pass."""
    g = torch.Generator().manual_seed(0)
    for f in (f_smooth_matrix, lambda W: (W ** 3).sum(), lambda W: 100 * torch.sigmoid(W).sum()):
        for delta in (1e-6, 1e-4, 1e-2):
            W = torch.randn(5, 5, generator=g)
            report = gradient_check(f, W, torch.zeros(5, 5), delta=delta)
            assert not report.ok and "passed" not in str(report), (delta, str(report))
            assert "float64" in str(report)


def f_smooth_matrix(W):
    return torch.tanh(W @ torch.ones(5, dtype=W.dtype)).pow(2).sum()


def test_unused_inputs_have_a_zero_gradient_that_passes_in_float64():
    W, unused = torch.randn(5, 5, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    report = gradient_check(lambda W, u: f_smooth_matrix(W), [W, unused])
    assert report.ok and report.compared == report.total == 28


def test_differences_divide_by_the_step_actually_taken():
    x = torch.ones(3)                         # in float32, 1 + 1e-6 is 1 + 9.5e-7
    d = finite_differences(lambda t: t.double().sum(), x, delta=1e-6)
    torch.testing.assert_close(d.central, torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(d.forward, torch.ones(3, dtype=torch.float64))


def test_a_transposed_input_is_handled():
    W = torch.randn(4, 3, dtype=torch.float64).T           # not contiguous
    assert gradient_check(f_smooth, [W, torch.zeros(3, dtype=torch.float64)]).ok
