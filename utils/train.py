"""The one training loop the book uses, introduced in Chapter 2.

At its heart ``train`` is the loop a chapter writes by hand: for every batch, forward, loss,
backward, step. Around that heart it adds what a long run needs and nothing else:

- a tqdm progress bar, and a live plot of loss and accuracy per epoch, redrawn in place (so an
  executed notebook keeps exactly one figure) at most every two seconds, as a small SVG, so
  that it costs almost nothing (``benchmarks/train_loop_overhead.py`` measures it);
- a clear stop, not a crash, when the loss becomes NaN or infinite;
- a checkpoint after every epoch, and resuming from it (a Colab disconnect loses at most the
  epoch in progress; on resume the random state is restored, so the numbers are the same);
- mixed precision, only on CUDA, where it pays;
- early stopping on the held-out set, if asked (``EarlyStopping``, Chapter 8), keeping the
  weights of the best epoch;
- a final line with train loss, train accuracy, held-out accuracy, speed and device.

It returns a ``History`` whose numbers the text can discuss.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import plot
from .runtime import checkpoint_dir, device_name, get_device

LIVE_PLOT_SECONDS = 2.0  # the live plot is redrawn at most this often (and once at the end)


@dataclass
class History:
    """Per-epoch numbers of a training run; ``eval_*`` are measured on the held-out set."""

    eval_name: str = "test"
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    eval_loss: list = field(default_factory=list)
    eval_acc: list = field(default_factory=list)
    seconds: float = 0.0           # training time (without evaluation), summed over epochs
    examples: int = 0              # training examples processed
    device: str = ""
    diverged: bool = False
    best_epoch: int = 0            # with early stopping: the epoch whose weights the model keeps
    stopped_early: bool = False

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else float("nan")

    def summary(self) -> str:
        """The final line: train loss, train accuracy, held-out accuracy, speed and device."""
        if not self.epoch:
            return "no epoch finished"
        parts = [f"epoch {self.epoch[-1]}", f"train loss {self.train_loss[-1]:.4f}"]
        if math.isfinite(self.train_acc[-1]):
            parts += [f"train acc {self.train_acc[-1]:.3f}",
                      f"{self.eval_name} acc {self.eval_acc[-1]:.3f}"]
        else:
            parts += [f"{self.eval_name} loss {self.eval_loss[-1]:.4f}"]
        parts += [f"{self.examples_per_second:,.0f} examples/s", self.device]
        line = " | ".join(parts)
        line = line if len(line) <= 100 else " | ".join(parts[:-1]) + "\n" + self.device
        if self.best_epoch:
            stop = "stopped early" if self.stopped_early else "finished"
            line += (f"\n{stop} after epoch {self.epoch[-1]}; the model keeps the weights of "
                     f"epoch {self.best_epoch},\nthe best on the {self.eval_name} set")
        return line


@dataclass
class EarlyStopping:
    """Stop training when the held-out number has not improved for ``patience`` epochs.

    ``monitor`` is ``"eval_loss"`` (lower is better) or ``"eval_acc"`` (higher is better). An
    epoch improves on the best so far only if it beats it by more than ``min_delta``: the seeds'
    "stop when the validation error improves by less than epsilon". With ``restore_best`` the
    model ends with the weights of the best epoch. Give ``train`` a validation loader as its
    ``eval_iter`` (``load_fashion_mnist(n_valid=...)``), never the test set.
    """

    patience: int = 5
    min_delta: float = 0.0
    monitor: str = "eval_loss"
    restore_best: bool = True

    def __post_init__(self):
        if self.monitor not in ("eval_loss", "eval_acc"):
            raise ValueError(f"monitor={self.monitor!r}: use 'eval_loss' (lower is better) or "
                             f"'eval_acc' (higher is better)")
        if isinstance(self.patience, bool) or not isinstance(self.patience, numbers.Integral) \
                or self.patience < 1:
            raise ValueError(f"patience={self.patience!r}: give a whole number of epochs, 1 or more")
        if not isinstance(self.min_delta, numbers.Real) or not self.min_delta >= 0:
            raise ValueError(f"min_delta={self.min_delta!r}: give a number, 0 or more")

    def improves(self, value: float, best: float | None) -> bool:
        """Whether ``value`` beats ``best`` (None: nothing yet) by more than ``min_delta``."""
        if not math.isfinite(value):
            return False
        if best is None:
            return True
        if self.monitor == "eval_loss":
            return value < best - self.min_delta
        return value > best + self.min_delta


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Number of correct predictions (a tensor, so that no GPU sync happens per batch)."""
    return (y_hat.argmax(dim=1) == y).sum()


