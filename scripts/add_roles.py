"""Give every record in a folder its role (``config.role``), derived once from the protocol's own lists of runs.

Records written before ``Config.role`` existed said what they were for only through
their settings. This script, run once on ``book/results``, adds the role the protocol
gives each configuration and changes nothing else in the files:

    python scripts/add_roles.py book/results
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from seedinit import Config
from seedinit.replication import protocol
from seedinit.replication.tables import delta_choice, runs_frame


def roles(records: list[dict]) -> dict[tuple[str, int], str]:
    """(key, RNG seed) -> role for every run the protocol names, at the deltas its recorded delta grid chose."""
    grid = [r for r in records if r["config"]["val_fraction"] > 0]
    chosen = delta_choice(runs_frame([r | {"config": r["config"] | {"role": "delta-grid"}} for r in grid]))
    named: dict[tuple[str, int], str] = {}
    for d in protocol.PAPER_DATASETS:
        for r in protocol.RATIOS:
            runs = protocol.selection_runs(d, r)
            delta = chosen[(chosen["dataset"] == d) & (chosen["ratio"] == r)]["delta"]
            if len(delta):
                runs += protocol.main_runs(d, r, float(delta.iloc[0]), stop="fixed") + protocol.schedule_runs(d, float(delta.iloc[0]))
            if d in protocol.STUDY_DATASETS and r == protocol.STUDY_RATIO:
                runs = protocol.study_runs(d) + runs  # later roles win: a study run that is also a Table-2 run is a Table-2 run
            named.update({(c.key(), c.seed): c.role for c in runs})
    return named


def main(folder: str) -> None:
    paths = sorted(Path(folder).glob("*.json"))
    records = [json.loads(p.read_text()) for p in paths]
    named = roles(records)
    for path, record in zip(paths, records):
        if "role" in record["config"]:
            continue
        cfg = Config.from_dict(record["config"])
        record["config"]["role"] = named.get((cfg.key(), cfg.seed), "user")
        path.write_text(json.dumps(record, indent=1) + "\n")
    counts: dict[str, int] = {}
    for r in records:
        counts[r["config"]["role"]] = counts.get(r["config"]["role"], 0) + 1
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main(sys.argv[1])
