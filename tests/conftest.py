"""Shared test set-up: quick mode, private folders, and the repository on sys.path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Every test, and every notebook a test executes, runs in quick mode with its own checkpoint
# folder, so that no checkpoint of an earlier run is resumed. Data sets use the usual cache
# (DLBOOK_DATA if set): without internet the loaders fall back to packaged digits by design.
os.environ["DLBOOK_QUICK"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def private_checkpoints(tmp_path_factory):
    os.environ["DLBOOK_CHECKPOINTS"] = str(tmp_path_factory.mktemp("checkpoints"))
    yield


@pytest.fixture(autouse=True)
def fresh_results():
    """Exercise verdicts are global; start every test with none."""
    from utils.exercises import RESULTS
    RESULTS.clear()
    yield
