"""From run records to tables: one row per run (``runs_frame``), the runs each table reads, and the studies' tables.

Runs are selected by what they are for (``Config.role``: ``delta-grid``, ``table2``,
``study:<name>``, ``user``) and how they were trained (``Config.stop``), never by
incidental settings. Each function takes the frame ``runs_frame(records)`` and returns a
DataFrame the notebooks show as it is.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ..config import DEFAULTS
from ..data import SPECS
from .protocol import COMPARISON_CELLS, comparison_runs, full_set_runs, repaired_grid_runs, resnet_runs
from .runs import arm_label, best_deltas, final_records, paper_order, recorded_in, same_run

COLUMNS = ("dataset", "ratio", "init", "delta", "random", "selection", "zero_mean", "gate", "theta", "theta_mode", "epsilon", "radius")
COLUMNS += ("act_map", "model", "hidden", "conv_relu", "inputs", "grayscale", "lr", "batch_size", "epochs", "stop", "window", "patience")
COLUMNS += ("rtol", "atol", "score_epochs", "val_fraction", "seed", "role")


SCORES = {"q34": "Q3/4", "window_mean": "window mean", "last_acc": "last epoch"}  # a run's test accuracy, three ways


def _window(history: list[dict], start: int, end: int) -> dict[str, float]:
    """Test accuracy over the scoring window: its mean, at its last measured epoch (the robustness check's scores), and
    ``gain``, what a least-squares line gains over the window (a fraction; 0.005 is half a point)."""
    pts = [(h["epoch"], h["test_acc"]) for h in history if start <= h["epoch"] <= end and h.get("test_acc") is not None]
    e, a = np.array(pts, dtype=float).reshape(-1, 2).T
    gain = float(np.polyfit(e, a, 1)[0] * (end - start)) if len(pts) >= 2 else math.nan
    return {"window_mean": float(a.mean()) if len(a) else math.nan, "last_acc": float(a[-1]) if len(a) else math.nan, "gain": gain}


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run (``final_records``): its settings, Q3/4 (test and validation), convergence, divergence, losses, share of
    filters seeded."""
    rows = []
    for r in final_records(records):
        c, layers, (start, end) = r["config"], r.get("init_report") or [], r["scored"]
        losses = {h["epoch"]: h["train_loss"] for h in r["history"]}
        at, made = r["converged_at"], r.get("provenance", {})
        rows.append(
            {k: c.get(k, DEFAULTS[k]) for k in COLUMNS}
            | {"q34": r["q34"], "val_q34": r.get("val_q34", math.nan), "diverged": bool(r.get("diverged", False)), "arm": arm_label(c)}
            | _window(r["history"], start, end)
            | {"converged_at": at, "converged": at is not None and at < start}
            | {"loss_start": losses.get(start - 1, losses.get(start)), "loss_end": r["history"][-1]["train_loss"]}
            | {"seeded": sum(x["seeded"] for x in layers) / sum(x["filters"] for x in layers) if layers else math.nan}
            | {"images": r.get("sizes", {}).get("train", math.nan), "stopped": r["history"][-1]["epoch"]}
            | {"commit": str(made.get("git_commit") or "–")[:10], "device": made.get("device") or "–"}
        )
    measures = ("q34", "val_q34", "window_mean", "last_acc", "diverged", "arm", "converged_at", "converged", "gain", "loss_start")
    measures += ("loss_end", "seeded", "images", "stopped", "commit", "device")
    df = pd.DataFrame(rows, columns=[*COLUMNS, *measures])
    df.loc[df["diverged"], ["val_q34", *SCORES]] = math.nan  # a run that blew up has no score
    df["hidden"] = df["hidden"].map(lambda h: " ".join(map(str, h)))
    df.loc[df["init"] != "seed", "delta"] = math.nan  # delta belongs to the seed filters alone
    df["schedule"] = df["epochs"].map("{} epochs".format).where(df["stop"] == "fixed", "until converged")
    return df


def delta_choice(df: pd.DataFrame, by: str = "val_q34", arm: str = "seed", stop: str = "fixed") -> pd.DataFrame:
    """Per dataset and ratio, the delta of ``arm`` with the best mean ``by`` over the delta grid's runs trained with
    ``stop`` (``runs.best_deltas``). ``by="val_q34"`` is our choice; ``by="q34"`` the paper's (the best test accuracy),
    for comparison only."""
    best = best_deltas(df.to_dict("records"), by, arm, stop)
    rows = [{"dataset": d, "ratio": r, "delta": b["delta"], by: b["mean"]} for (d, r), b in sorted(best.items())]
    return pd.DataFrame(rows, columns=["dataset", "ratio", "delta", by])


CHECK_COLUMNS = ("dataset", "ratio", "delta", "val_q34", "delta_converged", "val_q34_converged", "margin", "check_sd", "check_runs")
CHECK_COLUMNS += ("check_size", "unconverged", "same", "differs")


def delta_check(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell, the delta the fixed-schedule grid chose beside the best of it and its neighbours on the grid, trained until
    converged with the grid's RNG seeds (mean validation Q3/4; ``margin`` over the grid's delta, ``check_sd`` the sd at the
    best). The same choice means the grid's schedule did not decide Table 2's delta. A cell is judged (``same``, and
    ``differs`` where the choices differ) once all its ``check_size`` runs are recorded and every one converged."""
    grid = runs_of(df, "delta-grid", stop=None)
    seed = grid[grid["arm"] == "seed"]
    rows = []
    for d, r, delta, val in delta_choice(df).itertuples(index=False):
        cell = seed[(seed["dataset"] == d) & (seed["ratio"] == r)]
        grid, until = cell[cell["stop"] == "fixed"], cell[cell["stop"] == "converged"]
        deltas = np.sort(grid["delta"].unique())
        i = int(np.argmin(np.abs(deltas - delta)))
        near, seeds = deltas[max(0, i - 1) : i + 2], grid.loc[np.isclose(grid["delta"], delta), "seed"].unique()
        runs = until[np.isclose(until["delta"].to_numpy()[:, None], near).any(1) & until["seed"].isin(seeds)]
        by_delta = runs.groupby("delta")["val_q34"].agg(["mean", "std"])
        means, sds = by_delta["mean"], by_delta["std"]
        best = means.idxmax() if len(means) else math.nan
        size, unconverged = len(near) * len(seeds), int((~runs["converged"]).sum())
        judged = len(runs) == size and unconverged == 0
        same = bool(np.isclose(best, delta)) if judged else pd.NA
        rows.append(
            {"dataset": d, "ratio": r, "delta": delta, "val_q34": val, "delta_converged": best, "val_q34_converged": means.get(best)}
            | {"margin": means.get(best, math.nan) - means.get(delta, math.nan), "check_sd": sds.get(best), "check_runs": len(runs)}
            | {"check_size": size, "unconverged": unconverged, "same": same, "differs": judged and not same}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS)).astype({"same": "boolean", "differs": bool})


def deltas_after_check(check: pd.DataFrame) -> pd.DataFrame:
    """Each cell's delta as the grid chose it (``delta_check``'s frame), replaced by the check's where the check chose another."""
    return check.assign(delta=check["delta"].where(~check["differs"], check["delta_converged"]))[["dataset", "ratio", "delta"]]


