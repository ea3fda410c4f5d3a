"""Algorithm 1's settings (``SeedOptions``) and the rules every setting is checked by.

Every field carries its help text and its rule, and one function, ``validate``, checks them all: a bad value raises
``ConfigError`` naming the value, what is allowed and where it came from. ``seedinit.config.Config`` adds a run's other
settings to these.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or of the wrong kind; ``setting`` is (name, value, what is allowed) if one."""

    def __init__(self, message: str, setting: tuple[str, Any, str] | None = None) -> None:
        super().__init__(message)
        self.setting = setting


Rule = tuple[Callable[[Any], bool], str]


def real(ok: Callable[[float], bool], text: str) -> Rule:
    return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and ok(v)), text


def whole(lo: int) -> Rule:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo), f"a whole number >= {lo}"


BOOL: Rule = (lambda v: isinstance(v, bool)), "true or false"
UNIT: Rule = real(lambda v: 0 <= v <= 1, "a number in [0, 1]")
NONNEG: Rule = real(lambda v: v >= 0, "a number >= 0")


def opt(default: Any, help: str, choices: tuple | None = None, rule: Rule | None = None) -> Any:
    """A dataclass field carrying its CLI help text and what is allowed."""
    return field(default=default, metadata={"help": help, "choices": choices, "rule": rule})


def validate(obj: Any, source: str) -> None:
    """Check every field of a ``SeedOptions`` or ``Config`` by its rule; raise ConfigError on the first bad one."""
    for f in dataclasses.fields(obj):
        value, choices, rule = getattr(obj, f.name), f.metadata["choices"], f.metadata["rule"]
        if choices and value not in choices:
            fail(source, f.name, value, "one of " + ", ".join(map(str, choices)))
        if rule and not rule[0](value):
            fail(source, f.name, value, rule[1])
    if obj.theta_mode == "relative" and obj.theta > 1:
        fail(source, "theta", obj.theta, "in [0, 1] when theta_mode is relative")
    if getattr(obj, "stop", "fixed") == "converged" and obj.epochs < (need := 2 * obj.patience + obj.score_epochs):
        fail(source, "epochs", obj.epochs, f"at least 2*patience + score_epochs = {need} when stop is converged")


def build(cls: type, values: dict[str, Any], source: str, allowed: Sequence[str]) -> Any:
    """``cls(**values)``; ConfigError naming ``source`` and the unknown or bad setting."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(_said(source, *err.setting), err.setting) if err.setting else err from None


def fail(source: str, name: str, value: Any, allowed: str) -> None:
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

    delta: float = opt(0.5, "filter mixing ratio: (1-delta)*random + delta*seed filter", rule=UNIT)
    theta: float = opt(0.8, "learning threshold: activation level above which a place counts as represented", rule=NONNEG)
    theta_mode: str = opt("relative", "theta is absolute, or relative to each image's peak activation", ("absolute", "relative"))
    epsilon: float = opt(0.5, "inhibition strength: seed filter = ReLU(prev - epsilon*max(prev))", rule=NONNEG)
    radius: int = opt(2, "tolerance radius r_t of the suppression square, in pixels of the output map", rule=whole(0))
    random: str = opt("normal", "random part g_r: N(0, 1) as the paper, or He-scaled with g_x matched", ("normal", "he"))
    selection: str = opt("topk", "keep the top-k candidates by score, or skip near-duplicates", ("topk", "diverse"))
    max_cosine: float = opt(
        0.9, "selection=diverse: skip a candidate this close (cosine) to a kept one", rule=real(lambda v: abs(v) <= 1, "in [-1, 1]")
    )
    act_map: str = opt("max", "activation map over output channels", ("max", "mean"))
    gate: str = opt("activation", "multiply each seed filter by the suppressed activation (paper) or its support", ("activation", "mask"))
    zero_mean: bool = opt(False, "subtract each seed filter's mean before mixing (our variant, not the paper's)", rule=BOOL)

    def __post_init__(self) -> None:
        validate(self, type(self).__name__)  # Config's too; the message shows the value as given
        for f in dataclasses.fields(self):  # 1 and 1.0 are one setting: the record's name must not tell them apart
            if isinstance(f.default, float) and isinstance(getattr(self, f.name), int) and not isinstance(getattr(self, f.name), bool):
                object.__setattr__(self, f.name, float(getattr(self, f.name)))


SEED_FIELDS = tuple(f.name for f in dataclasses.fields(SeedOptions))
