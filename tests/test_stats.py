import math

import pytest

from seedinit import q34
from seedinit.stats import converged, diverged, evaluated, window_start


def hist(accs, losses=None):
    losses = losses or [1.0] * len(accs)
    return [{"epoch": i + 1, "train_loss": lo, "test_acc": a} for i, (a, lo) in enumerate(zip(accs, losses))]


def test_q34_is_the_75th_percentile_of_the_scoring_window():
    h = hist([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    assert window_start(8, 0.5) == 5 and window_start(8, 0.01) == 8  # at least one epoch
    assert q34(h, 5, 8) == pytest.approx(0.725)
    assert q34(h, 1, 8) == pytest.approx(0.625)
    assert q34(h, 8, 8) == pytest.approx(0.8)


def test_a_diverged_run_keeps_its_last_accuracy_for_the_missing_epochs():
    h = hist([0.5, 0.098], [1.0, math.nan])
    assert q34(h, 6, 10) == pytest.approx(0.098)


def test_divergence_is_a_non_finite_loss_or_one_far_above_a_uniform_guess_for_ten_epochs():
    guess = math.log(10)
    assert diverged([2.0, math.nan], 10) and diverged([math.inf], 10)
    assert diverged([2.0] + [7e21] * 10, 10)  # --lr 1e3: finite, at chance, and far above ln(10)
    assert not diverged([91.0, 40.3, 24.3, 15.6, 10.2, 8.1, 1.0], 10)  # N(0, 1) seed filters at delta 0.1: a bad start, recovered
    assert not diverged([11 * guess] * 9 + [9 * guess], 10)
    assert diverged([11 * guess] * 10, 10)


def test_an_explosion_at_any_epoch_or_a_run_that_ends_above_the_bound_diverged_however_short():
    guess = math.log(10)
    assert diverged([7.2e21, 7.4e14, 6542.0], 10)  # --lr 1000 for 3 epochs: orders of magnitude above ln(10)
    assert not diverged([40 * guess, 5.0, 0.5], 10, ended=True)  # the paper's seed filters' worst start, recovered
    assert not diverged([11 * guess] * 3, 10) and diverged([11 * guess] * 3, 10, ended=True)  # ends above 10 ln(10)


def test_the_convergence_criterion_compares_the_best_of_the_last_epochs_with_the_best_before():
    falling = [1 / e for e in range(1, 101)]  # epoch e's loss is 1/e
    assert not converged(falling[:10], 5, 0.01, 0.001)
    assert not converged(falling[:73], 5, 0.0, 0.001) and converged(falling[:74], 5, 0.0, 0.001)  # 1/69 - 1/74 < 0.001
    assert not any(converged(falling[:e], 5, 0.0, 0.0) for e in range(10, 101))
    flat = [1.0] * 5 + [0.5] * 10
    assert not converged(flat[:9], 5, 0.01, 0.0)  # fewer than 2 x patience epochs
    assert not converged(flat[:10], 5, 0.01, 0.0) and converged(flat[:11], 5, 0.01, 0.0)  # the plateau's first 5 improved on 1.0


def test_q34_refuses_an_empty_history():
    with pytest.raises(ValueError, match="the history has no test_acc"):
        q34([], 1, 1)


def test_every_epoch_of_the_window_is_evaluated_and_a_few_before():
    epochs = [e for e in range(1, 301) if evaluated(e, 300)]
    assert epochs[:3] == [1, 15, 30] and set(range(151, 301)) <= set(epochs) and len(epochs) == 161
    h = [{"epoch": e, "train_loss": 1.0, **({"test_acc": e / 300} if e in epochs else {})} for e in range(1, 301)]
    assert q34(h, 151, 300) == pytest.approx(q34(hist([e / 300 for e in range(1, 301)]), 151, 300))