# what runs compared with each other must share: data, network, optimizer and schedule (not the init, not the RNG seed; not
# the cap of a run trained until converged, which only decides when to give up on it)
TRAINED_ALIKE = ["dataset", "ratio", "role", "model", "grayscale", "hidden", "conv_relu", "inputs", "lr", "batch_size", "schedule"]
TRAINED_ALIKE += ["window", "patience", "rtol", "atol", "score_epochs", "val_fraction"]


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Q3/4 per configuration (every setting but the RNG seed): runs, mean, sd, diverged and never-converged runs;
    only the settings that vary between the rows are shown."""
    keys = [*TRAINED_ALIKE, "arm", "delta"]
    agg = dict(runs=("q34", "size"), q34=("q34", "mean"), sd=("q34", "std"), diverged=("diverged", "sum"))
    t = df.assign(unconverged=~df["converged"]).groupby(keys, dropna=False).agg(**agg, unconverged=("unconverged", "sum")).reset_index()
    return varying(t, keys)


def varying(t: pd.DataFrame, settings: list[str]) -> pd.DataFrame:
    """``t`` without the ``settings`` columns that hold one value throughout (dataset, ratio and arm always stay)."""
    return t.drop(columns=[k for k in settings if k not in ("dataset", "ratio", "arm") and t[k].nunique(dropna=False) <= 1])


def coverage(configs: list[Any], records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per dataset and ratio, how many of ``configs`` (``Config`` objects) have a record among ``records``; a run trained
    until converged also counts when recorded with a larger cap (``protocol.extended``)."""
    is_recorded = recorded_in(records)
    rows = [{"dataset": c.dataset, "ratio": c.ratio, "role": c.role, "recorded": is_recorded(c)} for c in configs]
    t = pd.DataFrame(rows, columns=["dataset", "ratio", "role", "recorded"])
    t = t.groupby(["dataset", "ratio", "role"]).agg(runs=("recorded", "size"), recorded=("recorded", "sum")).reset_index()
    return t.sort_values("dataset", key=lambda d: d.map(paper_order), kind="stable", ignore_index=True)  # the paper's order


