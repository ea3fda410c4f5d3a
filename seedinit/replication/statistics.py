"""Tests on the tables: each arm against MSRA (Welch, paired, two one-sided tests for equivalence, Holm), Table 2, the
comparison, its pooled estimates and how its verdicts hold under other scores."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ttest_rel
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind, ttost_ind

from .runs import cell_label, listed
from .tables import SCORES, TRAINED_ALIKE, runs_at_deltas, runs_of, runs_of_full_set, with_speed

ALPHA = 0.05
# The equivalence margin, fixed before any verdict was computed: one point of test accuracy, in every cell. A reader
# choosing an initializer for a small network like these would not switch for less (the method page says more).
MARGIN = 0.01
POWER = 0.8  # the power at which the smallest detectable difference is given
VERDICTS = ("better", "worse", "equivalent", "inconclusive")  # an arm against MSRA, by the Holm-adjusted tests


def difference_tests(a: pd.DataFrame, b: pd.DataFrame, score: str = "q34") -> dict[str, float]:
    """``score`` of runs ``b`` against runs ``a``: Welch's t-test and the 95 % interval of the difference, two one-sided
    Welch tests against ``MARGIN``, a paired t-test over the RNG seeds both have, and the smallest difference a Welch
    test at ``ALPHA`` detects with ``POWER`` at these sizes and the two arms' pooled sd (``mde``)."""
    out = dict.fromkeys(("p_welch", "ci_low", "ci_high", "p_tost", "p_paired", "mde"), math.nan)
    x, y = b[score].dropna(), a[score].dropna()
    if len(x) >= 2 and len(y) >= 2 and (x.std() > 0 or y.std() > 0):
        out["p_welch"] = float(ttest_ind(x, y, usevar="unequal")[1])
        out["ci_low"], out["ci_high"] = CompareMeans(DescrStatsW(x), DescrStatsW(y)).tconfint_diff(usevar="unequal")
        out["p_tost"] = float(ttost_ind(x, y, -MARGIN, MARGIN, usevar="unequal")[0])
        sd = math.sqrt((x.var() + y.var()) / 2)
        out["mde"] = sd * TTestIndPower().solve_power(nobs1=len(x), ratio=len(y) / len(x), alpha=ALPHA, power=POWER)
    pairs = a.set_index("seed")[score].to_frame("a").join(b.set_index("seed")[score].to_frame("b"), how="inner").dropna()
    if len(pairs) >= 2 and (pairs["b"] - pairs["a"]).std() > 0:
        out["p_paired"] = float(ttest_rel(pairs["b"], pairs["a"])[1])
    return out


def _versus(msra: pd.DataFrame, other: pd.DataFrame, converged_only: bool, score: str = "q34") -> dict[str, Any]:
    """One arm's runs against MSRA's: sizes, means, sds, difference, divergences (never scored), unconverged runs (left
    out when ``converged_only``) and ``difference_tests``."""
    diverged = int(msra["diverged"].sum() + other["diverged"].sum())
    msra, other = msra[~msra["diverged"]], other[~other["diverged"]]
    unconverged = int((~msra["converged"]).sum() + (~other["converged"]).sum())
    if converged_only:
        msra, other = msra[msra["converged"]], other[other["converged"]]
    a, b = msra[score], other[score]
    stats = {"n_msra": len(msra), "msra_mean": a.mean(), "msra_sd": a.std(), "n_arm": len(other), "arm_mean": b.mean()}
    stats |= {"arm_sd": b.std(), "diff": b.mean() - a.mean(), "diverged": diverged, "unconverged_both": unconverged}
    return stats | difference_tests(msra, other, score)


TESTS = ("diff", "ci_low", "ci_high", "p_welch", "p_paired", "p_tost", "mde")


