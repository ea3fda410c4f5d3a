"""The reproduction protocol: delta chosen on validation in stage 1, Table-2 arms at that delta in stage 2."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from seedinit import load_records
from seedinit.records import read_record
from seedinit.replication import protocol
from seedinit.replication.cli import main
from seedinit.replication.sweep import pending, run_sweep
from seedinit.replication.tables import delta_choice, runs_frame


def test_the_grid_has_every_arm_the_protocol_names():
    sel = protocol.selection_runs("cifar10", 0.05)
    assert len(sel) == 3 * (1 + 9) and all(c.val_fraction == 0.2 and c.epochs == 80 for c in sel)
    main_ = protocol.main_runs("mnist", 0.1, 0.6)
    assert {(c.role, c.stop, c.epochs) for c in main_} == {("table2", "converged", 200)}
    assert {c.role for c in sel} == {"delta-grid"}
    assert {(c.init, c.delta, c.random) for c in main_ if c.init == "seed"} == {("seed", 0.6, "normal"), ("seed", 0.3, "normal")}
    fixed = protocol.main_runs("mnist", 0.1, 0.6, stop="fixed")  # the first Table 2, with the control arm
    assert {(c.delta, c.random) for c in fixed if c.init == "seed"} == {(0.6, "normal"), (0.6, "he"), (0.3, "normal")}
    assert len(main_) == 3 * 10 and len(protocol.main_runs("cifar100", 0.01, 0.6)) == 2 * 10
    study = protocol.study_runs("mnist")
    assert len({(c.key(), c.seed) for c in study}) == len(study) == 3 + 6 * 4 * 3 + 6 * 3
    assert {c.role for c in study} == {"study:interpretation", "study:sensitivity"} and {c.stop for c in study} == {"fixed"}
    long = [c for c in protocol.stage2_cell("cifar100", 0.1, 0.6) if c.role == "study:schedule"]
    assert sorted((c.init, c.delta, c.epochs, c.seed) for c in long if c.init == "seed") == [("seed", 0.6, 120, s) for s in (0, 1, 2)]
    assert len(long) == 6 and all(c.val_fraction == 0 for c in long)
    assert protocol.stage2_cell("cifar100", 0.1, 0.6, studies=False) == protocol.main_runs("cifar100", 0.1, 0.6)
    check = protocol.neighbour_runs("mnist", 0.1, 0.6)
    assert protocol.stage2_cell("mnist", 0.1, 0.6) == main_ + check  # with the studies, the delta grid's check
    assert protocol.stage2_cell("cifar10", 0.05, 0.6, schedule="fixed", studies=False) == protocol.main_runs("cifar10", 0.05, 0.6, "fixed")
    with pytest.raises(Exception, match="ratio=0.2 is not allowed; the protocol's ratios are 0.01, 0.05, 0.1"):
        protocol.cell_run("mnist", 0.2, "user")


def test_reproduce_chooses_delta_on_validation_then_runs_the_arms(tiny_mnist, monkeypatch):
    monkeypatch.setattr(protocol, "EPOCHS", {0.5: 2})
    monkeypatch.setattr(protocol, "DELTAS", (0.2, 0.9))
    monkeypatch.setattr(protocol, "FEW_SEEDS", (0,))
    monkeypatch.setattr(protocol, "SEEDS", (0, 1))
    monkeypatch.setattr(protocol, "UNTIL_CONVERGED", {"stop": "converged", "patience": 1, "score_epochs": 2})
    monkeypatch.setattr(protocol, "CAP", {0.5: 6})
    out = tiny_mnist / "runs"

    def sweep(configs):
        with ThreadPoolExecutor(1) as pool:
            run_sweep(pending(configs, out), str(out), str(tiny_mnist), pool, ensemble=True)  # as on a GPU: one task per cell

    protocol.reproduce(["mnist"], [0.5], out, sweep, studies=False, log=lambda _: None)
    df = runs_frame(load_records(out))
    grid = df[df["role"] == "delta-grid"]
    assert len(grid) == 3 and grid["val_q34"].notna().all()
    seeded = grid[grid["arm"] == "seed"]
    [best] = delta_choice(df)["delta"].tolist()
    assert seeded.loc[seeded["delta"] == best, "val_q34"].max() == seeded["val_q34"].max()  # ties go to the smaller delta
    final = df[df["role"] == "table2"]
    assert sorted(final["arm"]) == ["msra", "msra", "seed", "seed"]
    assert set(final.loc[final["init"] == "seed", "delta"]) == {best} and set(final["stop"]) == {"converged"}
    assert all(r["scored"][1] - r["scored"][0] == 1 for r in load_records(out) if r["config"]["role"] == "table2")
    assert {r["ensemble"] for r in load_records(out)} == {3, 4}  # the delta grid, then the two arms x two seeds
    assert df.loc[df["init"] == "msra", "seeded"].isna().all() and df.loc[df["init"] == "seed", "seeded"].between(0, 1).all()


def test_reproduce_refuses_a_ratio_outside_the_protocol(capsys):
    assert main(["reproduce", "--ratios", "0.2", "--out", "x"]) == 2
    assert "--ratios 0.2 is not allowed; the protocol's ratios are 0.01, 0.05, 0.1" in capsys.readouterr().err


def test_the_baseline_study_is_msra_on_mnist_at_other_sizes_and_with_caffes_settings():
    runs = protocol.baseline_runs()
    assert {(c.init, c.dataset, c.role, c.stop) for c in runs} == {("msra", "mnist", "study:baseline", "converged")}
    sizes = sorted({round(c.ratio * 60000) for c in runs})
    assert sizes == [5600, 6000, 12000, 60000]  # 600 and 6,000 with LeNet-5's own settings are Table 2's MSRA runs
    caffe = {(c.hidden, c.conv_relu, c.inputs) for c in runs if c.ratio == 0.1}
    assert caffe == {((500,), True, "unit"), ((120, 84), False, "unit"), ((120, 84), True, "standard"), ((500,), False, "standard")}
    assert len(runs) == (3 + 4) * len(protocol.FEW_SEEDS)


def test_the_delta_check_reruns_the_chosen_delta_and_its_neighbours_until_converged():
    runs = protocol.neighbour_runs("cifar10", 0.05, 0.9)
    assert sorted({c.delta for c in runs}) == [0.8, 0.9] and len(runs) == 2 * len(protocol.FEW_SEEDS)  # 0.9 ends the grid
    assert {(c.role, c.stop, c.val_fraction, c.epochs) for c in runs} == {("delta-grid", "converged", 0.2, protocol.CAP[0.05])}
    assert sorted({c.delta for c in protocol.neighbour_runs("mnist", 0.1, 0.5)}) == [0.4, 0.5, 0.6]


def test_a_run_that_reaches_the_cap_is_trained_again_longer_and_the_longer_record_supersedes_it(tiny_mnist):
    from seedinit import Config

    never = dict(stop="converged", patience=1, score_epochs=2, rtol=0.0, atol=0.0)  # converged only if the loss rises
    runs = [Config(ratio=0.5, epochs=4, seed=s, role="table2", **never) for s in (0, 1)]
    out = tiny_mnist / "runs"
    run_sweep(runs, str(out), str(tiny_mnist))
    capped = [r for r in load_records(out) if r["converged_at"] is None]
    assert capped, "with no tolerance, the tiny runs reach the cap"
    longer = protocol.extended(runs, load_records(out))
    assert [c.epochs for c in longer] == [protocol.EXTEND * 4] * len(capped)
    assert {c.replace(epochs=4).run_name() for c in longer} == {Config.from_dict(r["config"]).run_name() for r in capped}
    run_sweep(longer, str(out), str(tiny_mnist))
    records = {(r["config"]["seed"], r["config"]["epochs"]): r for r in load_records(out)}
    for c in longer:  # the same run: its first epochs are those of the capped one, bit for bit
        short, long = records[c.seed, 4]["history"], records[c.seed, c.epochs]["history"]
        assert [h["train_loss"] for h in long[:4]] == [h["train_loss"] for h in short]
    df = runs_frame(load_records(out))  # one row per run: the longer record where there are two
    assert len(df) == 2 and set(df.loc[df["seed"].isin([c.seed for c in longer]), "epochs"]) == {protocol.EXTEND * 4}


def test_reproduce_trains_the_runs_that_reach_the_cap_again_with_twice_the_cap(tiny_mnist, monkeypatch):
    monkeypatch.setattr(protocol, "EPOCHS", {0.5: 2})
    monkeypatch.setattr(protocol, "DELTAS", (0.5,))
    monkeypatch.setattr(protocol, "FEW_SEEDS", (0,))
    monkeypatch.setattr(protocol, "SEEDS", (0,))
    never = {"stop": "converged", "patience": 1, "score_epochs": 2, "rtol": 0.0, "atol": 0.0}  # converged only if the loss rises
    monkeypatch.setattr(protocol, "UNTIL_CONVERGED", never)
    monkeypatch.setattr(protocol, "CAP", {0.5: 4})
    out, said = tiny_mnist / "runs", []
    protocol.reproduce(["mnist"], [0.5], out, lambda runs: run_sweep(runs, str(out), str(tiny_mnist)), studies=False, log=said.append)
    table2 = [r for r in load_records(out) if r["config"]["role"] == "table2"]
    capped = {r["config"]["init"] for r in table2 if r["config"]["epochs"] == 4 and r["converged_at"] is None}
    assert capped and {r["config"]["init"] for r in table2 if r["config"]["epochs"] == 8} == capped
    assert f"stage 2: {len(capped)} runs reached the cap unconverged; again with 2 times the cap" in said
    short = [p for p in out.glob("*.json") if read_record(p)["config"]["epochs"] == 4 and read_record(p)["converged_at"] is None]
    for p in short:  # without the capped records, their longer ones stand for them: reproduce does not train them again
        p.unlink()
    protocol.reproduce(["mnist"], [0.5], out, lambda runs: run_sweep(runs, str(out), str(tiny_mnist)), studies=False, log=said.append)
    assert short and not any(p.exists() for p in short)


def test_a_delta_is_chosen_only_from_a_complete_grid():
    from seedinit import Config

    def run(delta: float, seed: int) -> dict:
        c = Config(role="delta-grid", init="seed", delta=delta, seed=seed, val_fraction=0.2, epochs=4)
        history = [{"epoch": e, "train_loss": 0.1, "test_acc": 0.5} for e in range(1, 5)]
        return {
            "config": c.to_dict(),
            "q34": 0.5,
            "val_q34": 1 - abs(delta - 0.6),
            "history": history,
            "scored": [3, 4],
            "converged_at": None,
        }

    grid = [run(d, s) for d in protocol.DELTAS for s in protocol.FEW_SEEDS]
    assert protocol.chosen_deltas(grid) == {(Config().dataset, Config().ratio): 0.6}
    assert protocol.chosen_deltas(grid[:-1]) == {}  # one run short of the grid: stage 2 waits for it
    assert protocol.chosen_deltas(grid, "seed[he,zero-mean]") == {}  # another reading's grid is not recorded


def test_the_whole_training_set_study_reuses_the_r10_delta_and_the_baseline_studys_msra_runs():
    from seedinit import Config

    history = [{"epoch": e, "train_loss": 0.1, "test_acc": 0.5} for e in range(1, 5)]
    grid = [
        {"config": Config(role="delta-grid", init="seed", delta=d, seed=s, val_fraction=0.2, epochs=4).to_dict(), "q34": 0.5}
        | {"val_q34": 1 - abs(d - 0.7), "history": history, "scored": [3, 4], "converged_at": None}
        for d in protocol.DELTAS
        for s in protocol.FEW_SEEDS
    ]
    runs = protocol.full_set_runs(grid)  # MNIST's r = 10 % grid chose 0.7; the CIFAR grids are not recorded
    assert {(c.ratio, c.stop, c.epochs, c.role) for c in runs} == {(1.0, "converged", protocol.CAP[0.1], "study:full-set")}
    arms = {(c.dataset, c.init, c.delta if c.init == "seed" else None) for c in runs}
    assert {a[1:] for a in arms if a[0] == "mnist"} == {("msra", None), ("seed", 0.7), ("kmeans", None), ("pca", None)}
    assert {a for a in arms if a[0] == "cifar10"} == {("cifar10", i, None) for i in ("msra", "kmeans", "pca")}
    assert len(runs) == (4 + 3 + 3) * len(protocol.SEEDS) and runs[0].dataset == "mnist" and runs[-1].dataset == "cifar100"
    msra = [c for c in protocol.baseline_runs() if c.ratio == 1.0]  # recorded by the baseline study: the same runs, not again
    assert {(c.key(), c.seed) for c in msra} <= {(c.key(), c.seed) for c in runs}
