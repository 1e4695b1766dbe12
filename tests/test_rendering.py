"""What a reader sees: executed chapters fit the page, and citations read well everywhere.

The first tests hold the chapter authors to two rules of the rendered book (run on the
executed notebooks, like tests/test_notebooks.py); the others check the citation convention
of CONTRIBUTING.md: Markdown links to ``cite:KEY``, which read as text in Jupyter and Colab and
become footnotes in the book (``_ext/citation_links.py``, ``tools/citations.py``).
"""

import ast
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest

from conftest import NOTEBOOKS, ROOT

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "_ext"))
import citations  # noqa: E402
from citation_links import MARKER, to_roles  # noqa: E402

ids = [p.stem for p in NOTEBOOKS]
HIDDEN = {"hide-input", "remove-input", "remove-cell"}
MAX_LINE = 100   # characters of a text output line that fit the page without scrolling
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def where(path, index, cell) -> str:
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return f"{path.name}, cell {index} ({first[:60]!r})"


def only_asserts(source: str) -> bool:
    """True for a cell of assert statements (or assert_close-like calls) and comments only."""
    try:
        body = ast.parse(source).body
    except SyntaxError:                 # IPython magics: not a plain check
        return False

    def is_check(node):
        if isinstance(node, ast.Assert):
            return True
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call):
            name = getattr(call.func, "attr", getattr(call.func, "id", ""))   # f or module.f
            return name.startswith("assert")
        return False

    return bool(body) and all(is_check(node) for node in body)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_prose_and_check_cells_hide_their_code(executed, path):
    """A cell that prints prose or a table, or only checks claims, shows its result only."""
    run = executed(path)
    bad = []
    for i, cell in enumerate(run.nb.cells):
        if cell.cell_type != "code" or HIDDEN & set(cell.metadata.get("tags", [])):
            continue
        if "display(Markdown(" in cell.source:
            bad.append(f"{where(path, i, cell)} prints prose or a table (display(Markdown(...)))")
        elif only_asserts(cell.source):
            bad.append(f"{where(path, i, cell)} holds only assert statements")
    assert not bad, ("tag these cells hide-input, so that the book shows their result and hides "
                     "the code behind a click (code the reader should see goes in a cell of its "
                     "own before):\n" + "\n".join(bad))


