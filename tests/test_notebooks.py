"""The experiment and analysis notebooks with a reader's own parameters: a new dataset, a small grid, partial folders."""

import json
import shutil
from pathlib import Path

import papermill as pm
import pytest
from conftest import write_npz

ROOT = Path(__file__).resolve().parents[1]


def execute(name: str, out: Path, **parameters) -> list[dict]:
    """Run ``notebooks/<name>.ipynb`` with ``parameters``; return its code cells' outputs (papermill raises on any error)."""
    pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out), parameters=parameters, cwd=str(ROOT), progress_bar=False)
    return [o for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def text(outputs: list[dict]) -> str:
    data = [o.get("data", {}) for o in outputs]
    return "".join("".join(o.get("text", "")) for o in outputs) + "".join(
        "".join(d.get("text/html", d.get("text/plain", ""))) for d in data
    )


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The experiment notebook on a tiny fake Fashion-MNIST: MSRA and the seed filters, two RNG seeds, 2 epochs."""
    root = tmp_path_factory.mktemp("sweep")
    write_npz(root / "data", "fashion_mnist")
    params = dict(datasets=["fashion_mnist"], ratios=[0.5], inits=["msra", "seed"], seeds=[0, 1], epochs=2)
    outputs = execute("experiment", root / "experiment.ipynb", data_dir=str(root / "data"), results_dir=str(root / "runs"), **params)
    return root, outputs


def test_the_experiment_notebook_runs_exactly_the_grid_it_is_given(sweep):
    root, outputs = sweep
    names = sorted(p.name.rsplit("-", 2)[0] for p in (root / "runs").glob("*.json"))
    assert names == ["fashion_mnist-r0.5-msra", "fashion_mnist-r0.5-msra", "fashion_mnist-r0.5-seed-d0.5", "fashion_mnist-r0.5-seed-d0.5"]
    assert "4 runs, 0 recorded already, 4 to run" in text(outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the learning curves
    again = execute("experiment", root / "again.ipynb", data_dir=str(root / "data"), results_dir=str(root / "runs"),
                    datasets="[fashion_mnist]", ratios="0.5", seeds="[0, 1]", epochs="2")  # fmt: skip
    assert "4 runs, 4 recorded already, 0 to run" in text(again)  # strings, as papermill's -p gives them, are read as YAML


@pytest.mark.parametrize("folder", ["sweep", "empty", "one record", "without msra"])
def test_the_analysis_notebook_works_on_any_folder_of_records(sweep, tmp_path, folder):
    root, _ = sweep
    runs = sorted((root / "runs").glob("*.json"))
    keep = {"sweep": runs, "empty": [], "one record": runs[:1], "without msra": [p for p in runs if "-seed-" in p.name]}[folder]
    (tmp_path / "runs").mkdir()
    for path in keep:
        shutil.copy(path, tmp_path / "runs")
    shown = text(execute("analysis", tmp_path / "analysis.ipynb", results_dir=str(tmp_path / "runs")))
    assert "needs the δ grid's runs" in shown  # each part the records cannot support says what it needs, in one line
    if keep:
        assert "Q3/4" in shown and "<table" in shown
    if folder == "sweep":
        assert "p (Welch)" in shown and "p (paired)" in shown  # both arms share their RNG seeds
    if folder in ("one record", "without msra"):
        assert "no arm has MSRA runs trained alike" in shown
    if folder == "empty":
        assert "no records in" in shown


def test_the_comparison_notebook_shows_its_table_forest_plot_and_counts(tmp_path):
    from test_analysis import grid
    from test_comparison import fake

    arms = {"msra": [0.90, 0.92, 0.91] * 4, "seed": [0.85, 0.86, 0.84] * 4}  # 12 RNG seeds: judged, the protocol plans 10
    t2 = [fake(q, arm, s, role="table2") for arm, qs in arms.items() for s, q in enumerate(qs)]
    pca = [fake(q, "pca", s) for s, q in enumerate([0.93, 0.95, 0.94] * 4)]
    delta_grid = [r | {"seconds": {"init": 0.0, "train": 1.0}} for r in grid("mnist", 0.1, {0.5: 0.9})]
    (tmp_path / "runs").mkdir()
    for i, r in enumerate(t2 + pca + delta_grid):
        (tmp_path / "runs" / f"{i}.json").write_text(json.dumps(r | {"provenance": {}}))
    outputs = execute("comparison", tmp_path / "comparison.ipynb", results_dir=str(tmp_path / "runs"))
    shown = text(outputs)
    assert (
        "<table" in shown and "Q3/4" in shown and sum("image/png" in o.get("data", {}) for o in outputs) == 2
    )  # the forest plot, the size curve
    glued = {o["metadata"]["scrapbook"]["name"]: o["data"] for o in outputs if "scrapbook" in o.get("metadata", {})}
    said = {name: data["application/papermill.record/text/plain"].strip("'\"") for name, data in glued.items()}
    assert said["verdicts"] == "PCA: better in 1 of 1 cell; the paper's seed filters: worse in 1 of 1 cell"  # the reading's counts
    assert said["speed_paper"].startswith("not yet measured") and said["resnet_verdicts"].startswith("not yet measured")
    assert "needs the ResNet study's runs" in shown
    waiting = "MNIST, r = 1 %: repaired reading's δ grid 0 of 27, LeNet-5 comparison 0 of 43 runs;"  # the paper's order
    assert said["recording"].startswith(f"Still being recorded (runs recorded of planned): {waiting}")
    assert "MNIST, r = 10 %: repaired reading's δ grid 0 of 27, LeNet-5 comparison 0 of 43 runs" in said["recording"]  # no seed arm
    assert "MNIST, r = 100 %: whole training set 0 of 30 runs; CIFAR-10, r = 1 %" in said["recording"]  # MSRA, k-means, PCA
