"""Every command the README and the re-run page print runs as printed, at a tiny size.

The commands are read from the pages' ``sh`` blocks (and the re-run page's Python block)
and run in a folder holding tiny fake datasets, the page's grid file and the notebooks.
``seedinit`` and ``benchmarks/grid.py`` commands run in this process, with the protocol's
epochs, deltas and RNG seeds shrunk (the same code paths, a few runs each); papermill's
run as printed. Not run: ``make`` (the book build and CI run those), ``apt-get`` (the
machine's), and a command whose data folder this machine lacks. The placeholder dask
address ``tcp://host:8786`` becomes a local cluster's.
"""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_npz

from seedinit.replication import protocol
from seedinit.replication.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", ROOT / "book" / "rerun.md")


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)


def commands() -> list[str]:
    """Each shell command of the pages' ``sh`` blocks, continuation lines joined, comments dropped."""
    found = []
    for page in PAGES:
        for block in blocks(page, "sh"):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#\s.*$", "", line).strip()
                if line and not line.startswith(("make ", "apt-get ")) and line not in found:
                    found.append(line)
    return found


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> Path:
    """The four tiny fake datasets, written once for every command: 200 images a class (the protocol's r = 1 % keeps 2,
    one of them for validation)."""
    root = tmp_path_factory.mktemp("data")
    for name, shape, classes in (
        ("mnist", (28, 28), 10),
        ("fashion_mnist", (28, 28), 10),
        ("cifar10", (32, 32, 3), 10),
        ("cifar100", (32, 32, 3), 100),
    ):
        write_npz(root, name, n_train=200 * classes, shape=shape, classes=classes)
    return root


@pytest.fixture
def sandbox(tmp_path, monkeypatch, datasets):
    """A reader's checkout in miniature: tiny datasets, the notebooks, the method notebook's sample, the benchmarks, the page's
    grid file; a tiny protocol."""
    (tmp_path / "data").symlink_to(datasets)
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "sample").symlink_to(ROOT / "book" / "sample")  # book/results stays the sandbox's own
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(ROOT / "benchmarks", tmp_path / "benchmarks", ignore=shutil.ignore_patterns("results", "__pycache__"))
    [grid] = blocks(ROOT / "book" / "rerun.md", "yaml")
    (tmp_path / "grid.yaml").write_text(grid)
    monkeypatch.chdir(tmp_path)
    tiny = {"EPOCHS": {r: 1 for r in protocol.RATIOS}, "CAP": {r: 3 for r in protocol.RATIOS}, "DELTAS": (0.5,), "FEW_SEEDS": (0,)}
    tiny |= {"SEEDS": (0,), "STUDY_DELTAS": (0.5,), "VARIANTS": {"paper (top-k)": {}}, "SENSITIVITY": {}, "BASELINE_SIZES": ()}
    tiny |= {"CAFFE": {}, "UNTIL_CONVERGED": {"stop": "converged", "patience": 1, "score_epochs": 1, "rtol": 1.0}}
    tiny |= {"RESNET": protocol.RESNET | {"epochs": 3, "patience": 1, "score_epochs": 1, "rtol": 1.0}, "NEW_INITS": ("lsuv",)}
    tiny |= {"FULL_SET_DATASETS": ("mnist",)}  # the whole fake CIFAR-100 (20,000 images) would be most of the time
    for name, value in tiny.items():
        monkeypatch.setattr(protocol, name, value)
    return tmp_path


@pytest.fixture
def scheduler(sandbox):
    """A local dask cluster standing in for the pages' ``tcp://host:8786``; its workers start in the sandbox."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, silence_logs=50) as cluster:
        yield cluster.scheduler_address


def run(command: str, root: Path) -> None:
    """Run one printed command in ``root``; fail with its output if it fails."""
    args = shlex.split(command)
    if args[0] == ".venv/bin/seedinit":
        try:
            assert main(args[1:]) == 0, command
        except SystemExit as done:  # --help
            assert done.code == 0, command
    elif args[:2] == [".venv/bin/python", "benchmarks/grid.py"]:
        sys.path.insert(0, str(root / "benchmarks"))
        import grid

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sys, "argv", args[1:])
            grid.main()
    else:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"


@pytest.mark.parametrize("command", commands())
def test_a_printed_command_runs_as_printed(sandbox, request, command):
    folder = re.search(r"--data-dir (\S+)", command)
    if folder and folder.group(1).startswith("/") and not Path(folder.group(1)).exists():
        pytest.skip(f"{folder.group(1)} is not on this machine")
    if "tcp://host:8786" in command:
        command = command.replace("tcp://host:8786", request.getfixturevalue("scheduler"))
    run(command, sandbox)


def test_the_printed_python_runs_as_printed(sandbox):
    [code] = blocks(ROOT / "book" / "rerun.md", "python")
    exec(compile(code, "rerun.md", "exec"), {})
    assert list((sandbox / "runs").glob("mnist-*.json"))
