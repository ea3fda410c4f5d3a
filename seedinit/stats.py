"""The paper's score (Q3/4) and the statistics that compare two initializations."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def q34(history: Sequence[dict], window: float = 0.5, epochs: int | None = None, key: str = "test_acc") -> float:
    """75th percentile of ``key`` over the post-convergence window: the last ``window`` fraction of epochs.

    ``epochs`` is the planned length; a run that diverged early keeps its last value
    for the missing epochs (its weights are non-finite and stay so).
    """
    values = [h[key] for h in history]
    if not values:
        raise ValueError("q34: the history is empty")
    n = max(epochs or len(values), len(values))
    values += [values[-1]] * (n - len(values))
    start = n - max(1, math.ceil(window * n))
    return float(np.percentile(values[start:], 75))


def diverged(history: Sequence[dict]) -> bool:
    """True when the training loss became NaN or infinite."""
    return any(not math.isfinite(h["train_loss"]) for h in history)
