"""One configuration object for the CLI, the notebooks' papermill parameters and the records.

``Config`` adds data, model, training and scoring to Algorithm 1's ``SeedOptions`` (what ``seed_init_`` takes), each
setting checked by its rule (``seedinit.options``). ``APPLIES`` says when a setting matters: ``key`` ignores one that
does not (the command line refuses one a user gave).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .options import BOOL, NONNEG, SEED_FIELDS, Rule, SeedOptions, build, opt, real, whole

DATASETS = ("mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100")  # what load_dataset knows
INITS = ("msra", "seed", "orthogonal", "lsuv", "kmeans", "pca")
MODELS = ("lenet5", "resnet8")
DEVICES = ("auto", "cpu", "cuda")
FRACTION: Rule = real(lambda v: 0 < v <= 1, "a number in (0, 1]")
WIDTHS: Rule = (lambda v: isinstance(v, tuple) and all(whole(1)[0](h) for h in v)), "a list of whole numbers >= 1 (may be empty)"
ROLE: Rule = (lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9]+([:-][a-z0-9]+)*", v) is not None), "words joined by - or :"


@dataclass(frozen=True)
class Config(SeedOptions):
    """One training run: data, model, initialization (``SeedOptions`` when ``init="seed"``), training and scoring.
    ``seed`` is the RNG seed (subset, init, shuffling); ``init="seed"`` selects the paper's seed filters: the two are unrelated."""

    dataset: str = opt("mnist", "dataset name", DATASETS)
    ratio: float = opt(0.1, "fraction of the training set kept, stratified by class", rule=FRACTION)
    grayscale: bool = opt(True, "convert colour images to ITU-R 601-2 luma (the paper's 1x32x32)", rule=BOOL)
    init: str = opt("msra", "initialization: MSRA (He), the paper's seed filters, orthogonal, LSUV, k-means or PCA patch filters", INITS)
    model: str = opt("lenet5", "network: the paper's LeNet-5, or a ResNet-8 with BatchNorm (widths 16-32-64, for colour images)", MODELS)
    inputs: str = opt("unit", "network input: pixels in [0, 1], or standardized by the training set's mean and sd", ("unit", "standard"))
    conv_relu: bool = opt(True, "ReLU after C1 and C3 (Caffe's LeNet has none)", rule=BOOL)
    hidden: tuple[int, ...] = opt((120, 84), "classifier hidden widths (LeNet-5: 120 84; Caffe's LeNet: 500)", rule=WIDTHS)
    epochs: int = opt(30, "training epochs; with stop=converged, the most a run may train", rule=whole(1))
    batch_size: int = opt(128, "minibatch size", rule=whole(1))
    lr: float = opt(1e-3, "Adam learning rate", rule=real(lambda v: v > 0, "a number > 0"))
    stop: str = opt("fixed", "train all epochs and score the last window of them, or stop once the loss converged", ("fixed", "converged"))
    window: float = opt(0.5, "stop=fixed: Q3/4 over this last fraction of the epochs", rule=FRACTION)
    patience: int = opt(20, "stop=converged: P, the epochs whose best loss is compared with the best before them", rule=whole(1))
    rtol: float = opt(0.01, "stop=converged: converged once the last P epochs improve the best loss by < rtol*best+atol", rule=NONNEG)
    atol: float = opt(1e-3, "stop=converged: the absolute part of that tolerance", rule=NONNEG)
    score_epochs: int = opt(20, "stop=converged: W, the epochs after convergence whose test accuracy gives Q3/4", rule=whole(1))
    val_fraction: float = opt(0.0, "share of the training subset held out for validation", rule=real(lambda v: 0 <= v < 1, "in [0, 1)"))
    seed: int = opt(0, "RNG seed for the subset, the initialization and the shuffling", rule=whole(0))
    device: str = opt("auto", "where to train", DEVICES)
    track: bool = opt(False, "also measure accuracy on a fixed 2,000-image test subset after every epoch (speed scores)", rule=BOOL)
    role: str = opt("user", "what the run is for: a label the analysis selects runs by", rule=ROLE)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "arguments") -> Config:
        """Build a Config from plain values (CLI, papermill, JSON), naming ``source`` in errors."""
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}  # JSON lists -> tuples
        return build(cls, kwargs, source, sorted(f.name for f in dataclasses.fields(cls)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def key(self) -> str:
        """A short stable hash of every setting that changes results (not ``device`` nor ``role``, nor one that does not apply;
        one of ``LATER`` only where it differs from its default)."""
        d = {k: v for k, v in self.to_dict().items() if k not in ("device", "role")}
        for name, (on, needed) in APPLIES.items():  # a setting that does not apply counts at its default
            if d[on] != needed:
                d[name] = DEFAULTS[name]
        for name in LATER:
            if d[name] == DEFAULTS[name]:
                del d[name]
        if self.init != "seed":  # seed-filter settings touch only a seed-filter run
            for name in SEED_FIELDS:
                d.pop(name, None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]

    def group_key(self) -> tuple:
        """The data and training settings: runs with equal group keys can train together as one ensemble. A model with
        BatchNorm trains alone (stacked training cannot update its buffers): its key is all of its settings."""
        solo = self.model != "lenet5"
        return tuple(v for k, v in dataclasses.asdict(self).items() if solo or k not in ("init", "seed", "role", *SEED_FIELDS))

    def run_name(self) -> str:
        """A readable, unique file stem for this run's record."""
        d = f"-d{self.delta:g}" if self.init == "seed" else ""
        return f"{self.dataset}-r{self.ratio:g}-{self.init}{d}-s{self.seed}-{self.key()}"


# settings that apply only when another one has a value: (that setting, its value)
APPLIES = {name: ("init", "seed") for name in SEED_FIELDS} | {"max_cosine": ("selection", "diverse"), "window": ("stop", "fixed")}
APPLIES |= {name: ("stop", "converged") for name in ("patience", "rtol", "atol", "score_epochs")}
APPLIES |= {name: ("model", "lenet5") for name in ("hidden", "conv_relu")}
# settings hashed only when they differ from their default: a run at the default has the name of a record that does not list it
LATER = ("max_cosine", "stop", "patience", "rtol", "atol", "score_epochs", "inputs", "conv_relu", "model", "track")
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}


def generator(seed: int, stream: str) -> torch.Generator:
    """An independent CPU generator per purpose (``subset``, ``init``, ``order``, ...), all fixed by the RNG ``seed``."""
    salt = int.from_bytes(stream.encode(), "little") % (2**32)
    state = np.random.SeedSequence([seed, salt]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
