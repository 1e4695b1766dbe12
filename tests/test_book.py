"""The rendered book builds with warnings as errors, from the notebooks the tests executed, and
its pages work offline: everything they load comes with the book, maths included."""

import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, ROOT

HTML = ROOT / "_build" / "html"
MATHJAX = "_static/mathjax/tex-chtml.js"          # put there by sphinx-mathjax-offline


@pytest.fixture(scope="module")
def book(executed):
    """Build the book once (from the test session's executions) and return its HTML folder."""
    for path in NOTEBOOKS:                     # execute (and cache) first, for clear failures
        assert executed(path).error is None, f"{path.name} does not execute"
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--warningiserror",
                             "--keep-going"], capture_output=True, text=True, timeout=1800)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "Executing notebook" not in log, "the build re-executed a notebook the tests had cached"
    return HTML


def chapters(book):
    return {path.stem: (book / "notebooks" / f"{path.stem}.html").read_text() for path in NOTEBOOKS}


class Tags(HTMLParser):
    """The page's tags with their attributes, and the bodies of its inline scripts."""

    def __init__(self, page: str):
        super().__init__()
        self.tags, self.inline_scripts, self._script = [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._script = attrs if tag == "script" and "src" not in attrs else None

    def handle_data(self, data):
        if self._script is not None and self._script.get("type", "text/javascript") \
                == "text/javascript":
            self.inline_scripts.append(data)

    def handle_endtag(self, tag):
        self._script = None


def test_book_builds_without_warnings(book):
    for name, page in chapters(book).items():
        assert "dlbook-explorer" in page, f"{name}: the interactive figure's static form is missing"
        assert "colab.research.google.com" in page, f"{name}: the Colab launch button is missing"
        assert "<table" in page, f"{name}: tables printed with display(Markdown(...)) must render"
    assert "Robbins" in (book / "book" / "references.html").read_text()


def test_pages_load_nothing_from_other_hosts(book):
    """Offline, a page must still work: no script, style sheet, font, image or frame from a CDN."""
    for page in sorted(book.rglob("*.html")):
        if "_static" in page.parts:
            continue
        for tag, attrs in Tags(page.read_text()).tags:
            url = attrs.get("href") if tag == "link" else attrs.get("src")
            assert not re.match(r"(https?:)?//", url or ""), \
                f"{page.relative_to(book)} loads {url} from another host: serve it with the book"


def test_maths_is_served_with_the_book(book):
    assert (book / MATHJAX).is_file(), "MathJax must be copied into the book by the extension " \
        "sphinx-mathjax-offline (requirements.txt, _config.yml)"
    assert (book / "_static/mathjax/output/chtml/fonts/woff-v2").is_dir(), "MathJax's fonts"
    for name, page in chapters(book).items():
        sources = [a.get("src", "") for tag, a in Tags(page).tags if tag == "script"]
        assert f"../{MATHJAX}" in sources, f"{name}: MathJax must come from {MATHJAX}"
        assert not [s for s in sources if "mathjax" in s.lower() and s != f"../{MATHJAX}"]
        assert 'class="math notranslate nohighlight"' in page


def test_pages_embed_no_widgets_and_declare_each_script_name_once(book):
    """No widget state or widget manager (figures are HTML), no Thebe, no script error on load."""
    for name, page in chapters(book).items():
        assert "vnd.jupyter.widget-state+json" not in page, f"{name} embeds widget state"
        assert "vnd.jupyter.widget-view+json" not in page, f"{name} has a live widget view"
        assert "require.js" not in page and "THEBE_JS_URL" not in page, name
        top_level = [line for script in Tags(page).inline_scripts for line in script.splitlines()
                     if line[:1] not in ("", " ", "\t")]      # not inside a function's body
        declared = [name for line in top_level
                    for name in re.findall(r"(?:^|;)\s*(?:const|let)\s+(\w+)\s*=", line)]
        twice = {n for n in declared if declared.count(n) > 1}
        assert not twice, f"{name} declares {twice} twice: a SyntaxError in the browser"


def test_citations_are_footnotes_with_a_bibliography(book):
    for name, page in chapters(book).items():
        assert "{footcite" not in page and "{footbibliography}" not in page, f"{name}: a raw role"
        assert 'href="cite:' not in page, f"{name}: a citation link was not turned into a footnote"
        assert 'role="doc-noteref"' in page and 'role="doc-footnote"' in page, \
            f"{name}: its citations need footnotes (see CONTRIBUTING.md, citations)"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_chapters_render_maths_offline_without_script_errors(book):
    """Headless Chromium (whose network is not used: every URL is a local file) runs each page."""
    for path in NOTEBOOKS:
        page = book / "notebooks" / f"{path.stem}.html"
        with tempfile.TemporaryDirectory() as profile:
            run = subprocess.run(
                ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                 "--virtual-time-budget=20000", "--dump-dom", page.as_uri()],
                capture_output=True, text=True, timeout=300)
        dom = run.stdout
        errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line
                  and re.search(r"Uncaught|Error|invalid", line)]
        assert not errors, f"{path.stem}: JavaScript errors:\n" + "\n".join(errors)
        assert "<mjx-container" in dom, f"{path.stem}: MathJax rendered no formula"
        raw = re.findall(r'class="math notranslate nohighlight">\s*\\[(\[]', dom)
        assert not raw, f"{path.stem}: {len(raw)} formulas left as raw TeX"