def text_lines(output) -> list[str]:
    """The lines of an output that the book shows as text (not images, HTML or Markdown)."""
    if output.output_type == "stream":
        text = output.text
    elif output.output_type in ("execute_result", "display_data"):
        data = output.get("data", {})
        if set(data) & {"text/html", "text/markdown", "text/latex"} or \
                any(kind.startswith("image/") for kind in data):
            return []
        text = data.get("text/plain", "")
    else:
        return []
    lines = []
    for line in ANSI.sub("", text).split("\n"):
        lines.append(line.split("\r")[-1].rstrip())    # what a terminal shows after \r
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_text_outputs_fit_the_page(executed, path):
    """No printed line is wider than the page, where it would need a horizontal scroll bar."""
    run = executed(path)
    bad = []
    for i, cell in enumerate(run.nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type != "code" or tags & {"remove-output", "remove-cell"}:
            continue
        for out in run.outputs(cell):
            long = [line for line in text_lines(out) if len(line) > MAX_LINE]
            if long:
                bad.append(f"{where(path, i, cell)}: {len(long)} line(s) up to "
                           f"{max(map(len, long))} characters, e.g. {long[0][:70]!r}...")
    assert not bad, (f"print at most {MAX_LINE} characters a line (wrap the text, print fewer "
                     "columns, or show a table with display(Markdown(...))):\n" + "\n".join(bad))


# ------------------------------------------------------------------------------- citations
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_chapters_cite_with_links_and_list_the_works_cited(path):
    problems = citations.problems(nbformat.read(path, as_version=4), citations.load_bib())
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_book_turns_citation_links_into_footnotes():
    text = ("SGD goes back to [Robbins and Monro (1951)](cite:robbins1951) and\n"
            "[(Cybenko, 1989; Hornik, 1991)](cite:cybenko1989,hornik1991).\n"
            "A [link](https://x.org).\n\n"
            f"{MARKER}\n\n- Herbert Robbins and Sutton Monro. ...\n")
    assert to_roles(text) == (
        "SGD goes back to Robbins and Monro (1951)\u2060{footcite:p}`robbins1951` and\n"
        "(Cybenko, 1989; Hornik, 1991)\u2060{footcite:p}`cybenko1989,hornik1991`.\n"
        "A [link](https://x.org).\n\n"
        "```{footbibliography}\n```\n")


def test_tool_converts_roles_and_writes_the_list():
    bib = citations.load_bib()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("SGD is due to {footcite:t}`robbins1951`; ELU {footcite:p}"
                                      "`clevert2016`; UAT {footcite:p}`cybenko1989,hornik1991`."),
        nbformat.v4.new_markdown_cell("## References\n\nSee {footcite:t}`robbins1951`.\n\n"
                                      "```{footbibliography}\n```\n"),
    ])
    assert citations.problems(nb, bib)
    citations.update(nb, bib)
    assert nb.cells[0].source == (
        "SGD is due to [Robbins and Monro (1951)](cite:robbins1951); ELU [(Clevert et al., 2016)]"
        "(cite:clevert2016); UAT [(Cybenko, 1989; Hornik, 1991)](cite:cybenko1989,hornik1991).")
    references = nb.cells[1].source
    assert references.startswith("## References\n\nSee [Robbins and Monro (1951)](cite:")
    works = references.partition(MARKER)[2].strip().splitlines()
    assert [w.split(".")[0] for w in works] == [
        "- Herbert Robbins and Sutton Monro",
        "- Djork-Arné Clevert, Thomas Unterthiner, and Sepp Hochreiter",
        "- George Cybenko", "- Kurt Hornik"]
    assert citations.problems(nb, bib) == []
    nb.cells[0].source = "As [Robbins (1952)](cite:robbins1951) and [X (2000)](cite:nokey) showed."
    problems = "\n".join(citations.problems(nb, bib))
    assert "should name Robbins and 1951" in problems
    assert "'nokey' is not in references.bib" in problems


def test_citation_links_build_without_warnings(tmp_path):
    """A page and a notebook citing with links build with warnings as errors, as footnotes."""
    (tmp_path / "conf.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "_ext")!r})
        extensions = ["myst_nb", "sphinxcontrib.bibtex", "citation_links"]
        bibtex_bibfiles = [{str(ROOT / "references.bib")!r}]
        bibtex_default_style = "plain"
        nb_execution_mode = "off"
        suppress_warnings = ["myst.footnote"]
        myst_footnote_transition = False
        exclude_patterns = ["_build"]
        """))
    (tmp_path / "index.md").write_text(
        "# Page\n\nAs [Robbins and Monro (1951)](cite:robbins1951) showed.\n\n"
        "```{toctree}\nchapter\n```\n\n## References\n\n" f"{MARKER}\n\n- Robbins and Monro.\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Chapter\n\nSee [He et al. (2015)](cite:he2015) and "
                                      "[(Robbins and Monro, 1951)](cite:robbins1951)."),
        nbformat.v4.new_code_cell("1 + 1"),
        nbformat.v4.new_markdown_cell(f"Again [He et al. (2015)](cite:he2015).\n\n## References\n\n"
                                      f"{MARKER}\n\n- He et al.\n- Robbins and Monro.\n"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.write(nb, tmp_path / "chapter.ipynb")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                             str(tmp_path), str(tmp_path / "_build")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "_build" / "chapter.html").read_text()
    assert "He et al. (2015)\u2060<a class=\"footnote-reference" in page     # on one line
    assert page.count('class="footnote-reference') == 3 and page.count('role="doc-footnote"') == 2
    assert "cite:" not in page and "He et al.</li>" not in page     # the plain list is replaced
    index = (tmp_path / "_build" / "index.html").read_text()
    assert "stochastic approximation method" in index.lower()
