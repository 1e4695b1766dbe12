"""Chapter 8's checkers against right answers written several ways, wrong answers and bad input."""

import math

import numpy as np
import pytest
import torch

from test_exercises import FUZZ, raises_not_implemented, verdict
from utils.exercises import RESULTS, ch08


# ---------------------------------------------------------------- 8.1 inverted dropout
def dropout_rand_less(X, p, training=True, generator=None):
    """The chapter's solution: keep where rand < 1 - p, scale by 1 / (1 - p)."""
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    keep = torch.rand(X.shape, generator=generator, dtype=X.dtype) < 1 - p
    return X * keep / (1 - p)


def dropout_bernoulli(X, p, training=True, generator=None):
    """torch.bernoulli with the keep probability, written with torch.where; p = 1 by the where."""
    if not training:
        return X.clone()
    q = torch.full_like(X, 1 - p)
    mask = torch.bernoulli(q, generator=generator).bool()
    return torch.where(mask, X / max(1 - p, 1e-300), torch.zeros_like(X))


def dropout_numpy_style(X, p, training=True, generator=None):
    """Drop where rand < p (the other half of the unit interval), multiply by a float mask."""
    if not training:
        return X
    if p >= 1:
        return X * 0
    u = torch.empty_like(X).uniform_(0, 1, generator=generator)
    return X * (u >= p).to(X.dtype) * (1.0 / (1.0 - p))


def dropout_non_inverted(X, p, training=True, generator=None):
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    return X * (torch.rand(X.shape, generator=generator, dtype=X.dtype) < 1 - p)


def dropout_keep_probability(X, p, training=True, generator=None):
    """Reads p as the probability of keeping (the notes' NumPy convention)."""
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    return X * (torch.rand(X.shape, generator=generator, dtype=X.dtype) < p) / p


def dropout_shared_mask(X, p, training=True, generator=None):
    """One mask row for the whole batch."""
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    keep = torch.rand(X.shape[1:], generator=generator, dtype=X.dtype) < 1 - p
    return X * keep / (1 - p)


def dropout_shared_last_axis(X, p, training=True, generator=None):
    """One mask per row, shared along the last axis (the 3-D case has it along its last axis)."""
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    keep = torch.rand(X.shape[:-1] + (1,), generator=generator, dtype=X.dtype) < 1 - p
    return X * keep / (1 - p)


def dropout_global_rng(X, p, training=True, generator=None):
    if not training or p == 0:
        return X
    if p == 1:
        return torch.zeros_like(X)
    return X * (torch.rand(X.shape, dtype=X.dtype) < 1 - p) / (1 - p)


def dropout_ignores_training(X, p, training=True, generator=None):
    return dropout_rand_less(X, p, True, generator if generator is not None else torch.Generator())


def dropout_nan_at_one(X, p, training=True, generator=None):
    if not training:
        return X
    keep = torch.rand(X.shape, generator=generator, dtype=X.dtype) < 1 - p
    return X * keep / (1 - p) if p < 1 else X * keep / torch.tensor(0.0, dtype=X.dtype)


def dropout_in_place(X, p, training=True, generator=None):
    if not training or p == 0:
        return X
    if p == 1:
        return X.zero_()
    X.mul_(torch.rand(X.shape, generator=generator, dtype=X.dtype) < 1 - p).div_(1 - p)
    return X


def dropout_float32(X, p, training=True, generator=None):
    return dropout_rand_less(X.float(), p, training, generator)


def test_dropout(capsys):
    for right in (dropout_rand_less, dropout_bernoulli, dropout_numpy_style):
        assert ch08.check_dropout(right), right.__name__
        status, out = verdict(capsys, "8.1")
        assert status == "pass" and "passed all 8 cases" in out, out
    for wrong, words in [(dropout_non_inverted, "expected 1 / (1 - p) = 1.429"),
                         (dropout_keep_probability, "p is the probability of *dropping*"),
                         (dropout_shared_mask, "the same along axis 0"),
                         (dropout_shared_last_axis, "not independent"),
                         (dropout_global_rng, "the generator"),
                         (dropout_ignores_training, "training=False"),
                         (dropout_nan_at_one, "p = 1 returns zeros"),
                         (dropout_in_place, "in place"),
                         (dropout_float32, "lost precision")]:
        assert not ch08.check_dropout(wrong), wrong.__name__
        status, out = verdict(capsys, "8.1")
        assert status == "fail" and words in out, (wrong.__name__, out)
    ch08.check_dropout(raises_not_implemented)
    assert verdict(capsys, "8.1")[0] == "not attempted"


