"""utils.tuning: the search benchmark repeats itself, continues instead of restarting, and its
Optuna study can be shared by two worker processes."""

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch

from utils import tuning

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"lr": 0.1, "width": 32, "weight_decay": 1e-4}


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(300, 1, 28, 28, generator=g)
    y = (X.flatten(1)[:, :10].argmax(1))          # a learnable rule
    return X[:200], y[:200], X[200:], y[200:]


def weights(run):
    return torch.cat([p.detach().flatten() for p in run.model.parameters()])


def test_same_seed_same_numbers_other_seed_other_numbers(data):
    a, b, c = (tuning.Run(CONFIG, data, seed=s) for s in (0, 0, 1))
    assert a.train_to(2) == b.train_to(2)
    assert torch.equal(weights(a), weights(b))
    c.train_to(2)
    assert not torch.equal(weights(a), weights(c))


def test_train_to_continues_rather_than_restarts(data):
    straight, stepwise = tuning.Run(CONFIG, data), tuning.Run(CONFIG, data)
    straight.train_to(2)
    stepwise.train_to(1)
    stepwise.train_to(2)
    stepwise.train_to(2)                          # already there: no more training
    assert stepwise.epochs_done == straight.epochs_done == 2
    assert torch.equal(weights(straight), weights(stepwise))
    assert stepwise.curve == straight.curve


def test_a_run_leaves_the_global_generator_alone(data):
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    tuning.Run(CONFIG, data).train_to(1)
    assert torch.equal(torch.rand(3), expected)


def test_unit_cube_round_trip():
    config = tuning.from_unit([0.5, 0.0, 1.0])
    assert config["width"] == 16 and abs(config["weight_decay"] - 1e-2) < 1e-12
    assert abs(config["lr"] - 10 ** -1.5) < 1e-12
    assert tuning.to_unit(config)[0] == pytest.approx(0.5)


def test_fingerprint_changes_with_settings():
    a = tuning.study_name("ch09", n_train=100, seed=0, quick=True)
    assert a == tuning.study_name("ch09", quick=True, seed=0, n_train=100)
    assert a != tuning.study_name("ch09", n_train=200, seed=0, quick=True)
    assert a != tuning.study_name("ch09", n_train=100, seed=1, quick=True)
    assert a != tuning.study_name("ch09", n_train=100, seed=0, quick=False)


@pytest.mark.parametrize("call, words", [
    (lambda d: tuning.Run({"lr": 0.1}, d), "names exactly"),
    (lambda d: tuning.Run({**CONFIG, "lr": 5.0}, d), "outside the search space"),
    (lambda d: tuning.Run([0.1, 32, 1e-4], d), "is a dict"),
    (lambda d: tuning.Run(CONFIG, d[:2]), "X_train, y_train, X_valid, y_valid"),
    (lambda d: tuning.Run(CONFIG, d).train_to(0), "at least 1"),
    (lambda d: tuning.from_unit([0.5, 2.0, 0.1]), "unit cube"),
    (lambda d: tuning.sqlite_url("a/b.db"), "plain file name"),
    (lambda d: tuning.open_storage("study.db"), "database URL"),
    (lambda d: tuning.study_name("ch 09"), "short word"),
    (lambda d: tuning.stop_after_epochs(0), "at least 1"),
    (lambda d: tuning.Objective(d, max_epochs=0), "at least 1"),
])
def test_bad_input_gets_a_clear_message(data, call, words):
    with pytest.raises((ValueError, TypeError), match=words):
        call(data)


def test_train_to_cannot_go_back(data):
    run = tuning.Run(CONFIG, data)
    run.train_to(2)
    with pytest.raises(ValueError, match="cannot go back"):
        run.train_to(1)


def test_objective_records_epochs_and_the_budget_stops_the_study(data):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    objective = tuning.Objective(data, max_epochs=2, keep=True, worker="w")
    study.optimize(objective, n_trials=20, callbacks=[tuning.stop_after_epochs(5)])
    assert len(study.trials) == 3 and tuning.epochs_spent(study) == 6
    assert all(t.user_attrs == {"worker": "w", "epochs": 2} for t in study.trials)
    best = objective.runs[study.best_trial.number]
    assert best.curve[-1] == study.best_value


def test_two_workers_share_one_sqlite_study(tmp_path):
    url = tuning.sqlite_url("shared.sqlite3", folder=tmp_path)
    name = tuning.study_name("test", n_train=200)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # Create the study first: two processes creating the same new database at once can collide.
    optuna.create_study(study_name=name, storage=tuning.open_storage(url), direction="maximize")
    workers = [subprocess.Popen(
        [sys.executable, "-m", "utils.tuning", "--storage", url, "--study", name,
         "--n-trials", "2", "--n-train", "200", "--n-valid", "100", "--max-epochs", "2",
         "--worker", f"w{i}", "--sampler-seed", str(i)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    study = optuna.load_study(study_name=name, storage=tuning.open_storage(url))
    states = {t.state for t in study.trials}
    assert len(study.trials) == 4
    assert states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert {t.user_attrs["worker"] for t in study.trials} == {"w0", "w1"}
