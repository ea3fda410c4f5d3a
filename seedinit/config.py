"""One configuration object for the CLI, the notebooks' papermill parameters and the records.

Every value is checked where it enters (``Config.from_dict``), and a bad one raises
``ConfigError`` naming the value, what is allowed and where it came from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

DATASETS = ("mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100")
INITS = ("msra", "seed")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind."""


def _opt(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A dataclass field carrying its CLI help text and allowed values."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class Config:
    """One training run: data, model, initialization, training and scoring.

    ``seed`` is the RNG seed (subset, init, shuffling); ``init="seed"`` selects the
    paper's seed-filter initialization. The two are unrelated.
    """

    dataset: str = _opt("mnist", "dataset name", DATASETS)
    ratio: float = _opt(0.1, "fraction of the training set kept, stratified by class, in (0, 1]")
    grayscale: bool = _opt(True, "convert colour images to ITU-R 601-2 luma (the paper's 1x32x32)")
    init: str = _opt("msra", "conv-filter initialization: MSRA (He) or the paper's seed filters", INITS)
    delta: float = _opt(0.5, "filter mixing ratio: (1-delta)*random + delta*seed filter, in [0, 1]")
    theta: float = _opt(0.8, "learning threshold: activation level above which a place counts as represented")
    theta_mode: str = _opt("relative", "theta is absolute, or relative to each image's peak activation", ("absolute", "relative"))
    epsilon: float = _opt(0.5, "inhibition strength: seed = ReLU(prev - epsilon*max(prev))")
    radius: int = _opt(2, "tolerance radius r_t of the suppression square, in pixels of the output map")
    random: str = _opt("normal", "random part g_r: N(0, 1) as the paper, or He-scaled with g_x matched", ("normal", "he"))
    selection: str = _opt("topk", "keep the top-k candidates by score, or skip near-duplicates", ("topk", "diverse"))
    act_map: str = _opt("max", "activation map over output channels", ("max", "mean"))
    gate: str = _opt("activation", "multiply seed by the suppressed activation (paper) or by its support", ("activation", "mask"))
    zero_mean: bool = _opt(False, "subtract each seed filter's mean before mixing (our variant, not the paper's)")
    hidden: tuple[int, ...] = _opt((120, 84), "classifier hidden widths (LeNet-5: 120 84; Caffe's LeNet: 500)")
    epochs: int = _opt(30, "training epochs")
    batch_size: int = _opt(128, "minibatch size")
    lr: float = _opt(1e-3, "Adam learning rate")
    window: float = _opt(0.5, "Q3/4 window: the last fraction of epochs counted as post-convergence, in (0, 1]")
    val_fraction: float = _opt(0.0, "fraction of the training subset held out for validation (delta selection), in [0, 1)")
    seed: int = _opt(0, "RNG seed for the subset, the initialization and the shuffling")
    device: str = _opt("auto", "where to train", DEVICES)

    def __post_init__(self) -> None:
        validate(self, source="Config")

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "arguments") -> Config:
        """Build a Config from plain values (CLI, papermill, JSON), naming ``source`` in errors."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}  # JSON lists -> tuples
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise ConfigError(str(err).replace("Config:", f"{source}:", 1)) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def key(self) -> str:
        """A short stable hash of every setting that changes results (``device`` excluded)."""
        d = self.to_dict()
        d.pop("device")
        if self.init == "msra":  # seed-filter settings do not touch an MSRA run
            for name in SEED_ONLY:
                d.pop(name)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]

    def training(self) -> Config:
        """The settings that shape training, with the initialization ones reset: runs that share it can train as one ensemble."""
        return self.replace(**{name: DEFAULTS[name] for name in INIT_FIELDS})

    def run_name(self) -> str:
        """A readable, unique file stem for this run's record."""
        d = f"-d{self.delta:g}" if self.init == "seed" else ""
        return f"{self.dataset}-r{self.ratio:g}-{self.init}{d}-s{self.seed}-{self.key()}"


SEED_ONLY = ("delta", "theta", "theta_mode", "epsilon", "radius", "random", "selection", "act_map", "gate", "zero_mean")
INIT_FIELDS = ("init", "seed", *SEED_ONLY)  # what may differ between the members of one ensemble
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Config)}


def _fail(source: str, name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{source}: {name}={value!r} is not allowed; {name} must be {allowed}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def validate(cfg: Config, source: str) -> None:
    """Check every value; raise ConfigError on the first bad one."""
    for f in dataclasses.fields(cfg):
        choices = f.metadata.get("choices")
        value = getattr(cfg, f.name)
        if choices and value not in choices:
            _fail(source, f.name, value, "one of " + ", ".join(choices))
    for name in ("grayscale", "zero_mean"):
        if not isinstance(getattr(cfg, name), bool):
            _fail(source, name, getattr(cfg, name), "true or false")
    ranges = {
        "ratio": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
        "delta": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
        "theta": (lambda v: v >= 0, "a number >= 0"),
        "epsilon": (lambda v: v >= 0, "a number >= 0"),
        "lr": (lambda v: v > 0, "a number > 0"),
        "window": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
        "val_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    }
    for name, (ok, allowed) in ranges.items():
        v = getattr(cfg, name)
        if not _is_real(v) or not ok(v):
            _fail(source, name, v, allowed)
    if cfg.theta_mode == "relative" and cfg.theta > 1:
        _fail(source, "theta", cfg.theta, "in [0, 1] when theta_mode is relative")
    ints = {"radius": 0, "seed": 0, "epochs": 1, "batch_size": 1}
    for name, low in ints.items():
        v = getattr(cfg, name)
        if not _is_int(v) or v < low:
            _fail(source, name, v, f"a whole number >= {low}")
    if not isinstance(cfg.hidden, tuple) or not all(_is_int(h) and h >= 1 for h in cfg.hidden):
        _fail(source, "hidden", cfg.hidden, "a list of whole numbers >= 1 (may be empty)")
