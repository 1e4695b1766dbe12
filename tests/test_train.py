"""The book's training loop: determinism, resume, NaN stop, checkpoints, live plot."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from utils import train as train_module
from utils.data import fast_loader
from utils.runtime import seed_everything
from utils.train import History, confusion_matrix, evaluate, predict, train


def make_data(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 20, generator=g)
    y = (X[:, :5].sum(1) > 0).long() + 2 * (X[:, 5] > 0.5).long()  # 4 classes
    return fast_loader(TensorDataset(X[:400], y[:400]), 32, True), fast_loader(TensorDataset(X[400:], y[400:]), 64, False)


def make_model():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))


def run(epochs, checkpoint=None, seed=0, plot=False, **kwargs):
    seed_everything(seed)
    train_iter, test_iter = make_data()
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = train(model, train_iter, test_iter, epochs=epochs, optimizer=optimizer,
                    checkpoint=checkpoint, plot=plot, **kwargs)
    return model, history


def test_learns_and_reports(capsys):
    model, history = run(epochs=4)
    assert history.epoch == [1, 2, 3, 4] and not history.diverged
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.eval_acc[-1] > 0.6
    line = capsys.readouterr().out.strip().splitlines()[-1]
    for part in ("train loss", "train acc", "test acc", "examples/s", "cpu"):
        assert part in line
    assert history.examples == 4 * 400 and history.examples_per_second > 0


def test_same_seed_same_numbers():
    model_a, a = run(epochs=3, seed=1)
    model_b, b = run(epochs=3, seed=1)
    assert a.train_loss == b.train_loss and a.eval_acc == b.eval_acc
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(p, q)
    _, c = run(epochs=3, seed=2)
    assert c.train_loss != a.train_loss


class Interrupt(Exception):
    pass


def test_resume_after_interruption_loses_no_epoch(tmp_path, capsys):
    model_full, full = run(epochs=4, seed=3)

    calls = {"n": 0}

    def dies_in_epoch_three(module, inputs):   # 13 batches per epoch: die in the middle of epoch 3
        calls["n"] += 1 if module.training else 0
        if calls["n"] == 2 * 13 + 5:
            raise Interrupt

    path = tmp_path / "run.pt"
    seed_everything(3)
    train_iter, test_iter = make_data()
    model = make_model()
    model.register_forward_pre_hook(dies_in_epoch_three)   # a hook is not part of the run
    with pytest.raises(Interrupt):
        train(model, train_iter, test_iter, epochs=4, plot=False, checkpoint=path,
              optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    assert path.exists()
    state = torch.load(path, weights_only=True)           # loadable with weights_only
    assert state["history"]["epoch"] == [1, 2]

    # a new session: the same code, started again, continues after epoch 2
    model_resumed, resumed = run(epochs=4, seed=3, checkpoint=path)
    assert "Resumed" in capsys.readouterr().out
    assert resumed.epoch == [1, 2, 3, 4]
    assert resumed.train_loss == pytest.approx(full.train_loss, rel=1e-6)
    assert resumed.eval_acc == full.eval_acc
    for p, q in zip(model_full.parameters(), model_resumed.parameters()):
        torch.testing.assert_close(p, q)


def test_finished_checkpoint_is_loaded_without_training(tmp_path):
    path = tmp_path / "done.pt"
    model_a, a = run(epochs=2, checkpoint=path)
    model_b, b = run(epochs=2, checkpoint=path)
    assert b.epoch == [1, 2] and b.eval_acc == a.eval_acc
    for p, q in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(p, q)


def test_checkpoint_of_another_setup_is_not_resumed(tmp_path, capsys):
    path = tmp_path / "other.pt"
    run(epochs=1, checkpoint=path)
    seed_everything(0)
    train_iter, test_iter = make_data()
    model = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 4))   # different shapes
    history = train(model, train_iter, test_iter, epochs=1, plot=False, checkpoint=path,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert "belongs to another run" in capsys.readouterr().out and history.epoch == [1]


def train_with(path, activation=nn.ReLU, seed=0, lr=0.1, data_seed=0, epochs=2, **kwargs):
    seed_everything(seed)
    train_iter, test_iter = make_data(seed=data_seed)
    model = nn.Sequential(nn.Linear(20, 32), activation(), nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, **kwargs)
    return train(model, train_iter, test_iter, epochs=epochs, plot=False, checkpoint=path,
                 optimizer=optimizer)


@pytest.mark.parametrize("change, differs", [
    (dict(activation=nn.Sigmoid), "architecture"),       # the same shapes, another activation
    (dict(seed=1), "initial values"),                     # the same model, other initial weights
    (dict(lr=0.05), "hyperparameters"),
    (dict(momentum=0.9), "hyperparameters"),
    (dict(data_seed=1), "train data"),
])
def test_a_checkpoint_never_hands_back_another_runs_results(tmp_path, capsys, change, differs):
    """Train with ReLU, switch the cell to Sigmoid, run again: that is a new run."""
    path = tmp_path / "cell.pt"
    first = train_with(path)
    capsys.readouterr()
    second = train_with(path, **change)
    out = capsys.readouterr().out
    assert "Resumed" not in out and "belongs to another run" in out and differs in out
    assert second.train_loss != first.train_loss and second.epoch == [1, 2]
    seed_everything(7)
    assert train_with(path, **change).train_loss == second.train_loss   # now it is the cell's own
    assert "Resumed" in capsys.readouterr().out


def test_scheduler_can_step_every_batch(tmp_path):
    seed_everything(0)
    train_iter, test_iter = make_data()
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=20)
    train(model, train_iter, test_iter, epochs=2, optimizer=optimizer, scheduler=warmup,
          scheduler_interval="batch", plot=False)
    assert warmup.last_epoch == 2 * len(train_iter)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)         # warmed up after 20
    with pytest.raises(ValueError, match="'epoch'.*'batch'"):
        train(model, train_iter, test_iter, epochs=1, optimizer=optimizer, scheduler=warmup,
              scheduler_interval="step", plot=False)


def test_relative_checkpoint_names_go_to_the_checkpoint_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DLBOOK_CHECKPOINTS", str(tmp_path))
    run(epochs=1, checkpoint="named.pt")
    assert (tmp_path / "named.pt").exists()


def test_nan_loss_stops_with_a_message_not_a_traceback(capsys):
    seed_everything(0)
    train_iter, test_iter = make_data()
    model = make_model()
    history = train(model, train_iter, test_iter, epochs=5, plot=False,
                    optimizer=torch.optim.SGD(model.parameters(), lr=1e6))
    out = capsys.readouterr().out
    assert history.diverged and len(history.epoch) < 5
    assert "Training stopped" in out and "learning rate" in out and "lr=1000000.0" in out
    assert all(math.isfinite(v) for v in history.train_loss)


def test_a_nan_between_checks_is_caught_at_the_end_of_the_epoch(capsys):
    ce = nn.CrossEntropyLoss()
    calls = {"n": 0}

    def one_bad_batch(y_hat, y):               # step 3 of epoch 2 is NaN, not a checked step
        calls["n"] += 1
        return ce(y_hat, y) * (float("nan") if calls["n"] == 13 + 3 else 1.0)

    _, history = run(epochs=3, loss_fn=one_bad_batch, log_every=100)
    assert history.diverged and history.epoch == [1]
    assert "Training stopped: the loss became nan in epoch 2" in capsys.readouterr().out


def test_regression_has_no_accuracy(capsys):
    seed_everything(0)
    X = torch.randn(256, 3)
    y = X @ torch.tensor([[1.0], [2.0], [-1.0]]) + 0.5
    loader = fast_loader(TensorDataset(X, y), 32, True)
    model = nn.Linear(3, 1)
    history = train(model, loader, loader, epochs=3, loss_fn=nn.MSELoss(), plot=False,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert history.eval_loss[-1] < 0.05 and math.isnan(history.train_acc[-1])
    assert "test loss" in capsys.readouterr().out.splitlines()[-1]


def test_mixed_precision_only_on_cuda(monkeypatch):
    made = []
    real = torch.amp.GradScaler

    def spy(device, enabled):
        made.append(enabled)
        return real(device, enabled=enabled)

    monkeypatch.setattr(train_module.torch.amp, "GradScaler", spy)
    run(epochs=1)
    assert made == [False]


def test_scheduler_is_stepped_per_epoch_and_checkpointed(tmp_path):
    seed_everything(0)
    train_iter, test_iter = make_data()
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    train(model, train_iter, test_iter, epochs=3, optimizer=optimizer, scheduler=scheduler,
          plot=False, checkpoint=tmp_path / "s.pt")
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    assert torch.load(tmp_path / "s.pt", weights_only=True)["scheduler"]["last_epoch"] == 3


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj)


def test_live_plot_displays_once_and_updates_in_place(monkeypatch):
    shown, handles = [], []

    def fake_display(obj, display_id=False):
        shown.append(obj)
        handles.append(FakeHandle())
        return handles[-1]

    monkeypatch.setattr(train_module, "_in_notebook", lambda: True)
    monkeypatch.setattr(train_module, "LIVE_PLOT_SECONDS", 0.0)   # redraw after every epoch
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", fake_display)
    bar_handle = FakeHandle()
    monkeypatch.setattr(train_module, "_progress_bar",
                        lambda total: (train_module.tqdm(total=total, disable=True), bar_handle))
    _, history = run(epochs=3, plot=None)         # None: plot, because this is "Jupyter"
    assert [str(u.data) for u in bar_handle.updates] == [history.summary()]  # bar -> final line
    figures = [obj for obj in shown if obj.__class__.__name__ == "SVG"]
    assert len(figures) == 1                       # one figure, displayed once...
    assert len(handles[0].updates) == 2            # ...and redrawn in place after epochs 2 and 3
    assert all(u.data.startswith("<svg") for u in handles[0].updates)
    assert handles[0].updates[0].data != handles[0].updates[1].data


def test_live_plot_renders_outside_notebooks_when_asked():
    plot = train_module.LivePlot(classification=False, min_interval=0)
    history = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[math.nan] * 2,
                      eval_loss=[1.1, 0.6], eval_acc=[math.nan] * 2)
    plot.update(history)
    assert plot.svg.count("<polyline") == 2 and "Accuracy" not in plot.svg   # regression: loss only
    history.epoch.append(3), history.train_loss.append(0.2), history.eval_loss.append(0.3)
    plot.update(history)
    assert plot.drawn_epochs == 3 and plot.svg.count("<circle") == 3     # train: one dot per epoch


def test_history_svg_draws_both_panels_and_skips_non_finite_points():
    import xml.dom.minidom

    from utils.plot import history_svg
    history = History(epoch=[1, 2, 3], train_loss=[1.0, math.inf, 0.4], train_acc=[0.5, 0.6, 0.7],
                      eval_loss=[1.1, 0.7, 0.5], eval_acc=[0.4, 0.55, 0.65], eval_name="validation")
    svg = history_svg(history)
    xml.dom.minidom.parseString(svg)               # well-formed
    assert "Loss" in svg and "Accuracy" in svg and "validation" in svg
    assert svg.count("<polyline") == 4 and svg.count("<circle") == 2 + 3   # inf is left out
    assert "nan" not in svg and "inf" not in svg
    assert "<svg" in history_svg(History())        # nothing to draw yet: an empty frame


def test_live_plot_is_throttled_but_always_shows_the_end():
    plot = train_module.LivePlot(classification=True, min_interval=3600)
    history = History(epoch=[1], train_loss=[1.0], train_acc=[0.5], eval_loss=[1.1], eval_acc=[0.4])
    plot.update(history)
    assert plot.drawn_epochs == 0                  # too soon
    plot.update(history, force=True)
    assert plot.drawn_epochs == 1


def test_evaluate_predict_and_confusion():
    seed_everything(0)
    _, test_iter = make_data()
    model = make_model()
    loss, acc = evaluate(model, test_iter)
    preds, labels = predict(model, test_iter)
    assert preds.shape == labels.shape == (112,)
    assert acc == pytest.approx((preds == labels).float().mean().item())
    counts = confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


# ---- early stopping (Chapter 8) -------------------------------------------------------------

def noisy_validation(share=0.3, seed=5):
    """make_data's held-out examples with a share of labels redrawn at random: the validation
    loss falls for some epochs, then rises as the small model fits its training set."""
    g = torch.Generator().manual_seed(seed)
    X, y = (t.clone() for t in make_data()[1].dataset.tensors)
    flip = torch.rand(len(y), generator=g) < share
    y[flip] = torch.randint(0, 4, (int(flip.sum()),), generator=g)
    return fast_loader(TensorDataset(X, y), 64, False)


def run_stopping(epochs, stopping, checkpoint=None, seed=0, hook=None):
    seed_everything(seed)
    train_iter, _ = make_data()
    model = make_model()
    if hook is not None:
        model.register_forward_pre_hook(hook)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    history = train(model, train_iter, noisy_validation(), epochs=epochs, optimizer=optimizer,
                    plot=False, eval_name="validation", early_stopping=stopping,
                    checkpoint=checkpoint)
    return model, history


def test_early_stopping_stops_after_patience_and_keeps_the_best_weights(capsys):
    model, history = run_stopping(40, train_module.EarlyStopping(patience=3))
    losses = history.eval_loss
    assert history.stopped_early and len(history.epoch) < 40 and history.best_epoch > 3
    assert history.best_epoch == losses.index(min(losses)) + 1
    assert len(history.epoch) == history.best_epoch + 3       # exactly `patience` epochs after
    assert all(loss >= min(losses) for loss in losses[history.best_epoch:])
    # the model holds the best epoch's weights: the same run stopped there by hand
    same_run, _ = run_stopping(history.best_epoch, None)
    for p, q in zip(model.parameters(), same_run.parameters()):
        assert torch.equal(p, q)
    assert evaluate(model, noisy_validation())[0] == pytest.approx(min(losses), rel=1e-6)
    out = capsys.readouterr().out
    assert f"stopped early after epoch {len(history.epoch)}" in out
    assert f"weights of epoch {history.best_epoch},\nthe best on the validation set" in out


def test_without_restore_the_last_weights_stay():
    model, history = run_stopping(40, train_module.EarlyStopping(patience=2, restore_best=False))
    assert history.stopped_early
    last, _ = run_stopping(len(history.epoch), None)
    for p, q in zip(model.parameters(), last.parameters()):
        assert torch.equal(p, q)


def test_min_delta_is_the_seeds_epsilon():
    rule = train_module.EarlyStopping(min_delta=0.01)
    assert rule.improves(0.5, None) and rule.improves(0.489, 0.5)
    assert not rule.improves(0.495, 0.5) and not rule.improves(0.51, 0.5)
    assert not rule.improves(float("nan"), None)
    acc = train_module.EarlyStopping(monitor="eval_acc", min_delta=0.01)
    assert acc.improves(0.52, 0.5) and not acc.improves(0.505, 0.5) and not acc.improves(0.4, 0.5)
    # a large epsilon stops sooner: every small improvement counts as none
    _, strict = run_stopping(40, train_module.EarlyStopping(patience=3, min_delta=1.0))
    assert strict.best_epoch == 1 and strict.epoch == [1, 2, 3, 4]


def test_early_stopping_on_accuracy_and_when_it_never_triggers():
    _, history = run_stopping(6, train_module.EarlyStopping(patience=50, monitor="eval_acc"))
    assert history.epoch == [1, 2, 3, 4, 5, 6] and not history.stopped_early
    best = max(history.eval_acc)
    assert history.eval_acc[history.best_epoch - 1] == best
    assert history.eval_acc.index(best) + 1 == history.best_epoch   # the first of equal bests
    assert "finished after epoch 6" in history.summary()


def test_early_stopping_resumes_from_a_checkpoint(tmp_path):
    rule = train_module.EarlyStopping(patience=3)
    model_full, full = run_stopping(40, rule)
    calls = {"n": 0}

    def dies_in_epoch_three(module, inputs):
        calls["n"] += 1 if module.training else 0
        if calls["n"] == 2 * 13 + 5:
            raise Interrupt

    path = tmp_path / "stop.pt"
    with pytest.raises(Interrupt):
        run_stopping(40, rule, checkpoint=path, hook=dies_in_epoch_three)
    model_resumed, resumed = run_stopping(40, rule, checkpoint=path)
    assert (resumed.epoch, resumed.best_epoch, resumed.stopped_early) == \
        (full.epoch, full.best_epoch, True)
    for p, q in zip(model_full.parameters(), model_resumed.parameters()):
        torch.testing.assert_close(p, q)
    # a stopped run, started again, trains no further and still hands back the best weights
    model_again, again = run_stopping(40, rule, checkpoint=path)
    assert again.epoch == full.epoch
    for p, q in zip(model_full.parameters(), model_again.parameters()):
        assert torch.equal(p, q)


def test_other_early_stopping_settings_are_another_run(tmp_path, capsys):
    path = tmp_path / "rule.pt"
    run_stopping(40, train_module.EarlyStopping(patience=2), checkpoint=path)
    _, other = run_stopping(40, train_module.EarlyStopping(patience=4), checkpoint=path)
    assert "early stopping differ" in capsys.readouterr().out
    assert len(other.epoch) == other.best_epoch + 4


@pytest.mark.parametrize("kwargs, words", [
    (dict(patience=0), "patience=0"), (dict(patience=2.5), "patience=2.5"),
    (dict(monitor="val_loss"), "monitor='val_loss'"), (dict(min_delta=-0.1), "min_delta=-0.1"),
    (dict(min_delta="0.1"), "min_delta='0.1'")])
def test_bad_early_stopping_settings_get_a_clear_message(kwargs, words):
    with pytest.raises(ValueError, match=words.replace(".", r"\.").replace("=", "=")):
        train_module.EarlyStopping(**kwargs)


def test_early_stopping_must_be_the_object():
    with pytest.raises(TypeError, match="early_stopping=5"):
        run_stopping(3, 5)
