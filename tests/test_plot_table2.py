"""Table 2 as a figure: each cell's two means with t-intervals computed from n and sd."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seedinit.replication.plots import plot_size_curve, plot_table2


def t2_frame() -> pd.DataFrame:
    rows = [
        ("mnist", 0.01, 0.6, 10, 0.90, 0.02, 10, 0.85, 0.04),
        ("mnist", 0.1, 0.8, 10, 0.98, 0.01, 7, 0.96, 0.03),
        ("cifar10", 0.05, 0.7, 10, 0.40, 0.05, 1, 0.30, np.nan),
    ]
    cols = ["dataset", "ratio", "delta", "n_msra", "msra_mean", "msra_sd", "n_seed", "seed_mean", "seed_sd"]
    return pd.DataFrame(rows, columns=cols).assign(diff=lambda t: t["seed_mean"] - t["msra_mean"])


def bars(ax) -> dict[str, list[tuple[float, float, float]]]:
    """Per legend label: (x, low, high) of each interval drawn (a cell without an interval draws none)."""
    out = {}
    for container in ax.containers:
        segments = container.lines[2][0].get_segments()
        out[container.get_label()] = [(s[0][0], s[0][1], s[1][1]) for s in segments if len(s)]
    return out


def test_one_panel_per_dataset_in_percent_with_t_intervals():
    fig = plot_table2(t2_frame())
    mnist, cifar = fig.axes
    assert (mnist.get_title(), cifar.get_title()) == ("MNIST", "CIFAR-10")  # names readers know
    drawn = bars(mnist)
    half = stats.t.ppf(0.975, 9) * 0.02 / np.sqrt(10) * 100
    x, low, high = drawn["MSRA"][0]
    assert (low, high) == pytest.approx((90 - half, 90 + half))
    half7 = stats.t.ppf(0.975, 6) * 0.03 / np.sqrt(7) * 100
    x2, low, high = drawn["seed filters"][1]
    assert (low, high) == pytest.approx((96 - half7, 96 + half7))
    assert x < 0 < 1 < x2, "the arms of one cell sit side by side at its ratio"
    assert [t.get_text() for t in mnist.get_xticklabels()] == ["r = 1 %\nδ = 0.6", "r = 10 %\nδ = 0.8"]


def test_a_wider_level_widens_the_intervals_and_a_single_run_has_none():
    narrow, wide = (bars(plot_table2(t2_frame(), level).axes[0])["MSRA"][0] for level in (0.8, 0.99))
    assert wide[2] - wide[1] > narrow[2] - narrow[1] > 0
    cifar = plot_table2(t2_frame()).axes[1]
    lines = {c.get_label(): c.lines[0].get_ydata() for c in cifar.containers}
    assert lines["seed filters"] == pytest.approx([30.0])
    assert bars(cifar)["seed filters"] == [] and len(bars(cifar)["MSRA"]) == 1


def test_the_size_curve_has_a_panel_per_dataset_in_the_papers_order_and_one_legend_below_them():
    rows = [
        (d, r, a, 0.01 * k, 0.01 * k - 0.002, 0.01 * k + 0.002)
        for k, (d, r, a) in enumerate(
            [("cifar10", 0.1, "kmeans"), ("mnist", 0.01, "seed"), ("mnist", 1.0, "seed"), ("cifar10", 0.1, "pca")]
        )
    ]
    fig = plot_size_curve(pd.DataFrame(rows, columns=["dataset", "ratio", "arm", "diff", "ci_low", "ci_high"]))
    assert [ax.get_title() for ax in fig.axes] == ["MNIST", "CIFAR-10"]
    assert not any(ax.get_legend() for ax in fig.axes)
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["the paper's seed filters", "k-means", "PCA"]
    assert fig.axes[0].lines[0].get_xdata().tolist() == [1.0, 100.0]  # percent, in order of size