def _holm(t: pd.DataFrame) -> pd.DataFrame:
    """Holm over the table's rows for Welch's, the paired and the equivalence tests; each row's verdict (``VERDICTS``, NA
    where untested): a difference by Welch's test first, else equivalence within ``MARGIN``, else inconclusive."""
    for p in ("p_welch", "p_paired", "p_tost"):
        held = f"{p}_holm".replace("p_welch_holm", "p_holm")
        t[held] = math.nan
        ok = t[p].notna()
        if ok.any():
            t.loc[ok, held] = multipletests(t.loc[ok, p], method="holm")[1]
    t["significant"] = (t["p_holm"] < ALPHA).astype("boolean").mask(t["p_holm"].isna())
    verdict = np.where(t["p_holm"] < ALPHA, np.where(t["diff"] > 0, "better", "worse"), "inconclusive")
    verdict = np.where((t["p_holm"] >= ALPHA) & (t["p_tost_holm"] < ALPHA), "equivalent", verdict)
    t["verdict"] = pd.Series(verdict, index=t.index, dtype=object).where(t["p_holm"].notna())
    return t


def against_msra(df: pd.DataFrame, converged_only: bool = False, score: str = "q34") -> pd.DataFrame:
    """Every arm (and delta) against the MSRA runs trained alike (``TRAINED_ALIKE``): any folder of records."""
    rows = []
    for key, cell in df.groupby(TRAINED_ALIKE, dropna=False, sort=True):
        msra = cell[cell["arm"] == "msra"]
        for (name, delta), other in cell[cell["arm"] != "msra"].groupby(["arm", "delta"], dropna=False):
            if len(msra) and len(other):
                rows.append(dict(zip(TRAINED_ALIKE, key)) | {"arm": name, "delta": delta} | _versus(msra, other, converged_only, score))
    columns = [*TRAINED_ALIKE, "arm", "delta", "n_msra", "msra_mean", "msra_sd", "n_arm", "arm_mean", "arm_sd", "diverged"]
    return _holm(pd.DataFrame(rows, columns=[*columns, "unconverged_both", *TESTS]))


T2_COLUMNS = ("dataset", "ratio", "delta", "n_msra", "msra_mean", "msra_sd", "n_seed", "seed_mean", "seed_sd", "diverged")
T2_COLUMNS += ("unconverged_both", *TESTS)
# the book shows Table 2 as two tables: the accuracies and verdicts, then the tests behind them
T2_SHOWN = ("dataset", "ratio", "delta", "n_msra", "msra_mean", "n_seed", "seed_mean", "diff", "ci_low", "ci_high", "verdict")
T2_TESTS = ("dataset", "ratio", "p_holm", "p_paired_holm", "p_tost_holm", "mde", "verdict")


def table2(
    df: pd.DataFrame, deltas: pd.DataFrame, arm_name: str = "seed", role: str = "table2", stop: str = "converged", score: str = "q34"
) -> pd.DataFrame:
    """The paper's Table 2: per dataset and ratio, MSRA against ``arm_name`` at the chosen delta, over the runs of ``role``
    trained with ``stop``. With stop=converged a run that never converged is counted (``unconverged_both``), not scored."""
    t = against_msra(runs_at_deltas(df, deltas, role, stop, arm_name), converged_only=stop == "converged", score=score)
    t = t.rename(columns={"n_arm": "n_seed", "arm_mean": "seed_mean", "arm_sd": "seed_sd"})[list(T2_COLUMNS)]
    return _holm(t.sort_values(["dataset", "ratio"]).reset_index(drop=True))


PAPER_MEAN, CONTROL_MEAN = "seed_mean (paper's, N(0, 1))", "seed_mean (control, He's scale)"


