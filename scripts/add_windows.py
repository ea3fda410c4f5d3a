"""Give every record in a folder its scoring window (``scored``) and convergence epoch (``converged_at``).

Records written before the convergence protocol scored the last ``window`` of a fixed
schedule and did not store either. This script, run once on ``book/results``, adds both
as that protocol defines them and changes nothing else in the files:

    python scripts/add_windows.py book/results
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from seedinit.replication.runs import with_windows


def main(folder: str) -> None:
    changed = 0
    for path in sorted(Path(folder).glob("*.json")):
        record = json.loads(path.read_text())
        if "scored" in record and "converged_at" in record:
            continue
        path.write_text(json.dumps(with_windows(record), indent=1, allow_nan=False) + "\n")
        changed += 1
    print(f"{folder}: {changed} records given their scoring window and convergence epoch")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "book/results")
