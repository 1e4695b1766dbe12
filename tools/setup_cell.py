"""Write (or check) the set-up cell that opens every chapter notebook.

The cell is the same in every notebook. It reads nothing at run time: the repository it
fetches on Colab is filled in here from ``_config.yml``, where it is named once.

    python tools/setup_cell.py --write    # put the current cell into every notebook
    python tools/setup_cell.py --check    # exit 1 if a notebook's first cell is not current
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Set-up cell (the same in every chapter; tools/setup_cell.py writes it)."
# The rendered book drops the cell (it would stand above the chapter's title); in Jupyter and
# Colab it runs first and prints the device and mode. Heavy cells print their mode themselves.
TAGS = ["setup", "remove-cell"]

TEMPLATE = '''{marker}
# Locally it finds the book's folder; on Colab it fetches the helper package `utils` from the
# book's repository and installs only what Colab lacks (never torch). Then it says what runs.
import importlib.util, pathlib, subprocess, sys

REPOSITORY, BRANCH = "{url}", "{branch}"
if "google.colab" in sys.modules:
    ROOT = pathlib.Path("/content/{name}")
    if not (ROOT / "utils").is_dir():
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", BRANCH,
                        REPOSITORY, str(ROOT)], check=True)
    missing = [package for package, module in [("tqdm", "tqdm"), ("ipywidgets", "ipywidgets"),
                                                ("optuna", "optuna")]
               if importlib.util.find_spec(module) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
else:
    here = pathlib.Path.cwd().resolve()
    ROOT = next((p for p in [here, *here.parents] if (p / "_toc.yml").is_file() and (p / "utils").is_dir()), None)
    if ROOT is None:
        raise SystemExit("Cannot find the book's folder (the one holding _toc.yml and utils/): "
                         "start Jupyter inside the repository, or open this notebook on Colab.")
sys.path.insert(0, str(ROOT))

from utils.plot import use_book_style
from utils.runtime import describe

use_book_style()
print(describe())'''


def render() -> str:
    """The set-up cell's source for the repository named in ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    return TEMPLATE.format(marker=MARKER, url=url, branch=config["repository"].get("branch", "main"),
                           name=url.rsplit("/", 1)[-1])


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def is_current(path: Path) -> bool:
    cells = nbformat.read(path, as_version=4).cells
    return (bool(cells) and cells[0].cell_type == "code" and cells[0].source == render()
            and cells[0].metadata.get("tags") == TAGS)


def write(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(render(), metadata={"tags": TAGS})
    if nb.cells and nb.cells[0].cell_type == "code" and nb.cells[0].source.startswith(MARKER):
        cell.id = nb.cells[0].get("id", cell.id)
        nb.cells[0] = cell
    else:
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update every notebook")
    parser.add_argument("--check", action="store_true", help="fail if a notebook is not current")
    args = parser.parse_args()
    if args.write:
        for path in notebooks():
            write(path)
        print(f"set-up cell written to {len(notebooks())} notebooks")
        return 0
    stale = [p.name for p in notebooks() if not is_current(p)]
    if stale:
        print("set-up cell missing or out of date in: " + ", ".join(stale) +
              "\nrun: python tools/setup_cell.py --write")
        return 1
    if not args.check:
        print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
