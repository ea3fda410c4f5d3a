"""Grids: expansion, resume after SIGKILL, and the dask executor on a 2-worker LocalCluster."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from seedinit import Config, ConfigError, load_records
from seedinit.experiment import run, run_together
from seedinit.records import RecordError, read_record
from seedinit.replication.sweep import expand, load_grid, pending, tasks

GRID = """
base: {dataset: mnist, ratio: 0.5, epochs: %d}
grid:
  init: [msra, seed]
  delta: [0.3, 0.9]
seeds: [0, 1]
"""


def sweep(*args, **kw):
    return subprocess.run([sys.executable, "-m", "seedinit", "sweep", *args], capture_output=True, text=True, timeout=600, **kw)


def test_expand_takes_the_product_and_drops_duplicate_msra_runs(tmp_path):
    (tmp_path / "g.yaml").write_text(GRID % 2)
    configs = expand(load_grid(tmp_path / "g.yaml"))
    assert len(configs) == 6  # msra x 2 seeds (delta does not matter) + seed x 2 deltas x 2 seeds
    assert len(tasks(configs)) == 6  # one task per run
    assert len(tasks(configs, ensemble=True)) == 1  # all six share data and training settings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grid: {delta: [0.5, 2]}", "g.yaml: delta=2 is not allowed"),
        ("grid: {delta: 0.5}", "grid.delta must be a non-empty list"),
        ("grid: {delta: [0.5]}\nseeds: []", "seeds must be a non-empty list"),
        ("base: {seed: 3}", "the RNG seeds go in the top-level list seeds"),
        ("gird: {}", "a grid file is a mapping with keys base, grid, seeds"),
        ("grid: [", "cannot read the grid file"),
    ],
)
def test_bad_grid_files_are_named(tmp_path, text, message):
    (tmp_path / "g.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_grid(tmp_path / "g.yaml")


def test_a_corrupt_record_is_reported_not_redone(tmp_path):
    cfg = Config()
    (tmp_path / f"{cfg.run_name()}.json").write_text('{"config": {"dataset": "mni')
    with pytest.raises(RecordError, match="not a readable JSON record"):
        pending([cfg], tmp_path)


def test_kill_mid_sweep_then_resume_loses_only_runs_in_flight(tiny_mnist):
    (tiny_mnist / "g.yaml").write_text(GRID % 6)
    out = tiny_mnist / "runs"
    args = [str(tiny_mnist / "g.yaml"), "--data-dir", str(tiny_mnist), "--out", str(out), "--workers", "1"]
    cmd = [sys.executable, "-m", "seedinit", "sweep", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.glob("*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, as a lost machine would
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in out.glob("*.json")}
    assert 2 <= len(finished) < 6, "the kill should land mid-sweep"
    for p in finished:
        read_record(p)  # complete, parseable records only
    done = sweep(*args)
    assert done.returncode == 0, done.stderr
    assert f"{len(finished)} recorded already, {6 - len(finished)} to run" in done.stdout
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items())  # not redone
    assert len(load_records(out)) == 6
    assert not [p for p in out.iterdir() if p.suffix != ".json"]  # no temporary files left behind


def test_default_process_pool_runs_the_grid(tiny_mnist):
    (tiny_mnist / "g.yaml").write_text(GRID % 1)
    done = sweep(str(tiny_mnist / "g.yaml"), "--data-dir", str(tiny_mnist), "--out", str(tiny_mnist / "runs"), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert len(load_records(tiny_mnist / "runs")) == 6


def test_dask_local_cluster_with_two_workers(tiny_mnist):
    pytest.importorskip("dask.distributed")
    (tiny_mnist / "g.yaml").write_text(GRID % 1)
    out = tiny_mnist / "runs"
    done = sweep(str(tiny_mnist / "g.yaml"), "--data-dir", str(tiny_mnist), "--out", str(out), "--executor", "dask", "--workers", "2")
    assert done.returncode == 0, done.stderr
    records = load_records(out)
    assert len(records) == 6 and {r["config"]["seed"] for r in records} == {0, 1}


def test_ensemble_matches_separate_runs(tiny_mnist):
    from seedinit import load_dataset

    data = load_dataset("mnist", tiny_mnist)
    base = Config(ratio=0.5, init="seed", epochs=22, window=0.05, val_fraction=0.2, device="cpu")  # accuracy on some epochs only
    configs = [base.replace(seed=3), base.replace(seed=4), base.replace(seed=3, delta=0.2, zero_mean=True), base.replace(init="msra")]
    together = run_together(configs, data)
    for cfg, rec in zip(configs, together):
        alone = run(cfg, data)
        assert [set(a) for a in rec["history"]] == [set(b) for b in alone["history"]]
        assert "test_acc" not in rec["history"][2] and rec["q34"] == pytest.approx(alone["q34"], abs=1e-6)
        for a, b in zip(rec["history"], alone["history"]):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
            assert a.get("test_acc", 0) == pytest.approx(b.get("test_acc", 0), abs=1e-6)
            assert a.get("val_acc", 0) == pytest.approx(b.get("val_acc", 0), abs=1e-6)
        assert rec["ensemble"] == 4 and rec["sizes"] == alone["sizes"] and rec["config"] == alone["config"]


def test_ensemble_accuracy_does_not_depend_on_its_batch_bound():
    from seedinit.models import LeNet5
    from seedinit.training import Stacked, accuracies

    torch.manual_seed(0)
    models = [LeNet5() for _ in range(3)]
    net = Stacked(models)
    x, y = torch.rand(50, 1, 28, 28), torch.randint(0, 10, (50,))
    own_x, own_y = torch.rand(3, 20, 1, 28, 28), torch.randint(0, 10, (3, 20))
    shared = accuracies(net, x, y)
    assert shared == accuracies(net, x, y, batch_size=3 * 7)  # 8 batches of 7 images, the last short
    assert accuracies(net, own_x, own_y, shared=False) == accuracies(net, own_x, own_y, shared=False, batch_size=3 * 6)
    assert len(set(shared)) > 1  # three different models
    assert shared == [int((m(x).argmax(1) == y).sum()) / 50 for m in models]


def test_ensemble_refuses_runs_with_different_training(tiny_mnist):
    from seedinit import load_dataset

    data = load_dataset("mnist", tiny_mnist)
    with pytest.raises(ValueError, match="same data and training settings; mnist-r0.1-msra-s1-.* differ"):
        run_together([Config(seed=0), Config(seed=1, epochs=3)], data)
    with pytest.raises(ValueError, match="the same run appears twice"):
        run_together([Config(seed=0), Config(seed=0, delta=0.2)], data)


def test_records_are_strict_json_with_null_for_non_finite_numbers(tmp_path):
    from seedinit import write_record

    history = [{"train_loss": float("nan")}, {"train_loss": float("inf")}, {"train_loss": 1.5}]
    path = write_record(tmp_path / "r.json", {"config": {}, "history": history, "q34": 0.1, "provenance": {}})
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()  # JSON.parse reads it
    assert [h["train_loss"] for h in read_record(path)["history"]] == [None, None, 1.5]
    assert os.listdir(tmp_path) == ["r.json"]


def test_a_run_failing_in_its_worker_is_named_in_one_line(tiny_mnist):
    from seedinit.replication.sweep import SweepError, run_sweep

    blocked = tiny_mnist / "runs"
    blocked.write_text("a file where the records' folder should be")
    with pytest.raises(SweepError, match=r"run mnist-r0.5-msra-s0-\w+ failed: (FileExistsError|NotADirectoryError)"):
        run_sweep([Config(ratio=0.5, epochs=1)], str(blocked), str(tiny_mnist), workers=1)


def test_a_split_that_leaves_nothing_to_train_on_is_refused(tiny_mnist):
    from seedinit import load_dataset

    with pytest.raises(ConfigError, match=r"ratio=0.05 of 200 images less val_fraction=0.2 leaves none to train on"):
        run(Config(ratio=0.05, val_fraction=0.2, epochs=1), load_dataset("mnist", tiny_mnist))


def timed(cfg, epochs, per_epoch, device="cpu (x86_64, 1 threads)"):
    """A record of ``cfg`` that trained ``epochs`` epochs of ``per_epoch`` seconds each on ``device``."""
    history = [{"epoch": i + 1, "train_loss": 1.0, "seconds": per_epoch} for i in range(epochs)]
    seconds = {"init": 0.5, "train": per_epoch * epochs}
    return {"config": cfg.to_dict(), "history": history, "q34": 0.5, "seconds": seconds, "provenance": {"device": device}}


def test_the_estimate_scales_recorded_epochs_to_each_run():
    from seedinit.replication.sweep import estimate

    msra = Config(ratio=0.1, init="msra", epochs=10, stop="fixed")
    records = [
        timed(msra, 10, 2.0),
        timed(msra.replace(seed=1), 10, 4.0),  # the median of 2 s and 4 s: 3 s an epoch
        timed(msra.replace(stop="converged", epochs=100), 40, 3.0),  # converged after 40 epochs
        timed(msra, 10, 0.01, device="NVIDIA H100 80GB HBM3"),
    ]
    runs = [msra.replace(epochs=30), msra.replace(ratio=0.2, epochs=30), msra.replace(stop="converged", epochs=100)]
    runs.append(Config(dataset="cifar10"))
    cost = estimate(runs, records)
    assert cost.seconds == pytest.approx([90, 180, 120])  # 3 s an epoch; twice the images; the 40 epochs a recorded run took
    assert cost.unknown == 1 and cost.devices == {False}
    assert cost.wall(1) == pytest.approx(390) and cost.wall(2) == pytest.approx(210)  # 180 | 120 + 90
    assert estimate(runs[:1], records, gpu=True).seconds == pytest.approx([0.3])  # a GPU's runs time a GPU
    assert estimate(runs[:1], records, gpu=True).devices == {True}
    assert cost.words(2) == (
        "about 4 min on 2 workers (from recorded runs of the same dataset, initialization and model, on a CPU); "
        "1 of them not counted: no recorded run of the same dataset, initialization and model"
    )
    assert estimate(runs[3:], records).words(1) == "no estimate of the time: no recorded run of the same dataset, initialization and model"


def test_the_cost_of_each_study_comes_from_its_records():
    from seedinit.replication.sweep import costs

    grid = Config(ratio=0.1, epochs=10, role="delta-grid", val_fraction=0.2)
    records = [timed(grid.replace(seed=s), 10, 3.6) for s in (0, 1)] + [timed(Config(ratio=0.1, epochs=10, role="study:resnet"), 10, 36.0)]
    rows = costs(records, workers=2)
    assert [r["study"] for r in rows] == ["δ grids", "ResNet-8 study", "all runs"]
    assert [r["runs"] for r in rows] == [2, 1, 3]
    assert rows[-1]["recorded (h)"] == pytest.approx((2 * 36.5 + 360.5) / 3600)
    assert rows[0]["again (h)"] == pytest.approx(0.01)  # two runs of 36 s, one on each worker


def test_a_sweep_reads_its_records_once(tiny_mnist, monkeypatch, capsys):
    from seedinit.replication import runs as module
    from seedinit.replication.cli import main

    reads = []
    real = module.load_records
    monkeypatch.setattr(module, "load_records", lambda folder: reads.append(str(folder)) or real(folder))
    (tiny_mnist / "g.yaml").write_text("base: {dataset: mnist, ratio: 0.5, epochs: 1}\nseeds: [0]\n")
    out = tiny_mnist / "runs"
    out.mkdir()
    args = [str(tiny_mnist / "g.yaml"), "--data-dir", str(tiny_mnist), "--out", str(out), "--timings", str(tiny_mnist / "none")]
    assert main(["sweep", *args, "--workers", "1"]) == 0
    assert "1 run, 0 recorded already, 1 to run" in capsys.readouterr().out and reads == [str(out)]
    reads.clear()
    assert main(["sweep", *args]) == 0
    assert "1 run, 1 recorded already, 0 to run\n" in capsys.readouterr().out and reads == [str(out)]
