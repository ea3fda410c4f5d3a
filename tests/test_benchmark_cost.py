"""seedinit.replication.cost: image passes and FLOPs against a hand count; the protocol priced from recorded timings."""

import pytest

from seedinit import Config
from seedinit.replication.cost import fixed_grid, flops, passes, work
from seedinit.replication.performance import cpu_projection


def test_passes_count_training_images_and_the_evaluated_epochs():
    c = Config(dataset="mnist", ratio=0.1, epochs=40, val_fraction=0.2)
    train, ev = passes(c)
    assert train == 4800 * 40  # 6000 kept, 1200 of them for validation
    assert ev == (10000 + 1200) * sum(1 for e in range(1, 41) if e >= 21 or e == 1 or e % 2 == 0)


def test_the_whole_protocol_is_priced_per_cell_as_a_sweep_estimates_its_runs():
    def record(dataset: str, init: str, seconds: float, device: str = "cpu (x86_64, 1 threads)", ensemble: int = 1) -> dict:
        """A run of 40 epochs on 10 % of ``dataset`` that took ``seconds`` an epoch."""
        history = [{"epoch": e, "train_loss": 1.0} for e in range(1, 41)]
        config = Config(dataset=dataset, init=init, ratio=0.1, epochs=40).to_dict()
        return {"config": config, "history": history, "seconds": {"train": 40 * seconds, "init": 0.0}, "ensemble": ensemble} | {
            "provenance": {"device": device}
        }

    records = [record(d, i, 1.0) for d in ("mnist", "cifar10", "cifar100") for i in ("msra", "seed")]
    records += [record("mnist", "msra", 100.0, device="cuda (NVIDIA H100)"), record("mnist", "seed", 100.0, ensemble=10)]  # left out
    cost = cpu_projection(records, workers=2).set_index(["dataset", "ratio"])
    assert cost.runs.sum() == len(fixed_grid()) == 9 * (30 + 30) + 10 and cost.hours.notna().all()
    # MNIST r = 10 %: 30 grid runs on 8 % of the images, 40 Table-2 runs on 10 %; 1 s an epoch on 10 %, 40 epochs, 2 workers
    assert cost.hours["mnist", 0.1] == pytest.approx((30 * 0.8 + 40) * 40 / 2 / 3600)
    assert cost.hours["mnist", 0.01] == pytest.approx((30 * 0.08 + 30 * 0.1) * 300 / 2 / 3600)  # a tenth of the images, 300 epochs


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
