"""One configuration object for the CLI, the notebooks' papermill parameters and the records.

``SeedOptions`` holds Algorithm 1's settings (what ``seed_init_`` takes); ``Config`` adds
data, model, training and scoring. Every field carries its help text and its rule, and
one function, ``validate``, checks them all: a bad value raises ``ConfigError`` naming
the value, what is allowed and where it came from. ``APPLIES`` says when a setting
matters: ``key`` ignores one that does not, and ``applies`` refuses one a user gave.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

DATASETS = ("mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100")  # what load_dataset knows
INITS = ("msra", "seed", "orthogonal", "lsuv", "kmeans", "pca")
MODELS = ("lenet5", "resnet8")
DEVICES = ("auto", "cpu", "cuda")
ROLES = "user, delta-grid, table2 or study:<name>"


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind; ``setting`` is (name, value, what is allowed) if one."""

    def __init__(self, message: str, setting: tuple[str, Any, str] | None = None) -> None:
        super().__init__(message)
        self.setting = setting


Rule = tuple[Callable[[Any], bool], str]


def _real(ok: Callable[[float], bool], text: str) -> Rule:
    return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and ok(v)), text


def _whole(lo: int) -> Rule:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo), f"a whole number >= {lo}"


BOOL: Rule = (lambda v: isinstance(v, bool)), "true or false"
UNIT: Rule = _real(lambda v: 0 <= v <= 1, "a number in [0, 1]")
NONNEG: Rule = _real(lambda v: v >= 0, "a number >= 0")
FRACTION: Rule = _real(lambda v: 0 < v <= 1, "a number in (0, 1]")
WIDTHS: Rule = (lambda v: isinstance(v, tuple) and all(_whole(1)[0](h) for h in v)), "a list of whole numbers >= 1 (may be empty)"
ROLE: Rule = (lambda v: isinstance(v, str) and re.fullmatch(r"user|delta-grid|table2|study:[\w-]+", v) is not None), ROLES


def _opt(default: Any, help: str, choices: tuple | None = None, rule: Rule | None = None) -> Any:
    """A dataclass field carrying its CLI help text and what is allowed."""
    return field(default=default, metadata={"help": help, "choices": choices, "rule": rule})


def validate(obj: Any, source: str) -> None:
    """Check every field of a ``SeedOptions`` or ``Config`` by its rule; raise ConfigError on the first bad one."""
    for f in dataclasses.fields(obj):
        value, choices, rule = getattr(obj, f.name), f.metadata["choices"], f.metadata["rule"]
        if choices and value not in choices:
            _fail(source, f.name, value, "one of " + ", ".join(map(str, choices)))
        if rule and not rule[0](value):
            _fail(source, f.name, value, rule[1])
    if obj.theta_mode == "relative" and obj.theta > 1:
        _fail(source, "theta", obj.theta, "in [0, 1] when theta_mode is relative")
    if getattr(obj, "stop", "fixed") == "converged" and obj.epochs < (need := 2 * obj.patience + obj.score_epochs):
        _fail(source, "epochs", obj.epochs, f"at least 2*patience + score_epochs = {need} when stop is converged")


def build(cls: type, values: dict[str, Any], source: str, allowed: Sequence[str]) -> Any:
    """``cls(**values)``; ConfigError naming ``source`` and the unknown or bad setting."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(_said(source, *err.setting), err.setting) if err.setting else err from None


def _fail(source: str, name: str, value: Any, allowed: str) -> None:
    raise ConfigError(_said(source, name, value, allowed), (name, value, allowed))


def flag(name: str) -> str:
    """A setting's command-line flag: ``theta_mode`` is ``--theta-mode``; the RNG seed is ``--seeds``."""
    return "--" + ("seeds" if name == "seed" else name.replace("_", "-"))


