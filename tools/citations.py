"""Write (or check) the chapters' citations and their lists of works cited.

Chapters cite with Markdown links to ``cite:KEY`` (see ``_ext/citation_links.py``), which
read as text in Jupyter and Colab and become footnotes in the book:

    SGD goes back to [Robbins and Monro (1951)](cite:robbins1951).
    ... any continuous function [(Cybenko, 1989; Hornik, 1991)](cite:cybenko1989,hornik1991).

The chapter's ``## References`` cell ends with a marker and a plain list of the works cited,
formatted from ``references.bib`` for readers in Jupyter; the book replaces marker and list with
its footnoted bibliography. Write the cell's heading and prose; this tool writes the rest.

    python tools/citations.py --write    # turn {footcite:t}/{footcite:p} roles into links,
                                         # and (re)write each chapter's list of works cited
    python tools/citations.py --check    # exit 1 if a chapter needs --write or cites badly
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from pybtex.database import parse_file
from pybtex.plugin import find_plugin
from pybtex.richtext import Text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from citation_links import LINK, MARKER  # noqa: E402  (the book's side of the convention)

ROLE = re.compile(r"\{footcite(?::([tp]))?\}`([^`]+)`")
BIBLIOGRAPHY = re.compile(r"```\{footbibliography\}\s*```\s*")


def load_bib(path: Path = ROOT / "references.bib"):
    """The entries of references.bib (``\\url{...}`` reduced to the address, which pybtex can't)."""
    entries = parse_file(str(path)).entries
    for entry in entries.values():
        for field, value in entry.fields.items():
            entry.fields[field] = re.sub(r"\\url\{([^}]*)\}", r"\1", value)
    return entries


def surnames(entry) -> str:
    """'Robbins and Monro', 'He et al.' or 'Karpathy': how the text names a work."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text")
             for p in people]
    if len(names) > 2:
        return f"{names[0]} et al."
    return " and ".join(names)


def link(keys: list[str], bib, textual: bool) -> str:
    """The Markdown link that cites ``keys``: textual 'He et al. (2015)' or '(He et al., 2015)'."""
    if textual:
        return " and ".join(f"[{surnames(bib[k])} ({bib[k].fields['year']})](cite:{k})"
                            for k in keys)
    inside = "; ".join(f"{surnames(bib[k])}, {bib[k].fields['year']}" for k in keys)
    return f"[({inside})](cite:{','.join(keys)})"


def roles_to_links(markdown: str, bib) -> str:
    """Rewrite {footcite:t}`k` and {footcite:p}`k1,k2` roles as citation links."""
    def replace(match):
        keys = [k.strip() for k in match[2].split(",")]
        if any(key not in bib for key in keys):
            return match[0]                     # left as it is: problems() names the key
        return link(keys, bib, textual=match[1] == "t")
    return ROLE.sub(replace, markdown)


def cited_keys(nb, bib) -> list[str]:
    """Every key of ``bib`` a chapter cites, in order of first citation (the footnotes' order)."""
    keys = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for match in LINK.finditer(cell.source.partition(MARKER)[0]):
                keys += [k for k in match[2].split(",") if k not in keys and k in bib]
    return keys


def works_cited(keys: list[str], bib) -> str:
    """A plain Markdown list of the works, formatted like the book's references (pybtex plain)."""
    style = find_plugin("pybtex.style.formatting", "plain")()
    lines = []
    for key in keys:
        text = style.format_entry("", bib[key]).text.render_as("markdown")
        text = re.sub(r"\\([.()\-:!+_])", r"\1", " ".join(text.split()))   # needless escapes
        lines.append(f"- {text}")
    return "\n".join(lines) + "\n"


def references_cell(nb):
    """The cell that closes with the chapter's list: the marker's, or the ``## References`` one."""
    for cell in reversed(nb.cells):
        source = cell.source
        if cell.cell_type == "markdown" and (MARKER in source or BIBLIOGRAPHY.search(source)
                                             or source.startswith("## References")):
            return cell
    return None


def update(nb, bib) -> None:
    """Convert roles to links and write the chapter's list of works cited."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = roles_to_links(cell.source, bib)
    cell = references_cell(nb)
    keys = cited_keys(nb, bib)
    if cell is not None and keys:
        head = BIBLIOGRAPHY.sub("", cell.source.partition(MARKER)[0]).rstrip()
        cell.source = f"{head}\n\n{MARKER}\n\n{works_cited(keys, bib)}".lstrip()


def problems(nb, bib) -> list[str]:
    """What a chapter must fix: roles left, unknown keys, link texts that do not name the work."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        if ROLE.search(cell.source) or "{footbibliography}" in cell.source:
            found.append(f"cell {i}: cite with [Author (Year)](cite:key), not roles; "
                         "run python tools/citations.py --write")
        for match in ROLE.finditer(cell.source):
            found += [f"cell {i}: {key!r} is not in references.bib"
                      for key in match[2].split(",") if key.strip() not in bib]
        for match in LINK.finditer(cell.source.partition(MARKER)[0]):
            for key in match[2].split(","):
                if key not in bib:
                    found.append(f"cell {i}: {key!r} is not in references.bib")
                    continue
                first = surnames(bib[key]).split(" and ")[0].removesuffix(" et al.")
                year = bib[key].fields["year"]
                if first not in match[1] or year not in match[1]:
                    found.append(f"cell {i}: the link text {match[1]!r} should name {first} "
                                 f"and {year} (it cites {key})")
    keys = cited_keys(nb, bib)
    cell = references_cell(nb)
    listed = cell.source.partition(MARKER)[2].strip() if cell is not None else ""
    if keys and listed != works_cited(keys, bib).strip():
        found.append("the list of works cited is missing or out of date; "
                     "run python tools/citations.py --write")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the notebooks")
    parser.add_argument("--check", action="store_true", help="fail if a notebook needs fixing")
    parser.add_argument("paths", nargs="*", type=Path,
                        default=sorted((ROOT / "notebooks").glob("*.ipynb")))
    args = parser.parse_args()
    bib, failed = load_bib(), False
    for path in args.paths:
        nb = nbformat.read(path, as_version=4)
        if args.write:
            update(nb, bib)
            nbformat.write(nb, path)
        for problem in problems(nb, bib):
            print(f"{path.name}: {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
