"""Chapter 9's search benchmark: a small MLP on Fashion-MNIST tensors, resumable epoch by epoch.

A hyperparameter search trains many configurations, and the smart ones (successive halving,
Hyperband, Optuna's pruners) stop most of them early and continue the promising ones. This
module holds what every search method of the chapter shares, so that they all train exactly the
same networks and so that *other processes* (the chapter's two Optuna workers) can import it:

- ``SPACE``: the hyperparameters searched, their ranges, and whether they are searched on a log
  scale; ``from_unit`` maps a point of the unit cube to a configuration (grid and random search
  draw points there);
- ``Run``: one configuration trained on given tensors with a given seed; ``train_to(epochs)``
  *continues* training to that many epochs and returns the validation accuracy, and
  ``epochs_done`` counts the compute spent;
- ``Objective``: the same run as an Optuna objective that reports the validation accuracy after
  every epoch, lets the pruner stop it, and records the epochs it spent;
- ``sqlite_url``, ``open_storage`` and ``study_name``: a study in SQLite in the book's checkpoint
  folder (Google Drive on Colab), under a name that fingerprints the settings, so that a study of
  a different run is never resumed;
- a command-line worker, ``python -m utils.tuning --storage URL --study NAME ...``, which loads
  the study and optimizes it alongside any other worker on the same database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from .runtime import checkpoint_dir, seeded_generator

# name: (low, high, scale). "log" searches the exponent; "int-log" rounds to a whole number.
SPACE = {
    "lr": (1e-3, 1.0, "log"),                 # SGD with momentum 0.9
    "width": (16, 256, "int-log"),            # hidden units of the one hidden layer
    "weight_decay": (1e-6, 1e-2, "log"),      # L2 penalty of SGD (Chapter 8)
}
MOMENTUM, BATCH = 0.9, 100
ORDER_SEED = 10_000      # the batch order draws from seed + ORDER_SEED, the weights from seed


def check_config(config) -> dict:
    """Return ``config`` as a dict of floats and ints, or say clearly what is wrong with it."""
    if not isinstance(config, dict):
        raise TypeError(f"a configuration is a dict such as {{'lr': 0.1, 'width': 64, "
                        f"'weight_decay': 1e-4}}, got {type(config).__name__}")
    if set(config) != set(SPACE):
        raise ValueError(f"a configuration names exactly {sorted(SPACE)}; "
                         f"got {sorted(config)}")
    out = {}
    for name, (low, high, scale) in SPACE.items():
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not low <= value <= high:
            raise ValueError(f"{name}={value!r} is outside the search space [{low:g}, {high:g}]")
        out[name] = int(value) if scale == "int-log" else float(value)
    return out


def from_unit(point) -> dict:
    """Map a point of the unit cube, one coordinate per hyperparameter of ``SPACE``, to a config.

    Grid search and random search both work in the unit cube: a grid puts its points at the
    centres of equal cells, random search draws them uniformly. On a log scale the coordinate
    moves the exponent, so 0.5 is the geometric middle of the range.
    """
    point = [float(u) for u in point]
    if len(point) != len(SPACE) or not all(0.0 <= u <= 1.0 for u in point):
        raise ValueError(f"a point of the unit cube has {len(SPACE)} coordinates in [0, 1] "
                         f"({', '.join(SPACE)}), got {point}")
    config = {}
    for u, (name, (low, high, scale)) in zip(point, SPACE.items()):
        value = min(max(math.exp(math.log(low) + u * (math.log(high) - math.log(low))), low), high)
        config[name] = int(round(value)) if scale == "int-log" else value
    return config


def to_unit(config) -> list:
    """The inverse of ``from_unit``: where a configuration lies in the unit cube (for plots)."""
    config = check_config(config)
    return [(math.log(config[n]) - math.log(lo)) / (math.log(hi) - math.log(lo))
            for n, (lo, hi, _) in SPACE.items()]


def make_mlp(width: int) -> nn.Sequential:
    """784 -> width -> 10 with ReLU: the benchmark's network."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 10))


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of (X, y) that ``model`` classifies right, in batches of 2,000."""
    return correct(model, X, y).float().mean().item()


@torch.no_grad()
def correct(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A boolean per example: is it classified right? (Keep these to re-score any subset.)"""
    model.eval()
    return torch.cat([model(X[i:i + 2000]).argmax(1) == y[i:i + 2000]
                      for i in range(0, len(X), 2000)]).cpu()


