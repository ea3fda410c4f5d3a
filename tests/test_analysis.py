"""From records to Table 2, the choice of delta and the claims: statistics checked against scipy on made-up records."""

import math
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_ind, ttest_rel
from statsmodels.stats.multitest import multipletests

from seedinit import Config
from seedinit.replication import protocol
from seedinit.replication.claims import claims
from seedinit.replication.statistics import table2
from seedinit.replication.tables import delta_choice, runs_frame
from seedinit.stats import window_start


def record(q34: float, val_q34: float = math.nan, role: str = "table2", converged_at: int | None = 5, **settings) -> dict:
    """A record of a run for ``role`` that scored ``q34`` (stop=converged unless ``settings`` say otherwise)."""
    settings = {"stop": "converged", "epochs": 100} | settings if role == "table2" else settings
    c = Config(role=role, **settings)
    history = [{"epoch": e, "train_loss": 0.1, "test_acc": q34} for e in range(1, c.epochs + 1)]
    scored = [window_start(c.epochs, c.window), c.epochs]
    return {"config": c.to_dict(), "q34": q34, "val_q34": val_q34, "history": history, "scored": scored, "converged_at": converged_at}


def cell(dataset: str, ratio: float, msra: list[float], seed: list[float], delta: float = 0.5) -> list[dict]:
    """A Table-2 cell's runs: MSRA and the seed filters at ``delta``, one per RNG seed."""
    runs = [record(q, dataset=dataset, ratio=ratio, seed=s) for s, q in enumerate(msra)]
    return runs + [record(q, dataset=dataset, ratio=ratio, init="seed", delta=delta, seed=s) for s, q in enumerate(seed)]


def grid(dataset: str, ratio: float, val: dict[float, float]) -> list[dict]:
    """A delta grid's seed-filter runs: mean validation Q3/4 ``val[delta]`` (two RNG seeds at +-0.01)."""
    return [
        record(0.5, v + e, "delta-grid", dataset=dataset, ratio=ratio, init="seed", delta=d, seed=s, val_fraction=0.2, epochs=4)
        for d, v in val.items() for s, e in ((0, -0.01), (1, 0.01))
    ]  # fmt: skip


def test_choose_delta_uses_validation_only():
    records = grid("mnist", 0.1, {0.3: 0.90, 0.6: 0.95, 0.9: 0.93})
    records += cell("mnist", 0.1, [0.99] * 2, [0.99] * 2, delta=0.3)  # test Q3/4 of Table-2 runs plays no part
    [row] = delta_choice(runs_frame(records)).itertuples()
    assert (row.dataset, row.ratio, row.delta, row.val_q34) == ("mnist", 0.1, 0.6, pytest.approx(0.95))


def test_table2_matches_scipy_and_corrects_over_cells():
    msra_a, seed_a = [0.90, 0.92, 0.91, 0.93], [0.85, 0.88, 0.86, 0.89]
    msra_b, seed_b = [0.40, 0.42, 0.41], [0.41, 0.40, 0.43]
    records = cell("mnist", 0.1, msra_a, seed_a) + cell("cifar10", 0.05, msra_b, seed_b, delta=0.7)
    records += grid("mnist", 0.1, {0.5: 0.9}) + grid("cifar10", 0.05, {0.7: 0.4})
    records.append(record(0.10, role="study:schedule", dataset="mnist", init="seed", delta=0.5, seed=0))  # not Table 2
    records.append(record(0.10, dataset="mnist", init="seed", delta=0.5, seed=9, converged_at=None))  # never converged: not scored
    df = runs_frame(records)
    t = table2(df, delta_choice(df)).set_index("dataset").loc[["mnist", "cifar10"]]
    assert list(t["n_msra"]) == [4, 3] and list(t["n_seed"]) == [4, 3] and list(t["unconverged_both"]) == [1, 0]
    assert t.at["mnist", "diff"] == pytest.approx(np.mean(seed_a) - np.mean(msra_a))
    welch = [ttest_ind(seed_a, msra_a, equal_var=False).pvalue, ttest_ind(seed_b, msra_b, equal_var=False).pvalue]
    assert list(t["p_welch"]) == pytest.approx(welch)
    assert t.at["cifar10", "p_paired"] == pytest.approx(ttest_rel(seed_b, msra_b).pvalue)
    assert list(t["p_holm"]) == pytest.approx(list(multipletests(welch, method="holm")[1]))
    assert list(t["significant"]) == [True, False]
    long = table2(df, delta_choice(df), role="study:schedule", stop="fixed")
    assert long.empty  # the long run has no MSRA partner
    records.append(record(0.95, role="study:schedule", dataset="mnist", seed=0))
    df = runs_frame(records)
    [row] = table2(df, delta_choice(df), role="study:schedule", stop="fixed").itertuples()
    assert (row.n_msra, row.n_seed, row.diff) == (1, 1, pytest.approx(0.10 - 0.95))


