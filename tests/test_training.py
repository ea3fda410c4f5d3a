import signal
import subprocess
import sys
import time

import torch

from seedinit import Config, LeNet5
from seedinit.experiment import run
from seedinit.training import Checkpoint, Single, accuracies


def test_accuracy_does_not_depend_on_the_evaluation_batch():
    torch.manual_seed(0)
    model, x, y = LeNet5(), torch.rand(1100, 1, 28, 28), torch.randint(0, 10, (1100,))
    expected = int((model(x).argmax(1) == y).sum()) / len(y)
    assert accuracies(Single(model), x, y) == accuracies(Single(model), x, y, batch_size=7) == [expected]
    assert model.training  # evaluation leaves the training mode as it found it


def test_a_run_killed_midway_goes_on_from_its_checkpoint_with_the_same_numbers(tiny_mnist, tmp_path):
    ckpt = tmp_path / ".run.ckpt"
    settings = dict(dataset="mnist", ratio=1.0, seed=3, stop="fixed", epochs=60)
    child = f"""
import sys, torch
from pathlib import Path
from seedinit import Config
from seedinit.experiment import run
from seedinit.training import Checkpoint
torch.set_num_threads({torch.get_num_threads()})
run(Config(**{settings!r}), data_dir={str(tiny_mnist)!r}, checkpoint=Checkpoint(Path({str(ckpt)!r}), every=0))
"""
    proc = subprocess.Popen([sys.executable, "-c", child])
    while not ckpt.exists() and proc.poll() is None:
        time.sleep(0.005)
    proc.kill()  # as a machine that goes away would: no chance to clean up
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    resumed = run(Config(**settings), data_dir=str(tiny_mnist), checkpoint=Checkpoint(ckpt, every=0))
    whole = run(Config(**settings), data_dir=str(tiny_mnist))
    assert resumed["resumed"][0] >= 2 and "resumed" not in whole
    untimed = [[{k: v for k, v in h.items() if k != "seconds"} for h in r["history"]] for r in (resumed, whole)]
    assert untimed[0] == untimed[1] and len(untimed[0]) == 60
    assert resumed["q34"] == whole["q34"]


def test_a_checkpoint_of_other_runs_is_not_used(tiny_mnist, tmp_path):
    ckpt = Checkpoint(tmp_path / ".run.ckpt", every=0)
    torch.save({"runs": ["another-run"], "epoch": 5}, ckpt.path)
    record = run(Config(dataset="mnist", ratio=1.0, stop="fixed", epochs=3), data_dir=str(tiny_mnist), checkpoint=ckpt)
    assert "resumed" not in record and [h["epoch"] for h in record["history"]] == [1, 2, 3]
