"""The command line end to end on tiny data, in a subprocess as a user runs it."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from seedinit.replication.cli import main


def seedinit(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "seedinit", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_run_writes_one_record_per_seed_and_skips_finished_runs(tiny_mnist):
    out = tiny_mnist / "runs"
    args = ["run", "--dataset", "mnist", "--ratio", "0.5", "--init", "seed", "--delta", "0.5", "--seeds", "0", "1",
            "--epochs", "2", "--data-dir", str(tiny_mnist), "--out", str(out)]  # fmt: skip
    done = seedinit(*args)
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.json"))
    assert len(files) == 2
    rec = json.loads(files[0].read_text())
    for key in ("dataset", "ratio", "init", "delta", "theta", "epsilon", "radius", "seed", "epochs"):
        assert key in rec["config"]
    assert rec["config"]["init"] == "seed" and rec["config"]["seed"] == 0
    assert [h["epoch"] for h in rec["history"]] == [1, 2]
    assert all(0 <= h["test_acc"] <= 1 and h["train_loss"] > 0 for h in rec["history"])
    assert 0 <= rec["q34"] <= 1 and rec["sizes"]["train"] == 100
    assert set(rec["seconds"]) == {"init", "train"} and [r["layer"] for r in rec["init_report"]] == ["c1", "c3"]
    assert {"git_commit", "torch", "device"} <= set(rec["provenance"])
    again = seedinit(*args)
    assert again.returncode == 0 and again.stdout.count("recorded already") == 2


def test_filters_draws_a_png(tiny_mnist):
    png = tiny_mnist / "fig" / "filters.png"
    done = seedinit("filters", "--init", "seed", "--ratio", "1", "--data-dir", str(tiny_mnist), "--out", str(png))
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(r"c1: \d+ of 20 filters set from the data, which offered \d+", done.stdout)
    assert re.search(r"c3: \d+ of 50 filters set", done.stdout)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--delta", "1.5"], "--delta 1.5 is not allowed; delta must be a number in [0, 1]"),
        (["--ratio", "0"], "--ratio 0.0 is not allowed; ratio must be a number in (0, 1]"),
        (["--epochs", "0"], "--epochs 0 is not allowed"),
        (["--dataset", "svhn"], "invalid choice: 'svhn'"),
        (["--seeds", "-1"], "--seeds -1 is not allowed; seed (the RNG seed) must be a whole number >= 0"),
        (["--delta", "0.3"], "--delta 0.3 is not allowed; delta must be left at its default, 0.5: it applies only when init is seed"),
        (["--stop", "fixed", "--patience", "5"], "--patience 5 is not allowed; patience must be left at its default, 20: it applies only"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(tiny_mnist, capsys, flags, message):
    try:
        code = main(["run", "--data-dir", str(tiny_mnist), "--out", str(tiny_mnist / "runs"), *flags])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_missing_data_offline_exits_2_with_where_to_put_it(tmp_path, capsys):
    assert main(["run", "--no-download", "--data-dir", str(tmp_path), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "no data in" in err and "--download" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # a command that stops early leaves no empty folder behind


GRID = "base: {dataset: mnist, ratio: 0.5, epochs: %d}\ngrid: {init: [msra, seed]}\nseeds: [0, 1, 2]\n"


def test_dry_run_says_the_runs_and_their_time_and_trains_and_writes_nothing(tiny_mnist, capsys):
    from test_sweep import timed

    from seedinit import Config, write_record

    timings = tiny_mnist / "timed"  # two recorded MSRA runs of 30 s an epoch on 50 % of MNIST
    for s in (0, 1):
        write_record(timings / f"{s}.json", timed(Config(ratio=0.5, init="msra", epochs=2, seed=s), 2, 30.0))
    (tiny_mnist / "g.yaml").write_text(GRID % 60)  # 3 MSRA runs of 60 epochs, 3 of the seed filters
    out, data = tiny_mnist / "runs", tiny_mnist / "nowhere"
    flags = ["--data-dir", str(data), "--out", str(out), "--timings", str(timings), "--dry-run", "--workers", "2"]
    assert main(["sweep", str(tiny_mnist / "g.yaml"), *flags]) == 0
    assert capsys.readouterr().out == (
        f"{tiny_mnist / 'g.yaml'}: 6 runs, 0 recorded already, 6 to run; about 60 min on 2 workers (from recorded runs of the same "
        "dataset, initialization and model, on a CPU); 3 of them not counted: no recorded run of the same dataset, initialization "
        "and model\n--dry-run: nothing trained, nothing written\n"
    )  # MSRA: 30 min a run, two on one worker
    assert main(["reproduce", "--datasets", "mnist", "--ratios", "0.01", "--no-studies", *flags]) == 0
    said = capsys.readouterr().out
    assert "stage 1: 30 runs (delta grid on a validation split)\n30 runs, 0 recorded already, 30 to run; about " in said
    assert "stage 2 skips this cell" in said and " took " not in said and said.endswith("--dry-run: nothing trained, nothing written\n")
    assert not out.exists() and not data.exists()  # nothing trained, nothing written, nothing downloaded


def bad_inputs(root):
    """(arguments, message) of inputs that must stop before any training with status 2."""
    (root / "a-file").write_text("")
    (root / "empty.yaml").write_text("")
    (root / "seeds-only.yaml").write_text("seeds: [0]")
    (root / "g.yaml").write_text(GRID % 1)
    data, out = ["--data-dir", str(root)], ["--out", str(root / "runs")]
    return [
        (["run", *data, "--out", str(root / "a-file")], "is a file; it must be a folder"),
        (["run", *data, "--out", "/proc/seedinit-runs"], "cannot be written"),
        (["run", *data, "--out", str(root / "a-file" / "runs")], "a-file is a file"),
        (["run", "--data-dir", str(root / "nothing"), "--no-download", *out], "no data in"),
        (["run", *data, *out, "--device", "cuda"], "not available on this machine") if not torch.cuda.is_available() else
        (["run", *data, *out, "--lr", "0"], "--lr 0.0 is not allowed"),
        (["sweep", str(root / "empty.yaml"), *data, *out], "settings in base or grid"),
        (["sweep", str(root / "seeds-only.yaml"), *data, *out], "settings in base or grid"),
        (["sweep", str(root / "g.yaml"), *data, *out, "--workers", "0"], "--workers 0 is not allowed"),
        (["sweep", str(root / "g.yaml"), *data, *out, "--threads", "-1"], "--threads -1 is not allowed"),
        (["sweep", str(root / "g.yaml"), *data, *out, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"], "no dask scheduler"),
        (["sweep", str(root / "g.yaml"), *data, *out, "--scheduler", "tcp://127.0.0.1:9"], "needs --executor dask"),
        (["filters", *data, "--out", str(root)], "must name an image file"),
        (["filters", *data, "--out", str(root / "filters")], "must name an image file ending in .png"),
        (["reproduce", *data, *out, "--ratios", "0.2"], "the protocol's ratios are 0.01, 0.05, 0.1"),
        (["reproduce", *data, *out, "--ratios", "0.2", "--dry-run"], "the protocol's ratios are 0.01, 0.05, 0.1"),
        (["sweep", str(root / "g.yaml"), *data, *out, "--workers", "0", "--dry-run"], "--workers 0 is not allowed"),
        (["sweep", str(root / "g.yaml"), *data, "--out", str(root / "a-file"), "--dry-run"], "is a file; it must be a folder"),
    ]  # fmt: skip


def test_bad_inputs_stop_before_training_with_one_line_and_status_2(tiny_mnist, capsys):
    """Each bad input through ``main`` in this process (an exception would fail the test), the first also as a user runs it."""
    cases = bad_inputs(tiny_mnist)
    for args, message in cases:
        try:
            code = main(args)
        except SystemExit as stop:  # argparse's own errors
            code = stop.code
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, (args, err)
    args, message = cases[0]
    done = seedinit(*args)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tiny_mnist / "runs").exists()  # nothing trained, nothing written, no empty folder


def test_filters_takes_only_its_flags_and_the_same_seed_flag_as_run(tiny_mnist):
    help_text = seedinit("filters", "--help").stdout
    assert "--delta" in help_text and "--seeds" in help_text and "--epochs" not in help_text and "--lr" not in help_text
    out = tiny_mnist / "f.svg"
    for flag in ("--seeds", "--seed"):
        done = seedinit("filters", "--data-dir", str(tiny_mnist), "--ratio", "1", flag, "3", "--out", str(out))
        assert done.returncode == 0 and done.stdout.endswith(f"wrote {out}\n") and out.read_text().startswith("<?xml")


@pytest.mark.parametrize(("lr", "loss"), [("1e6", None), ("1e3", "finite")])
def test_a_diverging_run_is_flagged_and_its_record_is_strict_json(tiny_mnist, lr, loss):
    out = tiny_mnist / "runs"
    done = seedinit("run", "--ratio", "0.5", "--epochs", "14", "--lr", lr, "--data-dir", str(tiny_mnist), "--out", str(out))
    assert done.returncode == 0 and "DIVERGED" in done.stdout, done.stdout + done.stderr
    [path] = out.glob("*.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    record = json.loads(text)
    assert record["diverged"] and len(record["history"]) < 14  # stopped once diverged
    last = record["history"][-1]["train_loss"]
    assert last is None if loss is None else last > 10 * 2.303


def test_a_short_run_that_blew_up_is_not_scored(tiny_mnist):
    out = tiny_mnist / "runs"
    done = seedinit("run", "--ratio", "0.5", "--epochs", "3", "--lr", "1000", "--data-dir", str(tiny_mnist), "--out", str(out))
    assert done.returncode == 0 and "DIVERGED (training loss up to " in done.stdout and "Q3/4" not in done.stdout.split("DIVERGED")[0]
    [path] = out.glob("*.json")
    assert json.loads(path.read_text())["diverged"]


def test_ctrl_c_stops_with_status_130_and_keeps_every_record(tiny_mnist):
    many = (GRID % 30).replace("[0, 1, 2]", str(list(range(20))))
    (tiny_mnist / "g.yaml").write_text(many)  # 40 runs: a slow machine still has most of them to go when Ctrl-C comes
    out = tiny_mnist / "runs"
    cmd = [
        sys.executable,
        "-m",
        "seedinit",
        "sweep",
        str(tiny_mnist / "g.yaml"),
        "--data-dir",
        str(tiny_mnist),
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    # a terminal's Ctrl-C, even where this test runs with SIGINT ignored (a shell's background job passes that on)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and not list(out.glob("*.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group: the sweep and its worker
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    n = len(list(out.glob("*.json")))
    assert re.search(rf"interrupted; {n} runs recorded, re-run the same command to resume", err) and "Traceback" not in err
    assert 1 <= n < 40 and not [p for p in out.iterdir() if p.suffix != ".json"]
    for path in out.glob("*.json"):
        json.loads(path.read_text())


def test_a_task_failing_on_a_dask_worker_gives_one_line(tiny_mnist):
    from dask.distributed import LocalCluster

    (tiny_mnist / "g.yaml").write_text(GRID % 1)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, silence_logs=50) as cluster:
        args = ["sweep", str(tiny_mnist / "g.yaml"), "--data-dir", str(tiny_mnist / "elsewhere"), "--no-download"]
        done = seedinit(*args, "--out", str(tiny_mnist / "runs"), "--executor", "dask", "--scheduler", cluster.scheduler_address)
    assert done.returncode == 2 and "no data in" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("seedinit: error") == 1
