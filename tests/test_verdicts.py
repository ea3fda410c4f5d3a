"""The four verdicts (better, worse, equivalent, inconclusive), the pooled estimate, the robustness to the score, the
margin of the δ choice and the whole-training-set claim, on records made to say one thing each."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import ttost_ind

from seedinit import Config
from seedinit.replication.claims import claims
from seedinit.replication.statistics import MARGIN, difference_tests, full_set_table, pooled, robustness, table2
from seedinit.replication.tables import delta_choice, delta_margins, runs_frame, with_speed

RNG = np.random.default_rng(0)


def record(q34: float, role: str = "table2", last: float | None = None, **settings) -> dict:
    """A converged run of ``role`` whose test accuracy is ``q34`` through its window (``last`` at its last epoch)."""
    c = Config(**{"role": role, "stop": "converged", "epochs": 60} | settings)
    history = [{"epoch": e, "train_loss": 0.1} | ({"test_acc": q34} if e > 40 else {}) for e in range(1, 61)]
    history[-1]["test_acc"] = q34 if last is None else last
    return {"config": c.to_dict(), "q34": q34, "history": history, "scored": [41, 60], "converged_at": 40} | {
        "seconds": {"init": 0.1, "train": 6.0}
    }


def arms(msra: np.ndarray, seed: np.ndarray, **settings) -> list[dict]:
    """MSRA's and the seed filters' (δ = 0.5) runs of one cell, one per RNG seed."""
    runs = [record(q, seed=s, **settings) for s, q in enumerate(msra)]
    return runs + [record(q, seed=s, init="seed", delta=0.5, **settings) for s, q in enumerate(seed)]


def grid(dataset: str = "mnist", ratio: float = 0.1) -> list[dict]:
    """The δ grid that chooses δ = 0.5 (its only δ) in the cell."""
    settings = {"dataset": dataset, "ratio": ratio, "init": "seed", "delta": 0.5, "val_fraction": 0.2, "stop": "fixed"}
    return [record(0.5, "delta-grid", seed=s, **settings) | {"val_q34": 0.9} for s in range(2)]


def verdict(msra: np.ndarray, seed: np.ndarray) -> str:
    df = runs_frame(arms(msra, seed) + grid())
    return table2(df, delta_choice(df))["verdict"].iloc[0]


def test_a_difference_first_then_equivalence_within_the_margin_else_inconclusive():
    base = 0.9 + RNG.normal(0, 0.002, 10)
    assert verdict(base, base + 0.02 + RNG.normal(0, 0.002, 10)) == "better"
    assert verdict(base, base - 0.02 + RNG.normal(0, 0.002, 10)) == "worse"
    assert verdict(base, base + RNG.normal(0, 0.002, 10)) == "equivalent"  # within 1 point, tightly
    assert verdict(base, base + np.tile([0.03, -0.03], 5)) == "inconclusive"  # no difference found, none excluded either


def test_the_equivalence_test_is_two_one_sided_welch_tests_at_the_margin():
    a, b = (pd.DataFrame({"q34": 0.9 + RNG.normal(0, 0.004, 10), "seed": range(10)}) for _ in range(2))
    out = difference_tests(a, b)
    assert out["p_tost"] == pytest.approx(ttost_ind(b["q34"], a["q34"], -MARGIN, MARGIN, usevar="unequal")[0])
    assert out["ci_low"] < b["q34"].mean() - a["q34"].mean() < out["ci_high"]
    assert 0 < out["mde"] < 0.01  # sd 0.4 points, n = 10 each: about 0.5 points at 80 % power


def comparison_cells(diffs: dict[tuple[str, float], float]) -> list[dict]:
    """Table 2's runs and the comparison's PCA runs in each cell, PCA = MSRA + the cell's difference, seed by seed."""
    runs = []
    for (dataset, ratio), d in diffs.items():
        base = 0.5 + RNG.normal(0, 0.01, 10)
        runs += arms(base, base - 0.05 + RNG.normal(0, 0.001, 10), dataset=dataset, ratio=ratio) + grid(dataset, ratio)
        runs += [record(q + d + RNG.normal(0, 0.001), "study:comparison", dataset=dataset, ratio=ratio, init="pca", seed=s)
                 for s, q in enumerate(base)]  # fmt: skip
    return runs


def test_the_pooled_difference_uses_the_pairs_of_runs_that_share_an_rng_seed():
    df = with_speed(comparison_cells({("mnist", 0.01): 0.02, ("mnist", 0.1): 0.02, ("cifar10", 0.1): 0.02}))
    t = pooled(df, delta_choice(df)).set_index("arm")
    assert t.at["pca", "cells"] == 3 and t.at["pca", "diff"] == pytest.approx(0.02, abs=0.001)
    assert t.at["pca", "ci_high"] - t.at["pca", "ci_low"] < 0.004  # the seeds' shared spread cancels in the pairs
    assert t.at["seed", "diff"] == pytest.approx(-0.05, abs=0.001) and t.at["seed", "tau"] < 0.001