def test_claims_are_judged_on_table2():
    rng = np.random.default_rng(0)
    records = []
    for dataset in protocol.PAPER_DATASETS:
        for ratio in protocol.RATIOS:
            gain = 0.0 if ratio == 0.01 or dataset == "cifar100" else 0.05  # the paper's picture
            base = rng.normal(0.8, 0.005, 10)
            records += cell(dataset, ratio, list(base), list(base + gain + rng.normal(0, 0.005, 10)))
            records += grid(dataset, ratio, {0.5: 0.8})
    df = runs_frame(records)
    t2 = table2(df, delta_choice(df))
    verdicts = claims(t2, df).set_index("claim")["verdict"]
    assert list(verdicts) == ["reproduced"] * 5 + ["not run", "not yet judged"]  # no delta = 0.3 runs, no r = 1 runs
    assert claims(t2, df)["this edition"].iloc[3] == "4 cells: seed filters better in 4"
    records += [record(q, dataset="mnist", init="seed", delta=0.3, seed=s) for s, q in enumerate([0.2, 0.21])]
    df = runs_frame(records)
    assert claims(t2, df)["verdict"].iloc[5] == "reproduced"
    assert claims(t2.iloc[:0], df)["verdict"].iloc[0] == "not run"


def test_any_arm_against_msra_trained_alike_and_the_summary_per_configuration():
    from seedinit.replication.statistics import against_msra
    from seedinit.replication.tables import coverage, summary

    msra, seed = [0.90, 0.91, 0.92], [0.80, 0.83, 0.81]
    runs = [record(q, role="user", ratio=0.5, epochs=4, seed=s) for s, q in enumerate(msra)]
    runs += [record(q, role="user", ratio=0.5, epochs=4, init="seed", delta=0.3, seed=s) for s, q in enumerate(seed)]
    runs += [record(0.5, role="user", ratio=0.5, epochs=8, init="seed", seed=0)]  # trained longer: no MSRA partner
    df = runs_frame(runs)
    [row] = against_msra(df).itertuples()
    assert (row.arm, row.delta, row.n_msra, row.n_arm) == ("seed", 0.3, 3, 3)
    assert row.p_paired == pytest.approx(ttest_rel(seed, msra).pvalue) and row.diff == pytest.approx(np.mean(seed) - np.mean(msra))
    s = summary(df)
    assert list(s["runs"]) == [3, 3, 1] and "schedule" in s and "role" not in s  # only the settings that vary are shown
    configs = [Config.from_dict(r["config"]) for r in runs] + [Config(seed=7)]
    assert coverage(configs, runs)[["runs", "recorded"]].sum().tolist() == [8, 7]


def test_a_run_trained_again_with_a_larger_cap_is_counted_and_kept_once():
    from seedinit.replication.runs import final_records
    from seedinit.replication.tables import coverage

    first, again = (record(0.9, seed=0, epochs=cap, converged_at=None) for cap in (100, 200))
    fixed = record(0.8, role="user", epochs=100, stop="fixed", seed=0)  # a fixed schedule of another length is another run
    longer = record(0.8, role="user", epochs=300, stop="fixed", seed=0)
    assert final_records([again, first, fixed, longer]) == [again, fixed, longer]
    planned = [Config.from_dict(first["config"]), Config.from_dict(fixed["config"]).replace(epochs=300)]
    assert coverage(planned, [again, fixed])["recorded"].sum() == 1  # the first by its larger cap; not the 300-epoch schedule
    assert coverage([Config.from_dict(again["config"])], [first])["recorded"].sum() == 0  # a smaller cap is not enough


def test_the_baseline_study_reads_its_runs_and_table_2s_msra_runs_of_the_same_seeds():
    from seedinit.replication.tables import baseline_table

    runs = [
        record(0.985 + s / 1000, role="study:baseline", ratio=0.2, seed=s, dataset="mnist", stop="converged", epochs=100) for s in range(3)
    ]
    runs += [record(0.975, ratio=0.1, seed=s, dataset="mnist") for s in range(10)]  # Table 2's MSRA runs
    for r, n in zip(runs, [12000] * 3 + [6000] * 10):
        r["sizes"] = {"train": n}
    t = baseline_table(runs_frame(runs)).set_index("images")
    assert t.loc[12000, "runs"] == 3 and t.loc[12000, "reaches"]  # 0.986 + 2 x 0.001 >= 0.9871
    assert t.loc[6000, "runs"] == 3 and not t.loc[6000, "reaches"]  # the seeds the study uses, not all ten