def test_the_dropout_solution_matches_nn_dropout_in_law():
    """The reference law is torch's: the same keep rate and the same scaling as F.dropout."""
    X = torch.rand(300, 300) + 0.1
    torch.manual_seed(0)
    theirs = torch.nn.functional.dropout(X, 0.3, training=True)
    ours = dropout_rand_less(X, 0.3, generator=torch.Generator().manual_seed(0))
    for out in (theirs, ours):
        kept = out != 0
        assert abs(kept.float().mean().item() - 0.7) < 0.01
        torch.testing.assert_close(out[kept], (X / 0.7)[kept])


# ---------------------------------------------------------------- 8.2 SGD with weight decay
@torch.no_grad()
def sgd_by_index(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    for i, (p, g) in enumerate(zip(params, grads)):
        g = g + weight_decay * p
        if momentum:
            state[i] = g.clone() if i not in state else momentum * state[i] + g
            g = state[i]
        p.sub_(lr * g)


def sgd_decay_first(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    """The penalty's gradient through a buffer list, p -= ... under no_grad."""
    buffers = state.setdefault("buffers", [None] * len(params))
    with torch.no_grad():
        for i, p in enumerate(params):
            d = torch.add(grads[i], p, alpha=weight_decay)
            if momentum != 0:
                buffers[i] = d.detach().clone() if buffers[i] is None else \
                    buffers[i].mul_(momentum).add_(d)
                d = buffers[i]
            p -= lr * d


def sgd_through_torch(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    if "opt" not in state:
        state["opt"] = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    for p, g in zip(params, grads):
        p.grad = g
    state["opt"].step()


def sgd_decoupled(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    """Decoupled decay (SGDW): the same as L2 without momentum, different with it."""
    with torch.no_grad():
        for p in params:
            p.mul_(1 - lr * weight_decay)
    sgd_by_index(params, grads, state, lr, momentum, 0.0)


def sgd_decay_without_lr(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    with torch.no_grad():
        for p in params:
            p.mul_(1 - weight_decay)
    sgd_by_index(params, grads, state, lr, momentum, 0.0)


def sgd_momentum_starts_at_zero(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    with torch.no_grad():
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + weight_decay * p
            if momentum:
                state[i] = momentum * state.get(i, torch.zeros_like(p)) + (1 - momentum) * g
                g = state[i]
            p.sub_(lr * g)


def sgd_half_penalty(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    """The gradient of (lambda / 2) ||w||^2 is lambda w, not lambda w / 2."""
    sgd_by_index(params, grads, state, lr, momentum, weight_decay / 2)


def sgd_rebinds(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    """Puts new tensors into the list: a model's parameters would never change."""
    for i, (p, g) in enumerate(zip(params, grads)):
        params[i] = p - lr * (g + weight_decay * p)


def sgd_returns_new(params, grads, state, lr, momentum=0.0, weight_decay=0.0):
    copies = [p.clone() for p in params]
    sgd_by_index(copies, grads, state, lr, momentum, weight_decay)
    return copies


# ---------------------------------------------------------------- 8.3 AdamW
@torch.no_grad()
def adamw_by_index(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    state["t"] = state.get("t", 0) + 1
    m = state.setdefault("m", [torch.zeros_like(p) for p in params])
    v = state.setdefault("v", [torch.zeros_like(p) for p in params])
    for p, g, m_i, v_i in zip(params, grads, m, v):
        p.mul_(1 - lr * weight_decay)
        m_i.mul_(beta1).add_(g, alpha=1 - beta1)
        v_i.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        p.sub_(lr * (m_i / (1 - beta1 ** state["t"])) / ((v_i / (1 - beta2 ** state["t"])).sqrt()
                                                        + eps))


def adamw_by_identity(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    """State keyed by the tensors, the step written with the combined bias correction."""
    beta1, beta2 = betas
    for p, g in zip(params, grads):
        s = state.setdefault(p, {"t": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)})
        s["t"] += 1
        s["m"] = beta1 * s["m"] + (1 - beta1) * g
        s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
        step = lr / (1 - beta1 ** s["t"])
        denom = s["v"].sqrt() / math.sqrt(1 - beta2 ** s["t"]) + eps
        with torch.no_grad():
            p.copy_(p * (1 - lr * weight_decay) - step * s["m"] / denom)


def adamw_through_torch(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    if "opt" not in state:
        state["opt"] = torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps,
                                         weight_decay=weight_decay)
    for p, g in zip(params, grads):
        p.grad = g
    state["opt"].step()


def adam_l2(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    """Adam + L2: the decay added to the gradient, the mistake the exercise is about."""
    grads = [g + weight_decay * p for p, g in zip(params, grads)]
    adamw_by_index(params, grads, state, lr, betas, eps, 0.0)


def adamw_decay_without_lr(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8,
                           weight_decay=0.01):
    with torch.no_grad():
        for p in params:
            p.mul_(1 - weight_decay)
    adamw_by_index(params, grads, state, lr, betas, eps, 0.0)


def adamw_decay_after(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    """Decays the weights after Adam's step instead of before: parts at the second order."""
    adamw_by_index(params, grads, state, lr, betas, eps, 0.0)
    with torch.no_grad():
        for p in params:
            p.mul_(1 - lr * weight_decay)


def adamw_rebinds(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    copies = [p.clone() for p in params]
    adamw_by_index(copies, grads, state, lr, betas, eps, weight_decay)
    params[:] = copies


def adamw_ignores_betas(params, grads, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    adamw_by_index(params, grads, state, lr, (0.9, 0.999), eps, weight_decay)


@pytest.mark.parametrize("exercise, check, rights, wrongs", [
    ("8.2", ch08.check_sgd_weight_decay, [sgd_by_index, sgd_decay_first, sgd_through_torch],
     [(sgd_decoupled, "momentum 0.9"), (sgd_decay_without_lr, "step 1 of 60"),
      (sgd_momentum_starts_at_zero, "momentum 0.9"), (sgd_half_penalty, "step 1 of 60"),
      (sgd_returns_new, "in place"), (sgd_rebinds, "new tensors into the list")]),
    ("8.3", ch08.check_adamw_step, [adamw_by_index, adamw_by_identity, adamw_through_torch],
     [(adam_l2, "step 1 of 60"), (adamw_decay_without_lr, "step 1 of 60"),
      (adamw_decay_after, "of 60: params"), (adamw_ignores_betas, "betas (0.5, 0.9)"),
      (adamw_rebinds, "new tensors into the list")]),
])
def test_optimizer_trajectories(capsys, exercise, check, rights, wrongs):
    for right in rights:
        assert check(right), right.__name__
        status, out = verdict(capsys, exercise)
        assert status == "pass" and "all 60 steps agree" in out, out
    for wrong, words in wrongs:
        assert not check(wrong), wrong.__name__
        status, out = verdict(capsys, exercise)
        assert status == "fail" and words in out and "Hint" in out, (wrong.__name__, out)
    check(raises_not_implemented)
    assert verdict(capsys, exercise)[0] == "not attempted"


def test_sgd_decoupled_equals_l2_without_momentum():
    """What the chapter computes: without momentum, decay lr * lambda is the L2 penalty."""
    a, b = [p.clone() for p in ch08.BENCH.start], [p.clone() for p in ch08.BENCH.start]
    for _ in range(50):
        sgd_by_index(a, ch08.BENCH.gradients(a), {}, 0.1, 0.0, 0.05)
        sgd_decoupled(b, ch08.BENCH.gradients(b), {}, 0.1, 0.0, 0.05)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=1e-12, rtol=0)


# ---------------------------------------------------------------- 8.4 early stopping
def early_stopping_solution(curve, patience, min_delta=0.0):
    best, best_epoch = math.inf, 0
    for epoch, loss in enumerate(curve, start=1):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(curve), best_epoch


def early_stopping_numpy(curve, patience, min_delta=0.0):
    """Counting the epochs without improvement, with NumPy floats, returning a list."""
    curve = np.asarray(curve, dtype=np.float64)
    best, best_epoch, waited = np.inf, 0, 0
    for i, loss in enumerate(curve):
        if np.isfinite(loss) and best - loss > min_delta:
            best, best_epoch, waited = loss, i + 1, 0
        else:
            waited += 1
            if waited >= patience:
                return [i + 1, best_epoch]
    return [len(curve), best_epoch]


def early_stopping_through_helper(curve, patience, min_delta=0.0):
    """The rule of utils.train.EarlyStopping itself."""
    from utils.train import EarlyStopping
    rule, best_epoch = EarlyStopping(patience=patience, min_delta=min_delta), 0
    for epoch, loss in enumerate(curve, start=1):
        if rule.improves(loss, curve[best_epoch - 1] if best_epoch else None):
            best_epoch = epoch
        if epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(curve), best_epoch


def early_vs_previous(curve, patience, min_delta=0.0):
    """Compares with the previous epoch instead of the best so far."""
    best_epoch, waited, previous = 1, 0, curve[0]
    for epoch, loss in enumerate(curve[1:], start=2):
        if loss < previous - min_delta:
            best_epoch, waited = epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
        previous = loss
    return len(curve), best_epoch


def early_at_least_delta(curve, patience, min_delta=0.0):
    best, best_epoch = math.inf, 0
    for epoch, loss in enumerate(curve, start=1):
        if loss <= best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(curve), best_epoch


def early_zero_based(curve, patience, min_delta=0.0):
    stop, best = early_stopping_solution(curve, patience, min_delta)
    return stop - 1, best - 1


def early_min_of_curve(curve, patience, min_delta=0.0):
    """The best epoch as the lowest value seen, whether or not it beat the best by min_delta."""
    stop, _ = early_stopping_solution(curve, patience, min_delta)
    seen = [c if c == c else math.inf for c in curve[:stop]]
    return stop, int(np.argmin(seen)) + 1


def early_nan_improves(curve, patience, min_delta=0.0):
    best, best_epoch = math.inf, 0
    for epoch, loss in enumerate(curve, start=1):
        if not loss >= best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(curve), best_epoch


def early_one_too_late(curve, patience, min_delta=0.0):
    best, best_epoch = math.inf, 0
    for epoch, loss in enumerate(curve, start=1):
        if loss < best - min_delta:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience:
            return epoch, best_epoch
    return len(curve), best_epoch


def test_early_stopping(capsys):
    for right in (early_stopping_solution, early_stopping_numpy, early_stopping_through_helper,
                  ch08.early_stopping_reference):
        assert ch08.check_early_stopping(right), right.__name__
        status, out = verdict(capsys, "8.4")
        assert status == "pass" and "passed all 11 cases" in out, out
    for wrong, words in [(early_vs_previous, "not with the previous epoch"),
                         (early_at_least_delta, "exactly min_delta"),
                         (early_zero_based, "case 1 of 11"),
                         (early_min_of_curve, "best epoch: expected"),
                         (early_nan_improves, "NaN"),
                         (early_one_too_late, "case 1 of 11")]:
        assert not ch08.check_early_stopping(wrong), wrong.__name__
        status, out = verdict(capsys, "8.4")
        assert status == "fail" and words in out and "Hint" in out, (wrong.__name__, out)
    ch08.check_early_stopping(raises_not_implemented)
    assert verdict(capsys, "8.4")[0] == "not attempted"


def test_the_reference_rejects_patience_zero():
    with pytest.raises(ValueError, match="patience must be at least 1"):
        ch08.early_stopping_reference([0.5, 0.4], 0)
    assert ch08.early_stopping_reference([float("nan"), 0.5, 0.4], 2) == (3, 3)


def test_the_reference_is_the_training_loop_rule():
    """ch08's reference agrees with train()'s EarlyStopping on random curves."""
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        curve = (1 + torch.rand(15, generator=g) - torch.linspace(0, 1, 15)).tolist()
        patience = int(torch.randint(1, 5, (1,), generator=g))
        delta = float(torch.rand(1, generator=g)) * 0.1
        assert ch08.early_stopping_reference(curve, patience, delta) == \
            early_stopping_through_helper(curve, patience, delta)


# ---------------------------------------------------------------- 8.5 the Keras rate
def test_keep_probability(capsys):
    for right in (0.2, 1 - 0.8, np.float32(0.2), torch.tensor(0.2), 0.2001):
        assert ch08.check_keep_probability(right)
        assert verdict(capsys, "8.5") == ("pass", "✅ Exercise 8.5: correct.")
    for wrong in (0.8, 0.5, 0.25, 20, -0.2):
        assert not ch08.check_keep_probability(wrong)
        status, out = verdict(capsys, "8.5")
        assert status == "fail" and "Hint" in out and "0.2" not in out.split("Hint")[0], out
    ch08.check_keep_probability(None)
    assert verdict(capsys, "8.5")[0] == "not attempted"


@pytest.mark.parametrize("exercise, check", [
    ("8.1", ch08.check_dropout), ("8.2", ch08.check_sgd_weight_decay),
    ("8.3", ch08.check_adamw_step), ("8.4", ch08.check_early_stopping),
    ("8.5", ch08.check_keep_probability)])
def test_no_input_makes_a_chapter_8_checker_raise(capsys, exercise, check):
    for bad in FUZZ:
        RESULTS.clear()
        check(bad)
        status, out = verdict(capsys, exercise)
        if bad is None and exercise == "8.5":
            assert status == "not attempted", out
        else:
            assert status == "fail" and out.startswith("❌"), (bad, out)
