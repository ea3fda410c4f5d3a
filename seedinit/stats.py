"""The paper's score (Q3/4) and the statistics that compare two initializations."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def window_start(epochs: int, window: float = 0.5) -> int:
    """The first epoch (counted from 1) of the Q3/4 window: the last ``window`` fraction of ``epochs``, at least one."""
    return epochs - max(1, math.ceil(window * epochs)) + 1


def evaluated(epoch: int, epochs: int, window: float = 0.5, points: int = 10) -> bool:
    """Whether accuracy is measured after ``epoch``: every epoch of the Q3/4 window (the last included), ~``points`` before it.

    Evaluating 10000 test images dominates the cost of small-r runs, and only the
    window's epochs enter Q3/4.
    """
    start = window_start(epochs, window)
    return epoch >= start or epoch == 1 or epoch % max(1, start // points) == 0


def q34(history: Sequence[dict], window: float = 0.5, epochs: int | None = None, key: str = "test_acc") -> float:
    """75th percentile of ``key`` over the post-convergence window: the last ``window`` fraction of epochs.

    ``epochs`` is the planned length; a run that diverged early keeps its last value
    for the missing epochs (its weights are non-finite and stay so).
    """
    values = {h["epoch"]: h[key] for h in history if key in h}
    if not values:
        raise ValueError(f"q34: the history has no {key}")
    last = max(values)
    n = max(epochs or last, last)
    scored = [values[e] if e <= last else values[last] for e in range(window_start(n, window), n + 1)]
    return float(np.percentile(scored, 75))


def diverged(history: Sequence[dict]) -> bool:
    """True when the training loss became NaN or infinite."""
    return any(not math.isfinite(h["train_loss"]) for h in history)
