"""The comparison and ResNet studies: inits chosen by Config, accuracy tracked every epoch, speed scores, the table and its plot."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_npz
from test_analysis import record

from seedinit import Config, load_dataset, run, run_together
from seedinit.config import INITS
from seedinit.experiment import build_model
from seedinit.replication import protocol
from seedinit.replication.plots import plot_forest
from seedinit.replication.prose import best_init, delta_words, speed_words, verdicts
from seedinit.replication.statistics import ACCURACY, SPEED, TESTS_SHOWN, comparison_table
from seedinit.replication.sweep import tasks
from seedinit.replication.tables import runs_frame, speed_scores
from seedinit.training import tracked


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    root = tmp_path_factory.mktemp("colour")
    write_npz(root, "cifar10", n_train=200, n_test=60, shape=(32, 32, 3))
    return load_dataset("cifar10", root, grayscale=False, download=False)


@pytest.mark.parametrize("init", INITS)
def test_config_init_selects_the_initializer_after_msra(init):
    x = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    msra, _ = build_model(Config(), x, 10)
    model, reports = build_model(Config(init=init), x, 10)
    assert torch.equal(model.c1.weight, msra.c1.weight) == (init == "msra") and [r.layer for r in reports][:2] == {
        "msra": [], "orthogonal": [], "lsuv": ["c1", "c3"]}.get(init, ["c1", "c3"])  # fmt: skip
    assert Config(init=init, delta=0.3).key() == Config(init=init).key() or init == "seed"  # seed settings touch seed runs only


def test_tracking_measures_the_fixed_subset_every_epoch_and_changes_nothing_else(tiny_mnist):
    data = load_dataset("mnist", tiny_mnist)
    plain, tracked_run = (run(Config(ratio=0.5, epochs=3, init="pca", device="cpu", track=t), data) for t in (False, True))
    assert [h["track_acc"] for h in tracked_run["history"]] and all("track_acc" not in h for h in plain["history"])
    assert [{k: v for k, v in h.items() if k not in ("track_acc", "seconds")} for h in tracked_run["history"]] == [
        {k: v for k, v in h.items() if k != "seconds"} for h in plain["history"]
    ]
    assert tracked_run["history"][-1]["track_acc"] == tracked_run["history"][-1]["test_acc"]  # 100 test images: all of them tracked
    subset = tracked(10000)
    assert torch.equal(subset, tracked(10000)) and len(set(subset.tolist())) == 2000 and subset.max() < 10000
    assert Config(track=True).key() != Config().key() and Config(track=False).key() == Config().key()


def test_speed_scores_from_a_made_up_history():
    history = [{"epoch": e, "train_loss": 1.0, "track_acc": a} for e, a in enumerate([0.5, 0.8, 0.86, 0.9, 0.88, 0.91], 1)]
    assert speed_scores({"q34": 0.9, "history": history}) == {"acc1": 0.5, "acc5": 0.88, "to95": 3}  # 95 % of 0.9 is 0.855
    never = speed_scores({"q34": 0.9, "history": [{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}]})
    assert all(math.isnan(v) for v in never.values())


def test_the_resnet_trains_a_tiny_epoch_and_is_never_stacked(colour):
    cfg = Config(dataset="cifar10", grayscale=False, model="resnet8", ratio=0.5, epochs=1, init="lsuv", track=True, device="cpu")
    rec = run(cfg, colour)
    assert len(rec["history"]) == 1 and 0 <= rec["history"][0]["track_acc"] <= 1 and len(rec["init_report"]) == 10
    with pytest.raises(ValueError, match="model='resnet8' has BatchNorm.*one by one"):
        run_together([cfg, cfg.replace(seed=1)], colour)
    lenets = [Config(seed=s) for s in (0, 1)]
    assert [len(t) for t in tasks([cfg, cfg.replace(seed=1), cfg.replace(init="pca"), *lenets], ensemble=True)] == [1, 1, 1, 2]


def fake(q34, arm, seed, dataset="mnist", ratio=0.1, role="study:comparison", converged=True):
    """A made-up run of 60 epochs (converged after 5, or never), tracked: PCA reaches its Q3/4 after 4 epochs, the others after 8,
    and a run that never converges sits at its Q3/4 from the first epoch."""
    settings = {"init": "seed", "delta": 0.5} if arm == "seed" else {"init": arm}
    settings |= {"dataset": dataset, "ratio": ratio, "seed": seed, "stop": "converged", "epochs": 60}
    r = record(q34, role=role, converged_at=5 if converged else None, **settings)
    for h in r["history"]:
        h["track_acc"] = q34 * min(1.0, h["epoch"] / (4 if arm == "pca" else 8)) if converged else q34
    return r | {"scored": [6, 25] if converged else [41, 60], "seconds": {"init": 0.5 if arm == "pca" else 0.0, "train": 150.0}}


def test_the_comparison_table_and_its_forest_plot():
    msra, seed, pca = [0.90, 0.92, 0.91], [0.85, 0.86, 0.84], [0.93, 0.95, 0.94]
    records = [fake(q, arm, s, role="table2") for arm, qs in (("msra", msra), ("seed", seed)) for s, q in enumerate(qs)]
    records += [fake(q, "pca", s) for s, q in enumerate(pca)] + [fake(0.2, "pca", 3, converged=False)]
    records += [fake(0.99, "msra", s, dataset="cifar10", role="table2") for s in range(3)]  # a Table-2 cell the study did not run
    t2_deltas = pd.DataFrame({"dataset": ["mnist"], "ratio": [0.1], "delta": [0.5]})
    t = comparison_table(records, t2_deltas)
    assert list(t["arm"]) == ["msra", "pca", "seed"] and set(t["dataset"]) == {"mnist"}
    row = t.set_index("arm").loc["pca"]
    assert (row.n, row.unconverged) == (3, 1) and row.q34 == pytest.approx(0.94) and row["diff"] == pytest.approx(0.94 - 0.91)
    assert row.ci_low < row["diff"] < row.ci_high and row.p_holm >= row.p_welch
    assert row.acc1 == pytest.approx(np.mean([q / 4 for q in pca] + [0.2])) and row.to95 == 4 and row.init_s == 0.5 and row.epoch_s == 2.5
    assert math.isnan(t.set_index("arm").at["msra", "acc1"])  # no tracked MSRA run recorded: its speed is unknown, not made up
    assert math.isnan(t.set_index("arm").at["msra", "diff"])  # MSRA is the reference, not a difference of 0
    assert pd.isna(t.set_index("arm").at["msra", "significant"]) and bool(row.significant)  # untested, not "False"
    assert list(t["tracked"]) == [0, 4, 0] and math.isnan(row.delta) and t.set_index("arm").at["seed", "delta"] == 0.5
    shown = set(ACCURACY) | set(TESTS_SHOWN) | set(SPEED)  # the book's three tables; the unadjusted p-values go to the CSV
    assert shown | {"model", "p_welch", "p_paired", "p_tost", "significant"} == set(t.columns)
    assert delta_words(t, "seed") == "δ = 0.5 in MNIST, r = 10 %" and delta_words(t).startswith("no δ yet")
    fig = plot_forest(t)  # a panel per cell, the initializers bottom up: the table's first on top
    labels = [label.get_text() for label in fig.axes[0].get_yticklabels()]
    assert labels == ["the paper's seed filters", "PCA"] and fig.axes[0].get_title() == "MNIST, r = 10 %"
    notes = [note.get_text() for note in plot_forest(t, planned=4).axes[0].texts]
    assert notes == ["3 of 4 runs"]  # the paper's reading is still being recorded, and the panel says so; PCA has its 4
    assert verdicts(t) == "PCA: better in 1 of 1 cell; the paper's seed filters: worse in 1 of 1 cell"  # Holm p 0.021 and 0.0037
    assert verdicts(t, planned=4) == (  # 4 runs of PCA recorded (one never converged), 3 of the paper's reading
        "PCA: better in 1 of 1 cell; the paper's seed filters: still being recorded (fewer than 4 runs) in 1 of 1 cell"
    )
    assert speed_words(t).startswith("not yet measured")  # no tracked run of MSRA or the paper's reading
    tracked = [fake(q, arm, s) for arm in ("msra", "seed") for s, q in enumerate([0.8, 0.9])]
    tracked += [fake(0.1, "seed", s, converged=False) for s in (2, 3)]  # 95 % of their Q3/4 at epoch 1, but no score
    assert speed_words(comparison_table(records + tracked, t2_deltas)) == "MNIST, r = 10 %: 8 epochs against 8"
    assert speed_words(comparison_table(records + tracked, t2_deltas), "pca") == "MNIST, r = 10 %: 4 epochs against 8"
    one_run = comparison_table(records[:3] + records[6:7], t2_deltas)  # one pca run: no test, not a tie
    assert verdicts(one_run) == "PCA: not tested (fewer than 2 converged runs) in 1 of 1 cell" and verdicts(None).startswith("not yet")


def test_the_best_initializer_is_named_among_the_new_arms_never_the_papers_reading():
    records = [fake(q, "msra", s, role="table2") for s, q in enumerate([0.90, 0.92, 0.91])]
    assert best_init(runs_frame(records)).startswith("not yet measured")
    assert best_init(None).startswith("not yet measured")  # no records at all: the chapter still builds
    records += [fake(q, "seed", s) for s, q in enumerate([0.97, 0.98, 0.99])]  # the paper's reading's tracked runs
    assert best_init(runs_frame(records)).startswith("not yet measured")
    records += [fake(q, "pca", s) for s, q in enumerate([0.93, 0.95, 0.94])]
    assert best_init(runs_frame(records)) == "PCA (+3.00 points of Q3/4, the mean of its differences in 1 cell, r = 10 %)"
    assert best_init(runs_frame(records), planned=4).startswith("not yet measured")  # 3 PCA runs of 4: still being recorded
    records += [fake(0.5, "msra", s) for s in range(2)]  # MSRA's tracked runs, for speed: Table 2's runs stay its reference
    assert best_init(runs_frame(records)) == "PCA (+3.00 points of Q3/4, the mean of its differences in 1 cell, r = 10 %)"


def test_the_study_protocols():
    grid = protocol.repaired_grid_runs("cifar10", 0.01)
    assert {(c.role, c.init, c.zero_mean, c.random, c.val_fraction) for c in grid} == {("delta-grid", "seed", True, "he", 0.2)}
    assert len(grid) == len(protocol.DELTAS) * len(protocol.FEW_SEEDS)
    repaired_grid = dict(init="seed", zero_mean=True, random="he")
    chosen = [
        record(0.5, 0.9 if d == 0.7 else 0.8, "delta-grid", delta=d, seed=s, **repaired_grid)
        for d in protocol.DELTAS
        for s in protocol.FEW_SEEDS
    ]
    assert protocol.comparison_runs(chosen[1:]) == [c for c in protocol.comparison_runs(chosen) if c.init != "seed"]  # partial grid
    runs = protocol.comparison_runs(chosen)
    assert {(c.role, c.stop, c.track) for c in runs} == {("study:comparison", "converged", True)}
    repaired = [c for c in runs if c.init == "seed"]
    assert {(c.dataset, c.ratio) for c in repaired} == {("mnist", 0.1)} and {c.delta for c in repaired} == {0.7}
    assert {c.seed for c in runs if c.init == "msra"} == set(protocol.FEW_SEEDS)  # MSRA's speed; its Q3/4 is Table 2's
    assert len(runs) == 6 * 4 * 10 + 10 + 6 * 3 and {c.epochs for c in runs if c.ratio == 0.01} == {protocol.CAP[0.01]}
    resnet = protocol.resnet_runs(chosen)
    assert {(c.model, c.dataset, c.ratio, c.grayscale, c.role) for c in resnet} == {("resnet8", "cifar10", 0.1, False, "study:resnet")}
    assert sorted({c.init for c in resnet}) == ["lsuv", "msra", "pca"] and len(resnet) == 30  # no grid recorded for CIFAR-10 yet
