"""From run records to tables: the choice of delta, Table 2, convergence, the studies and the paper's claims.

Runs are selected by what they are for (``Config.role``: ``delta-grid``, ``table2``,
``study:<name>``, ``user``) and how they were trained (``Config.stop``), never by
incidental settings. Every function takes the frame ``frame(records)`` and returns a
DataFrame the notebooks show as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .config import DEFAULTS, SEED_FIELDS, Config, largest_caps, same_run
from .data import SPECS
from .protocol import REPAIRED_ARM
from .stats import converged_at, window_start

ALPHA = 0.05
COLUMNS = ("dataset", "ratio", "init", "delta", "random", "selection", "zero_mean", "gate", "theta", "theta_mode", "epsilon", "radius")
COLUMNS += ("act_map", "model", "hidden", "conv_relu", "inputs", "grayscale", "lr", "batch_size", "epochs", "stop", "window", "patience")
COLUMNS += ("rtol", "atol", "score_epochs", "val_fraction", "seed", "role")


def scored(record: dict[str, Any]) -> tuple[int, int]:
    """A record's scoring window (first, last epoch); records from before the convergence protocol scored the last ``window``."""
    if "scored" in record:
        return tuple(record["scored"])
    c = record["config"]
    return window_start(c["epochs"], c["window"]), c["epochs"]


def _converged_at(record: dict[str, Any]) -> int | None:
    """The epoch the convergence criterion was met: recorded, or for older records computed from the losses."""
    if "converged_at" in record:
        return record["converged_at"]
    c = {k: record["config"].get(k, DEFAULTS[k]) for k in ("patience", "rtol", "atol")}
    return converged_at([h["train_loss"] for h in record["history"]], c["patience"], c["rtol"], c["atol"])


def _slope(history: list[dict], start: int, end: int) -> float:
    """Test accuracy gained over the scoring window by a least-squares line (fraction; 0.005 is half a point)."""
    pts = [(h["epoch"], h["test_acc"]) for h in history if start <= h["epoch"] <= end and h.get("test_acc") is not None]
    if len(pts) < 2:
        return math.nan
    e, a = np.array(pts, dtype=float).T
    return float(np.polyfit(e, a, 1)[0] * (end - start))


def longest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with each run trained until converged kept once, by its record of the largest cap: a run that reached the
    cap and was trained again with a larger one (``protocol.extended``) is the same run for its first epochs."""
    caps, last = largest_caps(records), {}
    for i, r in enumerate(records):
        key = same_run(r["config"]) if r["config"].get("stop") == "converged" else i
        if key == i or r["config"]["epochs"] == caps[key]:
            last[key] = i  # the last record at the largest cap
    return [records[i] for i in sorted(last.values())]


def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run (``longest``): its settings, Q3/4 (test and validation), convergence, divergence, losses, share of
    filters seeded."""
    rows = []
    for r in longest(records):
        c, layers, (start, end) = r["config"], r.get("init_report") or [], scored(r)
        losses = {h["epoch"]: h["train_loss"] for h in r["history"]}
        at, made = _converged_at(r), r.get("provenance", {})
        rows.append(
            {k: c.get(k, DEFAULTS[k]) for k in COLUMNS}
            | {"q34": r["q34"], "val_q34": r.get("val_q34", math.nan), "diverged": bool(r.get("diverged", False)), "arm": arm(c)}
            | {"converged_at": at, "converged": at is not None and at < start, "gain": _slope(r["history"], start, end)}
            | {"loss_start": losses.get(start - 1, losses.get(start)), "loss_end": r["history"][-1]["train_loss"]}
            | {"seeded": sum(x["seeded"] for x in layers) / sum(x["filters"] for x in layers) if layers else math.nan}
            | {"images": r.get("sizes", {}).get("train", math.nan), "stopped": r["history"][-1]["epoch"]}
            | {"commit": str(made.get("git_commit") or "–")[:10], "device": made.get("device") or "–"}
        )
    measures = ("q34", "val_q34", "diverged", "arm", "converged_at", "converged", "gain", "loss_start", "loss_end", "seeded", "images")
    measures += ("stopped", "commit", "device")
    df = pd.DataFrame(rows, columns=[*COLUMNS, *measures])
    df["hidden"] = df["hidden"].map(lambda h: " ".join(map(str, h)))
    df.loc[df["init"] != "seed", "delta"] = math.nan  # delta belongs to the seed filters alone
    df["schedule"] = df["epochs"].map("{} epochs".format).where(df["stop"] == "fixed", "until converged")
    return df


def arm(c: dict[str, Any]) -> str:
    """A short label: ``msra``, ``seed`` (the paper's reading) or the settings that differ, e.g. ``seed[he]``, ``seed[theta=0.5]``."""
    if c["init"] != "seed":
        return c["init"]
    tags = []
    for name in SEED_FIELDS:
        value = c.get(name, DEFAULTS[name])
        if name == "delta" or value == DEFAULTS[name]:
            continue
        tags.append({"random": "he", "selection": "diverse", "zero_mean": "zero-mean"}.get(name, f"{name}={value}"))
    return "seed" + (f"[{','.join(tags)}]" if tags else "")


READINGS = {"seed": "the paper's seed filters", REPAIRED_ARM: "the repaired seed filters"}  # arm labels, in words
READINGS |= {"kmeans": "k-means", "pca": "PCA", "lsuv": "LSUV", "msra": "MSRA"}


def grid_runs(df: pd.DataFrame, by: str = "val_q34", arm_name: str = "seed", stop: str = "fixed") -> pd.DataFrame:
    """The delta grid's runs of ``arm_name`` trained with ``stop`` that have a ``by`` score: what ``choose_delta`` chooses from."""
    return df[(df["role"] == "delta-grid") & (df["stop"] == stop) & (df["arm"] == arm_name) & df[by].notna()]


