#!/usr/bin/env python3
"""Runs the code cells of a Jupyter notebook as one plain Python script, in order, in one namespace.

So CI (or anyone without Jupyter) can check that a notebook still works against a run directory:

    python3 notebooks/run_notebook_cells.py --run-dir runs/gpt2-small --plot-dir /tmp/plots
    RUN_DIR=runs/a:runs/b python3 notebooks/run_notebook_cells.py notebooks/metrics.ipynb

--run-dir (repeatable) sets the RUN_DIR environment variable the notebook reads (several joined by ':');
--plot-dir sets PLOT_DIR, where the notebook saves its figures. Matplotlib draws off-screen (Agg) unless
MPLBACKEND says otherwise. IPython-only lines (%magics, !shell escapes) are skipped. Needs only the standard
library plus whatever the notebook imports (for metrics.ipynb: pandas and matplotlib; see notebooks/README.md).
Exits non-zero, naming the cell, when a cell fails.
"""
import argparse
import json
import os
import sys
import traceback
from pathlib import Path


def read_code_cells(notebook):
    """The source of each code cell of an nbformat 4 notebook, in order."""
    with open(notebook, encoding="utf-8") as f:
        document = json.load(f)
    if document.get("nbformat") != 4:
        raise ValueError(f"{notebook}: nbformat {document.get('nbformat')!r}, expected 4")
    sources = []
    for cell in document.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else source)
    return sources


def strip_ipython(source):
    """The cell without lines that only IPython understands (%magic, %%cell magic, !shell)."""
    kept = []
    for line in source.splitlines():
        stripped = line.lstrip()
        kept.append("" if stripped.startswith(("%", "!")) else line)  # keep line numbers for tracebacks
    return "\n".join(kept) + "\n"


def run_cells(notebook, sources):
    """Executes the cells in one namespace; returns the 1-based number of the failing cell, or 0."""
    namespace = {"__name__": "__main__", "__file__": str(notebook)}
    for number, source in enumerate(sources, 1):
        try:
            exec(compile(strip_ipython(source), f"{notebook} [code cell {number}]", "exec"), namespace)
        except Exception:  # a failing cell ends the run, as "Run All" stops in Jupyter
            traceback.print_exc()
            return number
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", default=str(Path(__file__).with_name("metrics.ipynb")),
                        help="the .ipynb to run (default: metrics.ipynb beside this script)")
    parser.add_argument("--run-dir", action="append", default=[],
                        help="a run directory; repeat for several (sets RUN_DIR)")
    parser.add_argument("--plot-dir", help="where the notebook saves figures (sets PLOT_DIR)")
    args = parser.parse_args(argv)

    if args.run_dir:
        os.environ["RUN_DIR"] = os.pathsep.join(args.run_dir)
    if not os.environ.get("RUN_DIR"):
        parser.error("no run directory: pass --run-dir DIR or set RUN_DIR")
    if args.plot_dir:
        os.environ["PLOT_DIR"] = args.plot_dir
    os.environ.setdefault("MPLBACKEND", "Agg")  # no display on CI; read by matplotlib at import

    sources = read_code_cells(args.notebook)
    failed = run_cells(args.notebook, sources)
    if failed:
        print(f"error: {args.notebook}: code cell {failed} of {len(sources)} failed (traceback above)",
              file=sys.stderr)
        return 1
    print(f"{args.notebook}: {len(sources)} code cells ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
