"""The book's tables as readers see them: headers and values in words, accuracies in percent, differences in points."""

from __future__ import annotations

import base64
import dataclasses
import functools
from typing import Any

import pandas as pd

from ..data import SPECS
from .protocol import arm_words
from .runs import paper_order

HEADERS = {  # columns in words; a column not named here keeps its own name
    "ratio": "r", "delta": "δ", "n_msra": "n MSRA", "msra_mean": "MSRA mean", "msra_sd": "MSRA sd", "n_seed": "n seed filters",
    "seed_mean": "seed-filter mean", "seed_sd": "seed-filter sd", "diff": "difference to MSRA (points)", "p_welch": "p (Welch)",
    "unconverged_both": "not converged (both arms)", "p_paired": "p (paired)", "p_holm": "p (Holm)", "unconverged": "not converged",
    "q34": "Q3/4", "val_q34": "val Q3/4", "converged_at": "converged at epoch", "loss_start": "loss at window start",
    "loss_end": "loss at the end", "gain": "accuracy gain over the window", "seeded": "filters seeded", "git_commit": "commit",
    "stop": "training", "images": "training images", "conv_relu": "ReLU after convs", "reaches": "mean + 2 sd ≥ 98.71 %",
    "delta_converged": "δ until converged", "val_q34_converged": "its val Q3/4", "same": "same δ", "first_cap": "first cap",
    "identical": "first epochs identical", "same_device": "same device and threads", "margin": "margin (points)", "check_runs": "runs",
    "check_size": "planned", "check_sd": "its sd (points)", "stopped": "last epoch", "seed": "RNG seed", "n_arm": "n arm",
    "arm_mean": "arm mean", "arm_sd": "arm sd", "ci_low": "95 % CI low", "ci_high": "95 % CI high", "ci": "95 % CI",
    "tracked": "tracked runs", "acc1": "acc. after 1 epoch", "acc5": "acc. after 5 epochs", "to95": "epochs to 95 %",
    "init_s": "init (s)", "epoch_s": "epoch (s)", "late": "not converged by the window", "p_paired_holm": "p (paired, Holm)",
    "p_tost_holm": "p (equivalence, Holm)", "p_tost": "p (equivalence)", "mde": "smallest detectable difference",
    "runner_up": "runner-up δ", "margin_se": "its standard error", "msra": "MSRA", "lead": "best δ − MSRA",
    "below_msra": "below MSRA at every δ", "tau": "τ", "i2": "I²", "median_epoch": "median epoch converged",
    "median_loss_start": "median loss at window start", "median_loss_end": "median loss at the end",
    "median_gain": "median accuracy gain over the window", "ensemble": "trained together", "minutes": "minutes per run",
    "ms_per_step": "ms per step", "wall_s": "wall time (s)",
}  # fmt: skip


# Accuracies, shown in percent; differences and spreads of accuracies, shown in points (those in SIGNED with their sign).
PERCENT = ("msra_mean", "seed_mean", "arm_mean", "q34", "val_q34", "acc1", "acc5", "val_q34_converged", "lowest", "msra", "seeded")
POINTS = ("diff", "ci_low", "ci_high", "lead", "gain", "median_gain", "margin", "mde", "margin_se", "tau", "check_sd")
POINTS += ("msra_sd", "seed_sd", "arm_sd", "sd")
SIGNED = ("diff", "ci_low", "ci_high", "lead", "gain", "median_gain")
ROLES = {"table2": "Table 2", "delta-grid": "δ grid", "user": "outside the protocol", "study:full-set": "whole training set"}
ROLES |= {"study:resnet": "ResNet-8 study", "study:comparison": "comparison"}
STOPS = {"converged": "until converged", "fixed": "fixed schedule"}
NAMED = ("dataset", "arm", "init", "role", "stop")  # the columns whose values have names readers know
SPACE = "\u202f"  # a narrow no-break space: "1 %" and "29.37 %" never break across lines


def p_value(p: float) -> str:
    """One format for every p-value: two significant digits, and "< 1e-10" below that."""
    return "–" if p != p else "< 1e-10" if p < 1e-10 else f"{p:.2g}"


def points(x: float, signed: bool = False) -> str:
    """A difference of accuracies (a fraction) in points, two decimals, a true minus sign, never -0.00."""
    text = f"{round(100 * x, 2) + 0.0:{'+' if signed else ''}.2f}"
    return text.replace("-", "−")


def percent(x: float) -> str:
    """An accuracy (a fraction) in percent, two decimals."""
    return f"{100 * x:.2f}{SPACE}%"


def words(column: str, value: Any) -> Any:
    """A table cell's value as readers name it: datasets, initializers, roles and schedules in words."""
    if not isinstance(value, str):
        return value
    if column == "dataset":
        return SPECS[value].title if value in SPECS else value
    if column in ("arm", "init"):
        return arm_words(value)
    if column == "role":
        return ROLES.get(value, value.replace("study:", "") + " study")
    return STOPS.get(value, value) if column == "stop" else value


