"""Execute chapters with several seeds, in quick and full mode, on the real data.

Before a chapter claims something (an assert, a sentence a cell prints), the claim must hold for
other seeds and in both modes. This runs each notebook in a fresh kernel for every combination,
with ``DLBOOK_SEED`` set, the offline fallback made an error (``DLBOOK_STRICT_DATA=1``) and a
private checkpoint folder, and says which runs failed and where:

    python tools/run_seeds.py notebooks/02_softmax_regression.ipynb            # seeds 0 1 2, quick
    python tools/run_seeds.py notebooks/*.ipynb --modes quick full --seeds 0 1 2

Executed copies go to ``_build/seeds/`` (``--out``), named ``<chapter>.seed<s>.<mode>.ipynb``, so
the numbers of every run can be read and compared. Exit status 1 when any run failed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, seed: int, mode: str, out: Path, timeout: int) -> str | None:
    """Execute one notebook; return None on success, else the end of the error."""
    nb = nbformat.read(path, as_version=4)
    env = {"DLBOOK_SEED": str(seed), "DLBOOK_QUICK": "1" if mode == "quick" else "0",
           "DLBOOK_STRICT_DATA": "1"}
    saved = {k: os.environ.get(k) for k in [*env, "DLBOOK_CHECKPOINTS"]}
    error = None
    with tempfile.TemporaryDirectory() as checkpoints:
        os.environ.update(env, DLBOOK_CHECKPOINTS=checkpoints)   # the kernel inherits these
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as failure:
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(failure))        # no terminal colours
            error = "\n".join(text.strip().splitlines()[-12:])
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / f"{path.stem}.seed{seed}.{mode}.ipynb")
    return error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", choices=["quick", "full"], default=["quick"])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "seeds")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    failed = 0
    for path in args.notebooks:
        for mode in args.modes:
            for seed in args.seeds:
                tic = time.perf_counter()
                error = run(path.resolve(), seed, mode, args.out, args.timeout)
                status = "ok" if error is None else "FAILED"
                print(f"{path.stem} seed {seed} {mode}: {status} ({time.perf_counter() - tic:.0f} s)",
                      flush=True)
                if error is not None:
                    failed += 1
                    print("    " + error.replace("\n", "\n    "), flush=True)
    print(f"{failed} of {len(args.notebooks) * len(args.seeds) * len(args.modes)} runs failed; "
          f"executed copies in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
