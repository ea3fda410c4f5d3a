"""The book builder's own steps: one parameters cell per executed notebook, a notebook that errs or skips a step stopping
the build with the notebook and the cell named, and the release archive."""

import importlib.util
import tarfile
from pathlib import Path

import nbformat
import pytest

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


def ran(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: a markdown cell, then ``cells`` with their execution counts 1, 2, ..."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), *cells]
    for n, cell in enumerate(nb.cells[1:], 1):
        cell.execution_count = n
    return nb


def printed(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell("...", outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])


def failed(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell("...", outputs=[nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])])


def test_a_notebook_that_printed_a_skipped_step_fails_naming_it_and_the_cell():
    nb = ran(printed("loaded\n"), printed("mnist: 600 images\nskipped cifar10: cifar10: the download failed (RuntimeError: ...)\n"))
    with pytest.raises(build.BookError) as err:
        build.check_outputs(nb, Path("notebooks/method.ipynb"), Path("book/executed/method.ipynb"))
    said = str(err.value)
    assert said.startswith("notebook notebooks/method.ipynb failed in cell 2 (it printed 'skipped cifar10: cifar10: the download failed")
    assert said.endswith("; see book/executed/method.ipynb")


def test_a_notebook_holding_an_error_output_fails_naming_it_and_the_cell():
    nb = ran(printed("fine\n"), printed("also fine\n"), failed("DataError", "no sample of 'kmnist'"))
    with pytest.raises(build.BookError, match=r"notebook nb\.ipynb failed in cell 3 \(DataError: no sample of 'kmnist'\)"):
        build.check_outputs(nb, Path("nb.ipynb"), Path("out.ipynb"))


def test_a_notebook_whose_outputs_say_nothing_of_a_skip_passes():
    nb = ran(printed("4 runs, 4 recorded already, 0 to run\n"), printed("runs that are not skipped: 4\n"))
    nb.cells.append(nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "'ok'"})]))
    build.check_outputs(nb, Path("nb.ipynb"), Path("out.ipynb"))


CAUGHT = 'try:\n    1 / 0\nexcept ZeroDivisionError as err:\n    print(f"skipped mnist: {err}")'


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        (nbformat.v4.new_code_cell(CAUGHT), "(it printed 'skipped mnist: division by zero')"),  # caught, so papermill goes on
        (nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}), "(ZeroDivisionError: division by zero)"),
        (nbformat.v4.new_code_cell("1 / 0"), "(ZeroDivisionError: division by zero)"),  # papermill stops there
    ],
    ids=["caught and skipped", "error kept", "error"],
)
def test_executing_a_notebook_that_errs_or_skips_a_step_fails_the_build(tmp_path, cell, said):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}), cell, nbformat.v4.new_code_cell("print(x)")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, str(tmp_path / "notebooks" / "tiny.ipynb"))
    with pytest.raises(build.BookError) as err:
        build.execute(tmp_path, {"tiny": {"x": 2}}, tmp_path / "executed", names=("tiny",))
    # cells 1 and 2: the parameters and those papermill injects
    assert f"notebook {tmp_path / 'notebooks' / 'tiny.ipynb'} failed in cell 3 {said}" in str(err.value)
    assert (tmp_path / "executed" / "tiny.ipynb").exists(), "the executed notebook is kept, to be read"
