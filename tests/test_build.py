"""The book builder's own steps: one parameters cell per executed notebook, and the release archive."""

import importlib.util
import tarfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build", ROOT / "book" / "build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)


def executed(own: str, injected: str, other_tags: list[str]) -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: its parameters cell, the injected cell after it, one more code cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell(own, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(injected, metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("print(ratio)", metadata={"tags": other_tags}),
    ]
    return nb


def test_injected_values_replace_the_defaults_and_the_comments_stay():
    own = '# Parameters (papermill)\ndatasets = [\n    "mnist",\n    "cifar10",\n]  # one image of each\n'
    own += "ratio = 0.1  # the subset\nseed = 0"
    nb = executed(own, '# Parameters\ndatasets = ["mnist"]\nratio = 1.0\nextra = "x"\n', [])
    build.merge_parameters(nb)
    assert [c.metadata.get("tags") for c in nb.cells] == [None, ["parameters"], []]
    assert nb.cells[1].source == (
        '# Parameters (papermill)\ndatasets = ["mnist"]  # one image of each\nratio = 1.0  # the subset\nseed = 0\nextra = "x"'
    )


def test_the_parameters_cell_hides_its_input_where_every_other_code_cell_does():
    hidden, shown = (executed("a = 1", "a = 2", tags) for tags in (["hide-input"], []))
    build.merge_parameters(hidden)
    build.merge_parameters(shown)
    assert hidden.cells[1].metadata["tags"] == ["parameters", "hide-input"]
    assert shown.cells[1].metadata["tags"] == ["parameters"]


def test_a_notebook_run_without_parameters_is_left_alone():
    nb = executed("a = 1", "a = 2", [])
    del nb.cells[2]
    before = nbformat.writes(nb)
    build.merge_parameters(nb)
    assert nbformat.writes(nb) == before


def test_the_archive_holds_the_html_the_records_and_the_citation(tmp_path):
    (tmp_path / "CITATION.cff").write_text("cff-version: 1.2.0\nversion: 1.2.3\n")
    (tmp_path / "book" / "results").mkdir(parents=True)
    (tmp_path / "book" / "results" / "run.json").write_text("{}")
    (tmp_path / "benchmarks" / "results" / "__pycache__").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "bench.json").write_text("{}")
    html = tmp_path / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<html></html>")
    archive = build.dist(tmp_path, html, tmp_path / "dist")
    assert archive == tmp_path / "dist" / "seedinit-1.2.3.tar.gz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    top = "seedinit-1.2.3"
    want = ("html/index.html", "book/results/run.json", "benchmarks/results/bench.json", "CITATION.cff")
    assert {f"{top}/{name}" for name in want} <= names
    assert not any("__pycache__" in n for n in names)
