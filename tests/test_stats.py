"""utils.stats.layer_stats: the per-layer numbers equal what autograd gives by hand, and the
model comes back exactly as it went in."""

import math

import pytest
import torch
from torch import nn

from utils.stats import LayerStats, describe_problem, layer_stats


def mlp(seed=0, bn=False):
    torch.manual_seed(seed)
    layers = [nn.Flatten(), nn.Linear(12, 16)]
    layers += [nn.BatchNorm1d(16)] if bn else []
    layers += [nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3)]
    return nn.Sequential(*layers)


def batch(n=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def by_hand(model, X, y):
    """Every leaf output, kept with retain_grad, and the loss's gradients."""
    outs, h = [], X
    for m in model:
        h = m(h)
        if not isinstance(m, (nn.Flatten, nn.Dropout)):
            h.retain_grad()
            outs.append((m, h))
    nn.CrossEntropyLoss()(h, y).backward()
    return outs


def test_rows_follow_the_forward_order_and_skip_shape_only_layers():
    stats = layer_stats(mlp(), *batch())
    assert [r["kind"] for r in stats.rows] == ["Linear", "ReLU", "Linear", "Tanh", "Linear"]
    assert [r["name"] for r in stats.rows] == ["1", "2", "4", "5", "6"]
    assert len(stats) == 5


def test_statistics_equal_autograd_by_hand():
    model, (X, y) = mlp(), batch()
    stats = layer_stats(model, X, y, lr=0.1)
    reference = mlp()
    outs = by_hand(reference, X, y)
    for row, (module, out) in zip(stats.rows, outs):
        assert row["mean"] == pytest.approx(float(out.detach().mean()), rel=1e-5, abs=1e-7)
        assert row["std"] == pytest.approx(float(out.detach().std()), rel=1e-5)
        assert row["grad_std"] == pytest.approx(float(out.grad.std()), rel=1e-5)
        if isinstance(module, nn.Linear):
            w = module.weight
            assert row["weight_grad_std"] == pytest.approx(float(w.grad.std()), rel=1e-5)
            assert row["update_ratio"] == pytest.approx(
                float(0.1 * w.grad.std() / w.detach().std()), rel=1e-5)
        else:
            assert math.isnan(row["weight_grad_std"]) and math.isnan(row["update_ratio"])


def test_without_labels_a_fixed_random_gradient_is_backpropagated():
    model, (X, _) = mlp(), batch()
    a, b = layer_stats(model, X), layer_stats(model, X)
    assert a.column("grad_std") == b.column("grad_std")
    out = model(X)
    direction = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
    assert a.rows[-1]["grad_std"] == pytest.approx(float(direction.std() / len(X)), rel=1e-5)


def test_dead_units_and_zero_outputs_of_relu():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU())
    with torch.no_grad():
        model[0].bias[:3] = -100.0            # three units can never fire
        model[0].bias[3:] = 100.0             # three always do
    stats = layer_stats(model, torch.randn(20, 4))
    relu = stats.rows[1]
    assert relu["dead"] == pytest.approx(0.5) and relu["zero"] == pytest.approx(0.5)
    assert math.isnan(stats.rows[0]["dead"]) and math.isnan(stats.rows[0]["zero"])


def test_dead_channels_of_a_convolution():
    conv = nn.Conv2d(1, 4, 3, padding=1)
    with torch.no_grad():
        conv.bias[:] = torch.tensor([-100.0, 0.0, 0.0, -100.0])
    stats = layer_stats(nn.Sequential(conv, nn.ReLU()), torch.randn(5, 1, 6, 6))
    assert stats.rows[1]["dead"] == pytest.approx(0.5)


def test_the_model_comes_back_unchanged():
    model, (X, y) = mlp(bn=True), batch()
    model.train()
    params = [p.detach().clone() for p in model.parameters()]
    buffers = [b.clone() for b in model.buffers()]
    model[1].weight.grad = torch.ones_like(model[1].weight)       # an earlier gradient
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    stats = layer_stats(model, X, y, optimizer=optimizer)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), params))
    assert all(torch.equal(b, c) for b, c in zip(model.buffers(), buffers))
    assert torch.equal(model[1].weight.grad, torch.ones_like(model[1].weight))
    assert all(p.grad is None for p in list(model.parameters())[1:])
    assert not optimizer.state, "the optimizer's step must be undone, state included"
    assert all(not m._forward_hooks for m in model.modules())
    assert 0 < stats.rows[0]["update_ratio"] < 1


def test_update_ratio_of_plain_sgd_equals_the_lr_formula():
    model, (X, y) = mlp(), batch()
    by_lr = layer_stats(model, X, y, lr=0.05).column("update_ratio")
    by_step = layer_stats(model, X, y,
                          optimizer=torch.optim.SGD(model.parameters(), lr=0.05))
    for a, b in zip(by_lr, by_step.column("update_ratio")):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-4)


def test_an_optimizer_with_state_keeps_it():
    model, (X, y) = mlp(), batch()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    nn.CrossEntropyLoss()(model(X), y).backward()
    optimizer.step()
    model.zero_grad()
    before = [optimizer.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    layer_stats(model, X, y, optimizer=optimizer)
    after = [optimizer.state[p]["momentum_buffer"] for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_chosen_modules_and_kept_outputs():
    model, (X, y) = mlp(), batch()
    stats = layer_stats(model, X, y, modules=[model[2], model[5]], keep=True)
    assert [r["kind"] for r in stats.rows] == ["ReLU", "Tanh"]
    assert set(stats.outputs) == {"2", "5"} and stats.outputs["2"].shape == (32, 16)


def test_table_fits_the_page_and_plot_draws_two_panels():
    stats = layer_stats(mlp(), *batch())
    text = str(stats)
    assert "grad std" in text and max(len(line) for line in text.splitlines()) <= 100
    assert len(text.splitlines()) == 2 + len(stats)
    fig = stats.plot(title="an MLP")
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_describe_problem_names_a_vanishing_signal():
    torch.manual_seed(0)
    layers = []
    for _ in range(10):
        linear = nn.Linear(64, 64)
        nn.init.normal_(linear.weight, std=0.01)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    stats = layer_stats(nn.Sequential(*layers), torch.randn(16, 64))
    assert "shrinks" in describe_problem(stats)
    healthy = nn.Sequential(nn.Linear(64, 64), nn.Tanh())
    assert "no layer" in describe_problem(layer_stats(healthy, torch.randn(16, 64))).lower()


@pytest.mark.parametrize("args, words", [
    (("not a model", torch.randn(4, 3)), "nn.Module"),
    ((nn.Linear(3, 2), [[1.0, 2.0, 3.0]]), "tensor"),
    ((nn.Linear(3, 2), torch.randn(1, 3)), "at least 2"),
    ((nn.Flatten(), torch.randn(4, 3)), "no layer"),
])
def test_bad_input_is_explained(args, words):
    with pytest.raises((TypeError, ValueError), match=words):
        layer_stats(*args)


def test_a_module_from_elsewhere_is_refused():
    with pytest.raises(ValueError, match="not part of the model"):
        layer_stats(nn.Linear(3, 2), torch.randn(4, 3), modules=[nn.ReLU()])


def test_unknown_column_is_explained():
    with pytest.raises(KeyError, match="no statistic"):
        LayerStats().column("std")
