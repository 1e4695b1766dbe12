"""Where the code runs: device, seeding, quick mode, and the folders the book writes to.

Quick mode exists so that every chapter executes in about a minute on a laptop CPU (and in
the test suite) while still training something real; on a GPU the same cells use their full
sizes. One environment variable decides it:

    DLBOOK_QUICK=1   always quick        DLBOOK_QUICK=0   always full
    (unset)          quick exactly when no GPU is present

One more variable shifts every seed the book uses, so that an author can check that a claim
holds for other seeds too (CONTRIBUTING.md says how):

    DLBOOK_SEED=1    seed_everything(s) seeds s + 1, and data subsets are drawn with seed s + 1
    (unset or 0)     the seeds written in the chapters

Folders (each overridable by an environment variable):

    DLBOOK_DATA         data sets downloaded by torchvision   (default ~/.cache/dlbook/data)
    DLBOOK_CHECKPOINTS  training checkpoints                  (default ~/.cache/dlbook/checkpoints,
                        or Google Drive when it is mounted on Colab, so a disconnect loses nothing)
"""

from __future__ import annotations

import os
import random
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

QUICK_ENV = "DLBOOK_QUICK"
SEED_ENV = "DLBOOK_SEED"
DATA_ENV = "DLBOOK_DATA"
CHECKPOINTS_ENV = "DLBOOK_CHECKPOINTS"
CACHE_HOME = Path.home() / ".cache" / "dlbook"
COLAB_DRIVE = Path("/content/drive/MyDrive")


def get_device() -> torch.device:
    """The best device present: a CUDA GPU, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device | None = None) -> str:
    """A human-readable name such as 'cuda (Tesla T4)' or 'cpu (2 threads)'."""
    device = device or get_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def seed_offset() -> int:
    """The shift that ``DLBOOK_SEED`` adds to every seed the book uses (0 when unset)."""
    value = os.environ.get(SEED_ENV, "").strip()
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{SEED_ENV}={value!r} is not understood: use a whole number such as "
                         f"0, 1 or 2, or leave it unset.") from None


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) at once, with ``seed + seed_offset()``.

    The same seed gives the same numbers on the CPU. On a GPU some kernels stay
    nondeterministic unless you also call ``torch.use_deterministic_algorithms(True)``;
    a later chapter measures how much that matters.
    """
    seed = seed + seed_offset()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def seeded_generator(seed: int = 0) -> torch.Generator:
    """A private random generator seeded with ``seed + seed_offset()`` (data subsets, orders)."""
    return torch.Generator().manual_seed(seed + seed_offset())


def quick_mode() -> bool:
    """True when heavy cells should use their quick sizes (see the module docstring)."""
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    if value:
        raise ValueError(f"{QUICK_ENV}={value!r} is not understood: use 1 for quick mode, "
                         f"0 for full sizes, or leave it unset to decide by the hardware.")
    return get_device().type == "cpu"


def _mode_reason() -> str:
    if os.environ.get(QUICK_ENV, "").strip():
        return f"set by {QUICK_ENV}"
    return "no GPU found" if get_device().type == "cpu" else f"{get_device().type} GPU found"


def pick_sizes(*, full: dict, quick: dict, announce: bool = True) -> SimpleNamespace:
    """Return the full or the quick sizes of a heavy cell, and say which ran.

    ``full`` and ``quick`` must name the same settings, e.g. ``epochs`` and ``n_train``.
    The result allows attribute access: ``cfg = pick_sizes(...); cfg.epochs``.
    """
    if set(full) != set(quick):
        raise ValueError(f"full and quick sizes must name the same settings; "
                         f"only in one of them: {sorted(set(full) ^ set(quick))}")
    is_quick = quick_mode()
    chosen = quick if is_quick else full
    if announce:
        shown = ", ".join(f"{k}={v}" for k, v in chosen.items())
        if is_quick:
            other = ", ".join(f"{k}={v}" for k, v in full.items())
            text = (f"Quick mode ({_mode_reason()}): {shown}. The full run uses {other}; "
                    f"set {QUICK_ENV}=0 to force it.")
        else:
            text = f"Full mode ({_mode_reason()}): {shown}."
        print(textwrap.fill(text, 100, break_on_hyphens=False))   # fits the book's page
    return SimpleNamespace(quick=is_quick, **chosen)


def data_dir() -> Path:
    """The one folder every data set is cached in."""
    path = Path(os.environ.get(DATA_ENV) or CACHE_HOME / "data").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_dir() -> Path:
    """Where training checkpoints go: on Colab, Google Drive when it is mounted."""
    if os.environ.get(CHECKPOINTS_ENV):
        path = Path(os.environ[CHECKPOINTS_ENV]).expanduser()
    elif COLAB_DRIVE.is_dir():
        path = COLAB_DRIVE / "dlbook" / "checkpoints"
    else:
        path = CACHE_HOME / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


def describe() -> str:
    """One line about this machine, printed by every chapter's set-up cell."""
    mode = "quick" if quick_mode() else "full"
    seeds = f"; seeds shifted by {seed_offset()} ({SEED_ENV})" if seed_offset() else ""
    return (f"PyTorch {torch.__version__} on {device_name()}; {mode} mode ({_mode_reason()}); "
            f"data cache {data_dir()}{seeds}")