class Run:
    """One configuration trained on ``data = (X_train, y_train, X_valid, y_valid)``.

    The weights are initialized from ``seed`` and the batch order drawn from ``seed +
    ORDER_SEED`` (both shifted by ``DLBOOK_SEED``), with private generators, so a run does not
    depend on what else the process did. The test set is not given to a run: the caller scores
    the final model with ``run.accuracy(X_test, y_test)`` once the search has chosen it.
    """

    def __init__(self, config: dict, data, seed: int = 0):
        self.config = check_config(config)
        if not isinstance(data, (tuple, list)) or len(data) != 4 or \
                not all(isinstance(t, torch.Tensor) for t in data):
            raise TypeError("data is the tuple of tensors (X_train, y_train, X_valid, y_valid)")
        if len(data[0]) != len(data[1]) or len(data[2]) != len(data[3]) or len(data[0]) == 0:
            raise ValueError(f"images and labels differ in number: {len(data[0])} and "
                             f"{len(data[1])} for training, {len(data[2])} and {len(data[3])} "
                             f"for validation")
        self.X, self.y, self.X_valid, self.y_valid = data
        with torch.random.fork_rng(devices=[]):   # leave the global generator as it was
            torch.manual_seed(seeded_generator(seed).initial_seed())
            self.model = make_mlp(self.config["width"]).to(self.X.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.config["lr"],
                                         momentum=MOMENTUM,
                                         weight_decay=self.config["weight_decay"])
        self.order = seeded_generator(seed + ORDER_SEED)
        self.epochs_done, self.curve = 0, []    # curve: validation accuracy after each epoch

    def train_to(self, epochs: int) -> float:
        """Continue training until ``epochs`` epochs are done; return the validation accuracy."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs={epochs!r}: give a whole number of epochs, at least 1")
        if epochs < self.epochs_done:
            raise ValueError(f"this run has done {self.epochs_done} epochs already; "
                             f"it cannot go back to {epochs}")
        while self.epochs_done < epochs:
            self.model.train()
            order = torch.randperm(len(self.X), generator=self.order).to(self.X.device)
            for i in range(0, len(order), BATCH):
                batch = order[i:i + BATCH]
                loss = F.cross_entropy(self.model(self.X[batch]), self.y[batch])
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
            self.epochs_done += 1
            self.curve.append(accuracy(self.model, self.X_valid, self.y_valid))
        return self.curve[epochs - 1] if self.curve else float("nan")

    def accuracy(self, X: torch.Tensor, y: torch.Tensor) -> float:
        """Accuracy of the model as trained so far on (X, y), e.g. the test set at the end."""
        return accuracy(self.model, X, y)


def suggest(trial) -> dict:
    """Ask an Optuna trial for a configuration of ``SPACE`` (same ranges, same log scales)."""
    config = {}
    for name, (low, high, scale) in SPACE.items():
        if scale == "int-log":
            config[name] = trial.suggest_int(name, low, high, log=True)
        else:
            config[name] = trial.suggest_float(name, low, high, log=True)
    return config


class Objective:
    """An Optuna objective: train a suggested config, reporting validation accuracy per epoch.

    After every epoch the trial reports the accuracy and asks ``trial.should_prune()``; a pruned
    trial raises ``optuna.TrialPruned``. Every trial records the epochs it spent (``epochs``)
    and who ran it (``worker``, the process id unless given) as user attributes, so the cost of
    a search is the sum of ``epochs`` over its trials. ``keep=True`` keeps each ``Run`` in
    ``self.runs`` (by trial number) so that the chosen model can be tested afterwards.
    """

    def __init__(self, data, max_epochs: int, seed: int = 0, keep: bool = False,
                 worker: str | None = None):
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"max_epochs={max_epochs!r}: give a whole number, at least 1")
        self.data, self.max_epochs, self.seed, self.keep = data, max_epochs, seed, keep
        self.worker = worker or str(os.getpid())
        self.runs = {}

    def __call__(self, trial) -> float:
        import optuna

        run = Run(suggest(trial), self.data, seed=self.seed)
        trial.set_user_attr("worker", self.worker)
        if self.keep:
            self.runs[trial.number] = run
        for epoch in range(1, self.max_epochs + 1):
            value = run.train_to(epoch)
            trial.set_user_attr("epochs", epoch)
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value


def epochs_spent(study) -> int:
    """The compute a study has used: epochs summed over its trials (the ``epochs`` attribute)."""
    return sum(t.user_attrs.get("epochs", 0) for t in study.trials)


def stop_after_epochs(budget: int):
    """An Optuna callback that stops the study once ``budget`` epochs have been spent."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget={budget!r}: give a whole number of epochs, at least 1")

    def callback(study, trial):
        if epochs_spent(study) >= budget:
            study.stop()
    return callback