def runs_of(df: pd.DataFrame, role: str | tuple[str, ...] = "table2", stop: str | None = "converged") -> pd.DataFrame:
    """The runs recorded for ``role`` (or any of several) and trained with ``stop`` (``None``: either way)."""
    return df[df["role"].isin([role] if isinstance(role, str) else role) & (stop is None or df["stop"] == stop)]


def paper_grid(df: pd.DataFrame) -> pd.DataFrame:
    """The delta grid's runs (fixed schedule) of the paper's reading and of MSRA."""
    grid = runs_of(df, "delta-grid", "fixed")
    return grid[grid["arm"].isin(["seed", "msra"])]


def runs_at_deltas(
    df: pd.DataFrame, deltas: pd.DataFrame, role: str = "table2", stop: str = "converged", arm_name: str = "seed"
) -> pd.DataFrame:
    """The runs of ``role`` trained with ``stop``: MSRA's, and ``arm_name``'s at each cell's chosen delta."""
    runs = runs_of(df, role, stop)
    return runs[_msra_or_at_delta(runs, deltas, arm_name)]


def _msra_or_at_delta(runs: pd.DataFrame, deltas: pd.DataFrame, arm_name: str = "seed") -> pd.Series:
    """MSRA runs, and ``arm_name``'s at its cell's chosen delta (``deltas`` as ``delta_choice`` gives them)."""
    chosen = deltas.set_index(["dataset", "ratio"])["delta"]
    at = np.array([chosen.get(k, np.nan) for k in zip(runs["dataset"], runs["ratio"])], dtype=float)
    return (runs["arm"] == "msra") | ((runs["arm"] == arm_name) & np.isclose(runs["delta"], at))


def convergence(df: pd.DataFrame, deltas: pd.DataFrame, role: str = "table2", stop: str = "converged") -> pd.DataFrame:
    """Per cell and arm (MSRA, the seed filters at the chosen delta): median convergence epoch, median training loss
    at the start and end of the scoring window, median accuracy gain over it, and the runs that had not converged by
    their scoring window (on the convergence protocol: within their cap; on the fixed schedule: before its last half)."""
    agg = dict(runs=("q34", "size"), median_epoch=("converged_at", "median"), median_loss_start=("loss_start", "median"))
    agg |= dict(median_loss_end=("loss_end", "median"), median_gain=("gain", "median"), late=("converged", lambda s: int((~s).sum())))
    return runs_at_deltas(df, deltas, role, stop).groupby(["dataset", "ratio", "arm"]).agg(**agg).reset_index()


