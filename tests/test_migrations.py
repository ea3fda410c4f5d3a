"""The kept migration script: old records gain their scoring window, convergence epoch and role, and nothing else changes."""

import importlib.util
import json
import tarfile
from pathlib import Path

from seedinit import Config, load_records
from seedinit.replication.performance import load_archive

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("add_windows", ROOT / "scripts" / "add_windows.py")
add_windows = importlib.util.module_from_spec(spec)
spec.loader.exec_module(add_windows)


def old_record(seed: int, val_fraction: float) -> dict:
    """A record as the fixed schedule wrote it before it stored its window, its convergence epoch and its role."""
    config = Config(seed=seed, epochs=4, val_fraction=val_fraction).to_dict()
    del config["role"]
    history = [{"epoch": e, "train_loss": 1 / e, "test_acc": 0.5} for e in range(1, 5)]
    return {"config": config, "history": history, "q34": 0.5, "provenance": {}}


def test_the_criterion_after_the_fact_is_the_first_epoch_at_which_it_holds():
    falling = [1 / e for e in range(1, 101)]
    assert add_windows.converged_at(falling, 5, 0.0, 0.001) == 74  # 1/69 - 1/74 < 0.001 first at epoch 74
    assert add_windows.converged_at(falling, 5, 0.0, 0.0) is None


def test_an_archive_migrated_once_gains_windows_and_roles_and_nothing_else(tmp_path, capsys):
    runs = tmp_path / "grid"
    for seed, val in ((0, 0.2), (1, 0.0)):
        (runs / f"run-s{seed}.json").parent.mkdir(exist_ok=True)
        (runs / f"run-s{seed}.json").write_text(json.dumps(old_record(seed, val)))
    (runs / "grid.log").write_text("not a record")
    with tarfile.open(tmp_path / "records.tar.gz", "w:gz") as tar:
        tar.add(runs, arcname="grid")
    add_windows.main(str(tmp_path / "records.tar.gz"))
    assert capsys.readouterr().out.endswith(": 2 records given their role, scoring window and convergence epoch\n")
    migrated = load_archive(tmp_path / "records.tar.gz")
    assert [r["config"]["role"] for r in migrated] == ["delta-grid", "table2"]  # a validation split: the delta grid
    assert [list(r)[:5] for r in migrated] == [["config", "history", "q34", "scored", "converged_at"]] * 2
    assert [r["scored"] for r in migrated] == [[3, 4]] * 2  # the last half of 4 epochs
    before = load_records(runs)
    for r, b in zip(migrated, before):
        assert {k: v for k, v in r.items() if k not in ("scored", "converged_at")} == b | {
            "config": b["config"] | {"role": r["config"]["role"]}
        }
    with tarfile.open(tmp_path / "records.tar.gz") as tar:
        assert "grid/grid.log" in tar.getnames()
    add_windows.main(str(tmp_path / "records.tar.gz"))  # once: a second pass changes nothing
    assert capsys.readouterr().out.endswith(": 0 records given their role, scoring window and convergence epoch\n")
    assert load_archive(tmp_path / "records.tar.gz") == migrated