def _is_classification(y_hat: torch.Tensor, y: torch.Tensor) -> bool:
    return y_hat.ndim == 2 and not y.is_floating_point()


@torch.no_grad()
def evaluate(model: nn.Module, data_iter, loss_fn=None, device=None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``data_iter`` (accuracy is NaN for regression)."""
    device = device or next(model.parameters()).device
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    model.eval()
    total_loss, correct, count, classify = 0.0, 0, 0, False
    for X, y in data_iter:
        X, y = X.to(device), y.to(device)
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            y_hat = model(X)
            total_loss += loss_fn(y_hat, y).float() * len(y)
        if _is_classification(y_hat, y):
            classify = True
            correct += accuracy(y_hat, y)
        count += len(y)
    return float(total_loss / count), float(correct / count) if classify else float("nan")


@torch.no_grad()
def predict(model: nn.Module, data_iter, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and true labels for a whole data set, on the CPU."""
    device = device or next(model.parameters()).device
    model.eval()
    preds, labels = [], []
    for X, y in data_iter:
        preds.append(model(X.to(device)).argmax(dim=1).cpu())
        labels.append(y)
    return torch.cat(preds), torch.cat(labels)


def confusion_matrix(predictions, labels, n_classes: int) -> torch.Tensor:
    """counts[i, j] = how many examples of true class i were predicted as class j."""
    index = torch.as_tensor(labels).long() * n_classes + torch.as_tensor(predictions).long()
    return torch.bincount(index, minlength=n_classes ** 2).reshape(n_classes, n_classes)


class LivePlot:
    """A figure of ``History`` that is redrawn in place as training goes on.

    In Jupyter or Colab the first draw displays the figure and later draws replace it (one
    display id), so an executed notebook ends up with exactly one, final figure. Outside
    Jupyter the figure is still drawn, so a benchmark pays the same cost.

    The figure is a small SVG (``plot.history_svg``), which costs well under a millisecond to
    draw, where matplotlib's first drawing of a figure takes about 50 ms; it is redrawn at most
    every ``min_interval`` seconds, plus once at the end.
    """

    def __init__(self, classification: bool = True, min_interval: float | None = None):
        self.classification = classification
        self.svg, self.handle, self.drawn_epochs = "", None, 0
        self.min_interval = LIVE_PLOT_SECONDS if min_interval is None else min_interval
        self.last_draw = time.perf_counter()

    def update(self, history: History, force: bool = False) -> None:
        """Redraw if the interval has passed (or ``force``) and there is something new."""
        now = time.perf_counter()
        due = force or now - self.last_draw >= self.min_interval
        if len(history.epoch) == self.drawn_epochs or not due:
            return
        self.svg = plot.history_svg(history)
        self.drawn_epochs, self.last_draw = len(history.epoch), time.perf_counter()
        if _in_notebook():
            from IPython.display import SVG, display
            image = SVG(data=self.svg)
            if self.handle is None:
                self.handle = display(image, display_id=True)
            else:
                self.handle.update(image)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, an executed notebook)."""
    ipython = sys.modules.get("IPython")      # a kernel has imported it; a script need not
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def _progress_bar(total: int):
    """A tqdm.auto progress bar, and in Jupyter the display handle it is shown under.

    A finished bar is worth nothing in an executed notebook (the rendered book would show a
    frozen widget), so in Jupyter the bar is displayed under a display id and ``train`` replaces
    it with the final summary line when training ends.
    """
    if _in_notebook():
        try:
            from IPython.display import display
            from tqdm.notebook import tqdm as notebook_tqdm
            bar = notebook_tqdm(total=total, desc="training", unit="batch", display=False)
            return bar, display(bar.container, display_id=True)
        except ImportError:  # no ipywidgets: fall back to the text bar
            pass
    return tqdm(total=total, desc="training", unit="batch", leave=False), None


def _digest(tensors, sample: int = 1 << 16) -> str:
    """A short hash of tensors' values (of at most ``sample`` evenly spaced elements each)."""
    h = hashlib.sha256()
    for t in tensors:
        flat = t.detach().reshape(-1)
        if flat.numel() > sample:
            flat = flat[torch.linspace(0, flat.numel() - 1, sample).long()]
        h.update(str((tuple(t.shape), t.dtype)).encode())
        h.update(flat.cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def _data_fingerprint(data_iter) -> dict:
    """What identifies a data set without drawing from it (drawing would use random numbers)."""
    dataset = getattr(data_iter, "dataset", None)
    found = {"batches": len(data_iter), "examples": len(dataset) if dataset is not None else None}
    tensors = getattr(dataset, "tensors", None)       # TensorDataset (utils.data.fast_loader)
    if tensors is None and hasattr(dataset, "data"):   # torchvision data sets
        tensors = [torch.as_tensor(np.asarray(dataset.data)),
                   torch.as_tensor(np.asarray(getattr(dataset, "targets", [])))]
    if tensors is not None:
        found["values"] = _digest(tensors)
    return found


def _fingerprint(model, optimizer, scheduler, loss_fn, train_iter, eval_iter,
                 early_stopping=None) -> dict:
    """What must match for a checkpoint to belong to this run.

    The architecture (modules and activations, not only parameter shapes), the initial values
    of parameters and buffers, the optimizer with every setting, the scheduler, the loss, and
    the data. Anything else is another run, even when it would load without an error.
    """
    def settings(group):
        return {k: repr(v) for k, v in group.items() if k != "params"}

    return {
        "architecture": repr(model),
        "parameters": [[name, list(p.shape)] for name, p in model.named_parameters()],
        "initial values": _digest(model.state_dict().values()),
        "optimizer": type(optimizer).__name__,
        "hyperparameters": [settings(group) for group in optimizer.param_groups],
        "scheduler": type(scheduler).__name__ if scheduler is not None else None,
        "loss": repr(loss_fn) if isinstance(loss_fn, nn.Module) else     # a function: its name
        f"{getattr(loss_fn, '__module__', '')}.{getattr(loss_fn, '__qualname__', '')}",
        "train data": _data_fingerprint(train_iter),
        "eval data": _data_fingerprint(eval_iter),
        "early stopping": repr(early_stopping),
    }


def _checkpoint_path(checkpoint) -> Path | None:
    if checkpoint is None:
        return None
    path = Path(checkpoint)
    return path if path.is_absolute() else checkpoint_dir() / path


def _save(path: Path, model, optimizer, scheduler, scaler, history: History, fingerprint,
          best=None) -> None:
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "best": best,
             "scheduler": scheduler.state_dict() if scheduler else None,
             "scaler": scaler.state_dict(), "history": asdict(history),
             "fingerprint": fingerprint, "rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a disconnect mid-save never leaves a broken checkpoint


def _resume(path: Path | None, model, optimizer, scheduler, scaler, fingerprint):
    """Load the checkpoint at ``path`` into the run: its History and the best epoch's weights.

    (None, None) when there is nothing to resume."""
    if path is None or not path.exists():
        return None, None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        print(f"Checkpoint {path} could not be read ({type(error).__name__}); starting fresh.")
        return None, None
    saved = state.get("fingerprint") or {}
    differ = [key for key in fingerprint if saved.get(key) != fingerprint[key]]
    if differ:
        print(f"Checkpoint {path} belongs to another run (its {', '.join(differ)} differ); "
              f"starting fresh (the file will be overwritten).")
        return None, None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"])
    if torch.cuda.is_available() and state["cuda_rng"]:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return History(**state["history"]), state.get("best")


def train(model: nn.Module, train_iter, eval_iter, *, epochs: int, optimizer: torch.optim.Optimizer,
          loss_fn=None, scheduler=None, scheduler_interval: str = "epoch", device=None,
          checkpoint=None, plot: bool | None = None, eval_name: str = "test",
          log_every: int = 25, early_stopping: EarlyStopping | None = None) -> History:
    """Train ``model`` for ``epochs`` epochs and evaluate it on ``eval_iter`` after each one.

    ``checkpoint``: a file name (kept in ``runtime.checkpoint_dir()``) or a path. When it exists
    and belongs to this run (the same architecture, initial parameters, optimizer and settings,
    scheduler, loss and data), training resumes after its last finished epoch; a checkpoint of
    any other run is ignored and overwritten. ``plot=None`` draws the live plot only in Jupyter.
    ``scheduler`` is stepped once per epoch, or once per batch with
    ``scheduler_interval="batch"`` (warmup, one-cycle). The loss is checked every ``log_every``
    steps; if it is NaN or infinite, training stops with a message. ``early_stopping``
    (an ``EarlyStopping``) stops when ``eval_iter``'s loss or accuracy stops improving.
    """
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"scheduler_interval={scheduler_interval!r}: use 'epoch' (step the "
                         f"scheduler after every epoch) or 'batch' (after every batch)")
    if not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs={epochs!r}: give a whole number of epochs, 0 or more")
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping={early_stopping!r}: give EarlyStopping(patience=..., "
                        f"min_delta=..., monitor=...) or None")
    device = torch.device(device) if device else get_device()
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    path = _checkpoint_path(checkpoint)
    fingerprint = _fingerprint(model, optimizer, scheduler, loss_fn, train_iter, eval_iter,
                               early_stopping) if path is not None else None
    model.to(device)
    use_amp = device.type == "cuda"          # mixed precision only where it pays
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history, best = _resume(path, model, optimizer, scheduler, scaler, fingerprint)
    if history is not None:
        print(f"Resumed from {path} after epoch {history.epoch[-1] if history.epoch else 0}. "
              f"To train from scratch instead, delete that file or use another checkpoint name.")
    history = history or History(eval_name=eval_name)
    history.device = device_name(device)
    start = len(history.epoch)
    if history.stopped_early:                    # a finished run: nothing left to train
        start = epochs = max(epochs, start)
    want_plot = plot or (plot is None and _in_notebook())
    live = None
    if want_plot and history.epoch:              # show what the checkpoint already holds
        live = LivePlot(classification=math.isfinite(history.train_acc[-1]))
        live.update(history, force=True)

    progress, handle = _progress_bar(total=max(epochs - start, 0) * len(train_iter))
    for epoch in range(start, epochs):
        model.train()
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        count, classify, tic = 0, False, time.perf_counter()
        for step, (X, y) in enumerate(train_iter):
            X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, enabled=use_amp):
                y_hat = model(X)
                loss = loss_fn(y_hat, y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None and scheduler_interval == "batch":
                scheduler.step()
            total_loss += loss.detach().float() * len(y)
            if _is_classification(y_hat, y):
                classify = True
                correct += accuracy(y_hat.detach(), y)
            count += len(y)
            progress.update()
            if step % log_every == 0 or step == len(train_iter) - 1:
                value = loss.item()              # the only per-step sync with the GPU
                progress.set_postfix(epoch=epoch + 1, loss=f"{value:.4f}", refresh=False)
                if not math.isfinite(value):
                    history.diverged = True
                    break
        train_loss = float(total_loss / count)
        if not history.diverged and not math.isfinite(train_loss):   # a bad step between checks
            history.diverged, value = True, train_loss
        if history.diverged:
            break
        history.seconds += time.perf_counter() - tic
        history.examples += count
        eval_loss, eval_acc = evaluate(model, eval_iter, loss_fn, device)
        history.epoch.append(epoch + 1)
        history.train_loss.append(train_loss)
        history.train_acc.append(float(correct / count) if classify else float("nan"))
        history.eval_loss.append(eval_loss)
        history.eval_acc.append(eval_acc)
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        if early_stopping is not None:
            record = getattr(history, early_stopping.monitor)
            so_far = record[history.best_epoch - 1] if history.best_epoch else None
            if early_stopping.improves(record[-1], so_far):
                history.best_epoch = epoch + 1
                best = {k: v.detach().clone() for k, v in model.state_dict().items()} \
                    if early_stopping.restore_best else None
            history.stopped_early = epoch + 1 - history.best_epoch >= early_stopping.patience
        if path is not None:
            _save(path, model, optimizer, scheduler, scaler, history, fingerprint, best)
        if want_plot:
            live = live or LivePlot(classification=classify)
            live.update(history)
        if history.stopped_early:
            break
    progress.close()
    if best is not None and early_stopping is not None and early_stopping.restore_best:
        model.load_state_dict(best)              # the weights of the best epoch
    if live is not None:
        live.update(history, force=True)         # the final state, whatever the interval

    if history.diverged:
        lrs = sorted({group["lr"] for group in optimizer.param_groups})
        kept = (f" The checkpoint of the last good epoch is kept at {path}."
                if path and history.epoch else "")
        if best is not None and early_stopping is not None and early_stopping.restore_best:
            kept += (f" The model holds the weights of epoch {history.best_epoch}, the best on "
                     f"the {history.eval_name} set.")
        print(f"Training stopped: the loss became {value} in epoch {epoch + 1} "
              f"(by step {step + 1}). "
              f"The parameters became non-finite. The usual cause is a learning rate that is "
              f"too large (this run used lr={', '.join(map(str, lrs))}): try one 3 to 10 times "
              f"smaller, and check the inputs for NaN. The history returned stops at the last "
              f"finished epoch.{kept}")
    summary = history.summary() if history.epoch and not history.diverged else "training stopped"
    if handle is not None:               # the bar's place in the notebook now holds the result
        from IPython.display import Pretty
        handle.update(Pretty(summary))
    elif not history.diverged:
        print(summary)
    return history
