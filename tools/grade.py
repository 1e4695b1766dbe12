"""Grade students' notebooks by executing them and reading the exercise checkers' verdicts.

Every checker records its verdict in ``utils.exercises.RESULTS``. This script executes each
notebook with a fresh kernel (in quick mode, from the book's notebooks/ folder, so that the
set-up cell finds the helper package wherever the submissions are kept), then asks the
kernel for that record, and prints one row per notebook; ``--csv`` writes the table to a file.
A notebook that fails to run is reported with the error instead of stopping the grading.

    python tools/grade.py submissions/*.ipynb --csv grades.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
READ_RESULTS = ("import json, sys\nsys.path.insert(0, {root!r})\n"
                "from utils.exercises import RESULTS\nprint('RESULTS=' + json.dumps(RESULTS))")


def grade(path: Path, timeout: int = 600) -> dict:
    """Execute one notebook; return {'exercise': verdict, ...} or {'error': message}."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(READ_RESULTS.format(root=str(ROOT))))
    os.environ.setdefault("DLBOOK_QUICK", "1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    try:
        client.execute()
    except CellExecutionError as error:  # pragma: no cover - allow_errors keeps going
        return {"error": str(error).splitlines()[0]}
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    for output in nb.cells[-1].get("outputs", []):
        if output.output_type == "stream" and output.text.startswith("RESULTS="):
            results = json.loads(output.text.split("=", 1)[1])
            if errors:
                results["errors"] = f"{len(errors)} cell(s) raised, first: {errors[0].ename}: {errors[0].evalue}"
            return results
    return {"error": "the notebook did not reach its end"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--csv", type=Path, help="write the table to this CSV file")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    rows = {str(path): grade(path, args.timeout) for path in args.notebooks}
    def order(key: str):  # exercises "1.2" < "1.10" in number order, then "error(s)" columns
        parts = key.split(".")
        return (0, [int(p) for p in parts], "") if all(p.isdigit() for p in parts) else (1, [], key)

    columns = sorted({key for result in rows.values() for key in result}, key=order)
    for name, result in rows.items():
        passed = sum(v == "pass" for v in result.values())
        attempted = sum(v in ("pass", "fail") for v in result.values())
        print(f"{name}: {passed} passed of {attempted} attempted  " +
              "  ".join(f"{k}={result[k]}" for k in columns if k in result))
    if args.csv:
        with args.csv.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["notebook", *columns])
            for name, result in rows.items():
                writer.writerow([name, *(result.get(k, "") for k in columns)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