@dataclasses.dataclass
class Download:
    """A link that downloads ``table`` as the CSV file ``name``, its data inside the link: the page needs no other file."""

    table: pd.DataFrame
    name: str
    text: str

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.table.to_csv(index=False).encode()).decode()
        return f'<p><a download="{self.name}" href="data:text/csv;base64,{data}">{self.text}</a></p>'


def readable(t: pd.DataFrame) -> pd.io.formats.style.Styler:
    """A table as the book shows it: headers and values in words, accuracies in percent, differences in points,
    p-values in one format, counts as whole numbers, yes/no for truth values, no index. A column named with a suffix,
    such as ``msra_mean (book)``, gets its name's header and format."""
    if {"ci_low", "ci_high"} <= set(t.columns):  # one column: the interval as readers write it
        ci = [f"{points(lo, True)}\u00a0to\u00a0{points(hi, True)}" if lo == lo else "–" for lo, hi in zip(t["ci_low"], t["ci_high"])]
        t = t.assign(ci_low=ci).drop(columns="ci_high").rename(columns={"ci_low": "ci"})
    base = {c: str(c).partition(" (")[0] for c in t.columns}
    name = {c: HEADERS.get(b, b) + str(c)[len(b) :] for c, b in base.items()}
    shown = t.assign(**{c: t[c].map(functools.partial(words, b)) for c, b in base.items() if b in NAMED})
    formats: dict[str, Any] = {}
    for c, b in base.items():
        values = t[c].dropna()
        if b == "ratio":
            formats[c] = lambda r: f"{100 * r:.3g}{SPACE}%"  # 5,600 MNIST images: 9.33 %
        elif b in POINTS or b.endswith("− MSRA"):
            formats[c] = functools.partial(points, signed=b in SIGNED or b.endswith("− MSRA"))
        elif b in PERCENT or b.endswith(("mean", "Q3/4", "at it")):
            formats[c] = percent
        elif b.startswith("p_"):
            formats[c] = p_value
        elif pd.api.types.infer_dtype(values, skipna=True) == "boolean":
            formats[c] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_float_dtype(values) and len(values) and (values == values.round()).all():
            formats[c] = "{:,.0f}"  # counts and medians of epochs that came out whole
        elif pd.api.types.is_float_dtype(values):
            formats[c] = "{:.3g}"
    styled = shown.style.hide(axis="index").format(formats, na_rep="–").set_table_attributes('class="results"')
    return styled.relabel_index([name[c] for c in t.columns], axis="columns")


def abstract_table(t2: pd.DataFrame) -> pd.io.formats.style.Styler:
    """Table 2 for the abstract, narrow enough for a phone: per cell in the paper's order, both arms' mean Q3/4 (%), the
    difference in points and the verdict."""
    t = t2.reindex(columns=["dataset", "ratio", "msra_mean", "seed_mean", "diff", "verdict"])
    t = t.sort_values(["dataset", "ratio"], key=lambda c: c.map(paper_order) if c.name == "dataset" else c)
    shown = pd.DataFrame({"dataset": [words("dataset", d) for d in t["dataset"]], "r": [f"{100 * r:g}{SPACE}%" for r in t["ratio"]]})
    shown = shown.assign(
        **{"MSRA (%)": [f"{100 * x:.2f}" for x in t["msra_mean"]], "seed filters (%)": [f"{100 * x:.2f}" for x in t["seed_mean"]]}
    )
    shown = shown.assign(**{"seed − MSRA (points)": [points(x, True) for x in t["diff"]], "verdict": t["verdict"].fillna("–").to_list()})
    return shown.style.hide(axis="index").set_table_attributes('class="abstract"')


def readings_shown(s: pd.DataFrame) -> list[pd.io.formats.style.Styler]:
    """The readings table (``tables.readings_table``) as the book shows it, per dataset and reading (rows) and δ
    (columns): mean Q3/4 with its runs in parentheses, then the share of each layer's filters seeded."""
    s = s.assign(dataset=[words("dataset", d) for d in s["dataset"]], reading=[arm_words(a) for a in s["arm"]])
    s = s.assign(
        delta=["MSRA" if d != d else f"δ = {d:g}" for d in s["delta"]], cell=[f"{percent(q)} ({n})" for q, n in zip(s["q34"], s["runs"])]
    )
    accuracy = s.pivot(index=["dataset", "reading"], columns="delta", values="cell").fillna("").rename_axis(columns=None)
    seeded = s[s["arm"] != "msra"].pivot(index=["dataset", "reading"], columns="delta", values="seeded").rename_axis(columns=None)
    return [accuracy.style, seeded.style.format(lambda v: f"{100 * v:.0f}{SPACE}%", na_rep="")]
