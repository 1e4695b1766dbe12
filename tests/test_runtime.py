"""Device choice, seeding, quick mode and folders."""

import random

import numpy as np
import pytest
import torch

from utils import runtime


def test_device_order_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert runtime.get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.get_device().type == "cpu"
    assert runtime.device_name(torch.device("cpu")).startswith("cpu (")


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3).tolist()

    runtime.seed_everything(7)
    first = draw()
    runtime.seed_everything(7)
    assert draw() == first
    runtime.seed_everything(8)
    assert draw() != first


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("off", False)])
def test_quick_mode_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv(runtime.QUICK_ENV, value)
    assert runtime.quick_mode() is expected


def test_quick_mode_is_automatic_without_gpu(monkeypatch):
    monkeypatch.delenv(runtime.QUICK_ENV, raising=False)
    monkeypatch.setattr(runtime, "get_device", lambda: torch.device("cpu"))
    assert runtime.quick_mode() is True
    monkeypatch.setattr(runtime, "get_device", lambda: torch.device("cuda"))
    assert runtime.quick_mode() is False


def test_quick_mode_rejects_unclear_values(monkeypatch):
    monkeypatch.setenv(runtime.QUICK_ENV, "maybe")
    with pytest.raises(ValueError, match="DLBOOK_QUICK"):
        runtime.quick_mode()


def test_pick_sizes_says_which_sizes_ran(monkeypatch, capsys):
    monkeypatch.setenv(runtime.QUICK_ENV, "1")
    cfg = runtime.pick_sizes(full=dict(epochs=10, n=100), quick=dict(epochs=2, n=10))
    assert (cfg.epochs, cfg.n, cfg.quick) == (2, 10, True)
    out = capsys.readouterr().out
    assert "Quick mode" in out and "epochs=2" in out and "epochs=10" in out and "DLBOOK_QUICK=0" in out
    monkeypatch.setenv(runtime.QUICK_ENV, "0")
    cfg = runtime.pick_sizes(full=dict(epochs=10), quick=dict(epochs=2))
    assert cfg.epochs == 10 and "Full mode" in capsys.readouterr().out


def test_pick_sizes_requires_the_same_settings():
    with pytest.raises(ValueError, match="same settings"):
        runtime.pick_sizes(full=dict(epochs=10), quick=dict(steps=2))


def test_folders_follow_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(runtime.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(runtime.CHECKPOINTS_ENV, str(tmp_path / "ck"))
    assert runtime.data_dir() == tmp_path / "data" and (tmp_path / "data").is_dir()
    assert runtime.checkpoint_dir() == tmp_path / "ck" and (tmp_path / "ck").is_dir()


def test_checkpoints_go_to_google_drive_when_mounted(monkeypatch, tmp_path):
    monkeypatch.delenv(runtime.CHECKPOINTS_ENV, raising=False)
    drive = tmp_path / "MyDrive"
    drive.mkdir()
    monkeypatch.setattr(runtime, "COLAB_DRIVE", drive)
    assert runtime.checkpoint_dir() == drive / "dlbook" / "checkpoints"


def test_describe_names_device_and_mode(monkeypatch):
    monkeypatch.setenv(runtime.QUICK_ENV, "1")
    line = runtime.describe()
    assert "PyTorch" in line and "quick mode" in line and "cpu" in line


def test_dlbook_seed_shifts_every_seed(monkeypatch):
    monkeypatch.setenv(runtime.SEED_ENV, "2")
    runtime.seed_everything(1)
    shifted = torch.rand(3)
    assert torch.equal(torch.rand(3, generator=runtime.seeded_generator(1)),
                       torch.rand(3, generator=torch.Generator().manual_seed(3)))
    monkeypatch.delenv(runtime.SEED_ENV)
    runtime.seed_everything(3)
    assert torch.equal(torch.rand(3), shifted)
    assert "seeds shifted" not in runtime.describe()
    monkeypatch.setenv(runtime.SEED_ENV, "2")
    assert "seeds shifted by 2 (DLBOOK_SEED)" in runtime.describe()
    monkeypatch.setenv(runtime.SEED_ENV, "two")
    with pytest.raises(ValueError, match="whole number"):
        runtime.seed_everything(0)