def control_arm(df: pd.DataFrame, deltas: pd.DataFrame, fixed: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The control arm (``seed[he]``, fixed schedule) per Table-2 cell beside the paper's reading (``fixed``: the fixed
    schedule's ``table2``) and MSRA, and in words the cells where the control's mean is above the paper's reading's."""
    t = table2(df, deltas, arm_name="seed[he]", stop="fixed").rename(columns={"seed_mean": CONTROL_MEAN, "diff": "control − MSRA"})
    if t.empty:
        return t, "no cell yet (no control run recorded)"
    t = t.join(fixed.set_index(["dataset", "ratio"])["seed_mean"].rename(PAPER_MEAN), on=["dataset", "ratio"])
    above = t[t[CONTROL_MEAN] > t[PAPER_MEAN]]
    cells = listed(cell_label(d, r) for d, r in above[["dataset", "ratio"]].itertuples(index=False))
    shown = ["dataset", "ratio", "delta", "msra_mean", PAPER_MEAN, CONTROL_MEAN, "control − MSRA", "p_welch"]
    return t[shown], f"{len(above)} of {len(t)} cells ({cells})"


def compared_runs(df: pd.DataFrame, deltas: pd.DataFrame, role: str = "study:comparison") -> pd.DataFrame:
    """The runs a comparison of ``role`` scores, per model and cell: on LeNet-5, Table 2's runs of MSRA and of the paper's
    reading at ``deltas``; the role's own runs of every other arm."""
    t2, parts = runs_at_deltas(df, deltas), [df.iloc[:0]]
    for (model, dataset, ratio), cell in runs_of(df, role).groupby(["model", "dataset", "ratio"]):
        from_t2 = t2[(t2["dataset"] == dataset) & np.isclose(t2["ratio"], ratio)] if model == "lenet5" else t2.iloc[:0]
        parts += [from_t2, cell[~cell["arm"].isin(from_t2["arm"])]]
    return pd.concat(parts)


def comparison_table(
    data: pd.DataFrame | list[dict[str, Any]], deltas: pd.DataFrame, role: str = "study:comparison", score: str = "q34"
) -> pd.DataFrame:
    """Per model, cell and initializer of ``role`` (``compared_runs``): ``score`` of the converged runs (mean, sd), its
    difference to MSRA with ``difference_tests`` (Holm over every difference in the table) and verdict; then over the role's
    own runs (accuracy tracked every epoch; ``tracked``: how many): accuracy after 1 and 5 epochs, median epochs to 95 %
    of Q3/4 (of those that converged: an unconverged run's Q3/4 is no score), seconds to initialize and per epoch.
    ``data``: records, or ``with_speed(records)``."""
    df = with_speed(data) if isinstance(data, list) else data
    timed, rows = runs_of(df, role), []
    for (model, dataset, ratio), cell in compared_runs(df, deltas, role).groupby(["model", "dataset", "ratio"]):
        msra = cell[cell["arm"] == "msra"]
        here = timed[(timed["model"] == model) & (timed["dataset"] == dataset) & np.isclose(timed["ratio"], ratio)]
        for name, runs in cell.groupby("arm"):
            v = _versus(msra, runs, True, score)
            if name == "msra":  # the reference: its own numbers, untested
                v |= dict.fromkeys(TESTS, math.nan)
            arm = here[here["arm"] == name]
            rows.append(
                {"model": model, "dataset": dataset, "ratio": ratio, "arm": name, "delta": runs["delta"].mean(), "n": v["n_arm"]}
                | {"unconverged": len(runs) - v["n_arm"], "q34": v["arm_mean"], "sd": v["arm_sd"]} | {k: v[k] for k in TESTS}
                | {"tracked": len(arm), "acc1": arm["acc1"].mean(), "acc5": arm["acc5"].mean()}
                | {"to95": arm.loc[arm["converged"], "to95"].median(), "init_s": arm["init_s"].mean(), "epoch_s": arm["epoch_s"].mean()}
            )  # fmt: skip
    return _holm(pd.DataFrame(rows, columns=COMPARISON_COLUMNS))


COMPARISON_COLUMNS = ("model", "dataset", "ratio", "arm", "delta", "n", "unconverged", "q34", "sd", *TESTS)
COMPARISON_COLUMNS += ("tracked", "acc1", "acc5", "to95", "init_s", "epoch_s")
# the book shows a ``comparison_table`` as three: its accuracies, its tests, and its speed and seconds
ACCURACY = ("dataset", "ratio", "arm", "delta", "n", "unconverged", "q34", "sd", "diff", "ci_low", "ci_high", "verdict")
TESTS_SHOWN = ("dataset", "ratio", "arm", "p_holm", "p_paired_holm", "p_tost_holm", "mde", "verdict")
SPEED = ("dataset", "ratio", "arm", "tracked", "acc1", "acc5", "to95", "init_s", "epoch_s")


def pooled(df: pd.DataFrame, deltas: pd.DataFrame, role: str = "study:comparison", score: str = "q34") -> pd.DataFrame:
    """Per initializer of the LeNet-5 comparison, its difference to MSRA over the cells: per cell the mean of the
    RNG-seed-paired differences of ``score`` (converged runs of both), combined by a random-effects model
    (Paule-Mandel, a t-interval over the cells); ``tau``: the sd of the true differences between cells, ``i2``: the
    share of the spread it explains."""
    runs = compared_runs(df, deltas, role)
    runs = runs[(runs["model"] == "lenet5") & runs["converged"] & ~runs["diverged"]]
    by_seed = runs.pivot_table(score, ["dataset", "ratio", "seed"], "arm")
    rows = []
    for name in (a for a in by_seed.columns if a != "msra"):
        d = (by_seed[name] - by_seed["msra"]).dropna().groupby(level=["dataset", "ratio"]).agg(["mean", "var", "count"])
        d = d[d["count"] >= 2]
        if len(d) < 2:
            continue
        fit = combine_effects(d["mean"].to_numpy(), (d["var"] / d["count"]).to_numpy(), method_re="iterated", use_t=True)
        (low, high), i2 = fit.conf_int(alpha=ALPHA, use_t=True)[1], max(0.0, fit.i2)  # [1]: the random-effects mean's
        rows.append({"arm": name, "cells": len(d), "diff": fit.mean_effect_re, "ci_low": low, "ci_high": high})
        rows[-1] |= {"tau": math.sqrt(fit.tau2), "i2": i2}
    return pd.DataFrame(rows, columns=["arm", "cells", "diff", "ci_low", "ci_high", "tau", "i2"])


def robustness(df: pd.DataFrame, deltas: pd.DataFrame, role: str = "study:comparison") -> pd.DataFrame:
    """Each verdict of the LeNet-5 comparison under each of ``SCORES`` (Q3/4, the scoring window's mean, its last epoch),
    beside the difference in Q3/4; ``depends``: the verdict is not the same under all three."""
    keys = ["dataset", "ratio", "arm"]
    parts = []
    for score in SCORES:
        t = comparison_table(df, deltas, role, score)
        t = t[(t["model"] == "lenet5") & (t["arm"] != "msra")].set_index(keys)
        parts.append(t[["diff", "verdict"] if score == "q34" else ["verdict"]].add_suffix(f" ({SCORES[score]})"))
    if not parts or parts[0].empty:
        return pd.DataFrame(columns=[*keys, "depends"])
    t = pd.concat(parts, axis=1).reset_index()
    return t.assign(depends=t.filter(like="verdict").nunique(axis=1) > 1)


def full_set_table(df: pd.DataFrame, planned: int = 0) -> pd.DataFrame:
    """The whole-training-set study: each initializer against MSRA per dataset (converged runs), with its verdict; where
    either arm has fewer than ``planned`` runs recorded, the verdict waits ("still being recorded")."""
    t = against_msra(runs_of_full_set(df), converged_only=True)
    short = (t["n_msra"] + t["unconverged_both"] < planned) | (t["n_arm"] < planned)
    return t.assign(verdict=t["verdict"].where(~short, "still being recorded")) if len(t) else t


def by_size(df: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """Each initializer's difference to MSRA per dataset and share of the training set: the LeNet-5 comparison's cells,
    Table 2's other ratios (the paper's reading), and the whole training set."""
    keep = ["dataset", "ratio", "arm", "diff", "ci_low", "ci_high", "verdict"]
    t = comparison_table(df, deltas)
    t = t[(t["model"] == "lenet5") & (t["arm"] != "msra")]
    t2 = table2(df, deltas).assign(arm="seed")
    parts = [t, t2[~t2["ratio"].isin(t["ratio"])], full_set_table(df)]
    return pd.concat([x[keep] for x in parts if len(x)], ignore_index=True) if any(len(x) for x in parts) else pd.DataFrame(columns=keep)