def test_a_verdict_that_changes_with_the_score_is_flagged():
    base = 0.5 + RNG.normal(0, 0.002, 10)
    runs = arms(base, base - 0.05) + grid()
    runs += [record(q + 0.03, "study:comparison", last=q, init="pca", seed=s) for s, q in enumerate(base)]  # its last epoch: MSRA's
    df = with_speed(runs)
    t = robustness(df, delta_choice(df)).set_index("arm")
    assert t.at["pca", "verdict (Q3/4)"] == "better" and t.at["pca", "verdict (last epoch)"] == "equivalent"
    assert t.at["pca", "depends"] and not t.at["seed", "depends"]


def test_the_delta_choice_shows_its_margin_and_whether_any_delta_reaches_msra():
    runs = [
        record(0.5, "delta-grid", init="seed", delta=d, seed=s, val_fraction=0.2, stop="fixed") | {"val_q34": v + e}
        for d, v in ((0.5, 0.90), (0.6, 0.91), (0.7, 0.85)) for s, e in ((0, -0.004), (1, 0.004))
    ]  # fmt: skip
    runs += [record(0.5, "delta-grid", seed=s, val_fraction=0.2, stop="fixed") | {"val_q34": 0.95} for s in range(2)]
    [row] = delta_margins(runs_frame(runs)).itertuples()
    assert (row.delta, row.runner_up, row.margin, row.margin_se) == (0.6, 0.5, pytest.approx(0.01), pytest.approx(0))
    assert row.below_msra and row.lead == pytest.approx(0.91 - 0.95)


def whole_set(dataset: str, n_seed: int = 10) -> list[dict]:
    """10 runs of MSRA on all of ``dataset`` (MNIST's first three the baseline study's) and ``n_seed`` of the seed filters."""
    full = {"dataset": dataset, "ratio": 1.0, "epochs": 200}
    msra = [
        record(0.99 + RNG.normal(0, 0.001), "study:baseline" if dataset == "mnist" and s < 3 else "study:full-set", seed=s, **full)
        for s in range(10)
    ]
    return msra + [record(0.99 + RNG.normal(0, 0.001), "study:full-set", init="seed", delta=0.9, seed=s, **full) for s in range(n_seed)]


def seventh_claim(runs: list[dict]) -> tuple[str, str]:
    """The whole-training-set claim's verdict and evidence."""
    t2 = pd.DataFrame(columns=["dataset", "ratio", "diff", "verdict"])
    return tuple(claims(t2, runs_frame(runs)).iloc[-1][["verdict", "this edition"]])


def test_the_whole_training_set_claim_waits_for_ten_runs_of_each_arm_on_mnist_and_cifar10_then_is_judged():
    rest = "CIFAR-10: 0 MSRA and 0 seed-filter runs of 10 each recorded; CIFAR-100: 0 MSRA and 0 seed-filter runs of 10 each recorded"
    assert seventh_claim(whole_set("mnist", 4)) == ("not yet judged", f"MNIST: 10 MSRA and 4 seed-filter runs of 10 each recorded; {rest}")
    said = r"equivalent \([−+]0\.\d\d points, 95 % CI −0\.\d\d to \+0\.\d\d\)"  # 0.1-point noise, a ±1-point margin
    verdict, evidence = seventh_claim(whole_set("mnist"))  # the baseline study's MSRA runs count
    assert verdict == "not yet judged" and re.fullmatch(f"MNIST: {said}; {rest}", evidence)
    msra_only = whole_set("mnist") + whole_set("cifar10", 0)[:1]  # CIFAR-10's first MSRA run, none of the seed filters
    assert seventh_claim(msra_only)[1].endswith(
        "CIFAR-10: 1 MSRA and 0 seed-filter runs of 10 each recorded; CIFAR-100: 0 MSRA and 0 seed-filter runs of 10 each recorded"
    )
    both = whole_set("mnist") + whole_set("cifar10")
    verdict, evidence = seventh_claim(both)
    assert verdict == "reproduced" and re.fullmatch(
        f"MNIST: {said}; CIFAR-10: {said}; CIFAR-100: 0 MSRA and 0 seed-filter runs of 10 each recorded", evidence
    )
    waiting, done = (full_set_table(runs_frame(whole_set("mnist", k)), planned=10).set_index("arm") for k in (4, 10))
    assert waiting.at["seed", "verdict"] == "still being recorded" and done.at["seed", "verdict"] == "equivalent"
    assert math.isclose(runs_frame(both)["ratio"].max(), 1.0)
