"""seedinit.replication.cost: image passes, FLOPs against a hand count, and projections from recorded timings."""

import math

import pytest

from seedinit import Config
from seedinit.replication.cost import fit, fixed_grid, flops, passes, project, work
from seedinit.stats import evaluated


def record(config: Config, per_train: float, per_eval: float, device: str = "cpu (x86_64, 1 threads)", ensemble: int = 1) -> dict:
    """A run record whose epochs took ``per_train`` s per trained image, plus ``per_eval`` per evaluated one where measured."""
    sizes = {"train": 600, "val": 150, "test": 1000}
    history = []
    for e in range(1, config.epochs + 1):
        entry = {"epoch": e, "seconds": per_train * sizes["train"]}
        if evaluated(e, config.epochs, config.window):
            entry |= {"test_acc": 0.5, "seconds": entry["seconds"] + per_eval * (sizes["test"] + sizes["val"])}
        history.append(entry)
    return {"config": config.to_dict(), "sizes": sizes, "history": history, "provenance": {"device": device}, "ensemble": ensemble}


def test_passes_count_training_images_and_the_evaluated_epochs():
    c = Config(dataset="mnist", ratio=0.1, epochs=40, val_fraction=0.2)
    train, ev = passes(c)
    assert train == 4800 * 40  # 6000 kept, 1200 of them for validation
    assert ev == (10000 + 1200) * sum(1 for e in range(1, 41) if e >= 21 or e == 1 or e % 2 == 0)


def test_fit_reads_the_rates_from_epoch_timings_and_project_prices_runs():
    records = [record(Config(dataset="mnist", epochs=40), 2e-4, 1e-4), record(Config(dataset="mnist", epochs=40), 4e-4, 1e-4)]
    records += [record(Config(dataset="mnist", epochs=40), 3e-4, 1e-4)]
    records += [record(Config(dataset="cifar10", epochs=40), 5e-4, 2e-4)]
    records.append(record(Config(dataset="mnist", epochs=40), 1.0, 1.0, device="NVIDIA H100"))  # another device: left out
    records.append(record(Config(dataset="mnist", epochs=40), 1.0, 1.0, ensemble=10))  # a share of a joint run: left out
    rates = fit(records)
    assert list(rates["side"]) == [28, 32] and list(rates["runs"]) == [3, 1]
    assert (rates.s_per_train_image[0], rates.s_per_eval_image[0]) == pytest.approx((3e-4, 1e-4))  # medians over runs
    assert (rates.s_per_train_image[1], rates.s_per_eval_image[1]) == pytest.approx((5e-4, 2e-4))
    runs = [Config(dataset="mnist", ratio=0.1, epochs=40, seed=s) for s in range(2)] + [Config(dataset="cifar100", ratio=0.1, epochs=40)]
    grid = project(runs, rates, workers=2)
    train, ev = passes(runs[0])
    mnist = grid[grid.dataset == "mnist"].iloc[0]
    assert mnist.runs == 2 and mnist.seconds == pytest.approx(2 * (3e-4 * train + 1e-4 * ev) / 2)
    assert not math.isnan(grid[grid.dataset == "cifar100"].seconds.iloc[0])  # CIFAR-100 priced at 32x32's rate


def test_the_whole_protocol_can_be_priced():
    configs = fixed_grid()
    grid = project(configs, fit([record(Config(dataset=d, epochs=40), 1e-4, 1e-4) for d in ("mnist", "cifar10")]))
    assert grid.runs.sum() == len(configs) == 9 * (30 + 30) + 10
    assert grid.seconds.notna().all()


def test_flops_match_lenet5_multiply_adds_counted_by_hand():
    c1, c3, fc = 20 * 49 * 22 * 22, 50 * 500 * 7 * 7, 450 * 120 + 120 * 84 + 84 * 10  # MNIST: 28 -> 22 -> 11 -> 7 -> 3
    train, ev = flops(Config(dataset="mnist"))
    assert ev == 2 * (c1 + c3 + fc)  # a multiply-add is two operations
    assert train == 3 * ev - 2 * c1  # forward, weight gradients, and input gradients for every layer but C1
    colour, _ = flops(Config(dataset="cifar10", grayscale=False))
    luma, _ = flops(Config(dataset="cifar10"))
    extra = 2 * 20 * 49 * 26 * 26  # C1's multiply-adds over two more input channels (32 -> 26)
    assert colour - luma == 2 * 2 * extra  # in its forward pass and its weight gradient


def test_work_adds_each_runs_passes_times_its_flops():
    runs = [Config(dataset="mnist", ratio=0.1, epochs=4), Config(dataset="cifar100", ratio=0.05, epochs=2, hidden=(500,))]
    expected = sum(p * f for c in runs for p, f in zip(passes(c), flops(c)))
    assert work(runs) == pytest.approx(expected) and work(runs[:1]) < expected
