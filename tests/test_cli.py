"""The command line end to end on tiny data, in a subprocess as a user runs it."""

import json
import re
import subprocess
import sys

import pytest

from seedinit.cli import main


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
    assert re.search(r"c1: \d+/20 filters seeded from \d+ candidates", done.stdout)
    assert re.search(r"c3: \d+/50 filters seeded", done.stdout)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--delta", "1.5"], "delta=1.5 is not allowed; delta must be a number in [0, 1]"),
        (["--ratio", "0"], "ratio=0.0 is not allowed; ratio must be a number in (0, 1]"),
        (["--epochs", "0"], "epochs=0 is not allowed"),
        (["--dataset", "svhn"], "invalid choice: 'svhn'"),
        (["--seeds", "-1"], "seed=-1 is not allowed"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(tiny_mnist, capsys, flags, message):
    try:
        code = main(["run", "--data-dir", str(tiny_mnist), "--out", str(tiny_mnist / "runs"), *flags])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_missing_data_offline_exits_1_with_where_to_put_it(tmp_path, capsys):
    assert main(["run", "--no-download", "--data-dir", str(tmp_path), "--out", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "no data in" in err and "make data" in err and "Traceback" not in err
