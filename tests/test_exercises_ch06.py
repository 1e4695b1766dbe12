"""Chapter 6's checkers against right answers written several ways, wrong answers and bad input."""

import math

import numpy as np
import pytest
import torch

from test_exercises import FUZZ, raises_not_implemented, verdict
from utils.exercises import RESULTS, ch06


# ---------------------------------------------------------------- 6.1 Adamax
@torch.no_grad()
def adamax_by_index(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """The notebook's solution: per-parameter lists in the state, updated in place."""
    beta1, beta2 = betas
    state["t"] = state.get("t", 0) + 1
    m = state.setdefault("m", [torch.zeros_like(p) for p in params])
    u = state.setdefault("u", [torch.zeros_like(p) for p in params])
    for p, g, m_i, u_i in zip(params, grads, m, u):
        m_i.mul_(beta1).add_(g, alpha=1 - beta1)
        u_i.copy_(torch.maximum(beta2 * u_i, g.abs() + eps))
        p.sub_(lr / (1 - beta1 ** state["t"]) * m_i / u_i)


def adamax_by_identity(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """State keyed by the parameter tensors themselves, new tensors bound in the dict, p -= ..."""
    beta1, beta2 = betas
    for p, g in zip(params, grads):
        s = state.setdefault(p, {"step": 0, "m": 0.0, "u": 0.0})
        s["step"] += 1
        s["m"] = beta1 * s["m"] + (1 - beta1) * g
        s["u"] = torch.stack([beta2 * torch.as_tensor(s["u"]).expand_as(g), g.abs() + eps]).amax(0)
        with torch.no_grad():
            p -= lr * s["m"] / (1 - beta1 ** s["step"]) / s["u"]


def adamax_through_torch(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """Letting torch.optim do it is a right answer too."""
    if "opt" not in state:
        state["opt"] = torch.optim.Adamax(params, lr=lr, betas=betas, eps=eps)
    for p, g in zip(params, grads):
        p.grad = g
    state["opt"].step()


def adamax_eps_outside(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = betas
    state["t"] = state.get("t", 0) + 1
    m = state.setdefault("m", [torch.zeros_like(p) for p in params])
    u = state.setdefault("u", [torch.zeros_like(p) for p in params])
    for p, g, m_i, u_i in zip(params, grads, m, u):
        m_i.mul_(beta1).add_(g, alpha=1 - beta1)
        u_i.copy_(torch.maximum(beta2 * u_i, g.abs()))
        p.sub_(lr / (1 - beta1 ** state["t"]) * m_i / (u_i + eps))


def adamax_no_bias_correction(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    adamax_by_index(params, grads, state, lr * (1 - betas[0] ** (state.get("t", 0) + 1)), betas, eps)


def adamax_step_count_stuck(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    state["t"] = 0                                  # t is 1 at every step
    adamax_by_index(params, grads, state, lr, betas, eps)


def adamax_default_betas_only(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    adamax_by_index(params, grads, state, lr, (0.9, 0.999), eps)


def adamax_returns_new(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    copies = [p.clone() for p in params]
    adamax_by_index(copies, grads, state, lr, betas, eps)
    return copies


def adamax_float32(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """Rounding every step to float32 loses the agreement float64 allows."""
    adamax_by_index(params, grads, state, lr, betas, eps)
    for p in params:
        p.copy_(p.float().double())


# ---------------------------------------------------------------- 6.2 Adadelta
@torch.no_grad()
def adadelta_by_index(params, grads, state, lr=1.0, rho=0.9, eps=1e-6):
    s = state.setdefault("square_avg", [torch.zeros_like(p) for p in params])
    d = state.setdefault("acc_delta", [torch.zeros_like(p) for p in params])
    for p, g, s_i, d_i in zip(params, grads, s, d):
        s_i.mul_(rho).addcmul_(g, g, value=1 - rho)
        delta = (d_i + eps).sqrt() / (s_i + eps).sqrt() * g
        d_i.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.sub_(lr * delta)


def adadelta_by_name(params, grads, state, lr=1.0, rho=0.9, eps=1e-6):
    """Written as in Zeiler's paper, RMS[x] = sqrt(E[x^2] + eps), with a dict per position."""
    def rms(x):
        return torch.sqrt(x + eps)
    for i, (p, g) in enumerate(zip(params, grads)):
        e_g2, e_dx2 = state.get(i, (torch.zeros_like(p), torch.zeros_like(p)))
        e_g2 = rho * e_g2 + (1 - rho) * g * g
        dx = -rms(e_dx2) / rms(e_g2) * g
        e_dx2 = rho * e_dx2 + (1 - rho) * dx * dx
        state[i] = (e_g2, e_dx2)
        p.add_(lr * dx)


def adadelta_eps_outside(params, grads, state, lr=1.0, rho=0.9, eps=1e-6):
    s = state.setdefault("s", [torch.zeros_like(p) for p in params])
    d = state.setdefault("d", [torch.zeros_like(p) for p in params])
    for p, g, s_i, d_i in zip(params, grads, s, d):
        s_i.mul_(rho).addcmul_(g, g, value=1 - rho)
        delta = (d_i.sqrt() + eps) / (s_i.sqrt() + eps) * g
        d_i.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.sub_(lr * delta)


def adadelta_new_delta_first(params, grads, state, lr=1.0, rho=0.9, eps=1e-6):
    """Accumulates this step's delta before using the accumulator (a circular definition)."""
    s = state.setdefault("s", [torch.zeros_like(p) for p in params])
    d = state.setdefault("d", [torch.zeros_like(p) for p in params])
    for p, g, s_i, d_i in zip(params, grads, s, d):
        s_i.mul_(rho).addcmul_(g, g, value=1 - rho)
        d_i.mul_(rho).addcmul_(g, g, value=1 - rho)
        p.sub_(lr * (d_i + eps).sqrt() / (s_i + eps).sqrt() * g)


def adadelta_ignores_lr(params, grads, state, lr=1.0, rho=0.9, eps=1e-6):
    adadelta_by_index(params, grads, state, 1.0, rho, eps)


@pytest.mark.parametrize("exercise, check, rights, wrongs", [
    ("6.1", ch06.check_adamax_step, [adamax_by_index, adamax_by_identity, adamax_through_torch],
     [(adamax_eps_outside, "step 2 of 60: params (lr 0.05, betas (0.5, 0.9), eps 0.1)"),
      (adamax_no_bias_correction, "step 1 of 60"), (adamax_step_count_stuck, "step 2 of 60"),
      (adamax_default_betas_only, "betas (0.5, 0.9)"), (adamax_returns_new, "in place"),
      (adamax_float32, "of 60: params")]),
    ("6.2", ch06.check_adadelta_step, [adadelta_by_index, adadelta_by_name],
     [(adadelta_eps_outside, "step 1 of 60"), (adadelta_new_delta_first, "step 1 of 60"),
      (adadelta_ignores_lr, "lr 0.5")]),
])
def test_optimizer_trajectories(capsys, exercise, check, rights, wrongs):
    for right in rights:
        assert check(right)
        status, out = verdict(capsys, exercise)
        assert status == "pass" and "all 60 steps agree" in out, out
    for wrong, words in wrongs:
        assert not check(wrong)
        status, out = verdict(capsys, exercise)
        assert status == "fail" and words in out and "Hint" in out, (wrong.__name__, out)
    check(raises_not_implemented)
    assert verdict(capsys, exercise)[0] == "not attempted"


def test_the_references_are_torch_optim():
    """The checkers' references are torch.optim; the solutions above agree with it to 1e-12."""
    for step, make in [(adamax_by_index, lambda ps: torch.optim.Adamax(ps, lr=0.05, betas=(0.5, 0.9),
                                                                        eps=0.1)),
                       (adadelta_by_index, lambda ps: torch.optim.Adadelta(ps, lr=0.5, rho=0.5,
                                                                           eps=0.01))]:
        ours = [p.clone() for p in ch06.BENCH.start]
        theirs = [p.clone().requires_grad_() for p in ch06.BENCH.start]
        optimizer, state = make(theirs), {}
        kwargs = {"betas": (0.5, 0.9), "eps": 0.1} if step is adamax_by_index else {"rho": 0.5,
                                                                                   "eps": 0.01}
        for _ in range(100):
            step(ours, ch06.BENCH.gradients(ours), state, 0.05 if step is adamax_by_index else 0.5,
                 **kwargs)
            optimizer.zero_grad()
            ch06.BENCH.loss(*theirs).backward()
            optimizer.step()
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b.detach(), atol=1e-12, rtol=0)


# ---------------------------------------------------------------- 6.3 warmup + cosine
def warmup_cosine_numpy(step, total_steps, warmup_steps, peak_lr, final_lr=0.0):
    t = np.float64(step)
    ramp = peak_lr * (t + 1) / max(warmup_steps, 1)
    span = total_steps - warmup_steps
    cos = final_lr + 0.5 * (peak_lr - final_lr) * (1 + np.cos(np.pi * (t - warmup_steps) / span))
    return np.where(t < warmup_steps, ramp, cos)


def warmup_cosine_lambda_lr(step, total_steps, warmup_steps, peak_lr, final_lr=0.0):
    """Through torch's LambdaLR: the factor times peak_lr, read after `step` scheduler steps."""
    def factor(t):
        if t < warmup_steps:
            return (t + 1) / warmup_steps
        progress = (t - warmup_steps) / (total_steps - warmup_steps)
        return (final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * progress)) / 2) / peak_lr
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak_lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return scheduler.get_last_lr()[0]


def warmup_from_zero(step, total_steps, warmup_steps, peak_lr, final_lr=0.0):
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    return ch06.warmup_cosine_reference(step, total_steps, warmup_steps, peak_lr, final_lr)


def cosine_over_the_whole_run(step, total_steps, warmup_steps, peak_lr, final_lr=0.0):
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    return final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2


def no_floor(step, total_steps, warmup_steps, peak_lr, final_lr=0.0):
    return ch06.warmup_cosine_reference(step, total_steps, warmup_steps, peak_lr)


def half_cosine_missing(step, total_steps, warmup_steps, peak_lr, final_lr=0.0):
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return final_lr + (peak_lr - final_lr) * math.cos(math.pi * progress / 2)


def test_warmup_cosine(capsys):
    for right in (ch06.warmup_cosine_reference, warmup_cosine_numpy, warmup_cosine_lambda_lr):
        assert ch06.check_warmup_cosine(right)
        status, out = verdict(capsys, "6.3")
        assert status == "pass" and "passed all 11 cases" in out, out
    for wrong, words in [(warmup_from_zero, "case 1 of 11 (the first step of warmup)"),
                         (cosine_over_the_whole_run, "case 4 of 11"),
                         (no_floor, "final_lr 0.001"), (half_cosine_missing, "halfway")]:
        assert not ch06.check_warmup_cosine(wrong)
        status, out = verdict(capsys, "6.3")
        assert status == "fail" and words in out and "Hint" in out, (wrong.__name__, out)
    ch06.check_warmup_cosine(raises_not_implemented)
    assert verdict(capsys, "6.3")[0] == "not attempted"


# ---------------------------------------------------------------- 6.4 and 6.5, numbers
def adagrad_third_step():
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adagrad([w], lr=1.0, eps=0.0)
    for g in (3.0, 4.0, 12.0):
        before = w.detach().clone()
        w.grad = torch.tensor([g])
        optimizer.step()
    return float((w.detach() - before).abs())


def momentum_steps_by_loop():
    rate, distance, k = (10 - 1) / (10 + 1), 1.0, 0
    while distance > 1e-6:
        distance, k = distance * rate, k + 1
    return k


@pytest.mark.parametrize("exercise, check, rights, wrongs", [
    ("6.4", ch06.check_adagrad_step, [12 / 13, adagrad_third_step(), 0.923, torch.tensor(12 / 13),
                                      np.float32(12 / 13)],
     [1.0, 12 / 19, 12 / 169, 1 / 13, -12 / 13]),
    ("6.5", ch06.check_momentum_steps, [69, 69.0, momentum_steps_by_loop(), np.int64(69),
                                        torch.tensor(69)],
     [68, 70, 691, 68.85, 35]),
])
def test_numbers(capsys, exercise, check, rights, wrongs):
    for right in rights:
        assert check(right)
        assert verdict(capsys, exercise) == ("pass", f"✅ Exercise {exercise}: correct.")
    for wrong in wrongs:
        assert not check(wrong)
        status, out = verdict(capsys, exercise)
        assert status == "fail" and "Hint" in out and "12" not in out.split("Hint")[0], out
    check(None)
    assert verdict(capsys, exercise)[0] == "not attempted"


@pytest.mark.parametrize("exercise, check", [
    ("6.1", ch06.check_adamax_step), ("6.2", ch06.check_adadelta_step),
    ("6.3", ch06.check_warmup_cosine), ("6.4", ch06.check_adagrad_step),
    ("6.5", ch06.check_momentum_steps)])
def test_no_input_makes_a_chapter_6_checker_raise(capsys, exercise, check):
    for bad in FUZZ:
        RESULTS.clear()
        check(bad)
        status, out = verdict(capsys, exercise)
        if bad is None and exercise in ("6.4", "6.5"):
            assert status == "not attempted", out
        else:
            assert status == "fail" and out.startswith("❌"), (bad, out)