def test_the_delta_check_sets_the_converged_choice_beside_the_fixed_one_once_all_its_runs_converged():
    from seedinit.replication.prose import headline
    from seedinit.replication.tables import delta_check, deltas_after_check

    runs = grid("mnist", 0.1, {0.4: 0.85, 0.5: 0.90, 0.6: 0.95})
    until = dict(ratio=0.1, init="seed", val_fraction=0.2, stop="converged", epochs=100)

    def check(seed: int, converged_at: int | None = 5) -> list[dict]:
        return [record(0.5, v, "delta-grid", converged_at, delta=d, seed=seed, **until) for d, v in {0.5: 0.97, 0.6: 0.96}.items()]

    runs += [*check(0), record(0.5, 0.99, "delta-grid", delta=0.4, seed=1, **until)]  # at a delta the check does not hold
    [row] = delta_check(runs_frame(runs)).itertuples()
    assert (row.delta, row.delta_converged, row.check_runs, row.check_size) == (0.6, 0.5, 2, 4) and row.same is pd.NA  # seed 1 missing
    assert deltas_after_check(delta_check(runs_frame(runs)))["delta"].tolist() == [0.6]  # the grid's, until the check is complete
    assert (
        headline(runs_frame(runs), delta_choice(runs_frame(runs)))["delta_unjudged"]
        == "MNIST, r = 10 %: 2 of 4 runs recorded, and its runs choose δ = 0.5 (the grid's: 0.6)"
    )
    runs += check(1, converged_at=None)
    [row] = delta_check(runs_frame(runs)).itertuples()
    assert (row.check_runs, row.unconverged, row.same, row.differs) == (4, 2, pd.NA, False)  # two never converged: not judged
    assert headline(runs_frame(runs), delta_choice(runs_frame(runs)))["delta_unjudged"].startswith(
        "MNIST, r = 10 %: 2 of 4 runs never converged within their cap"
    )
    runs[-2:] = check(1)
    [row] = delta_check(runs_frame(runs)).itertuples()
    assert (row.delta, row.delta_converged, row.same, row.differs) == (0.6, 0.5, False, True)
    assert (row.val_q34, row.val_q34_converged) == pytest.approx((0.95, 0.97))  # the grid's at its delta, the check's at its own
    assert row.margin == pytest.approx(0.01) and deltas_after_check(delta_check(runs_frame(runs)))["delta"].tolist() == [0.5]
    numbers = headline(runs_frame(runs), delta_choice(runs_frame(runs)))
    assert (numbers["delta_checked"], numbers["delta_same"], numbers["delta_unjudged"]) == (1, 0, "none")
    assert (
        numbers["delta_differs"]
        == "MNIST, r = 10 %: δ = 0.6 on the grid, 0.5 until converged, by 1.00 points of validation Q3/4 (its sd over the RNG seeds: 0.00)"
    )
    runs += cell("mnist", 0.1, [0.98, 0.97, 0.98], [0.95, 0.96, 0.95])  # Table 2 at the check's delta
    assert headline(runs_frame(runs), delta_choice(runs_frame(runs)))["delta_differs"].endswith(
        "(its sd over the RNG seeds: 0.00), and Table 2's runs at δ = 0.5 score −2.33 points against MSRA (Holm p = 0.0078)"
    )
    runs += cell("mnist", 0.1, [], [0.96, 0.97, 0.96], delta=0.6)  # and at the grid's
    assert headline(runs_frame(runs), delta_choice(runs_frame(runs)))["delta_differs"].endswith(
        "score −2.33 points against MSRA (Holm p = 0.0078; at the grid's δ = 0.6: −1.33)"
    )


def test_runs_still_rising_in_their_window_are_listed_and_counted():
    from seedinit.replication.prose import headline
    from seedinit.replication.tables import still_rising

    runs = cell("mnist", 0.1, [0.97] * 3, [0.95] * 3, delta=0.5) + grid("mnist", 0.1, {0.5: 0.9})
    for r, converged_at in ((runs[3], 40), (runs[4], None)):  # two seed-filter runs gain 0.0002 / epoch x 49 epochs
        r["converged_at"] = converged_at
        r["history"] = [h | {"test_acc": 0.5 + 0.0002 * h["epoch"]} for h in r["history"]]
    rising = still_rising(runs_frame(runs), delta_choice(runs_frame(runs)))
    assert rising["seed"].tolist() == [0, 1] and rising["converged_at"].isna().tolist() == [False, True]
    numbers = headline(runs_frame(runs), delta_choice(runs_frame(runs)))
    assert (numbers["window_runs"], numbers["window_flat"], numbers["rising_converged"], numbers["rising_capped"]) == (6, 4, 1, 1)


