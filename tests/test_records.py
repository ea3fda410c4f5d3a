"""Records: read alike from a folder or from a .tar.gz archive of it, and a bad one named."""

import json
import tarfile

import pytest

from seedinit import load_records
from seedinit.records import RecordError, write_record


def record(seed: int) -> dict:
    return {"config": {"seed": seed}, "history": [], "q34": 0.5 + seed / 10, "provenance": {}}


def test_records_from_a_folder_and_from_its_archive_are_the_same(tmp_path):
    for seed in (2, 0, 1):
        write_record(tmp_path / "runs" / f"run-s{seed}.json", record(seed))
    (tmp_path / "runs" / "notes.txt").write_text("not a record")
    with tarfile.open(tmp_path / "runs.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "runs", arcname="runs")
    from_folder = load_records(tmp_path / "runs")
    assert [r["config"]["seed"] for r in from_folder] == [0, 1, 2]
    assert load_records(tmp_path / "runs.tar.gz") == from_folder


def test_a_bad_record_in_an_archive_is_named(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"config": {}}))
    with tarfile.open(tmp_path / "runs.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "bad.json", arcname="runs/bad.json")
    with pytest.raises(RecordError, match=r"runs\.tar\.gz:runs/bad\.json: record lacks \['history', 'q34', 'provenance'\]"):
        load_records(tmp_path / "runs.tar.gz")
    (tmp_path / "broken.tar.gz").write_bytes(b"not gzip")
    with pytest.raises(RecordError, match="not a readable archive of records"):
        load_records(tmp_path / "broken.tar.gz")
