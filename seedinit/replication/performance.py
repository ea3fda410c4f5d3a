"""The performance page's tables, from the benchmark records in ``benchmarks/results`` and the run records' timings."""

from __future__ import annotations

import json
import math
import tarfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Config
from .cost import fixed_grid, work
from .statistics import table2
from .sweep import estimate
from .tables import delta_choice, machine_of, runs_frame


def load_archive(path: str | Path) -> list[dict[str, Any]]:
    """The records in a ``.tar.gz`` archive of a records folder (a GPU machine's results, carried back whole), in name order."""
    with tarfile.open(path) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".json")), key=lambda m: m.name)
        return [json.loads(tar.extractfile(m).read()) for m in members]


def benchmarks(folder: str | Path) -> pd.DataFrame:
    """One row per benchmark record: what it measured (its ratio of times first), on which machine, at which commit."""
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        b = json.loads(path.read_text())
        res = b["results"]
        shown = {k: v for k, v in res.items() if k != "ratio" and isinstance(v, (int, float))}  # seconds end in _s
        scalars = ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.3g}{' s' * k.endswith('_s')}" for k, v in shown.items())
        rows.append({"benchmark": b["benchmark"], "machine": b["provenance"]["device"], "commit": str(b["provenance"]["git_commit"])[:10]})
        rows[-1] |= {"ratio of times": res.get("ratio"), "measured": scalars}
    return pd.DataFrame(rows)


