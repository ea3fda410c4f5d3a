import math

import pytest

from seedinit import q34
from seedinit.stats import diverged, evaluated


def hist(accs, losses=None):
    losses = losses or [1.0] * len(accs)
    return [{"epoch": i + 1, "train_loss": lo, "test_acc": a} for i, (a, lo) in enumerate(zip(accs, losses))]


def test_q34_is_the_75th_percentile_of_the_last_half():
    h = hist([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])  # window: 0.5, 0.6, 0.7, 0.8
    assert q34(h) == pytest.approx(0.725)
    assert q34(h, window=1.0) == pytest.approx(0.625)
    assert q34(h, window=0.01) == pytest.approx(0.8)  # at least one epoch


def test_a_diverged_run_keeps_its_last_accuracy_for_the_missing_epochs():
    h = hist([0.5, 0.098], [1.0, math.nan])
    assert diverged(h) and not diverged(hist([0.5]))
    assert q34(h, epochs=10) == pytest.approx(0.098)


def test_q34_refuses_an_empty_history():
    with pytest.raises(ValueError, match="the history has no test_acc"):
        q34([])


def test_every_epoch_of_the_window_is_evaluated_and_a_few_before():
    epochs = [e for e in range(1, 301) if evaluated(e, 300)]
    assert epochs[:3] == [1, 15, 30] and set(range(151, 301)) <= set(epochs) and len(epochs) == 161
    h = [{"epoch": e, "train_loss": 1.0, **({"test_acc": e / 300} if e in epochs else {})} for e in range(1, 301)]
    assert q34(h) == pytest.approx(q34(hist([e / 300 for e in range(1, 301)])))
