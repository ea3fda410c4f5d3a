"""The book's sentences: what the tables say, in words a reader knows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..config import DEFAULTS
from .claims import claims
from .protocol import READINGS, REPAIRED_ARM
from .runs import cell_label, listed, paper_order
from .statistics import ALPHA, VERDICTS, against_msra, table2
from .styling import points, words
from .tables import (
    GAIN,
    at_chance,
    baseline_table,
    convergence,
    delta_check,
    deltas_after_check,
    extensions,
    runs_at_deltas,
    runs_of,
    still_rising,
)

VERDICT_WORDS = {
    "worse": "score below MSRA initialization",
    "better": "score above MSRA initialization",
    "inconclusive": "are inconclusive against MSRA",
}
VERDICT_WORDS |= {"equivalent": "are equivalent to MSRA (within ±1 point)", "untested": "are not yet tested"}


def _counted(n: int, whole: int) -> str:
    return "none" if n == 0 else "each" if n == whole > 1 else str(n)


def answer(t2: pd.DataFrame, which: str = "convergence protocol") -> str:
    """Table 2's verdicts in one sentence, the abstract's first: where the paper's seed filters stand against MSRA."""
    if t2.empty:
        return "No cell of Table 2 is recorded yet."
    n, counts = len(t2), t2["verdict"].fillna("untested").value_counts()
    said = [f"{VERDICT_WORDS[v]} in {_counted(k, n)}" for v, k in counts.items()]
    said = _joined([f"{said[0]} of the {n} cells of Table 2", *said[1:]])
    if n == 1:
        said = f"{VERDICT_WORDS[counts.index[0]]} in the one cell of Table 2 recorded"
    datasets = [words("dataset", d) for d in sorted(set(t2["dataset"]), key=paper_order)]
    ratios = [f"{100 * r:g}" for r in sorted(t2["ratio"].unique())]
    trained = "trained until converged" if which == "convergence protocol" else "trained on a fixed schedule"
    on = f"{_joined(ratios)} % of {_joined(datasets)}"
    return f"The paper's seed filters {said} (LeNet-5 {trained} on {on})."


