"""What runs cost in arithmetic: image passes of training and evaluation, and the operations of each.

A LeNet-5 run does two workloads: images trained on (subset x epochs) and images
evaluated (test and validation sets x the epochs ``stats.evaluated`` names). ``flops``
and ``work`` count their arithmetic: no machine finishes a list of runs faster than its
``work`` divided by the machine's peak rate. (Seconds are estimated from records by
``sweep.estimate``.)
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..config import Config
from ..data import SPECS, split_indices
from ..models import LeNet5
from ..stats import evaluated
from . import protocol


def passes(config: Config | dict[str, Any], sizes: dict[str, int] | None = None) -> tuple[int, int]:
    """(training, evaluation) image passes of a run; ``sizes`` as records keep them, else from the dataset's size."""
    c = config if isinstance(config, dict) else config.to_dict()
    sizes = sizes or _sizes(c["dataset"], c["ratio"], c["val_fraction"])
    evals = sum(evaluated(e, c["epochs"], c["window"]) for e in range(1, c["epochs"] + 1))
    return sizes["train"] * c["epochs"], (sizes["test"] + sizes["val"]) * evals


def fixed_grid() -> list[Config]:
    """Both stages of the protocol on the fixed schedule without the studies, stage 2 at a stand-in delta: for pricing."""
    runs = protocol.stage1_runs(protocol.PAPER_DATASETS, protocol.RATIOS, studies=False)
    cells = [(d, r) for d in protocol.PAPER_DATASETS for r in protocol.RATIOS]
    return runs + [c for d, r in cells for c in protocol.main_runs(d, r, protocol.PAPER_DELTA, stop="fixed")]


@functools.cache
def _sizes(dataset: str, ratio: float, val_fraction: float) -> dict[str, int]:
    """A run's split sizes, as the package's split gives them, on a class-balanced stand-in for the dataset's labels."""
    spec = SPECS[dataset]
    labels = torch.arange(spec.sizes[0]) % spec.classes
    train, val = split_indices(Config(dataset=dataset, ratio=ratio, val_fraction=val_fraction), labels)
    return {"train": len(train), "val": len(val), "test": spec.sizes[1]}


@functools.cache
def _lenet_flops(channels: int, side: int, classes: int, hidden: tuple[int, ...]) -> tuple[float, float]:
    model, batch = LeNet5(channels, classes, side, hidden), 8
    x, y = torch.zeros(batch, channels, side, side), torch.zeros(batch, dtype=torch.long)
    with FlopCounterMode(display=False) as train:
        F.cross_entropy(model(x), y).backward()  # no input gradient for C1, as in training
    with FlopCounterMode(display=False) as ev, torch.no_grad():
        model(x)
    return train.get_total_flops() / batch, ev.get_total_flops() / batch


def flops(config: Config | dict[str, Any]) -> tuple[float, float]:
    """(training, evaluation) floating-point operations per image of a run's LeNet-5: one step's forward and
    backward, and one forward pass, as torch's ``FlopCounterMode`` counts them (convolutions and matrix products)."""
    c = config if isinstance(config, dict) else config.to_dict()
    spec = SPECS[c["dataset"]]
    channels = 3 if len(spec.image) == 3 and not c["grayscale"] else 1
    return _lenet_flops(channels, spec.image[0], spec.classes, tuple(c["hidden"]))


def work(configs: list[Config]) -> float:
    """Floating-point operations of training and evaluating ``configs``: their ``passes`` times their ``flops``."""
    return float(sum(np.dot(passes(c), flops(c)) for c in configs))