def sqlite_url(filename: str = "ch09_tuning.sqlite3", folder=None) -> str:
    """A SQLite URL for a study file in ``folder`` (default: the book's checkpoint folder)."""
    if not isinstance(filename, str) or not filename or "/" in filename:
        raise ValueError(f"filename={filename!r}: give a plain file name such as 'study.sqlite3'")
    folder = checkpoint_dir() if folder is None else os.fspath(folder)
    return f"sqlite:///{os.path.join(folder, filename)}"


def open_storage(url: str):
    """Optuna storage for ``url``; SQLite waits up to 60 s for a lock instead of failing.

    Two processes writing one SQLite file take turns; with the default timeout of 5 s a busy
    writer can make the other fail with "database is locked". A server database (a
    ``postgresql://`` or ``mysql://`` URL) needs no such care and serves many machines.
    """
    import optuna

    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"storage={url!r}: give a database URL such as 'sqlite:///study.sqlite3'")
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def study_name(prefix: str, **settings) -> str:
    """``prefix`` plus a fingerprint of the search space and ``settings`` (sizes, seed, mode).

    A study is resumed only under the same name, so a run with other settings starts afresh
    instead of mixing its trials with trials of a different experiment.
    """
    if not isinstance(prefix, str) or not prefix.isidentifier():
        raise ValueError(f"prefix={prefix!r}: use a short word such as 'ch09'")
    text = json.dumps({"space": SPACE, "momentum": MOMENTUM, "batch": BATCH, **settings},
                      sort_keys=True, default=str)
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def main(argv=None) -> None:
    """The worker: load (or create) the study and run ``--n-trials`` trials of it."""
    import optuna

    parser = argparse.ArgumentParser(prog="python -m utils.tuning", description=main.__doc__)
    parser.add_argument("--storage", required=True, help="database URL, e.g. sqlite:///s.db")
    parser.add_argument("--study", required=True, help="study name (see study_name)")
    parser.add_argument("--n-trials", type=int, required=True, help="trials this worker runs")
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-valid", type=int, default=2000)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed")
    parser.add_argument("--worker", default=str(os.getpid()), help="id recorded on each trial")
    parser.add_argument("--sampler-seed", type=int, default=None)
    args = parser.parse_args(argv)
    if args.n_trials < 1:
        parser.error("--n-trials must be at least 1")

    from .data import load_fashion_mnist

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    images = load_fashion_mnist(n_train=args.n_train, n_valid=args.n_valid, n_test=1)
    data = (*images.train.dataset.tensors, *images.valid.dataset.tensors)
    study = optuna.create_study(
        study_name=args.study, storage=open_storage(args.storage), direction="maximize",
        load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=args.sampler_seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    study.optimize(Objective(data, args.max_epochs, args.seed, worker=args.worker),
                   n_trials=args.n_trials)
    print(f"worker {args.worker}: ran {args.n_trials} trials; the study holds "
          f"{len(study.trials)}")


if __name__ == "__main__":
    main()
