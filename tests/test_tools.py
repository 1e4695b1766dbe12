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


COLAB_RUN = '''
import subprocess, sys, types
# A stand-in for Colab: its kernel has imported google.colab before the first cell runs.
sys.modules["google"] = types.ModuleType("google")
sys.modules["google.colab"] = types.ModuleType("google.colab")
sys.modules["ipywidgets"] = None            # pretend Colab lacks this one
installed, real_run = [], subprocess.run
def run(command, **kwargs):                 # record pip installs instead of reaching PyPI
    if command[1:3] == ["-m", "pip"]:
        installed.append(command[command.index("install") + 1:])
        return subprocess.CompletedProcess(command, 0)
    return real_run(command, **kwargs)
subprocess.run = run
exec(compile(open(sys.argv[1]).read(), "setup-cell", "exec"))
print("installed:", installed)
exec(compile(open(sys.argv[2]).read(), "chapter-imports", "exec"))
import utils
print("utils from:", utils.__file__)
'''


def test_setup_cell_on_colab_clones_installs_only_what_is_missing_and_imports_work(tmp_path):
    """The Colab path of the first cell, with the repository pointed at a local clone."""
    import re

    import nbformat

    from conftest import NOTEBOOKS
    url = setup_cell.render().split('REPOSITORY, BRANCH = "')[1].split('"')[0]
    cell = setup_cell.render().replace(url, ROOT.as_uri()).replace('"/content/', f'"{tmp_path}/')
    (tmp_path / "cell.py").write_text(cell)
    imports = sorted({line.strip() for path in NOTEBOOKS
                      for c in nbformat.read(path, as_version=4).cells[1:] if c.cell_type == "code"
                      for line in c.source.splitlines()
                      if re.match(r"\s*(from utils[\w.]* import [\w, ]+|import (torch|numpy))\s*$", line)})
    assert len(imports) >= 5
    (tmp_path / "imports.py").write_text("\n".join(imports))
    (tmp_path / "run.py").write_text(COLAB_RUN)
    work = tmp_path / "elsewhere"                  # Colab's working folder is not the book
    work.mkdir()
    result = subprocess.run([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "cell.py"),
                             str(tmp_path / "imports.py")], cwd=work, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    name = url.rstrip("/").rsplit("/", 1)[-1]
    assert (tmp_path / name / "utils" / "train.py").is_file(), "the cell did not clone the book"
    assert "installed: [['--quiet', 'ipywidgets']]" in result.stdout   # never torch, never tqdm
    assert f"utils from: {tmp_path / name}" in result.stdout
    assert "PyTorch" in result.stdout                                 # the cell's summary line
