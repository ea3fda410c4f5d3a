"""Give every record in a folder or an archive its scoring window (``scored``) and convergence epoch (``converged_at``).

Records written before the convergence protocol scored the last ``window`` of a fixed
schedule and did not store either. This script, run once on ``book/results`` and on the
archived GPU grid, adds both as that protocol defines them and changes nothing else; an
archived record without ``config.role`` also gets its role, ``delta-grid`` where it holds
out a validation split and ``table2`` otherwise (the archive holds the fixed-schedule grid):

    python scripts/add_windows.py book/results
    python scripts/add_windows.py benchmarks/results/grid-cuda/records.tar.gz
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from seedinit.config import DEFAULTS
from seedinit.records import atomic_write, write_record
from seedinit.stats import converged, window_start


def converged_at(losses: Sequence[float], patience: int, rtol: float, atol: float) -> int | None:
    """The first epoch at which ``stats.converged`` holds, or None: the criterion applied after the fact to a history."""
    return next((e for e in range(2 * patience, len(losses) + 1) if converged(losses[:e], patience, rtol, atol)), None)


def with_windows(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its scoring window and convergence epoch after ``q34``, where it lacks them."""
    c = {k: record["config"].get(k, v) for k, v in DEFAULTS.items()}
    losses = [h["train_loss"] for h in record["history"]]
    added = {
        "scored": record.get("scored", [window_start(c["epochs"], c["window"]), c["epochs"]]),
        "converged_at": record["converged_at"] if "converged_at" in record else converged_at(losses, c["patience"], c["rtol"], c["atol"]),
    }
    return {k: v for key, value in record.items() for k, v in ((key, value), *(added.items() if key == "q34" else ()))}


def with_role(record: dict[str, Any]) -> dict[str, Any]:
    """An archived record with its role first in its config, where it lacks one."""
    role = "delta-grid" if record["config"].get("val_fraction") else "table2"
    return record | {"config": {"role": role} | record["config"]}


def migrate_folder(folder: Path) -> int:
    """Rewrite each record of ``folder`` that lacks its window; how many were rewritten."""
    changed = 0
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        if "scored" not in record or "converged_at" not in record:
            write_record(path, with_windows(record))
            changed += 1
    return changed


def migrate_archive(path: Path) -> int:
    """Rewrite the ``.tar.gz`` with each record that lacks its role migrated; other members and the order stay; how many."""
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    changed = 0
    for i, (member, data) in enumerate(members):
        if data is not None and member.name.endswith(".json") and "role" not in (record := json.loads(data))["config"]:
            text = json.dumps(with_role(with_windows(record)), indent=1, allow_nan=False) + "\n"  # as write_record writes it
            member.size, members[i], changed = len(text.encode()), (member, text.encode()), changed + 1

    def write(f: BinaryIO) -> None:
        with tarfile.open(fileobj=f, mode="w:gz") as out:
            for member, data in members:
                out.addfile(member, io.BytesIO(data) if data is not None else None)

    atomic_write(path, write)
    return changed


def main(target: str) -> None:
    path = Path(target)
    if path.name.endswith(".tar.gz"):
        print(f"{target}: {migrate_archive(path)} records given their role, scoring window and convergence epoch")
    else:
        print(f"{target}: {migrate_folder(path)} records given their scoring window and convergence epoch")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "book/results")
