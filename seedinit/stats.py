"""When a run has converged, the paper's score (Q3/4) over the epochs after it, and when a run has diverged."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# diverged: a non-finite loss; a loss above EXPLODED x ln(classes), orders of magnitude above a uniform guess's, at any
# epoch; one above BOUND x ln(classes) for PATIENCE_HIGH epochs in a row (the paper's N(0, 1) seed filters start up to
# ~40 x ln(classes) and recover within a few epochs; a learning rate too large for Adam stays there); or a run that ends
# above BOUND x ln(classes), however short.
EXPLODED, BOUND, PATIENCE_HIGH = 1000, 10, 10


def window_start(epochs: int, window: float = 0.5) -> int:
    """stop=fixed: the first epoch (counted from 1) of the Q3/4 window, the last ``window`` fraction of ``epochs`` (at least one)."""
    return epochs - max(1, math.ceil(window * epochs)) + 1


def evaluated(epoch: int, epochs: int, window: float = 0.5) -> bool:
    """stop=fixed: whether accuracy is measured after ``epoch``: every epoch of the Q3/4 window, about 10 before it
    (only the window's epochs enter Q3/4, and evaluating 10000 test images dominates the cost of small-r runs)."""
    start = window_start(epochs, window)
    return epoch >= start or epoch == 1 or epoch % max(1, start // 10) == 0


def converged(losses: Sequence[float], patience: int, rtol: float, atol: float) -> bool:
    """The convergence criterion on the training losses so far, one per epoch: the best of the last ``patience``
    epochs improves on the best of all epochs before them by less than ``rtol * that best + atol``."""
    if len(losses) < 2 * patience:
        return False
    before, recent = min(losses[:-patience]), min(losses[-patience:])
    return before - recent < rtol * before + atol


def diverged(losses: Sequence[float], classes: int, ended: bool = False) -> bool:
    """Whether the training losses so far (one per epoch) show a run that diverged; ``ended``: training is over, so a
    last loss above the bound counts too."""
    chance = math.log(max(classes, 2))
    tail = losses[-PATIENCE_HIGH:]
    if any(not math.isfinite(x) or x > EXPLODED * chance for x in losses):
        return True
    return (len(tail) == PATIENCE_HIGH and min(tail) > BOUND * chance) or (ended and bool(losses) and losses[-1] > BOUND * chance)


def q34(history: Sequence[dict], start: int, end: int, key: str = "test_acc") -> float:
    """75th percentile of ``key`` over epochs ``start``..``end``, the scoring window. A run that stopped early (it
    diverged) keeps its last measured value for the epochs it did not train: its weights are broken and stay so."""
    values = {h["epoch"]: h[key] for h in history if h.get(key) is not None}
    if not values:
        raise ValueError(f"q34: the history has no {key}")
    last = max(values)
    scored = [values[last] if e > last else values.get(e, math.nan) for e in range(start, end + 1)]
    return float(np.nanpercentile(scored, 75))