GAIN = 0.005  # a scored run whose test accuracy still rises by half a point or more over its window had not finished


def still_rising(df: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """The Table-2 runs (convergence protocol, both arms at the chosen delta) whose test accuracy gained ``GAIN`` or more
    over their scoring window (a least-squares line), with the epoch they converged at (none: they reached the cap)."""
    runs = runs_at_deltas(df, deltas)
    return runs.loc[runs["gain"] >= GAIN, ["dataset", "ratio", "arm", "delta", "seed", "converged_at", "stopped", "gain"]]


CHANCE = 0.9  # a share of chance level's training loss, ln(classes): a loss above it is a plateau near chance


def at_chance(df: pd.DataFrame) -> pd.DataFrame:
    """The runs trained until converged that met the criterion on a plateau near chance level: their training loss at the
    scoring window's start above ``CHANCE`` times ln(classes), the loss of a uniform guess."""
    chance = df["dataset"].map(lambda d: math.log(SPECS[d].classes))
    return df[(df["stop"] == "converged") & df["converged"] & (df["loss_start"] > CHANCE * chance)]


def extensions(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The runs trained until converged that were trained again with a larger cap (``protocol.extended``): both caps, the
    epoch the longer run converged at (none: it reached that cap too), whether both attempts ran on the same device with
    the same threads (a run repeats bit for bit only there) and whether it repeats the first attempt's training losses
    bit for bit over the first attempt's epochs."""
    attempts: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["config"].get("stop") == "converged":
            attempts.setdefault(same_run(r["config"]), []).append(r)
    rows = []
    for runs in (sorted(a, key=lambda r: r["config"]["epochs"]) for a in attempts.values() if len(a) > 1):
        first, last, c = runs[0], runs[-1], runs[-1]["config"]
        same = [h["train_loss"] for h in last["history"][: len(first["history"])]] == [h["train_loss"] for h in first["history"]]
        devices = {r.get("provenance", {}).get("device") for r in (first, last)}  # None: a record that does not say
        rows.append(
            {"dataset": c["dataset"], "ratio": c["ratio"], "arm": arm_label(c), "delta": c["delta"] if c["init"] == "seed" else math.nan}
            | {"seed": c["seed"], "role": c["role"]}
            | {"first_cap": first["config"]["epochs"], "cap": c["epochs"], "converged_at": last["converged_at"]}
            | {"same_device": None not in devices and len(devices) == 1, "identical": same}
        )
    columns = ["dataset", "ratio", "arm", "delta", "seed", "role", "first_cap", "cap", "converged_at", "same_device", "identical"]
    return pd.DataFrame(rows, columns=columns).sort_values(["role", "dataset", "ratio", "arm", "seed"], ignore_index=True)


def readings_table(df: pd.DataFrame, datasets: tuple[str, ...], ratio: float) -> pd.DataFrame:
    """The interpretation and sensitivity studies (fixed schedule): mean Q3/4, runs and share of filters seeded,
    per dataset, reading and delta; the studies reuse the fixed-schedule Table-2 runs where their settings coincide."""
    roles = ("study:interpretation", "study:sensitivity", "table2")
    runs = runs_of(df, roles, "fixed")
    runs = runs[np.isclose(runs["ratio"], ratio) & runs["dataset"].isin(datasets)]
    runs = runs.drop_duplicates(["dataset", "arm", "delta", "seed"])
    agg = dict(q34=("q34", "mean"), runs=("q34", "size"), seeded=("seeded", "mean"))
    return runs.groupby(["dataset", "arm", "delta"], dropna=False).agg(**agg).reset_index()


def schedule_table(df: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """The schedule study: each arm's long runs (``study:schedule``) beside its fixed-schedule Table-2 runs of the same RNG seeds."""
    long = runs_of(df, "study:schedule", stop=None)
    if long.empty:
        return pd.DataFrame()
    base = runs_of(df, "table2", "fixed")
    base = base[base["seed"].isin(long["seed"]) & base["dataset"].isin(long["dataset"]) & base["ratio"].isin(long["ratio"])]
    both = pd.concat([long, base])
    both = both[_msra_or_at_delta(both, deltas)]
    agg = dict(runs=("q34", "size"), q34=("q34", "mean"), loss_end=("loss_end", "median"))
    return both.groupby(["dataset", "ratio", "arm", "epochs"]).agg(**agg).reset_index()


PROVENANCE = ("git_commit", "machine", "device", "python", "torch", "torchvision", "numpy")


def machine_of(provenance: dict[str, Any]) -> str:
    """The machine a record names (CPU model and cores, or GPU); a record older than that names only its device."""
    if provenance.get("machine"):
        return provenance["machine"]
    cpu = re.match(r"cpu \((\S+), .*\)$", device := str(provenance.get("device", "–")))
    return f"an {cpu[1]} CPU (model not recorded)" if cpu else device


def machines(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Per machine (``machine_of``): its runs, the code commits they came from and the torch versions; ``provenance_list``
    has every run."""
    runs = provenance_list(records)
    if runs.empty:
        return runs
    runs["machine"] = [machine_of(r["provenance"]) for r in records]
    per = runs.groupby("machine").agg(runs=("git_commit", "size"), commits=("git_commit", "nunique"), torch=("torch", "unique"))
    return per.assign(torch=per["torch"].map(", ".join)).sort_values("runs", ascending=False).reset_index()


def provenance_list(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Every run's configuration beside its provenance (commit, machine, device, library versions), one row each."""
    keys = ("dataset", "ratio", "init", "delta", "seed", "role", "stop", "epochs")
    rows = [{k: r["config"].get(k) for k in keys} | {k: str(r["provenance"].get(k, "–")) for k in PROVENANCE} for r in records]
    return pd.DataFrame(rows)


def delta03(df: pd.DataFrame) -> pd.DataFrame:
    """The paper's collapse case, MNIST r = 10 %: the Table-2 arms beside delta = 0.3, per training protocol."""
    cell = runs_of(df, "table2", stop=None)
    cell = cell[(cell["dataset"] == "mnist") & np.isclose(cell["ratio"], 0.1) & cell["arm"].isin(["msra", "seed"])]
    agg = dict(runs=("q34", "size"), q34=("q34", "mean"), sd=("q34", "std"), lowest=("q34", "min"), diverged=("diverged", "sum"))
    return cell.groupby(["stop", "arm", "delta"], dropna=False).agg(**agg).reset_index()


PAPER_MSRA_MNIST = 0.9871  # the paper's MSRA baseline on MNIST at r = 10 % (its Table 2), the number the baseline study seeks


def baseline_table(df: pd.DataFrame) -> pd.DataFrame:
    """The baseline study: MSRA on MNIST until converged, per training-set size and Caffe setting (Table 2's MSRA runs of
    the same RNG seeds included): mean, sd, and whether it reaches the paper's 98.71 % (mean + 2 sd at least that)."""
    runs = runs_of(df, ("study:baseline", "table2"))
    runs = runs[(runs["arm"] == "msra") & (runs["dataset"] == "mnist")]
    study = runs["role"] == "study:baseline"
    runs = runs[study | runs["seed"].isin(runs.loc[study, "seed"])]  # and Table 2's runs of the study's RNG seeds
    runs = runs.assign(unconverged=~runs["converged"])
    scored = runs.assign(q34=runs["q34"].where(runs["converged"]))  # a run that never converged is counted, not scored
    agg = dict(runs=("q34", "count"), q34=("q34", "mean"), sd=("q34", "std"), unconverged=("unconverged", "sum"))
    t = scored.groupby(["images", "hidden", "conv_relu", "inputs"]).agg(**agg).reset_index()
    return t.assign(reaches=t["q34"] + 2 * t["sd"].fillna(0) >= PAPER_MSRA_MNIST)


def speed_scores(record: dict[str, Any], key: str = "track_acc") -> dict[str, float]:
    """A run's speed scores (``Config.track``): accuracy on the tracked test subset after epochs 1 and 5, and the first
    epoch at which it reaches 95 % of the run's own Q3/4; NaN where not tracked or never reached."""
    acc = {h["epoch"]: h[key] for h in record["history"] if key in h}
    first = next((e for e in sorted(acc) if acc[e] >= 0.95 * record["q34"]), math.nan)
    return {"acc1": acc.get(1, math.nan), "acc5": acc.get(5, math.nan), "to95": first}


def with_speed(records: list[dict[str, Any]]) -> pd.DataFrame:
    """``runs_frame(records)`` with each run's speed scores, seconds to initialize and mean seconds per epoch."""
    records = final_records(records)
    extra = [speed_scores(r) | {"init_s": r["seconds"]["init"], "epoch_s": r["seconds"]["train"] / len(r["history"])} for r in records]
    return runs_frame(records).join(
        pd.DataFrame(extra, columns=["acc1", "acc5", "to95", "init_s", "epoch_s"])
    )  # frame's index: the record's


def comparison_coverage(records: list[dict]) -> pd.DataFrame:
    """Per cell, the runs recorded of those planned now by the studies beyond the paper: the comparison, the ResNet study,
    the whole-training-set study, and the repaired reading's δ grid, which must be complete before that reading's arm is
    planned (``coverage``'s table, its roles in words)."""
    grids = [c for d, r in COMPARISON_CELLS for c in repaired_grid_runs(d, r)]
    t = coverage(comparison_runs(records) + resnet_runs(records) + full_set_runs(records) + grids, records)
    names = {"delta-grid": "repaired reading's δ grid", "study:comparison": "LeNet-5 comparison", "study:resnet": "ResNet-8"}
    names["study:full-set"] = "whole training set"
    return t.assign(role=t["role"].map(names)).rename(columns={"role": "study"})


def runs_of_full_set(df: pd.DataFrame) -> pd.DataFrame:
    """The whole-training-set study's runs (r = 1, until converged, LeNet-5's own settings), with the baseline study's MSRA
    runs on all 60,000 MNIST images, which are the same runs, as one role."""
    runs = runs_of(df, ("study:full-set", "study:baseline"))
    runs = runs[np.isclose(runs["ratio"], 1.0) & (runs["hidden"] == "120 84") & runs["conv_relu"] & (runs["inputs"] == "unit")]
    runs = runs[runs["model"] == "lenet5"]
    return runs.assign(role="study:full-set")


def delta_margins(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell of the delta grid (validation Q3/4, the paper's reading): the chosen delta and the runner-up, the margin
    between their means and its standard error over the RNG seeds they share, MSRA's mean, and the best delta's lead over
    MSRA (``below_msra``: the seed filters' mean is below MSRA's at every delta of the grid)."""
    grid = paper_grid(df).dropna(subset=["val_q34"])
    rows = []
    for (dataset, ratio), cell in grid.groupby(["dataset", "ratio"]):
        by = cell[cell["arm"] == "seed"].pivot_table("val_q34", "seed", "delta")
        if by.shape[1] < 2:
            continue
        best, second = by.mean().sort_values(ascending=False, kind="stable").index[:2]
        d, msra = (by[best] - by[second]).dropna(), cell.loc[cell["arm"] == "msra", "val_q34"].mean()
        rows.append({"dataset": dataset, "ratio": ratio, "delta": best, "runner_up": second, "margin": d.mean()})
        rows[-1] |= {"margin_se": d.std() / math.sqrt(len(d)), "msra": msra, "lead": by.mean().max() - msra}
        rows[-1]["below_msra"] = bool((by.mean() < msra).all())
    return pd.DataFrame(rows, columns=["dataset", "ratio", "delta", "runner_up", "margin", "margin_se", "msra", "lead", "below_msra"])
