"""Records as runs, without pandas: which records are one run, whether a run is recorded, each run's label and cell.

The protocol plans runs from these (``pip install seedinit`` without extras runs it);
the tables build on them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..config import DEFAULTS, Config
from ..data import SPECS
from ..options import SEED_FIELDS
from ..records import load_records


def records_in(folder: str | os.PathLike | None) -> list[dict[str, Any]]:
    """The records in ``folder``, none where it does not exist; an unreadable record raises RecordError."""
    return load_records(folder) if folder is not None and Path(folder).is_dir() else []


def same_run(config: dict[str, Any]) -> str:
    """Every setting of a run but its cap (``epochs``) and ``device``, settings a record lacks at their defaults: two records
    with equal values are one run trained until converged under two caps."""
    return json.dumps({k: config.get(k, v) for k, v in DEFAULTS.items() if k not in ("epochs", "device")}, sort_keys=True, default=list)


def largest_caps(records: list[dict[str, Any]]) -> dict[str, int]:
    """Per run trained until converged (``same_run``), the largest cap it is recorded with."""
    caps: dict[str, int] = {}
    for r in records:
        if r["config"].get("stop") == "converged":
            key = same_run(r["config"])
            caps[key] = max(caps.get(key, 0), r["config"]["epochs"])
    return caps


def final_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with each run trained until converged kept once, by its record of the largest cap: a run that reached the
    cap and was trained again with a larger one (``protocol.extended``) is the same run for its first epochs."""
    caps, last = largest_caps(records), {}
    for i, r in enumerate(records):
        key = same_run(r["config"]) if r["config"].get("stop") == "converged" else i
        if key == i or r["config"]["epochs"] == caps[key]:
            last[key] = i  # the last record at the largest cap
    return [records[i] for i in sorted(last.values())]


def recorded_in(records: list[dict[str, Any]]) -> Callable[[Config], bool]:
    """``is_recorded(config)``: the run has a record, or, trained until converged, one with a cap at least as large
    (the same run, given as much room or more)."""
    have, caps = {(c.key(), c.seed) for c in (Config.from_dict(r["config"]) for r in records)}, largest_caps(records)

    def is_recorded(c: Config) -> bool:
        return (c.key(), c.seed) in have or (c.stop == "converged" and caps.get(same_run(c.to_dict()), 0) >= c.epochs)

    return is_recorded


def records_of(configs: Iterable[Config], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``records`` of the runs ``configs`` name, whatever their cap or device (``same_run``)."""
    names = {same_run(c.to_dict()) for c in configs}
    return [r for r in records if same_run(r["config"]) in names]


def arm_label(c: dict[str, Any]) -> str:
    """A run's arm: ``msra``, ``seed`` (the paper's reading) or the settings that differ, e.g. ``seed[he]``, ``seed[theta=0.5]``."""
    if c["init"] != "seed":
        return c["init"]
    tags = []
    for name in SEED_FIELDS:
        value = c.get(name, DEFAULTS[name])
        if name == "delta" or value == DEFAULTS[name]:
            continue
        tags.append({"random": "he", "selection": "diverse", "zero_mean": "zero-mean"}.get(name, f"{name}={value}"))
    return "seed" + (f"[{','.join(tags)}]" if tags else "")


def best_deltas(rows: Iterable[dict[str, Any]], by: str, arm: str = "seed", stop: str = "fixed") -> dict[tuple[str, float], dict]:
    """Per cell (dataset, ratio), over the delta grid's runs of ``arm`` trained with ``stop`` that have a ``by`` score:
    the delta with the best mean ``by`` (``delta``, ``mean``) and how many distinct (delta, RNG seed) runs the grid holds.
    ``rows``: one flat dict per run, its settings with ``arm`` and ``by`` (``grid_rows(records)``, or a table's rows)."""
    scores: dict[tuple[str, float], dict[float, list[tuple[int, float]]]] = {}
    for row in rows:
        value = row.get(by)
        if row.get("role") != "delta-grid" or row.get("stop", "fixed") != stop or row["arm"] != arm or value is None or math.isnan(value):
            continue
        scores.setdefault((row["dataset"], row["ratio"]), {}).setdefault(round(row["delta"], 6), []).append((row["seed"], value))
    best = {}
    for cell, grid in scores.items():
        means = {delta: sum(v for _, v in runs) / len(runs) for delta, runs in sorted(grid.items())}
        delta = max(means, key=lambda d: means[d])  # the smallest of equal means
        best[cell] = {"delta": delta, "mean": means[delta], "runs": sum(len({s for s, _ in runs}) for runs in grid.values())}
    return best


def grid_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``best_deltas``'s rows from records: each final record's settings, arm and validation Q3/4."""
    return [{**r["config"], "arm": arm_label(r["config"]), "val_q34": r.get("val_q34")} for r in final_records(records)]


def paper_order(dataset: str) -> tuple[int, str]:
    """A sort key that puts datasets in the order the package knows them (the paper's: MNIST, then CIFAR), others last."""
    return (list(SPECS).index(dataset), "") if dataset in SPECS else (len(SPECS), dataset)


def cell_label(dataset: str, ratio: float) -> str:
    """A cell in words: ``CIFAR-10, r = 1 %``."""
    return f"{SPECS[dataset].title if dataset in SPECS else dataset}, r = {100 * ratio:g} %"


def listed(words: Iterable[str], empty: str = "none") -> str:
    """Phrases joined by semicolons, or ``empty`` when there are none."""
    return "; ".join(words) or empty
