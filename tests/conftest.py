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
# (DLBOOK_DATA if set), and must be the real ones: the offline fallback is an error here (the
# tests of the fallback force it). Without internet, the real Fashion-MNIST comes from Debian's
# package dataset-fashion-mnist, which .ci/run installs.
os.environ["DLBOOK_QUICK"] = "1"
os.environ["DLBOOK_STRICT_DATA"] = "1"
# One thread per process: the chapters' small matrix products gain nothing from more, and on a
# busy machine competing threads made a chapter ten times slower. Kernels inherit this.
os.environ.setdefault("OMP_NUM_THREADS", "1")


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


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


class Executed:
    """One notebook executed top to bottom with a fresh kernel, or the error that stopped it."""

    def __init__(self, path, cache: bool = True):
        import time

        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        self.path, self.error = path, None
        self.nb = nbformat.read(path, as_version=4)
        client = NotebookClient(self.nb, timeout=600, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(path.parent)}})
        tic = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:
            self.error = str(error)
        self.seconds = time.perf_counter() - tic
        if self.error is None and cache:
            self._share_with_the_book_build()

    def _share_with_the_book_build(self):
        """Store the result in the book's execution cache, so the book build need not re-run it.

        jupyter-book matches a notebook to the cache by the hash of its code, so a notebook
        changed after this run is executed again by the build, as it should be.
        """
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        cache = get_cache(ROOT / "_build" / ".jupyter_cache")
        cache.cache_notebook_bundle(CacheBundleIn(self.nb, str(self.path),
                                                  data={"execution_seconds": self.seconds}),
                                    check_validity=False, overwrite=True)

    def outputs(self, cell):
        return cell.get("outputs", [])

    def text(self, cell) -> str:
        parts = []
        for out in self.outputs(cell):
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.append(out.data.get("text/markdown") or out.data.get("text/plain", ""))
        return "".join(parts)


@pytest.fixture(scope="session")
def executed():
    """Every chapter notebook, executed once per test session (in quick mode)."""
    cache = {}

    def get(path):
        if path not in cache:
            cache[path] = Executed(path)
        return cache[path]

    return get
