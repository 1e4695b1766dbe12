"""Notebook hygiene and the book's conventions, checked on the committed files."""

import re
import subprocess
import sys

import nbformat
import pytest
import yaml

from conftest import NOTEBOOKS, ROOT

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "_ext"))
import citation_links  # noqa: E402
import setup_cell  # noqa: E402
import student_edition  # noqa: E402

ids = [p.stem for p in NOTEBOOKS]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_chapters_and_all_are_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    assert len(NOTEBOOKS) >= 2
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_outputs_committed(path):
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"cell {i} has outputs: clear them before committing (jupyter nbconvert --clear-output)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_setup_cell_present_and_current(path):
    nb = read(path)
    assert setup_cell.is_current(path), "run: python tools/setup_cell.py --write"
    assert nb.cells[0].metadata.get("tags") == setup_cell.TAGS
    assert nb.metadata.kernelspec.name == "python3"


def test_setup_cell_fetches_the_repository_named_in_config():
    source = setup_cell.render()
    assert CONFIG["repository"]["url"] in source
    assert "torch" not in re.findall(r'\("([\w-]+)", "[\w]+"\)', source)   # never installs torch


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_chapter_anatomy(path):
    cells = read(path).cells
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert cells[1].cell_type == "markdown" and cells[1].source.startswith("# ")
    order = [markdown.find(h) for h in ("## Summary", "## Exercises", "## References")]
    assert all(i > 0 for i in order) and order == sorted(order), "Summary, Exercises, References"
    assert "from scratch" in markdown.lower() and "concise" in markdown.lower()
    assert citation_links.MARKER in markdown, "the list of works cited: tools/citations.py --write"
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) >= 4, "at least four exercises, each with a solution"
    for i in solutions:
        assert "hide-input" in cells[i].metadata["tags"], "solutions are collapsed in the book"
        assert "check_" in cells[i].source and "check_" in cells[i - 1].source, \
            "each exercise: a student cell and a solution cell, both calling the checker"
        assert "raise NotImplementedError" in cells[i - 1].source or "= None" in cells[i - 1].source
    assert "Explorer(" in "\n".join(c.source for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_student_edition_drops_solutions_and_keeps_checkers(path, tmp_path):
    student_edition.student_edition(path, tmp_path / path.name)
    cells = read(tmp_path / path.name).cells
    assert not any("solution" in c.metadata.get("tags", []) for c in cells)
    assert sum("check_" in c.source for c in cells if c.cell_type == "code") >= 4
    assert len(cells) < len(read(path).cells)


def test_every_repository_link_matches_the_config():
    url = CONFIG["repository"]["url"]
    owner_repo = url.removeprefix("https://github.com/")
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "book").glob("*.md"), *NOTEBOOKS]
    seen = 0
    for path in files:
        for found in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+?)(?:/blob|/tree|\.git|[)\s\"'/\\]|$)", path.read_text()):
            assert found == owner_repo, f"{path.name} links to {found}, but _config.yml names {owner_repo}"
            seen += 1
    assert seen >= 4 + len(NOTEBOOKS)          # README, setup page and every set-up cell


def test_colab_links_cover_every_notebook_and_exist():
    for path in [ROOT / "README.md", ROOT / "book" / "setup.md"]:
        linked = set(re.findall(r"colab\.research\.google\.com/github/[^)\s]+?/blob/main/([^)\s]+\.ipynb)",
                                path.read_text()))
        missing = {f"notebooks/{p.name}" for p in NOTEBOOKS} - linked
        assert not missing, f"{path.name} has no Colab link for {sorted(missing)}"
        for notebook in re.findall(r"colab\.research\.google\.com/github/[^)\s]+?/blob/main/([^)\s]+\.ipynb)", path.read_text()):
            assert (ROOT / notebook).exists(), f"{path.name} links to missing {notebook}"


def test_requirements_have_lower_bounds_only():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        assert "==" not in line, line
        if line.startswith("jupyter-book"):
            assert "<2" in line              # the book uses _config.yml / _toc.yml
        else:
            assert "<" not in line, f"{line}: no upper bounds, so that Colab keeps its torch"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make book" in readme


def test_setup_cell_tool_check_mode_agrees():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "setup_cell.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_chinese_terms_in_chapters_are_in_the_glossary():
    glossary = (ROOT / "book" / "glossary.md").read_text()
    found = set()
    for path in NOTEBOOKS:
        text = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
        found |= set(re.findall(r"\(([\u4e00-\u9fff]+)\)", text))
    assert found, "chapters give the Chinese term in parentheses after an English one"
    missing = sorted(t for t in found if t not in glossary)
    assert not missing, f"add to book/glossary.md: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_code_fits_the_page(path):
    """The rendered book shows about 100 columns of code without scrolling."""
    for i, cell in enumerate(read(path).cells[1:], start=1):
        if cell.cell_type == "code":
            long = [line for line in cell.source.splitlines() if len(line) > 100]
            assert not long, f"cell {i} has lines over 100 characters: {long[0][:60]}..."