def _joined(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def claims_said(verdicts: pd.Series) -> str:
    """The claims' verdicts in one sentence: how many reproduced, in part, and not yet judged."""
    n, done = len(verdicts), int((verdicts == "reproduced").sum())
    part, pending = int(verdicts.str.startswith("in part").sum()), int((verdicts == "not yet judged").sum())
    said = f"Of the paper's {n} claims, {'none' if done == 0 else 'all' if done == n else done} reproduced"
    said += f", {part} in part" if part else ""
    waiting = (
        f"; {pending} {'is' if pending == 1 else 'are'} not yet judged, {'its' if pending == 1 else 'their'} runs still being recorded"
    )
    return said + (waiting if pending else "") + "."


def headline(df: pd.DataFrame, deltas: pd.DataFrame, planned: int = 0) -> dict[str, Any]:
    """The book's abstract in numbers: which Table 2 it rests on, claims reproduced (the seventh's verdict and evidence
    apart), the smallest and largest differences;
    the convergence protocol's cells so far, those MSRA wins, how many times MSRA's epochs the seed filters take to
    converge (median over cells), the runs of each arm that reached the cap unconverged (and the seed filters' cells);
    the comparison's best initializer (``best_init``, over the cells with ``planned`` runs recorded)."""
    converged = table2(df, deltas)
    which = "convergence protocol" if len(converged) == len(deltas) and len(converged) else "fixed schedule"
    t2 = converged if which == "convergence protocol" else table2(df, deltas, stop="fixed")
    judged = claims(t2, df, "converged" if which == "convergence protocol" else "fixed")
    verdicts, (full_verdict, full_evidence) = judged["verdict"], judged.iloc[-1][["verdict", "this edition"]]  # the seventh
    out: dict[str, Any] = {"table2_protocol": which, "table2_cells": len(t2), "claims_total": len(verdicts)}
    out["claims_reproduced"] = int((verdicts == "reproduced").sum())
    out |= {"answer": answer(t2, which), "claims_said": claims_said(verdicts)}
    out |= {"full_set_verdict": full_verdict, "full_set_evidence": full_evidence}
    out["cells_msra_better"] = int(((t2["p_holm"] < ALPHA) & (t2["diff"] < 0)).sum())
    for end in ("min", "max"):
        row = t2.loc[getattr(t2["diff"].abs(), f"idx{end}")()] if len(t2) else None
        out[f"diff_{end}"] = float(100 * row["diff"]) if row is not None else math.nan
        out[f"diff_{end}_cell"] = cell_label(row["dataset"], row["ratio"]) if row is not None else "no cell"
    speed = convergence(df, deltas)
    epochs = speed.pivot_table(index=["dataset", "ratio"], columns="arm", values="median_epoch")
    out["converged_cells"] = len(converged)
    out["converged_msra_better"] = int(((converged["p_holm"] < ALPHA) & (converged["diff"] < 0)).sum())
    out["converged_later"] = float((epochs["seed"] / epochs["msra"]).median()) if {"seed", "msra"} <= set(epochs) else math.nan
    out |= {f"unconverged_{a}": int(speed.loc[speed["arm"] == a, "late"].sum()) for a in ("msra", "seed")}
    capped = speed[(speed["late"] > 0) & (speed["arm"] == "seed")][["dataset", "ratio", "late", "runs"]]
    where = [f"{cell_label(d, r)} ({n} of {k})" for d, r, n, k in capped.itertuples(index=False)]
    out["unconverged_seed_where"] = listed(where)
    runs, rising = runs_at_deltas(df, deltas), still_rising(df, deltas)
    out |= {"window_runs": len(runs), "window_flat": int((runs["gain"] < GAIN).sum()), "window_rising": len(rising)}
    out |= {"rising_converged": int(rising["converged_at"].notna().sum()), "rising_capped": int(rising["converged_at"].isna().sum())}
    out |= {"converged_said": _converged_said(out["converged_cells"], len(deltas), out["converged_msra_better"])}
    out["window_said"] = _window_said(out["window_runs"], out["window_flat"], out["rising_converged"], out["rising_capped"])
    plateau, converged = at_chance(df), int((df["converged"] & (df["stop"] == "converged")).sum())
    out |= {"plateau_runs": len(plateau), "converged_runs": converged, "plateau_where": _where(plateau)}
    check = delta_check(df)
    judged = check[check["same"].notna()]
    out |= {"delta_cells": len(check), "delta_checked": len(judged), "delta_same": int(judged["same"].sum())}
    out["delta_differs"], out["delta_unjudged"] = _differs(df, check), _unjudged(check)
    base = baseline_table(df)
    reach = []
    for n, head, relu, inputs, q in base.loc[base["reaches"], ["images", "hidden", "conv_relu", "inputs", "q34"]].itertuples(index=False):
        caffe = [f"{head}-unit head"] * (head != "120 84") + ["no conv ReLU"] * (not relu) + ["standardized inputs"] * (inputs != "unit")
        reach.append(f"{n:,} training images{', ' + ', '.join(caffe) if caffe else ''} ({100 * q:.2f} %)")
    out["baseline_reaching"] = listed(reach)
    mnist10 = t2[(t2["dataset"] == "mnist") & np.isclose(t2["ratio"], 0.1)]["msra_mean"]
    out["msra_mnist10"] = float(100 * mnist10.iloc[0]) if len(mnist10) else math.nan
    return out | {"best_init": best_init(df, planned)}


def _converged_said(cells: int, planned: int, msra_better: int) -> str:
    """Table 2 under the convergence protocol in one sentence: where MSRA is significantly higher, and its cells so far."""
    if not cells:
        return "Table 2 has no cell recorded under the convergence protocol yet."
    where = f"{_counted(msra_better, cells)} of Table 2's {cells} cells"
    so_far = "" if cells == planned else f" (it holds {cells} of its {planned} cells so far)"
    return f"MSRA has the significantly higher mean Q3/4 in {where}{so_far}."


def _window_said(runs: int, flat: int, rising_converged: int, rising_capped: int) -> str:
    """Whether the Table-2 runs had stopped learning in their scoring window, in one sentence."""
    rising = runs - flat
    if not rising:
        return f"Each of the {runs} Table-2 runs gained less than half a point of test accuracy over its scoring window."
    said = f"Of the {runs} Table-2 runs, {flat} gained less than half a point of test accuracy over their scoring window; "
    met = "had met the criterion (the training loss had flattened while test accuracy still rose)"
    if rising == 1:
        return said + f"the one that gained more {met if rising_converged else 'reached the cap'}."
    everyone = "both" if rising == 2 else f"all {rising}"
    if not rising_capped or not rising_converged:
        return said + f"{everyone} that gained more {met if rising_converged else 'reached the cap'}."
    return said + f"of the {rising} that gained more, {rising_converged} {met} and {rising_capped} reached the cap."


def _differs(df: pd.DataFrame, check: pd.DataFrame) -> str:
    """Where the delta grid's check (``delta_check``'s frame) chose another delta, in words: both deltas, the margin and
    its spread, and the difference to MSRA of Table 2's runs at both deltas where the check's are recorded."""
    if not check["differs"].any():
        return "none"
    grid_deltas = check[["dataset", "ratio", "delta"]]
    at_grid, at_check = (table2(df, d).set_index(["dataset", "ratio"]) for d in (grid_deltas, deltas_after_check(check)))
    words = []
    for c in check[check["differs"]].itertuples():
        words.append(f"{cell_label(c.dataset, c.ratio)}: δ = {c.delta:g} on the grid, {c.delta_converged:g} until converged, by ")
        words[-1] += f"{100 * c.margin:.2f} points of validation Q3/4 (its sd over the RNG seeds: {100 * c.check_sd:.2f})"
        if (key := (c.dataset, c.ratio)) in at_check.index:
            row = at_check.loc[key]
            grid = f"; at the grid's δ = {c.delta:g}: {points(at_grid.loc[key, 'diff'], True)}" if key in at_grid.index else ""
            words[-1] += f", and Table 2's runs at δ = {c.delta_converged:g} score {points(row['diff'], True)} points against MSRA "
            words[-1] += f"(Holm p = {row['p_holm']:.2g}{grid})"
    return listed(words)


def _unjudged(check: pd.DataFrame) -> str:
    """The cells the delta grid's check has not judged (``delta_check``'s frame), in words: why, and what its runs choose."""
    words = []
    for c in check[check["same"].isna()].itertuples():
        why = [f"{c.check_runs} of {c.check_size} runs recorded"] * (c.check_runs < c.check_size)
        why += [f"{c.unconverged} of {c.check_size} runs never converged within their cap"] * (c.unconverged > 0)
        same = np.isclose(c.delta_converged, c.delta)
        chose = f"the grid's δ, {c.delta:g}" if same else f"δ = {c.delta_converged:g} (the grid's: {c.delta:g})"
        chose = f", and its runs choose {chose}" if c.check_runs else ""
        words.append(f"{cell_label(c.dataset, c.ratio)}: {' and '.join(why)}{chose}")
    return listed(words)


def best_init(df: pd.DataFrame | None, planned: int = 0) -> str:
    """The comparison study's initializer (the paper's reading aside) with the highest mean difference to MSRA (Table 2's,
    the same cells), in words with the ratios of those cells (None: no records); a cell where an initializer has fewer
    than ``planned`` runs recorded is still being recorded and left out, as ``verdicts`` does."""
    if df is None:
        return "not yet measured (no comparison run is recorded)"
    study = runs_of(df, "study:comparison")[lambda t: ~t["arm"].isin(["msra", "seed"])]  # their Q3/4 are Table 2's (``comparison_table``)
    study = study[study.groupby(["dataset", "ratio", "arm"])["q34"].transform("size") >= planned]
    runs = pd.concat([study, runs_of(df)[lambda t: t["arm"] == "msra"]]).assign(role="study:comparison")
    t = against_msra(runs, converged_only=True)
    per = t.groupby("arm")["diff"].agg(["mean", "count"])
    if per.empty:
        return "not yet measured (no comparison run is recorded)"
    best = per["mean"].idxmax()
    (mean, n), name = per.loc[best], READINGS.get(best, best)
    ratios = " and ".join(f"{100 * r:g} %" for r in sorted(t.loc[t["arm"] == best, "ratio"].unique()))
    return f"{name} ({points(mean, True)} points of Q3/4, the mean of its differences in {n:g} cell{'' if n == 1 else 's'}, r = {ratios})"


def verdicts(table: pd.DataFrame | None, planned: int = 0) -> str:
    """Per initializer of a ``comparison_table`` (None: none), its cells by verdict (``statistics.VERDICTS``) or untested;
    a cell with fewer than ``planned`` runs of the initializer recorded is still being recorded, not judged."""
    if table is None:
        return "not yet measured (no run recorded)"
    words = []
    for name, rows in table[table["arm"] != "msra"].groupby("arm"):
        partial = rows["n"] + rows["unconverged"] < planned
        order = [*VERDICTS, "not tested (fewer than 2 converged runs)"]
        counts = rows.loc[~partial, "verdict"].fillna(order[-1]).value_counts().reindex(order, fill_value=0)
        counts[f"still being recorded (fewer than {planned} runs)"] = int(partial.sum())
        said = ", ".join(f"{what} in {k}" for what, k in counts.items() if k)
        words.append(f"{READINGS.get(name, name)}: {said} of {len(rows)} cell{'' if len(rows) == 1 else 's'}")
    return listed(words, "not yet measured (no run recorded)")


def speed_words(table: pd.DataFrame | None, arm_name: str = "seed") -> str:
    """Per cell of one model's ``comparison_table``, ``arm_name``'s median epochs to 95 % of its Q3/4 against MSRA's, in words."""
    cells = table.pivot_table("to95", ["dataset", "ratio"], "arm") if table is not None and len(table) else pd.DataFrame()
    words = [f"{cell_label(d, r)}: {row[arm_name]:g} epochs against {row['msra']:g}" for (d, r), row in cells.iterrows()
             if {arm_name, "msra"} <= set(row.dropna().index)]  # fmt: skip
    return listed(words, "not yet measured (no tracked run of both is recorded)")


def delta_words(table: pd.DataFrame | None, arm_name: str = REPAIRED_ARM) -> str:
    """Per cell of a ``comparison_table``, the delta ``arm_name`` ran at (the repaired reading's by default), in words."""
    rows = table[table["arm"] == arm_name] if table is not None else pd.DataFrame(columns=["dataset", "ratio", "delta"])
    words = [f"δ = {x:g} in {cell_label(d, r)}" for d, r, x in rows[["dataset", "ratio", "delta"]].itertuples(index=False)]
    return listed(words, "no δ yet (no run of it recorded)")


def _where(t: pd.DataFrame) -> str:
    """The runs of ``t`` counted per cell and arm (the seed filters' delta named), in words; "none" when there are none."""
    words = []
    for (d, r, a, x), n in t.groupby(["dataset", "ratio", "arm", "delta"], dropna=False).size().items():
        at = "" if math.isnan(x) else f" at δ = {x:g}"
        words.append(f"{cell_label(d, r)}, {READINGS.get(a, a)}{at}: {n} run{'' if n == 1 else 's'}")
    return listed(words)


def origins(runs: pd.DataFrame) -> str:
    """Which commits and devices made ``runs``, with how many runs each, in words (a table's provenance in one line)."""
    made = runs.groupby(["commit", "device"], dropna=False).size().sort_values(ascending=False)
    return listed((f"{n} runs from commit {commit} on {device}" for (commit, device), n in made.items()), "no runs")


def unrecorded_words(t: pd.DataFrame) -> str:
    """The cells of a ``coverage`` table with runs not yet recorded, in words (recorded of planned); "none" when complete."""
    words = []
    for (d, r), rows in t[t["recorded"] < t["runs"]].groupby(["dataset", "ratio"], sort=False):  # in the table's order
        said = [f"{what} {k} of {n}" for _, _, what, n, k in rows.itertuples(index=False)]
        words.append(f"{cell_label(d, r)}: {', '.join(said)} runs")
    return listed(words)


def still_recording(t: pd.DataFrame) -> str:
    """The cells of a ``coverage`` table still being recorded, as a sentence; empty once every planned run is recorded."""
    said = unrecorded_words(t)
    return "" if said == "none" else f"Still being recorded (runs recorded of planned): {said}."


def extension_numbers(records: list[dict[str, Any]], score_epochs: int = DEFAULTS["score_epochs"]) -> dict[str, Any]:
    """``extensions`` for the book's prose: how many Table-2 runs were trained again and where, how many had met the
    criterion within the last ``score_epochs`` before the first cap (too late for a full scoring window), how many then
    converged, and how many repeat their first attempt bit for bit."""
    t = extensions(records)
    t = t[t["role"] == "table2"]
    late = t["converged_at"].between(t["first_cap"] - score_epochs + 1, t["first_cap"])
    out = {"extended_runs": len(t), "extended_where": _where(t), "extended_late": int(late.sum())}
    return out | {"extended_converged": int(t["converged_at"].notna().sum()), "extended_identical": int(t["identical"].sum())}