def _said(source: str, name: str, value: Any, allowed: str) -> str:
    """What is wrong, as its user typed it: ``--theta-mode x`` on the command line, ``source: theta_mode='x'`` elsewhere."""
    if source == "command line":
        typed = f"{flag(name)} {' '.join(map(str, value)) if isinstance(value, tuple) else value}"
    else:
        typed = f"{source}: {name}={value!r}"
    return f"{typed} is not allowed; {'seed (the RNG seed)' if name == 'seed' else name} must be {allowed}"


@dataclass(frozen=True)
class SeedOptions:
    """Algorithm 1's settings: the paper's reading by default, each ambiguity a documented choice."""

    delta: float = _opt(0.5, "filter mixing ratio: (1-delta)*random + delta*seed filter", rule=UNIT)
    theta: float = _opt(0.8, "learning threshold: activation level above which a place counts as represented", rule=NONNEG)
    theta_mode: str = _opt("relative", "theta is absolute, or relative to each image's peak activation", ("absolute", "relative"))
    epsilon: float = _opt(0.5, "inhibition strength: seed filter = ReLU(prev - epsilon*max(prev))", rule=NONNEG)
    radius: int = _opt(2, "tolerance radius r_t of the suppression square, in pixels of the output map", rule=_whole(0))
    random: str = _opt("normal", "random part g_r: N(0, 1) as the paper, or He-scaled with g_x matched", ("normal", "he"))
    selection: str = _opt("topk", "keep the top-k candidates by score, or skip near-duplicates", ("topk", "diverse"))
    max_cosine: float = _opt(
        0.9, "selection=diverse: skip a candidate this close (cosine) to a kept one", rule=_real(lambda v: abs(v) <= 1, "in [-1, 1]")
    )
    act_map: str = _opt("max", "activation map over output channels", ("max", "mean"))
    gate: str = _opt("activation", "multiply each seed filter by the suppressed activation (paper) or its support", ("activation", "mask"))
    zero_mean: bool = _opt(False, "subtract each seed filter's mean before mixing (our variant, not the paper's)", rule=BOOL)

    def __post_init__(self) -> None:
        validate(self, type(self).__name__)  # Config's too; the message shows the value as given
        for f in dataclasses.fields(self):  # 1 and 1.0 are one setting: the record's name must not tell them apart
            if isinstance(f.default, float) and isinstance(getattr(self, f.name), int) and not isinstance(getattr(self, f.name), bool):
                object.__setattr__(self, f.name, float(getattr(self, f.name)))


SEED_FIELDS = tuple(f.name for f in dataclasses.fields(SeedOptions))