def choose_delta(df: pd.DataFrame, by: str = "val_q34", arm_name: str = "seed", stop: str = "fixed") -> pd.DataFrame:
    """Per dataset and ratio, the delta of ``arm_name`` with the best mean ``by`` over the delta grid's runs trained
    with ``stop``. ``by="val_q34"`` is our choice; ``by="q34"`` the paper's (the best test accuracy), for comparison only."""
    runs = grid_runs(df, by, arm_name, stop)
    if runs.empty:
        return pd.DataFrame(columns=["dataset", "ratio", "delta", by])
    means = runs.groupby(["dataset", "ratio", "delta"], as_index=False)[by].mean()
    return means.loc[means.groupby(["dataset", "ratio"])[by].idxmax()].reset_index(drop=True)


CHECK_COLUMNS = ("dataset", "ratio", "delta", "val_q34", "delta_converged", "val_q34_converged", "margin", "check_sd", "check_runs")
CHECK_COLUMNS += ("check_size", "unconverged", "same", "differs")


def delta_check(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell, the delta the fixed-schedule grid chose beside the best of it and its neighbours on the grid, trained until
    converged with the grid's RNG seeds (mean validation Q3/4; ``margin`` over the grid's delta, ``check_sd`` the sd at the
    best). The same choice means the grid's schedule did not decide Table 2's delta. A cell is judged (``same``, and
    ``differs`` where the choices differ) once all its ``check_size`` runs are recorded and every one converged."""
    seed = df[(df["role"] == "delta-grid") & (df["arm"] == "seed")]
    rows = []
    for d, r, delta, val in choose_delta(df).itertuples(index=False):
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


def checked_deltas(check: pd.DataFrame) -> pd.DataFrame:
    """Each cell's delta as the grid chose it (``delta_check``'s frame), replaced by the check's where the check chose another."""
    return check.assign(delta=check["delta"].where(~check["differs"], check["delta_converged"]))[["dataset", "ratio", "delta"]]


