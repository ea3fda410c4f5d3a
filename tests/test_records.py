"""Records: read from a folder in name order, a bad one named, and provenance that names the machine."""

import json
import os
import tarfile

import pytest
import torch

from seedinit import load_records
from seedinit.records import RecordError, provenance, write_record
from seedinit.replication.performance import load_archive


def record(seed: int) -> dict:
    return {"config": {"seed": seed}, "history": [], "q34": 0.5 + seed / 10, "provenance": {}}


def test_records_from_a_folder_and_from_its_archive_are_the_same_runs(tmp_path):
    for seed in (2, 0, 1):
        write_record(tmp_path / "runs" / f"run-s{seed}.json", record(seed))
    (tmp_path / "runs" / "notes.txt").write_text("not a record")
    with tarfile.open(tmp_path / "runs.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "runs", arcname="runs")
    from_folder = load_records(tmp_path / "runs")
    assert [r["config"]["seed"] for r in from_folder] == [0, 1, 2]
    archived = load_archive(tmp_path / "runs.tar.gz")
    assert [r["q34"] for r in archived] == [r["q34"] for r in from_folder]


def test_a_bad_record_is_named(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"config": {}}))
    with pytest.raises(RecordError, match=r"bad\.json: record lacks \['history', 'q34', 'provenance'\]"):
        load_records(tmp_path)


def test_provenance_names_the_commit_the_libraries_and_the_machine():
    p = provenance(torch.device("cpu"))
    assert p["machine"].endswith(f", {os.cpu_count()} cores") and len(p["machine"]) > len(f", {os.cpu_count()} cores")
    assert p["torch"] == torch.__version__ and len(p["git_commit"] or "x" * 40) == 40
