"""Every chapter executes top to bottom in quick mode, and its outputs keep their promises."""

import re

import pytest

from conftest import NOTEBOOKS

ids = [p.stem for p in NOTEBOOKS]
SPEED = re.compile(r"[\d,.]+ examples/s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_runs_in_quick_mode(executed, path):
    run = executed(path)
    assert run.error is None, f"{path.name} failed:\n{run.error}"
    first = run.text(run.nb.cells[0])
    assert "quick mode" in first, "the set-up cell must say which mode ran"
    print(f"{path.name}: {run.seconds:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_solutions_pass_and_student_cells_wait(executed, path):
    run = executed(path)
    assert run.error is None
    cells = run.nb.cells
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 4
    for i in solutions:
        out = run.text(cells[i])
        assert "✅" in out and "❌" not in out, f"solution cell {i} does not pass:\n{out}"
        student = cells[i - 1]
        assert "⏳" in run.text(student), f"cell {i - 1} should be the untouched student cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_training_cells_leave_one_figure_and_a_summary(executed, path):
    run = executed(path)
    for cell in run.nb.cells:
        if cell.cell_type != "code" or "train(" not in cell.source or "def " in cell.source:
            continue
        if "plot=False" in cell.source:
            continue
        images = [o for o in run.outputs(cell)
                  if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
        assert len(images) == 1, f"a training cell left {len(images)} figures:\n{cell.source[:200]}"
        widgets = [o for o in run.outputs(cell) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert not widgets, "the progress bar must be replaced by the summary line"
        assert "examples/s" in run.text(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_interactive_figures_have_a_static_form(executed, path):
    run = executed(path)
    explorers = [o for c in run.nb.cells for o in run.outputs(c)
                 if "dlbook-explorer" in o.get("data", {}).get("text/html", "")]
    assert explorers, "every chapter has at least one interactive figure"
    for out in explorers:
        assert "application/vnd.jupyter.widget-view+json" in out["data"]
        assert len(out["data"]["text/html"]) < 2_000_000, "keep the static form light"


def test_chapter_2_states_a_test_accuracy_on_the_data_it_used(executed):
    run = executed(next(p for p in NOTEBOOKS if p.stem.startswith("02")))
    text = "\n".join(run.text(c) for c in run.nb.cells)
    assert "softmax regression classifies **" in text
    assert "Fashion-MNIST" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_chapters_run_on_the_real_data(executed, path):
    """The tests make the offline fallback an error (conftest.py): no stand-in was used."""
    run = executed(path)
    text = "\n".join(run.text(c) for c in run.nb.cells)
    assert "OFFLINE FALLBACK" not in text and "offline stand-in" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_same_seed_same_numbers_in_a_fresh_kernel(executed, path, tmp_path, monkeypatch):
    """Run a chapter again in a new kernel, without its checkpoints: its outputs must repeat.

    Every text output is compared, except in cells tagged `timing` (wall-clock measurements)
    and the examples-per-second figure of the training summary.
    """
    from conftest import Executed

    first = executed(path)
    monkeypatch.setenv("DLBOOK_CHECKPOINTS", str(tmp_path))        # no resuming
    second = Executed(path, cache=False)
    assert second.error is None

    def outputs(run):
        return [(i, SPEED.sub("", run.text(c))) for i, c in enumerate(run.nb.cells)
                if c.cell_type == "code" and "timing" not in c.metadata.get("tags", [])]

    assert sum(bool(text) for _, text in outputs(first)) >= 4
    for (i, a), (_, b) in zip(outputs(first), outputs(second)):
        assert a == b, f"cell {i} printed different numbers in a fresh kernel:\n{a[:500]}\n---\n{b[:500]}"