def run_costs(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per machine, cell and ensemble size (runs trained as one): runs, mean seconds to initialize, mean minutes of
    training per run and milliseconds per optimizer step; ``run_list`` has every run."""
    t = run_list(records)
    if t.empty:
        return t
    per = t.groupby(["machine", "dataset", "ratio", "ensemble"])
    per = per.agg(runs=("wall_s", "size"), init_s=("init_s", "mean"), wall_s=("wall_s", "mean"), steps=("steps", "mean"))
    per = per.assign(minutes=per["wall_s"] / 60, ms_per_step=1000 * per["wall_s"] / per["steps"])
    return per.drop(columns=["wall_s", "steps"]).reset_index()


def run_list(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Every run's timings: its machine, commit, cell, role, ensemble size, optimizer steps, and init and wall seconds."""
    rows = []
    for r in records:
        c, s, k, made = r["config"], r["seconds"], r.get("ensemble", 1), r["provenance"]
        steps = -(-r["sizes"]["train"] // c["batch_size"]) * len(r["history"])
        rows.append({"machine": machine_of(made), "commit": str(made["git_commit"])[:10], "dataset": c["dataset"]})
        rows[-1] |= {"ratio": c["ratio"], "role": c["role"], "ensemble": k, "steps": steps, "init_s": s["init"]}
        rows[-1]["wall_s"] = s["train"] * k
    return pd.DataFrame(rows)


def gpu_grid(folder: str | Path) -> tuple[pd.DataFrame, str]:
    """The whole protocol timed on one GPU in one command (``benchmarks/grid.py``): per ensemble its wall time, and a summary line."""
    folder = Path(folder)
    gpu = load_archive(folder / "records.tar.gz")
    wall = int((folder / "ended").read_text()) - int((folder / "started").read_text())
    stage1 = json.loads((folder / "stages.json").read_text())["stage 1"]
    done = pd.DataFrame([{"role": r["config"]["role"]} | _cell(r) for r in gpu])
    tasks = done.groupby(["role", "dataset", "ratio"]).agg(runs=("k", "size"), wall_s=("wall", "max")).reset_index()
    line = f"{gpu[0]['provenance']['device']}: {len(gpu)} of {len(fixed_grid())} runs in {wall} s (stage 1: {stage1} s)"
    return tasks, line


def _cell(r: dict[str, Any]) -> dict[str, Any]:
    c = r["config"]
    return {
        "dataset": c["dataset"],
        "ratio": c["ratio"],
        "k": r["ensemble"],
        "wall": (r["seconds"]["init"] + r["seconds"]["train"]) * r["ensemble"],
    }


def rerun_beside(book: list[dict[str, Any]], other: list[dict[str, Any]], name: str) -> pd.DataFrame:
    """The delta each set of records chose and its fixed-schedule Table 2, side by side (an independent rerun against the book's)."""
    sides = []
    for label, records in (("book", book), (name, other)):
        df = runs_frame(records)
        chosen = delta_choice(df, "val_q34")
        t2 = table2(df, chosen, stop="fixed").set_index(["dataset", "ratio"])[["msra_mean", "seed_mean", "diff"]]
        sides.append(chosen.set_index(["dataset", "ratio"])[["delta"]].join(t2).add_suffix(f" ({label})"))
    return sides[0].join(sides[1], how="outer").reset_index()


def cpu_projection(records: list[dict[str, Any]], workers: int = 2) -> pd.DataFrame:
    """Hours the whole protocol (fixed schedule, no studies) would take on the CPU with ``workers``, per dataset and ratio,
    estimated from the single CPU runs as a sweep estimates its runs before training (``sweep.estimate``)."""
    cpu = [r for r in records if r["provenance"]["device"].startswith("cpu") and r.get("ensemble", 1) == 1]
    if not cpu:
        return pd.DataFrame()
    cells: dict[tuple[str, float], list[Config]] = {}
    for c in fixed_grid():
        cells.setdefault((c.dataset, c.ratio), []).append(c)
    rows = []
    for (dataset, ratio), runs in cells.items():
        cost = estimate(runs, cpu)
        hours = sum(cost.seconds) / workers / 3600 if not cost.unknown else math.nan
        rows.append({"dataset": dataset, "ratio": ratio, "runs": len(runs), "hours": hours})
    return pd.DataFrame(rows)


def arithmetic_floor(folder: str | Path) -> pd.DataFrame:
    """This CPU's peak rate (``roofline.py``) against the work of the grid, of the ensemble benchmark and of the seed init."""
    folder = Path(folder)
    rec = {
        n: json.loads((folder / f"{n}-cpu.json").read_text())
        for n in ("roofline", "ensemble", "init_speed")
        if (folder / f"{n}-cpu.json").exists()
    }
    if "roofline" not in rec:
        return pd.DataFrame()
    roof = rec["roofline"]["results"]
    peak, grid = roof["peak_gflops"], work(fixed_grid()) / 1e9
    rows = [
        ("peak rate (best probe)", f"{peak:.0f} GFLOP/s"),
        ("grid: work", f"{grid / 1e6:.2f} PFLOP"),
        ("grid: hours at the peak", f"{grid / peak / 3600:.1f} h"),
    ]
    if "ensemble" in rec:
        ens, a = rec["ensemble"]["results"], rec["ensemble"]["args"]
        gflop = work([Config(ratio=a["ratio"], init=a["init"], epochs=a["epochs"], seed=s) for s in range(a["seeds"])]) / 1e9
        for name, seconds in (("sequential runs", ens["sequential_s"]), ("ensemble", ens["ensemble_s"])):
            rows.append(
                (
                    f"ensemble benchmark, {name}",
                    f"{gflop / seconds:.0f} GFLOP/s ({seconds:.1f} s, {gflop / seconds / peak:.2f} of the peak)",
                )
            )
    rows.append(("seed init: operations / an epoch's", f"{roof['init_gflop'] / roof['epoch_gflop']:.3f}"))
    if "init_speed" in rec and "passes_s" in rec["init_speed"]["results"]:
        r = rec["init_speed"]["results"]
        rows.append(
            ("seed init: forward passes' time / an epoch's", f"{r['passes_s'] / r['epoch_s']:.3f} (all of the init: {r['ratio']:.3f})")
        )
    return pd.DataFrame(rows, columns=["", "value"])
