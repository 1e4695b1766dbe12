"""Citations that read as plain text in Jupyter and Colab, and as footnotes in the book.

A chapter cites with a Markdown link whose target is ``cite:`` and the BibTeX key(s) of
``references.bib``; the link text is the citation as a reader should see it::

    SGD goes back to [Robbins and Monro (1951)](cite:robbins1951).
    ... any continuous function [(Cybenko, 1989; Hornik, 1991)](cite:cybenko1989,hornik1991).

Jupyter and Colab show the link text. In the book the text stays and sphinxcontrib-bibtex's
``footcite`` role adds its footnote: this extension rewrites each link, before the page is
parsed, to ``Robbins and Monro (1951){footcite:p}`robbins1951```.

The chapter's references cell ends with ``MARKER`` and a plain list of the works cited, which
``tools/citations.py`` writes from ``references.bib`` for readers in Jupyter; the book replaces
the marker and the list with the chapter's footnoted bibliography (``footbibliography``).
"""

from __future__ import annotations

import json
import re

LINK = re.compile(r"\[([^\[\]]+)\]\(cite:([\w.:+-]+(?:,[\w.:+-]+)*)\)")
MARKER = "<!-- Works cited, written by tools/citations.py (the book shows its own list here) -->"


def to_roles(markdown: str) -> str:
    """The Markdown the book parses: links as footcite roles, the list as footbibliography."""
    head, marker, _ = markdown.partition(MARKER)
    if marker:
        markdown = head + "```{footbibliography}\n```\n"
    # A word joiner (U+2060) keeps the footnote mark on the line of the text it follows.
    return LINK.sub(lambda m: f"{m[1]}\u2060{{footcite:p}}`{m[2]}`", markdown)


def rewrite_source(app, docname: str, source: list[str]) -> None:
    """Sphinx's source-read event: rewrite a page's Markdown (a notebook's Markdown cells)."""
    text = source[0]
    if "](cite:" not in text and MARKER not in text:
        return
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = to_roles(text)
        return
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = to_roles("".join(cell["source"]))
    source[0] = json.dumps(notebook)


def setup(app):
    app.connect("source-read", rewrite_source)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
