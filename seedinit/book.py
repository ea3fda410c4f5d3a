"""Build the book: execute the notebooks with papermill, then ``jupyter-book build`` with warnings as errors.

    python -m seedinit.book [--edition book/edition.yaml] [--root .]

A failing notebook stops the build with the notebook and the cell named.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

NOTEBOOKS = ("method", "experiment", "analysis", "performance")


class BookError(RuntimeError):
    """A notebook failed or the book did not build; the message says which and where."""


def execute(root: Path, edition: dict, out: Path) -> None:
    """Run each notebook of ``notebooks/`` with its parameters from ``edition`` into ``out``."""
    import papermill as pm

    out.mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        src, dst = root / "notebooks" / f"{name}.ipynb", out / f"{name}.ipynb"
        print(f"executing {src} -> {dst}", flush=True)
        try:
            pm.execute_notebook(str(src), str(dst), parameters=edition.get(name) or {}, cwd=str(root), progress_bar=False)
        except pm.PapermillExecutionError as err:
            raise BookError(f"notebook {src} failed in cell {err.exec_count} ({err.ename}: {err.evalue}); see {dst}") from None


def build(root: Path) -> Path:
    """``jupyter-book build`` of ``root`` with warnings as errors; returns the HTML folder."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--warningiserror", "--keep-going"]
    done = subprocess.run(cmd, cwd=root)
    if done.returncode:
        raise BookError(f"jupyter-book build failed (exit {done.returncode}); the log above names the page")
    return root / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m seedinit.book", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=".", help="the book's root: _config.yml, _toc.yml, notebooks/, book/ (default: .)")
    p.add_argument("--edition", default=None, help="papermill parameters per notebook (default: ROOT/book/edition.yaml)")
    args = p.parse_args(argv)
    root = Path(args.root).resolve()
    edition = yaml.safe_load(Path(args.edition or root / "book" / "edition.yaml").read_text()) or {}
    try:
        execute(root, edition, root / "book" / "executed")
        html = build(root)
    except BookError as err:
        print(f"seedinit.book: error: {err}", file=sys.stderr)
        return 1
    print(f"book built: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
