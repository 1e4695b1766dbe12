"""The rendered book builds with warnings as errors, from the notebooks the tests executed."""

import subprocess
import sys
from pathlib import Path

from conftest import NOTEBOOKS, ROOT


def test_book_builds_without_warnings(executed):
    for path in NOTEBOOKS:                     # execute (and cache) first, for clear failures
        assert executed(path).error is None, f"{path.name} does not execute"
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--warningiserror", "--keep-going"],
                            capture_output=True, text=True, timeout=1800)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "Executing notebook" not in log, "the build re-executed a notebook the tests had cached"
    html = ROOT / "_build" / "html"
    for path in NOTEBOOKS:
        page = (html / "notebooks" / f"{path.stem}.html").read_text()
        assert "dlbook-explorer" in page, "the static form of the interactive figure is missing"
        assert "colab.research.google.com" in page, "the Colab launch button is missing"
        assert "<table" in page, "tables printed by cells (display(Markdown(...))) must render"
    assert "Robbins" in (html / "book" / "references.html").read_text()