@dataclass(frozen=True)
class Config(SeedOptions):
    """One training run: data, model, initialization (``SeedOptions`` when ``init="seed"``), training and scoring.

    ``seed`` is the RNG seed (subset, init, shuffling); ``init="seed"`` selects the
    paper's seed-filter initialization. The two are unrelated.
    """

    dataset: str = _opt("mnist", "dataset name", DATASETS)
    ratio: float = _opt(0.1, "fraction of the training set kept, stratified by class", rule=FRACTION)
    grayscale: bool = _opt(True, "convert colour images to ITU-R 601-2 luma (the paper's 1x32x32)", rule=BOOL)
    init: str = _opt("msra", "initialization: MSRA (He), the paper's seed filters, orthogonal, LSUV, k-means or PCA patch filters", INITS)
    model: str = _opt("lenet5", "network: the paper's LeNet-5, or a ResNet-8 with BatchNorm (widths 16-32-64; colour, our study)", MODELS)
    inputs: str = _opt("unit", "network input: pixels in [0, 1], or standardized by the training set's mean and sd", ("unit", "standard"))
    conv_relu: bool = _opt(True, "ReLU after C1 and C3 (Caffe's LeNet has none)", rule=BOOL)
    hidden: tuple[int, ...] = _opt((120, 84), "classifier hidden widths (LeNet-5: 120 84; Caffe's LeNet: 500)", rule=WIDTHS)
    epochs: int = _opt(30, "training epochs; with stop=converged, the most a run may train", rule=_whole(1))
    batch_size: int = _opt(128, "minibatch size", rule=_whole(1))
    lr: float = _opt(1e-3, "Adam learning rate", rule=_real(lambda v: v > 0, "a number > 0"))
    stop: str = _opt("fixed", "train all epochs and score the last window of them, or stop once the loss converged", ("fixed", "converged"))
    window: float = _opt(0.5, "stop=fixed: Q3/4 over this last fraction of the epochs", rule=FRACTION)
    patience: int = _opt(20, "stop=converged: P, the epochs whose best loss is compared with the best before them", rule=_whole(1))
    rtol: float = _opt(0.01, "stop=converged: converged once the last P epochs improve the best loss by < rtol*best+atol", rule=NONNEG)
    atol: float = _opt(1e-3, "stop=converged: the absolute part of that tolerance", rule=NONNEG)
    score_epochs: int = _opt(20, "stop=converged: W, the epochs after convergence whose test accuracy gives Q3/4", rule=_whole(1))
    val_fraction: float = _opt(0.0, "share of the training subset held out for validation", rule=_real(lambda v: 0 <= v < 1, "in [0, 1)"))
    seed: int = _opt(0, "RNG seed for the subset, the initialization and the shuffling", rule=_whole(0))
    device: str = _opt("auto", "where to train", DEVICES)
    track: bool = _opt(False, "also measure accuracy on a fixed 2,000-image test subset after every epoch (speed scores)", rule=BOOL)
    role: str = _opt("user", "what the run is for, read by the analysis", rule=ROLE)

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
        """A short stable hash of every setting that changes results (not ``device`` nor ``role``, nor one that does not apply).

        Settings added after the first records were written count only when they differ
        from their default, so older records keep their names.
        """
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
        """The data and training settings: runs with equal group keys can train together as one ensemble.

        A model with BatchNorm trains alone (stacked training cannot update its buffers): its key is all of its settings."""
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
LATER = ("max_cosine", "stop", "patience", "rtol", "atol", "score_epochs", "inputs", "conv_relu", "model", "track")
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}


def applies(cfg: Config, given: Iterable[str], source: str) -> Config:
    """``cfg``, once each setting ``given`` by a user is found to apply to it: one that would change nothing is refused,
    not ignored (a grid's MSRA runs under several deltas are one run; ``key`` counts such a setting at its default)."""
    for name in sorted(APPLIES.keys() & set(given)):
        on, needed = APPLIES[name]
        if getattr(cfg, on) != needed and getattr(cfg, name) != DEFAULTS[name]:
            _fail(source, name, getattr(cfg, name), f"left at its default, {DEFAULTS[name]!r}: it applies only when {on} is {needed}")
    return cfg


def same_run(config: dict[str, Any]) -> str:
    """Every setting of a run but its cap (``epochs``) and ``device``, settings added after the record was written at their
    defaults: two records with equal values are one run trained until converged under two caps."""
    return json.dumps({k: config.get(k, v) for k, v in DEFAULTS.items() if k not in ("epochs", "device")}, sort_keys=True, default=list)


def largest_caps(records: list[dict[str, Any]]) -> dict[str, int]:
    """Per run trained until converged (``same_run``), the largest cap it is recorded with."""
    caps: dict[str, int] = {}
    for r in records:
        if r["config"].get("stop") == "converged":
            key = same_run(r["config"])
            caps[key] = max(caps.get(key, 0), r["config"]["epochs"])
    return caps


def generator(seed: int, stream: str) -> torch.Generator:
    """An independent CPU generator per purpose (``subset``, ``init``, ``order``, ...), all fixed by the RNG ``seed``."""
    salt = int.from_bytes(stream.encode(), "little") % (2**32)
    state = np.random.SeedSequence([seed, salt]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
