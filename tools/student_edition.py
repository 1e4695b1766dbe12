"""Write the student edition: every chapter notebook without its solution cells.

Uses nbconvert's TagRemovePreprocessor on the ``solution`` tag; the exercise cells and their
checkers stay, so students still get feedback.

    python tools/student_edition.py [output folder, default student_edition/]
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parents[1]


def student_edition(source: Path, target: Path) -> None:
    """Copy the notebook at ``source`` to ``target`` without the cells tagged ``solution``."""
    nb = nbformat.read(source, as_version=4)
    remover = TagRemovePreprocessor(remove_cell_tags={"solution"}, enabled=True)
    nb, _ = remover.preprocess(nb, {})
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "student_edition"
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for source in sources:
        student_edition(source, out / source.name)
    print(f"student edition of {len(sources)} chapters written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
