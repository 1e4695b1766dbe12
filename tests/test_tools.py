"""The instructors' tools: grading executes a notebook and tabulates the checkers' verdicts."""

import csv
import subprocess
import sys

import nbformat

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402


def test_grade_reports_each_exercise(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(setup_cell.render()),
        nbformat.v4.new_code_cell("from utils.exercises.ch01 import check_mse_lr, check_linreg_grad, check_critical_lr"),
        nbformat.v4.new_code_cell("check_mse_lr(0.015)"),                       # right
        nbformat.v4.new_code_cell("def g(X, y, w, b):\n    raise NotImplementedError\ncheck_linreg_grad(g)"),
        nbformat.v4.new_code_cell("check_critical_lr(10.0)"),                   # wrong
        nbformat.v4.new_code_cell("1 / 0"),                                     # a broken cell
    ]
    submission = tmp_path / "student.ipynb"
    nbformat.write(nb, submission)
    table = tmp_path / "grades.csv"
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), str(submission),
                             "--csv", str(table)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "1 passed of 2 attempted" in result.stdout
    rows = list(csv.DictReader(table.open()))
    assert rows[0]["1.5"] == "pass" and rows[0]["1.1"] == "not attempted" and rows[0]["1.4"] == "fail"
    assert "ZeroDivisionError" in rows[0]["errors"]
