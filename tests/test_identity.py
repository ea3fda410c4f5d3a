"""The one-package refactor changed no number: initial weights and histories equal those of the code before it.

``fixtures/identity-c74a376.json`` was made at commit c74a376 (separate ``train`` and
``ensemble`` loops) on tiny fake datasets, one thread: for each configuration the
SHA-256 of every initial weight tensor and every epoch's loss and accuracies. On a CPU
with the same kernels (``cpu_capability``) they must match bit for bit; elsewhere the
arithmetic may round differently, and they must match closely.
"""

import hashlib
import json
from pathlib import Path

import pytest
import torch
from conftest import write_npz

from seedinit import Config, load_dataset, run, run_together
from seedinit.data import split_indices, to_float
from seedinit.experiment import build_model

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "identity-c74a376.json").read_text())
EXACT = torch.backends.cpu.get_cpu_capability() == FIXTURE["cpu_capability"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    write_npz(root, "mnist", n_train=400, n_test=120)
    write_npz(root, "cifar10", n_train=300, n_test=100, shape=(32, 32, 3))
    return root


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(FIXTURE["threads"])
    yield
    torch.set_num_threads(threads)


def same_history(new, old):
    assert len(new) == len(old)
    for a, b in zip(new, old):
        a = {k: v for k, v in a.items() if k != "seconds"}
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == b[k] if EXACT else a[k] == pytest.approx(b[k], rel=1e-4, abs=2e-2 * (k != "train_loss"))


@pytest.mark.parametrize("name", sorted(FIXTURE["runs"]))
def test_one_run_gives_the_recorded_weights_and_history(data_dir, name):
    old = FIXTURE["runs"][name]
    cfg = Config.from_dict(old["config"])
    data = load_dataset(cfg.dataset, data_dir, grayscale=cfg.grayscale, download=False)
    train_idx, _ = split_indices(cfg, data.y_train)
    model, _ = build_model(cfg, to_float(data.x_train[train_idx]), data.num_classes)
    for key, tensor in model.state_dict().items():
        digest = hashlib.sha256(tensor.detach().contiguous().numpy().tobytes()).hexdigest()
        if EXACT:
            assert digest == old["weights"][key]["sha256"], key
        else:
            assert float(tensor.double().abs().sum()) == pytest.approx(old["weights"][key]["abs_sum"], rel=1e-4)
    record = run(cfg, data)
    same_history(record["history"], old["history"])
    assert record["q34"] == pytest.approx(old["q34"], abs=0 if EXACT else 2e-2)


def test_runs_trained_together_give_the_recorded_histories(data_dir):
    configs = [Config.from_dict(r["config"]) for r in FIXTURE["ensemble"]]
    records = run_together(configs, load_dataset("mnist", data_dir, download=False))
    for new, old in zip(records, FIXTURE["ensemble"]):
        for a, b in zip(new["history"], old["history"]):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
            assert a.get("test_acc") == pytest.approx(b.get("test_acc"), abs=1e-2)