def test_a_run_trained_again_with_a_larger_cap_counts_once_by_its_longer_record_even_from_an_older_record():
    from seedinit.replication.prose import extension_numbers
    from seedinit.replication.tables import extensions, with_speed

    short = record(0.9, ratio=0.1, init="seed", delta=0.5, seed=3, epochs=60, converged_at=None)
    for later in ("model", "track", "conv_relu", "inputs"):  # settings older records do not name
        del short["config"][later]
    long = record(0.9, ratio=0.1, init="seed", delta=0.5, seed=3, epochs=120, converged_at=59)
    long["history"][:60] = short["history"]
    other = record(0.9, ratio=0.1, seed=3, epochs=60)
    runs = [short, long, other]
    for r in runs:
        r |= {"seconds": {"init": 0.1, "train": 1.0}, "provenance": {"device": "cpu (x86_64, 1 threads)"}}
    df = runs_frame(runs)
    assert len(df) == 2 and df.loc[df["arm"] == "seed", "epochs"].tolist() == [120] and set(df["schedule"]) == {"until converged"}
    assert with_speed(runs)[["role", "epochs"]].notna().all().all() and len(with_speed(runs)) == 2
    [row] = extensions(runs).itertuples()
    assert (row.first_cap, row.cap, row.converged_at, row.same_device, row.identical) == (60, 120, 59, True, True)
    numbers = extension_numbers(runs)
    where = "MNIST, r = 10 %, the paper's seed filters at δ = 0.5: 1 run"
    assert numbers == {"extended_runs": 1, "extended_where": where, "extended_late": 1, "extended_converged": 1, "extended_identical": 1}
    long["provenance"] = {"device": "cpu (x86_64, 2 threads)"}  # trained again with other threads: no longer bit for bit
    long["history"][0] = long["history"][0] | {"train_loss": 0.2}
    assert not extensions(runs)[["same_device", "identical"]].any().any()


def test_a_run_that_converged_near_chance_level_is_named():
    from seedinit.replication.tables import at_chance

    plateau, capped = record(0.11, seed=1, converged_at=5), record(0.1, seed=2, converged_at=None)
    for h in plateau["history"] + capped["history"]:
        h["train_loss"] = 2.2  # ln(10) = 2.30: a uniform guess
    df = runs_frame([record(0.9, seed=0), plateau, capped])
    assert at_chance(df)["seed"].tolist() == [1]  # the capped run is shown as not converged already


def test_a_table_reads_as_the_book_shows_it():
    from seedinit.replication.styling import readable

    t = pd.DataFrame({"dataset": ["cifar10", "mnist"], "ratio": [0.01, 0.0933], "arm": ["seed[he]", "kmeans"]})
    t = t.assign(diff=[-0.00001, 0.0123], ci_low=[-0.02, 0.001], ci_high=[0.02, 0.03], q34=[0.5, 0.98765])
    t = t.assign(p_holm=[math.nan, 3e-12], p_welch=[0.000106, 0.48], steps=[1200.0, 1520.0], same=[True, False])
    html = readable(t.astype({"same": "boolean"})).to_html()
    headers = re.findall(r"<th [^>]*col_heading[^>]*>([^<]*)</th>", html)
    assert headers == ["dataset", "r", "arm", "difference to MSRA (points)", "95 % CI", "Q3/4", "p (Holm)", "p (Welch)", "steps", "same δ"]
    rows = [[unescape(c) for c in re.findall(r"<td [^>]*>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]]
    nb, nn = "\u00a0", "\u202f"  # no-break spaces: an interval and a percentage stay on one line
    assert rows == [  # words, not names; points with a true minus, never "−0.00"; one p-value format; whole numbers
        ["CIFAR-10", f"1{nn}%", "He-scaled seed filters", "+0.00", f"−2.00{nb}to{nb}+2.00", f"50.00{nn}%", "–", "0.00011", "1,200", "yes"],
        ["MNIST", f"9.33{nn}%", "k-means", "+1.23", f"+0.10{nb}to{nb}+3.00", f"98.77{nn}%", "< 1e-10", "0.48", "1,520", "no"],
    ]
