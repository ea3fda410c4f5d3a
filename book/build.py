"""Build the book: execute the notebooks with papermill, then ``jupyter-book build`` with warnings as errors.

    python book/build.py [--edition book/edition.yaml] [--root .] [--dist DIR]

A failing notebook stops the build with the notebook and the cell named: an error papermill
reports, an error output kept in the executed notebook, or a line it printed that starts with
"skipped" (a step a cell left out, which the page would show in place of its figure). ``--dist DIR``
also writes ``DIR/seedinit-<version>.tar.gz``: the built HTML and the records, one file
to attach to a release or a deposit.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

NOTEBOOKS = ("method", "experiment", "analysis", "performance", "comparison")
# What a release archive holds besides the HTML: the records every number comes from, and how to cite them.
RECORDS = ("book/results", "benchmarks/results", "CITATION.cff", ".zenodo.json", "README.md")
# How a cell says it left a step out ("skipped mnist: ..."): the book must not go out with it.
SKIPPED = re.compile(r"^\s*skipped\b.*", re.MULTILINE | re.IGNORECASE)


class BookError(RuntimeError):
    """A notebook failed or the book did not build; the message says which and where."""


def merge_parameters(nb: dict) -> None:
    """Write papermill's injected values into the notebook's own parameters cell and drop the injected cell.

    The reader sees one cell with the values that ran, beside the comments that say what each one means.
    A page whose other code cells all hide their input hides this one too.
    """
    cells = nb["cells"]
    tagged: dict[str, int] = {}
    for i, c in enumerate(cells):
        for tag in c.get("metadata", {}).get("tags", ()):
            tagged.setdefault(tag, i)
    if "injected-parameters" not in tagged or "parameters" not in tagged:
        return
    injected, own = cells[tagged["injected-parameters"]], cells[tagged["parameters"]]
    values = {}
    for node in ast.parse(injected["source"]).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.get_source_segment(injected["source"], node.value)
    lines = own["source"].splitlines()
    assigned = [n for n in ast.parse(own["source"]).body if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
    for node in sorted(assigned, key=lambda n: n.lineno, reverse=True):  # bottom up: earlier positions stay valid
        name = node.targets[0].id
        if name in values:
            first, last = lines[node.value.lineno - 1], lines[node.value.end_lineno - 1]
            merged = first[: node.value.col_offset] + values.pop(name) + last[node.value.end_col_offset :]
            lines[node.value.lineno - 1 : node.value.end_lineno] = merged.splitlines()
    lines += [f"{name} = {value}" for name, value in values.items()]  # parameters the cell does not declare
    own["source"] = "\n".join(lines)
    del cells[tagged["injected-parameters"]]
    code = [c for c in cells if c["cell_type"] == "code" and c is not own]
    if code and all("hide-input" in c.get("metadata", {}).get("tags", ()) for c in code):
        own["metadata"]["tags"] = [*own["metadata"]["tags"], "hide-input"]


def check_outputs(nb: dict, src: Path, dst: Path) -> None:
    """BookError naming ``src`` and the cell if an executed code cell holds an error output (a cell tagged
    ``raises-exception`` keeps one and papermill goes on) or prints a line that starts with "skipped"."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for out in cell.get("outputs", ()):
            if out["output_type"] == "error":
                said = f"{out['ename']}: {out['evalue']}"
            else:
                text = out.get("text", "") if out["output_type"] == "stream" else out.get("data", {}).get("text/plain", "")
                found = SKIPPED.search("".join(text))
                if not found:
                    continue
                said = f"it printed {found.group(0).strip()!r}"
            where = f"cell {cell['execution_count']}" if cell.get("execution_count") is not None else f"the cell at index {i}"
            raise BookError(f"notebook {src} failed in {where} ({said}); see {dst}")


def execute(root: Path, edition: dict, out: Path, names: tuple[str, ...] = NOTEBOOKS) -> None:
    """Run each notebook ``names`` of ``notebooks/`` with its parameters from ``edition`` into ``out``, one parameters
    cell each; BookError at the first that fails (``check_outputs``)."""
    import nbformat
    import papermill as pm

    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        src, dst = root / "notebooks" / f"{name}.ipynb", out / f"{name}.ipynb"
        print(f"executing {src} -> {dst}", flush=True)
        try:
            nb = pm.execute_notebook(str(src), str(dst), parameters=edition.get(name) or {}, cwd=str(root), progress_bar=False)
        except pm.PapermillExecutionError as err:
            raise BookError(f"notebook {src} failed in cell {err.exec_count} ({err.ename}: {err.evalue}); see {dst}") from None
        check_outputs(nb, src, dst)
        merge_parameters(nb)
        nbformat.write(nb, str(dst))


def build(root: Path) -> Path:
    """``jupyter-book build`` of ``root`` with warnings as errors; returns the HTML folder. Every page is rebuilt (``--all``):
    a page's glued numbers come from a notebook, and Sphinx would keep a page whose own text did not change."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--all", "--warningiserror", "--keep-going"]
    done = subprocess.run(cmd, cwd=root)
    if done.returncode:
        raise BookError(f"jupyter-book build failed (exit {done.returncode}); the log above names the page")
    return root / "_build" / "html"


def dist(root: Path, html: Path, out: Path) -> Path:
    """One archive of the built HTML and the records, named by the version in CITATION.cff."""
    version = yaml.safe_load((root / "CITATION.cff").read_text())["version"]
    top = f"seedinit-{version}"
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(html, f"{top}/html")
        for name in RECORDS:
            if (root / name).exists():
                tar.add(root / name, f"{top}/{name}", filter=lambda t: None if "__pycache__" in t.name else t)
    return archive


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python book/build.py", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=".", help="the book's root: _config.yml, _toc.yml, notebooks/, book/ (default: .)")
    p.add_argument("--edition", default=None, help="papermill parameters per notebook (default: ROOT/book/edition.yaml)")
    p.add_argument("--dist", default=None, metavar="DIR", help="also write DIR/seedinit-<version>.tar.gz: the HTML and the records")
    args = p.parse_args(argv)
    root = Path(args.root).resolve()
    edition = yaml.safe_load(Path(args.edition or root / "book" / "edition.yaml").read_text()) or {}
    try:
        execute(root, edition, root / "book" / "executed")
        html = build(root)
    except BookError as err:
        print(f"book/build.py: error: {err}", file=sys.stderr)
        return 1
    print(f"book built: {html / 'index.html'}")
    if args.dist:
        print(f"archive: {dist(root, html, Path(args.dist))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
