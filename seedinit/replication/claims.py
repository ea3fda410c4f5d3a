"""The paper's claims, each judged on this edition's tables in the verdicts' four words (``statistics.VERDICTS``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..data import SPECS
from .protocol import FULL_SET_DATASETS, FULL_SET_JUDGED_ON, SEEDS
from .runs import listed
from .statistics import full_set_table
from .styling import points
from .tables import delta03, runs_of_full_set

Judge = Callable[[pd.DataFrame, pd.DataFrame, str], tuple[str, str]]  # (Table 2, all runs, its stop) -> (verdict, evidence)
WORDS = {"better": "seed filters better", "worse": "MSRA better", "equivalent": "equivalent", "inconclusive": "inconclusive"}


def said(verdicts: pd.Series) -> str:
    """Verdicts counted, in words: ``2 cells: MSRA better in 1, equivalent in 1``."""
    counts = verdicts.value_counts()
    return f"{len(verdicts)} cell{'' if len(verdicts) == 1 else 's'}: " + ", ".join(
        f"{WORDS[v]} in {counts[v]}" for v in WORDS if v in counts
    )


def no_difference(verdicts: pd.Series) -> str:
    """A claim of no difference: reproduced where every cell is shown equivalent; in part where no cell differs but
    equivalence is not shown everywhere; not reproduced where a cell differs."""
    if verdicts.isin(["better", "worse"]).any():
        return "not reproduced"
    return "reproduced" if (verdicts == "equivalent").all() else "in part: no difference found, equivalence not shown"


def _cells(rule: Callable[[pd.DataFrame], pd.Series], claim: str) -> Judge:
    """A claim about some of Table 2's cells: the seed filters better in each (``claim="better"``), or no difference."""

    def judge(t2: pd.DataFrame, _df: pd.DataFrame, _stop: str) -> tuple[str, str]:
        sub = t2[rule(t2)] if not t2.empty else t2
        if sub.empty:
            return "not run", "no such cell recorded"
        verdicts = sub["verdict"].fillna("inconclusive")
        if claim == "better":
            return ("reproduced" if (verdicts == "better").all() else "not reproduced"), said(verdicts)
        return no_difference(verdicts), said(verdicts)

    return judge


def _most(t2: pd.DataFrame, _df: pd.DataFrame, _stop: str) -> tuple[str, str]:
    if t2.empty:
        return "not run", "no cell has both arms recorded"
    wins = int((t2["diff"] > 0).sum())
    return ("reproduced" if wins > len(t2) / 2 else "not reproduced"), f"higher mean for the seed filters in {wins} of {len(t2)} cells"


def _collapse(_t2: pd.DataFrame, df: pd.DataFrame, stop: str) -> tuple[str, str]:
    t = delta03(df).query("stop == @stop")
    low, msra = t[(t["arm"] == "seed") & np.isclose(t["delta"], 0.3)], t[t["arm"] == "msra"]
    if low.empty or msra.empty:
        return "not run", "no MNIST r = 10 % Table-2 runs at delta = 0.3"
    m, b, n = low["q34"].iloc[0], msra["q34"].iloc[0], low["runs"].iloc[0]
    return ("reproduced" if m < 0.5 else "not reproduced"), f"{100 * m:.2f} % (n = {n}) against MSRA's {100 * b:.2f} %"


def _full_set(_t2: pd.DataFrame, df: pd.DataFrame, _stop: str) -> tuple[str, str]:
    """Judged once each of ``FULL_SET_JUDGED_ON`` holds 10 runs of both arms, on the datasets that do; each dataset said
    (the paper's reading against MSRA in points where judged, its runs so far where not)."""
    t = full_set_table(df, planned=len(SEEDS)).query("arm == 'seed'").set_index("dataset")
    done = t[t["verdict"] != "still being recorded"]  # 10 runs of each arm
    verdicts = done["verdict"].fillna("inconclusive")
    recorded, words = runs_of_full_set(df).groupby(["dataset", "arm"]).size(), []
    for d in FULL_SET_DATASETS:
        if d in done.index:
            diff, low, high = (points(done.at[d, k], signed=True) for k in ("diff", "ci_low", "ci_high"))
            words.append(f"{SPECS[d].title}: {WORDS[verdicts[d]]} ({diff} points, 95 % CI {low} to {high})")
        else:
            m, a = (recorded.get((d, arm), 0) for arm in ("msra", "seed"))
            words.append(f"{SPECS[d].title}: {m} MSRA and {a} seed-filter runs of {len(SEEDS)} each recorded")
    judged = set(FULL_SET_JUDGED_ON) & set(FULL_SET_DATASETS) <= set(done.index)
    return (no_difference(verdicts) if judged else "not yet judged"), listed(words)


CLAIMS: tuple[tuple[str, Judge], ...] = (
    ("The proposed method beats MSRA on mean accuracy in most settings.", _most),
    ("No significant difference at r = 1 %.", _cells(lambda t: np.isclose(t["ratio"], 0.01), "none")),
    ("No significant difference on CIFAR-100.", _cells(lambda t: t["dataset"] == "cifar100", "none")),
    (
        "A significant gain under the other conditions (every cell but r = 1 % and CIFAR-100).",
        _cells(lambda t: ~np.isclose(t["ratio"], 0.01) & (t["dataset"] != "cifar100"), "better"),
    ),
    (
        "A clear, significant gain on CIFAR-10 (at r = 5 and 10 %).",
        _cells(lambda t: (t["dataset"] == "cifar10") & ~np.isclose(t["ratio"], 0.01), "better"),
    ),
    ("MNIST, r = 10 %, delta = 0.3 collapses training: 20.31 % against MSRA's 98.71 %.", _collapse),
    ("With the whole training set, no significant difference between the initializations (footnote to section 4).", _full_set),
)


def claims(t2: pd.DataFrame, df: pd.DataFrame, stop: str = "converged") -> pd.DataFrame:
    """Each claim of the paper beside what this edition shows: reproduced, in part, not reproduced, not run or not yet judged."""
    rows = []
    for text, judge in CLAIMS:
        verdict, evidence = judge(t2, df, stop)
        rows.append({"claim": text, "this edition": evidence, "verdict": verdict})
    return pd.DataFrame(rows)