def compare(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """Welch's t-test of Q3/4 (b against a) and a paired t-test over the RNG seeds both have."""
    from scipy.stats import ttest_rel
    from statsmodels.stats.weightstats import ttest_ind

    out = {"p_welch": math.nan, "p_paired": math.nan}
    if len(a) >= 2 and len(b) >= 2 and (a["q34"].std() > 0 or b["q34"].std() > 0):
        out["p_welch"] = float(ttest_ind(b["q34"], a["q34"], usevar="unequal")[1])
    pairs = a.set_index("seed")["q34"].to_frame("a").join(b.set_index("seed")["q34"].to_frame("b"), how="inner")
    if len(pairs) >= 2 and (pairs["b"] - pairs["a"]).std() > 0:
        out["p_paired"] = float(ttest_rel(pairs["b"], pairs["a"])[1])
    return out


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
    have, caps = {(c.key(), c.seed) for c in (Config.from_dict(r["config"]) for r in records)}, largest_caps(records)

    def recorded(c: Config) -> bool:
        return (c.key(), c.seed) in have or (c.stop == "converged" and caps.get(same_run(c.to_dict()), 0) >= c.epochs)

    rows = [{"dataset": c.dataset, "ratio": c.ratio, "role": c.role, "recorded": recorded(c)} for c in configs]
    t = pd.DataFrame(rows, columns=["dataset", "ratio", "role", "recorded"])
    return t.groupby(["dataset", "ratio", "role"]).agg(runs=("recorded", "size"), recorded=("recorded", "sum")).reset_index()


def missing(t: pd.DataFrame) -> str:
    """The cells of a ``coverage`` table with runs not yet recorded, in words (recorded of planned); "none" when complete."""
    words = []
    for (d, r), rows in t[t["recorded"] < t["runs"]].groupby(["dataset", "ratio"]):
        said = [f"{what} {k} of {n}" for _, _, what, n, k in rows.itertuples(index=False)]
        words.append(f"{d}, r = {100 * r:g} %: {', '.join(said)} runs")
    return "; ".join(words) or "none"


def runs_of(df: pd.DataFrame, role: str = "table2", stop: str = "converged") -> pd.DataFrame:
    """The runs recorded for ``role`` and trained with ``stop``."""
    return df[(df["role"] == role) & (df["stop"] == stop)]


def _versus(msra: pd.DataFrame, other: pd.DataFrame, converged_only: bool) -> dict[str, Any]:
    """One arm's runs against MSRA's: sizes, means, sds, difference, divergences, unconverged runs (left out when
    ``converged_only``) and the two t-tests."""
    unconverged, diverged = int((~msra["converged"]).sum() + (~other["converged"]).sum()), int(other["diverged"].sum())
    if converged_only:
        msra, other = msra[msra["converged"]], other[other["converged"]]
    stats = {"n_msra": len(msra), "msra_mean": msra["q34"].mean(), "msra_sd": msra["q34"].std(), "n_arm": len(other)}
    stats |= {"arm_mean": other["q34"].mean(), "arm_sd": other["q34"].std(), "diff": other["q34"].mean() - msra["q34"].mean()}
    return stats | {"diverged": diverged, "unconverged_both": unconverged, **compare(msra, other)}


def _holm(t: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values of Welch's test over the table's rows, and significance at ``ALPHA`` by them (NA: untested)."""
    from statsmodels.stats.multitest import multipletests

    t["p_holm"] = math.nan
    ok = t["p_welch"].notna()
    if ok.any():
        t.loc[ok, "p_holm"] = multipletests(t.loc[ok, "p_welch"], method="holm")[1]
    t["significant"] = (t["p_holm"] < ALPHA).astype("boolean").mask(t["p_holm"].isna())
    return t


def against_msra(df: pd.DataFrame, converged_only: bool = False) -> pd.DataFrame:
    """Every arm (and delta) against the MSRA runs trained alike (``TRAINED_ALIKE``): any folder of records."""
    rows = []
    for key, cell in df.groupby(TRAINED_ALIKE, dropna=False, sort=True):
        msra = cell[cell["arm"] == "msra"]
        for (name, delta), other in cell[cell["arm"] != "msra"].groupby(["arm", "delta"], dropna=False):
            if len(msra) and len(other):
                rows.append(dict(zip(TRAINED_ALIKE, key)) | {"arm": name, "delta": delta} | _versus(msra, other, converged_only))
    columns = [*TRAINED_ALIKE, "arm", "delta", "n_msra", "msra_mean", "msra_sd", "n_arm", "arm_mean", "arm_sd", "diff", "diverged"]
    return _holm(pd.DataFrame(rows, columns=[*columns, "unconverged_both", "p_welch", "p_paired"]))


T2_COLUMNS = ("dataset", "ratio", "delta", "n_msra", "msra_mean", "msra_sd", "n_seed", "seed_mean", "seed_sd", "diff", "diverged")
T2_COLUMNS += ("unconverged_both", "p_welch", "p_paired")


def table2(df: pd.DataFrame, deltas: pd.DataFrame, arm_name: str = "seed", role: str = "table2", stop: str = "converged") -> pd.DataFrame:
    """The paper's Table 2: per dataset and ratio, MSRA against ``arm_name`` at the chosen delta, over the runs of
    ``role`` trained with ``stop``. With stop=converged a run that never converged is counted (``unconverged_both``), not scored."""
    t = against_msra(chosen_runs(df, deltas, role, stop, arm_name), converged_only=stop == "converged")
    t = t.rename(columns={"n_arm": "n_seed", "arm_mean": "seed_mean", "arm_sd": "seed_sd"})[list(T2_COLUMNS)]
    return _holm(t.sort_values(["dataset", "ratio"]).reset_index(drop=True))


def convergence(df: pd.DataFrame, deltas: pd.DataFrame, role: str = "table2", stop: str = "converged") -> pd.DataFrame:
    """Per cell and arm (MSRA, the seed filters at the chosen delta): median convergence epoch, median training loss
    at the start and end of the scoring window, median accuracy gain over it, and the runs that had not converged by
    their scoring window (on the convergence protocol: within their cap; on the fixed schedule: before its last half)."""
    agg = dict(runs=("q34", "size"), converged_at=("converged_at", "median"), loss_start=("loss_start", "median"))
    agg |= dict(loss_end=("loss_end", "median"), gain=("gain", "median"), late=("converged", lambda s: int((~s).sum())))
    return chosen_runs(df, deltas, role, stop).groupby(["dataset", "ratio", "arm"]).agg(**agg).reset_index()


GAIN = 0.005  # a scored run whose test accuracy still rises by half a point or more over its window had not finished


def still_rising(df: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """The Table-2 runs (convergence protocol, both arms at the chosen delta) whose test accuracy gained ``GAIN`` or more
    over their scoring window (a least-squares line), with the epoch they converged at (none: they reached the cap)."""
    runs = chosen_runs(df, deltas)
    return runs.loc[runs["gain"] >= GAIN, ["dataset", "ratio", "arm", "delta", "seed", "converged_at", "stopped", "gain"]]


CHANCE = 0.9  # a share of chance level's training loss, ln(classes): a loss above it is a plateau near chance


def at_chance(df: pd.DataFrame) -> pd.DataFrame:
    """The runs trained until converged that met the criterion on a plateau near chance level: their training loss at the
    scoring window's start above ``CHANCE`` times ln(classes), the loss of a uniform guess."""
    chance = df["dataset"].map(lambda d: math.log(SPECS[d].classes))
    return df[(df["stop"] == "converged") & df["converged"] & (df["loss_start"] > CHANCE * chance)]


def origins(runs: pd.DataFrame) -> str:
    """Which commits and devices made ``runs``, with how many runs each, in words (a table's provenance in one line)."""
    made = runs.groupby(["commit", "device"], dropna=False).size().sort_values(ascending=False)
    return "; ".join(f"{n} runs from commit {commit} on {device}" for (commit, device), n in made.items()) or "no runs"


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
            {"dataset": c["dataset"], "ratio": c["ratio"], "arm": arm(c), "delta": c["delta"] if c["init"] == "seed" else math.nan}
            | {"seed": c["seed"], "role": c["role"]}
            | {"first_cap": first["config"]["epochs"], "cap": c["epochs"], "converged_at": last["converged_at"]}
            | {"same_device": None not in devices and len(devices) == 1, "identical": same}
        )
    columns = ["dataset", "ratio", "arm", "delta", "seed", "role", "first_cap", "cap", "converged_at", "same_device", "identical"]
    return pd.DataFrame(rows, columns=columns).sort_values(["role", "dataset", "ratio", "arm", "seed"], ignore_index=True)


def _where(t: pd.DataFrame) -> str:
    """The runs of ``t`` counted per cell and arm (the seed filters' delta named), in words; "none" when there are none."""
    words = []
    for (d, r, a, x), n in t.groupby(["dataset", "ratio", "arm", "delta"], dropna=False).size().items():
        at = "" if math.isnan(x) else f" at δ = {x:g}"
        words.append(f"{d}, r = {100 * r:g} %, {READINGS.get(a, a)}{at}: {n} run{'' if n == 1 else 's'}")
    return "; ".join(words) or "none"


def extension_numbers(records: list[dict[str, Any]], score_epochs: int = DEFAULTS["score_epochs"]) -> dict[str, Any]:
    """``extensions`` for the book's prose: how many Table-2 runs were trained again and where, how many had met the
    criterion within the last ``score_epochs`` before the first cap (too late for a full scoring window), how many then
    converged, and how many repeat their first attempt bit for bit."""
    t = extensions(records)
    t = t[t["role"] == "table2"]
    late = t["converged_at"].between(t["first_cap"] - score_epochs + 1, t["first_cap"])
    out = {"extended_runs": len(t), "extended_where": _where(t), "extended_late": int(late.sum())}
    return out | {"extended_converged": int(t["converged_at"].notna().sum()), "extended_identical": int(t["identical"].sum())}


def chosen_runs(
    df: pd.DataFrame, deltas: pd.DataFrame, role: str = "table2", stop: str = "converged", arm_name: str = "seed"
) -> pd.DataFrame:
    """The runs of ``role`` trained with ``stop``: MSRA's, and ``arm_name``'s at each cell's chosen delta."""
    runs = runs_of(df, role, stop)
    return runs[_at_chosen(runs, deltas, arm_name)]


def _at_chosen(runs: pd.DataFrame, deltas: pd.DataFrame, arm_name: str = "seed") -> pd.Series:
    """MSRA runs, and ``arm_name``'s at its cell's chosen delta (``deltas`` as ``choose_delta`` gives them)."""
    chosen = deltas.set_index(["dataset", "ratio"])["delta"]
    at = np.array([chosen.get(k, np.nan) for k in zip(runs["dataset"], runs["ratio"])], dtype=float)
    return (runs["arm"] == "msra") | ((runs["arm"] == arm_name) & np.isclose(runs["delta"], at))


def study(df: pd.DataFrame, datasets: tuple[str, ...], ratio: float) -> pd.DataFrame:
    """The interpretation and sensitivity studies (fixed schedule): mean Q3/4, runs and share of filters seeded,
    per dataset, reading and delta; the studies reuse the fixed-schedule Table-2 runs where their settings coincide."""
    roles = ("study:interpretation", "study:sensitivity", "table2")
    runs = df[df["role"].isin(roles) & (df["stop"] == "fixed") & np.isclose(df["ratio"], ratio) & df["dataset"].isin(datasets)]
    runs = runs.drop_duplicates(["dataset", "arm", "delta", "seed"])
    agg = dict(q34=("q34", "mean"), runs=("q34", "size"), seeded=("seeded", "mean"))
    return runs.groupby(["dataset", "arm", "delta"], dropna=False).agg(**agg).reset_index()


def schedule(df: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """The schedule study: each arm's long runs (``study:schedule``) beside its fixed-schedule Table-2 runs of the same RNG seeds."""
    long = df[df["role"] == "study:schedule"]
    if long.empty:
        return pd.DataFrame()
    base = runs_of(df, "table2", "fixed")
    base = base[base["seed"].isin(long["seed"]) & base["dataset"].isin(long["dataset"]) & base["ratio"].isin(long["ratio"])]
    both = pd.concat([long, base])
    both = both[_at_chosen(both, deltas)]
    agg = dict(runs=("q34", "size"), q34=("q34", "mean"), loss_end=("loss_end", "median"))
    return both.groupby(["dataset", "ratio", "arm", "epochs"]).agg(**agg).reset_index()


PROVENANCE = ("git_commit", "machine", "device", "python", "torch", "torchvision", "numpy")


def machines(records: list[dict[str, Any]]) -> pd.DataFrame:
    """How many runs each commit, machine (CPU model and cores, GPU; "–" where older records did not say) and set of
    library versions produced."""
    p = pd.DataFrame([{k: str(r["provenance"].get(k, "–"))[: 10 if k == "git_commit" else None] for k in PROVENANCE} for r in records])
    return p.value_counts().rename("runs").reset_index() if len(p) else p


PAPER_MEAN, CONTROL_MEAN = "seed_mean (paper's, N(0, 1))", "seed_mean (control, He's scale)"


def control_arm(df: pd.DataFrame, deltas: pd.DataFrame, fixed: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The control arm (``seed[he]``, fixed schedule) per Table-2 cell beside the paper's reading (``fixed``: the fixed
    schedule's ``table2``) and MSRA, and in words the cells where the control's mean is above the paper's reading's."""
    t = table2(df, deltas, arm_name="seed[he]", stop="fixed").rename(columns={"seed_mean": CONTROL_MEAN, "diff": "control − MSRA"})
    if t.empty:
        return t, "no cell yet (no control run recorded)"
    t = t.join(fixed.set_index(["dataset", "ratio"])["seed_mean"].rename(PAPER_MEAN), on=["dataset", "ratio"])
    above = t[t[CONTROL_MEAN] > t[PAPER_MEAN]]
    cells = "; ".join(f"{d}, r = {100 * r:g} %" for d, r in above[["dataset", "ratio"]].itertuples(index=False))
    shown = ["dataset", "ratio", "delta", "msra_mean", PAPER_MEAN, CONTROL_MEAN, "control − MSRA", "p_welch"]
    return t[shown], f"{len(above)} of {len(t)} cells ({cells or 'none'})"


def delta03(df: pd.DataFrame) -> pd.DataFrame:
    """The paper's collapse case, MNIST r = 10 %: the Table-2 arms beside delta = 0.3, per training protocol."""
    cell = df[(df["role"] == "table2") & (df["dataset"] == "mnist") & np.isclose(df["ratio"], 0.1) & df["arm"].isin(["msra", "seed"])]
    agg = dict(runs=("q34", "size"), q34=("q34", "mean"), sd=("q34", "std"), lowest=("q34", "min"), diverged=("diverged", "sum"))
    return cell.groupby(["stop", "arm", "delta"], dropna=False).agg(**agg).reset_index()


PAPER_MSRA_MNIST = 0.9871  # the paper's MSRA baseline on MNIST at r = 10 % (its Table 2), the number the baseline study seeks


def baseline(df: pd.DataFrame) -> pd.DataFrame:
    """The baseline study: MSRA on MNIST until converged, per training-set size and Caffe setting (Table 2's MSRA runs of
    the same RNG seeds included): mean, sd, and whether it reaches the paper's 98.71 % (mean + 2 sd at least that)."""
    runs = df[(df["arm"] == "msra") & (df["dataset"] == "mnist") & (df["stop"] == "converged")]
    runs = runs[
        (runs["role"] == "study:baseline")
        | ((runs["role"] == "table2") & runs["seed"].isin(runs.loc[runs["role"] == "study:baseline", "seed"]))
    ].assign(unconverged=lambda t: ~t["converged"])
    scored = runs.assign(q34=runs["q34"].where(runs["converged"]))  # a run that never converged is counted, not scored
    agg = dict(runs=("q34", "count"), q34=("q34", "mean"), sd=("q34", "std"), unconverged=("unconverged", "sum"))
    t = scored.groupby(["images", "hidden", "conv_relu", "inputs"]).agg(**agg).reset_index()
    return t.assign(reaches=t["q34"] + 2 * t["sd"].fillna(0) >= PAPER_MSRA_MNIST)


Judge = Callable[[pd.DataFrame, pd.DataFrame, str], tuple[str, str]]  # (Table 2, all runs, its stop) -> (verdict, evidence)


def _cells(rule: Callable[[pd.DataFrame], pd.Series], want_significant: bool) -> Judge:
    """A claim about some of Table 2's cells: significant differences (Holm-adjusted) there, or none."""

    def judge(t2: pd.DataFrame, _df: pd.DataFrame, _stop: str) -> tuple[str, str]:
        sub = t2[rule(t2)] if not t2.empty else t2
        if sub.empty:
            return "not run", "no such cell recorded"
        sig = sub[sub["p_holm"] < ALPHA]
        seed_wins, msra_wins = int((sig["diff"] > 0).sum()), int((sig["diff"] < 0).sum())
        evidence = f"{len(sub)} cells: significant for the seed filters in {seed_wins}, for MSRA in {msra_wins} (Holm-adjusted)"
        ok = seed_wins == len(sub) if want_significant else seed_wins + msra_wins == 0
        return ("reproduced" if ok else "not reproduced"), evidence

    return judge


def _most(t2: pd.DataFrame, _df: pd.DataFrame, _stop: str) -> tuple[str, str]:
    if t2.empty:
        return "not run", "no cell has both arms recorded"
    wins = int((t2["diff"] > 0).sum())
    return ("reproduced" if wins > len(t2) / 2 else "not reproduced"), f"higher mean for the seed filters in {wins} of {len(t2)} cells"


def _delta03(_t2: pd.DataFrame, df: pd.DataFrame, stop: str) -> tuple[str, str]:
    cell = df[(df["role"] == "table2") & (df["stop"] == stop) & (df["dataset"] == "mnist") & np.isclose(df["ratio"], 0.1)]
    low, msra = cell[(cell["arm"] == "seed") & np.isclose(cell["delta"], 0.3)], cell[cell["arm"] == "msra"]
    if low.empty or msra.empty:
        return "not run", "no MNIST r = 10 % Table-2 runs at delta = 0.3"
    m, b = low["q34"].mean(), msra["q34"].mean()
    return ("reproduced" if m < 0.5 else "not reproduced"), f"{100 * m:.2f} % (n = {len(low)}) against MSRA's {100 * b:.2f} %"


CLAIMS: tuple[tuple[str, Judge], ...] = (
    ("The proposed method beats MSRA on mean accuracy in most settings.", _most),
    ("No significant difference at r = 1 %.", _cells(lambda t: np.isclose(t["ratio"], 0.01), False)),
    ("No significant difference on CIFAR-100.", _cells(lambda t: t["dataset"] == "cifar100", False)),
    (
        "A significant gain under the other conditions (every cell but r = 1 % and CIFAR-100).",
        _cells(lambda t: ~np.isclose(t["ratio"], 0.01) & (t["dataset"] != "cifar100"), True),
    ),
    (
        "A clear, significant gain on CIFAR-10 (at r = 5 and 10 %).",
        _cells(lambda t: (t["dataset"] == "cifar10") & ~np.isclose(t["ratio"], 0.01), True),
    ),
    ("MNIST, r = 10 %, delta = 0.3 collapses training: 20.31 % against MSRA's 98.71 %.", _delta03),
)


def claims(t2: pd.DataFrame, df: pd.DataFrame, stop: str = "converged") -> pd.DataFrame:
    """Each claim of the paper's section 5 beside what Table 2 (trained with ``stop``) shows: reproduced, not reproduced or not run."""
    rows = []
    for text, judge in CLAIMS:
        verdict, evidence = judge(t2, df, stop)
        rows.append({"claim": text, "this edition": evidence, "verdict": verdict})
    return pd.DataFrame(rows)


HEADERS = {
    "dataset": "dataset", "ratio": "r", "delta": "δ", "arm": "arm", "n_msra": "n MSRA", "msra_mean": "MSRA mean", "msra_sd": "MSRA sd",
    "n_seed": "n seed filters", "seed_mean": "seed-filter mean", "seed_sd": "seed-filter sd", "diff": "difference to MSRA",
    "p_welch": "p (Welch)", "unconverged_both": "not converged (both arms)",
    "p_paired": "p (paired)", "p_holm": "p (Holm)", "significant": "significant", "unconverged": "not converged",
    "q34": "Q3/4", "val_q34": "val Q3/4", "converged_at": "converged at epoch", "loss_start": "loss at window start",
    "loss_end": "loss at the end", "gain": "accuracy gain over the window", "seeded": "filters seeded", "runs": "runs",
    "git_commit": "commit", "device": "device", "stop": "training", "sd": "sd", "lowest": "lowest", "images": "training images",
    "conv_relu": "ReLU after convs", "inputs": "inputs", "reaches": "mean + 2 sd ≥ 98.71 %", "delta_converged": "δ (until converged)",
    "val_q34_converged": "val Q3/4 (until converged)", "same": "same δ",
    "first_cap": "first cap", "cap": "cap", "identical": "first epochs identical",
    "same_device": "same device and threads", "margin": "its margin over the grid's δ",
    "check_runs": "check runs", "check_size": "check runs planned", "check_sd": "sd at it (until converged)",
    "stopped": "last epoch", "seed": "RNG seed",
    "n_arm": "n arm", "arm_mean": "arm mean", "arm_sd": "arm sd", "ci_low": "95 % CI low", "ci_high": "95 % CI high",
    "tracked": "tracked runs", "acc1": "acc. after 1 epoch", "acc5": "acc. after 5 epochs", "to95": "epochs to 95 %", "init_s": "init (s)",
    "epoch_s": "epoch (s)", "late": "not converged by the window",
}  # fmt: skip
PERCENT = ("msra_mean", "msra_sd", "seed_mean", "seed_sd", "arm_sd", "diff", "q34", "val_q34", "gain", "seeded", "sd", "lowest", "ci_low")
PERCENT += ("ci_high", "acc1", "acc5", "val_q34_converged", "margin", "check_sd")


def _percent(points: float) -> str:
    """Points to two decimals, where one that rounds to zero shows as 0.00 %, never -0.00 %."""
    return f"{round(points, 2) + 0.0:.2f} %"


def readable(t: pd.DataFrame) -> pd.io.formats.style.Styler:
    """A table as the book shows it: readable headers, accuracies (named in ``PERCENT``, or ending in mean, Q3/4, ...)
    in percent, other numbers to three digits, yes/no for truth values, no index. A column named with a suffix, such as
    ``msra_mean (book)``, gets its name's header and format: ``MSRA mean (book)``, in percent."""
    base = {c: str(c).partition(" (") for c in t.columns}
    name = {c: HEADERS.get(b, b) + (f" ({rest}" if rest else "") for c, (b, _, rest) in base.items()}
    percent = [c for c, (b, _, _) in base.items() if b in PERCENT or b.endswith(("mean", "Q3/4", "at it", "− MSRA"))]
    formats = {name[c]: _percent if c in percent else "{:.3g}" for c in t.columns if pd.api.types.is_float_dtype(t[c])}
    formats |= {name[c]: lambda r: f"{100 * r:.3g} %" for c in t.columns if base[c][0] == "ratio"}  # 5,600 MNIST images: 9.33 %
    formats |= {name[c]: lambda b: "yes" if b else "no" for c in t.columns if pd.api.types.infer_dtype(t[c], skipna=True) == "boolean"}
    shown = t.assign(**{c: 100 * t[c] for c in percent}).rename(columns=name)
    return shown.style.hide(axis="index").format(formats, na_rep="–")


def headline(df: pd.DataFrame, deltas: pd.DataFrame, planned: int = 0) -> dict[str, Any]:
    """The book's abstract in numbers: which Table 2 it rests on, claims reproduced, the smallest and largest differences;
    the convergence protocol's cells so far, those MSRA wins, how many times MSRA's epochs the seed filters take to
    converge (median over cells), the runs of each arm that reached the cap unconverged (and the seed filters' cells);
    the comparison's best initializer (``best_init``, over the cells with ``planned`` runs recorded)."""
    converged = table2(df, deltas)
    which = "convergence protocol" if len(converged) == len(deltas) and len(converged) else "fixed schedule"
    t2 = converged if which == "convergence protocol" else table2(df, deltas, stop="fixed")
    verdicts = claims(t2, df, "converged" if which == "convergence protocol" else "fixed")["verdict"]
    out: dict[str, Any] = {"table2_protocol": which, "table2_cells": len(t2), "claims_total": len(verdicts)}
    out["claims_reproduced"] = int((verdicts == "reproduced").sum())
    out["cells_msra_better"] = int(((t2["p_holm"] < ALPHA) & (t2["diff"] < 0)).sum())
    for end in ("min", "max"):
        row = t2.loc[getattr(t2["diff"].abs(), f"idx{end}")()] if len(t2) else None
        out[f"diff_{end}"] = float(100 * row["diff"]) if row is not None else math.nan
        out[f"diff_{end}_cell"] = f"{row['dataset']}, r = {100 * row['ratio']:g} %" if row is not None else "no cell"
    speed = convergence(df, deltas)
    epochs = speed.pivot_table(index=["dataset", "ratio"], columns="arm", values="converged_at")
    out["converged_cells"] = len(converged)
    out["converged_msra_better"] = int(((converged["p_holm"] < ALPHA) & (converged["diff"] < 0)).sum())
    out["converged_later"] = float((epochs["seed"] / epochs["msra"]).median()) if {"seed", "msra"} <= set(epochs) else math.nan
    out |= {f"unconverged_{a}": int(speed.loc[speed["arm"] == a, "late"].sum()) for a in ("msra", "seed")}
    capped = speed[(speed["late"] > 0) & (speed["arm"] == "seed")][["dataset", "ratio", "late", "runs"]]
    where = [f"{d}, r = {100 * r:g} % ({n} of {k})" for d, r, n, k in capped.itertuples(index=False)]
    out["unconverged_seed_where"] = "; ".join(where) or "none"
    runs, rising = chosen_runs(df, deltas), still_rising(df, deltas)
    out |= {"window_runs": len(runs), "window_flat": int((runs["gain"] < GAIN).sum()), "window_rising": len(rising)}
    out |= {"rising_converged": int(rising["converged_at"].notna().sum()), "rising_capped": int(rising["converged_at"].isna().sum())}
    plateau, converged = at_chance(df), int((df["converged"] & (df["stop"] == "converged")).sum())
    out |= {"plateau_runs": len(plateau), "converged_runs": converged, "plateau_where": _where(plateau)}
    check = delta_check(df)
    judged = check[check["same"].notna()]
    out |= {"delta_cells": len(check), "delta_checked": len(judged), "delta_same": int(judged["same"].sum())}
    out["delta_differs"], out["delta_unjudged"] = _differs(df, check), _unjudged(check)
    base = baseline(df)
    reach = []
    for n, head, relu, inputs, q in base.loc[base["reaches"], ["images", "hidden", "conv_relu", "inputs", "q34"]].itertuples(index=False):
        caffe = [f"{head}-unit head"] * (head != "120 84") + ["no conv ReLU"] * (not relu) + ["standardized inputs"] * (inputs != "unit")
        reach.append(f"{n:,} training images{', ' + ', '.join(caffe) if caffe else ''} ({100 * q:.2f} %)")
    out["baseline_reaching"] = "; ".join(reach) or "none"
    mnist10 = t2[(t2["dataset"] == "mnist") & np.isclose(t2["ratio"], 0.1)]["msra_mean"]
    out["msra_mnist10"] = float(100 * mnist10.iloc[0]) if len(mnist10) else math.nan
    return out | {"best_init": best_init(df, planned)}


def _differs(df: pd.DataFrame, check: pd.DataFrame) -> str:
    """Where the delta grid's check (``delta_check``'s frame) chose another delta, in words: both deltas, the margin and
    its spread, and the difference to MSRA of Table 2's runs at both deltas where the check's are recorded."""
    if not check["differs"].any():
        return "none"
    grid_deltas = check[["dataset", "ratio", "delta"]]
    at_grid, at_check = (table2(df, d).set_index(["dataset", "ratio"]) for d in (grid_deltas, checked_deltas(check)))
    words = []
    for c in check[check["differs"]].itertuples():
        words.append(f"{c.dataset}, r = {100 * c.ratio:g} %: δ = {c.delta:g} on the grid, {c.delta_converged:g} until converged, by ")
        words[-1] += f"{100 * c.margin:.2f} points of validation Q3/4 (its sd over the RNG seeds: {100 * c.check_sd:.2f})"
        if (key := (c.dataset, c.ratio)) in at_check.index:
            row = at_check.loc[key]
            grid = f"; at the grid's δ = {c.delta:g}: {100 * at_grid.loc[key, 'diff']:+.2f}" if key in at_grid.index else ""
            words[-1] += f", and Table 2's runs at δ = {c.delta_converged:g} score {100 * row['diff']:+.2f} points against MSRA "
            words[-1] += f"(Holm p = {row['p_holm']:.2g}{grid})"
    return "; ".join(words)


def _unjudged(check: pd.DataFrame) -> str:
    """The cells the delta grid's check has not judged (``delta_check``'s frame), in words: why, and what its runs choose."""
    words = []
    for c in check[check["same"].isna()].itertuples():
        why = [f"{c.check_runs} of {c.check_size} runs recorded"] * (c.check_runs < c.check_size)
        why += [f"{c.unconverged} of {c.check_size} runs never converged within their cap"] * (c.unconverged > 0)
        same = np.isclose(c.delta_converged, c.delta)
        chose = f"the grid's δ, {c.delta:g}" if same else f"δ = {c.delta_converged:g} (the grid's: {c.delta:g})"
        chose = f", and its runs choose {chose}" if c.check_runs else ""
        words.append(f"{c.dataset}, r = {100 * c.ratio:g} %: {' and '.join(why)}{chose}")
    return "; ".join(words) or "none"


def best_init(df: pd.DataFrame | None, planned: int = 0) -> str:
    """The comparison study's initializer (the paper's reading aside) with the highest mean difference to MSRA (Table 2's,
    the same cells), in words with the ratios of those cells (None: no records); a cell where an initializer has fewer
    than ``planned`` runs recorded is still being recorded and left out, as ``verdicts`` does."""
    if df is None:
        return "not yet measured (no comparison run is recorded)"
    study = runs_of(df, "study:comparison")[lambda t: ~t["arm"].isin(["msra", "seed"])]  # their Q3/4 are Table 2's (``comparison``)
    study = study[study.groupby(["dataset", "ratio", "arm"])["q34"].transform("size") >= planned]
    runs = pd.concat([study, runs_of(df)[lambda t: t["arm"] == "msra"]]).assign(role="study:comparison")
    t = against_msra(runs, converged_only=True)
    per = t.groupby("arm")["diff"].agg(["mean", "count"])
    if per.empty:
        return "not yet measured (no comparison run is recorded)"
    best = per["mean"].idxmax()
    (mean, n), name = per.loc[best], READINGS.get(best, best)
    ratios = " and ".join(f"{100 * r:g} %" for r in sorted(t.loc[t["arm"] == best, "ratio"].unique()))
    return f"{name} ({100 * mean:+.2f} points of Q3/4, the mean of its differences in {n:g} cell{'' if n == 1 else 's'}, r = {ratios})"


def verdicts(table: pd.DataFrame | None, planned: int = 0) -> str:
    """Per initializer of a ``comparison`` table (None: none), its cells better than, worse than, not different from MSRA, or
    untested; a cell with fewer than ``planned`` runs of the initializer recorded is still being recorded, not judged."""
    if table is None:
        return "not yet measured (no run recorded)"
    words = []
    for name, rows in table[table["arm"] != "msra"].groupby("arm"):
        partial = rows["n"] + rows["unconverged"] < planned
        tested = rows["p_holm"].notna() & ~partial  # a Welch test needs 2 converged runs per arm
        sig = rows["significant"].fillna(False) & ~partial
        better, worse = int((sig & (rows["diff"] > 0)).sum()), int((sig & (rows["diff"] < 0)).sum())
        counts = {"better": better, "worse": worse, "no significant difference": int(tested.sum()) - better - worse}
        counts["not tested (fewer than 2 converged runs)"] = int((~tested & ~partial).sum())
        counts[f"still being recorded (fewer than {planned} runs)"] = int(partial.sum())
        said = ", ".join(f"{what} in {k}" for what, k in counts.items() if k)
        words.append(f"{READINGS.get(name, name)}: {said} of {len(rows)} cell{'' if len(rows) == 1 else 's'}")
    return "; ".join(words) or "not yet measured (no run recorded)"


def speed_words(table: pd.DataFrame | None, arm_name: str = "seed") -> str:
    """Per cell of one model's ``comparison`` table, ``arm_name``'s median epochs to 95 % of its Q3/4 against MSRA's, in words."""
    cells = table.pivot_table("to95", ["dataset", "ratio"], "arm") if table is not None and len(table) else pd.DataFrame()
    words = [f"{d}, r = {100 * r:g} %: {row[arm_name]:g} epochs against {row['msra']:g}" for (d, r), row in cells.iterrows()
             if {arm_name, "msra"} <= set(row.dropna().index)]  # fmt: skip
    return "; ".join(words) or "not yet measured (no tracked run of both is recorded)"


def speed(record: dict[str, Any], key: str = "track_acc") -> dict[str, float]:
    """A run's speed scores (``Config.track``): accuracy on the tracked test subset after epochs 1 and 5, and the first
    epoch at which it reaches 95 % of the run's own Q3/4; NaN where not tracked or never reached."""
    acc = {h["epoch"]: h[key] for h in record["history"] if key in h}
    first = next((e for e in sorted(acc) if acc[e] >= 0.95 * record["q34"]), math.nan)
    return {"acc1": acc.get(1, math.nan), "acc5": acc.get(5, math.nan), "to95": first}


def with_speed(records: list[dict[str, Any]]) -> pd.DataFrame:
    """``frame(records)`` with each run's speed scores, seconds to initialize and mean seconds per epoch."""
    records = longest(records)
    extra = [speed(r) | {"init_s": r["seconds"]["init"], "epoch_s": r["seconds"]["train"] / len(r["history"])} for r in records]
    return frame(records).join(pd.DataFrame(extra, columns=["acc1", "acc5", "to95", "init_s", "epoch_s"]))  # frame's index: the record's


def comparison(data: pd.DataFrame | list[dict[str, Any]], deltas: pd.DataFrame, role: str = "study:comparison") -> pd.DataFrame:
    """Per model, cell and initializer of ``role``: Q3/4 of the converged runs (mean, sd), its difference to MSRA with a 95 %
    Welch interval, Welch, paired and Holm p (Holm over every difference in the table), then over the role's runs (accuracy
    tracked every epoch; ``tracked``: how many): accuracy after 1 and 5 epochs, median epochs to 95 % of Q3/4 (of those
    that converged: an unconverged run's Q3/4 is no score), seconds to initialize and per epoch. On LeNet-5, MSRA's and
    the paper's reading's Q3/4 are Table 2's (at ``deltas``), their speed the role's own tracked runs of those arms.
    ``data``: records, or ``with_speed(records)``."""
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    df = with_speed(data) if isinstance(data, list) else data
    t2, rows = chosen_runs(df, deltas), []
    for (model, dataset, ratio), cell in runs_of(df, role).groupby(["model", "dataset", "ratio"]):
        from_t2 = t2[(t2["dataset"] == dataset) & np.isclose(t2["ratio"], ratio) & (model == "lenet5")]
        scored = pd.concat([from_t2, cell[~cell["arm"].isin(from_t2["arm"])]])  # Q3/4: Table 2's where it has the arm
        msra = scored[(scored["arm"] == "msra") & scored["converged"]]
        for name in sorted(set(scored["arm"])):
            runs, arm = scored[scored["arm"] == name], cell[cell["arm"] == name]  # Q3/4 from runs, speed from arm
            done, ci, p = runs[runs["converged"]], (math.nan, math.nan), dict.fromkeys(("p_welch", "p_paired"), math.nan)
            diff = done["q34"].mean() - msra["q34"].mean() if name != "msra" else math.nan  # MSRA's row: its own reference
            if name != "msra" and len(done) >= 2 and len(msra) >= 2:
                ci = CompareMeans(DescrStatsW(done["q34"]), DescrStatsW(msra["q34"])).tconfint_diff(usevar="unequal")
                p = compare(msra, done)
            rows.append(
                {"model": model, "dataset": dataset, "ratio": ratio, "arm": name, "delta": runs["delta"].mean(), "n": len(done)}
                | {"unconverged": len(runs) - len(done), "q34": done["q34"].mean(), "sd": done["q34"].std(), "diff": diff}
                | {"ci_low": ci[0], "ci_high": ci[1], **p, "tracked": len(arm), "acc1": arm["acc1"].mean(), "acc5": arm["acc5"].mean()}
                | {"to95": arm.loc[arm["converged"], "to95"].median(), "init_s": arm["init_s"].mean(), "epoch_s": arm["epoch_s"].mean()}
            )  # fmt: skip
    return _holm(pd.DataFrame(rows, columns=COMPARISON_COLUMNS))


COMPARISON_COLUMNS = ("model", "dataset", "ratio", "arm", "delta", "n", "unconverged", "q34", "sd", "diff", "ci_low", "ci_high")
COMPARISON_COLUMNS += ("p_welch", "p_paired", "tracked", "acc1", "acc5", "to95", "init_s", "epoch_s")
# the book shows a ``comparison`` table as two: its accuracies and tests, then its speed and seconds
ACCURACY = ("dataset", "ratio", "arm", "delta", "n", "unconverged", "q34", "sd", "diff", "ci_low", "ci_high", "p_welch", "p_paired")
ACCURACY += ("p_holm", "significant")
SPEED = ("dataset", "ratio", "arm", "tracked", "acc1", "acc5", "to95", "init_s", "epoch_s")


def delta_words(table: pd.DataFrame | None, arm_name: str = REPAIRED_ARM) -> str:
    """Per cell of a ``comparison`` table, the delta ``arm_name`` ran at (the repaired reading's by default), in words."""
    rows = table[table["arm"] == arm_name] if table is not None else pd.DataFrame(columns=["dataset", "ratio", "delta"])
    words = [f"δ = {x:g} in {d}, r = {100 * r:g} %" for d, r, x in rows[["dataset", "ratio", "delta"]].itertuples(index=False)]
    return "; ".join(words) or "no δ yet (no run of it recorded)"
