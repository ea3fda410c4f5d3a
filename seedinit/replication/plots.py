"""Pictures of filters and learning curves, shared by the CLI and the notebooks."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor, nn

from ..algorithm import explain
from ..config import Config, generator
from ..data import SPECS, Dataset, to_float
from ..experiment import build_model
from ..inits import layer_io
from ..options import ConfigError
from .protocol import NEW_INITS, READINGS, REPAIRED_ARM, arm_words
from .runs import arm_label, cell_label, final_records, paper_order

if TYPE_CHECKING:
    import pandas as pd  # the book's extra; the CLI draws filters without it


def filter_grid(weight: Tensor, pad: int = 1) -> Tensor:
    """A mosaic of conv filters ``(K, C, s, s)``: one row per filter, one tile per input channel.

    Single-channel filters are laid out in a near-square grid instead. Each filter is
    scaled to its own [-max|w|, max|w|], so 0 is the middle grey.
    """
    w = weight.detach().float().cpu()
    k, c, s, _ = w.shape
    w = w / w.flatten(1).abs().amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
    if c == 1:
        cols = math.ceil(math.sqrt(k))
        rows = math.ceil(k / cols)
        w = torch.cat([w, torch.full((rows * cols - k, 1, s, s), float("nan"))]).view(rows, cols, s, s)
    else:
        rows, cols = k, c
    grid = torch.full((rows * (s + pad) + pad, cols * (s + pad) + pad), float("nan"))
    for i in range(rows):
        for j in range(cols):
            grid[pad + i * (s + pad) : pad + i * (s + pad) + s, pad + j * (s + pad) : pad + j * (s + pad) + s] = w[i, j]
    return grid


def plot_filters(model: nn.Module, layers: tuple[str, ...] = ("c1", "c3"), title: str = "") -> plt.Figure:
    """The initial filters of the named conv layers, side by side (the paper's Fig. 2 style)."""
    convs = [model.get_submodule(name) for name in layers]
    fig, axes = plt.subplots(1, len(convs), figsize=(4 * len(convs), 6), squeeze=False)
    for ax, name, conv in zip(axes[0], layers, convs):
        cmap = plt.get_cmap("RdBu_r").copy()
        cmap.set_bad("white")
        ax.imshow(filter_grid(conv.weight), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{name}: {conv.out_channels} filters of {conv.in_channels}×{conv.kernel_size[0]}×{conv.kernel_size[1]}")
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_steps(data: Dataset, cfg: Config, i: int = 0) -> plt.Figure:
    """Algorithm 1 at C1 of an MSRA-initialized LeNet-5 with ``cfg``'s settings, on training image ``i`` of ``data``: input,
    seed, activation map, suppression, gated seed, and the filters (the random part N(0, 1), from ``cfg``'s RNG seed)."""
    if cfg.model != "lenet5":
        raise ConfigError(f"plot_steps: model={cfg.model!r} is not allowed; the walkthrough shows LeNet-5's C1 (model='lenet5')")
    images, delta = to_float(data.x_train[i : i + 1]), cfg.delta
    model, _ = build_model(cfg.replace(init="msra"), images, data.num_classes)
    prev, act = layer_io(model, model.c1, images)
    settings = {k: getattr(cfg, k) for k in ("theta", "theta_mode", "epsilon", "radius", "act_map", "gate")}
    steps = {k: v[0] for k, v in explain(prev, act, model.c1.kernel_size[0], **settings).items()}
    g_x, g_r, prev = steps["g_x"], torch.randn(steps["g_x"].shape, generator=generator(cfg.seed, "walkthrough")), prev[0]
    mixed = (1 - delta) * g_r + delta * g_x
    thr = float(steps["threshold"])
    panels = [
        ("input", prev.mean(0), "gray"),
        (r"seed: ReLU(input $-\ \varepsilon$ max)", steps["seed"].mean(0), "gray"),
        ("activation map $a$", steps["a"], "viridis"),
        (rf"$a > \theta$ = {thr:.2g} (represented)", (steps["a"] > thr).float(), "gray"),
        ("$a$ after suppression", steps["suppressed"], "viridis"),
        ("seed gated by $a$", steps["gated"].mean(0), "gray"),
        ("$g_x$ (chosen window)", g_x.mean(0), "RdBu_r"),
        (r"$g_r \sim N(0, 1)$", g_r.mean(0), "RdBu_r"),
        (rf"$(1-\delta)\,g_r + \delta\,g_x$, δ = {delta:g}", mixed.mean(0), "RdBu_r"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.6))
    for ax, (title, img, cmap) in zip(axes, panels):
        img = img.detach().float().cpu()
        lim = float(img.abs().max()) or 1.0
        ax.imshow(img, cmap=cmap, **({"vmin": -lim, "vmax": lim} if cmap == "RdBu_r" else {}), interpolation="nearest")
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    fig.suptitle(f"{SPECS[cfg.dataset].title}: training image {i}, score {float(steps['score']):.3g}", y=1.05)
    return fig


def plot_curves(records: list[dict]) -> plt.Figure:
    """Training loss per epoch and test accuracy (%) where measured, one line per run, coloured by arm."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    at = [f", δ = {r['config']['delta']:g}" if r["config"]["init"] == "seed" else "" for r in records]
    labels = [arm_words(arm_label(r["config"])) + delta for r, delta in zip(records, at)]
    colours = dict(zip(sorted(set(labels)), plt.get_cmap("tab10").colors))
    for r, label in zip(records, labels):
        epochs = [h["epoch"] for h in r["history"]]
        ax_loss.plot(epochs, [h["train_loss"] for h in r["history"]], color=colours[label], alpha=0.6, lw=1)
        scored = [h for h in r["history"] if "test_acc" in h]  # test accuracy is measured on some epochs only
        ax_acc.plot([h["epoch"] for h in scored], [100 * h["test_acc"] for h in scored], color=colours[label], alpha=0.6, lw=1)
    for name, c in colours.items():
        ax_acc.plot([], [], color=c, label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)")
    ax_acc.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_cells(records: list[dict]) -> list[plt.Figure]:
    """``plot_curves`` for each dataset, ratio and training protocol among ``records`` (each run once, by its longest
    record), titled with the final losses."""
    cells: dict[tuple, list[dict]] = {}
    for r in final_records(records):
        cells.setdefault((r["config"]["dataset"], r["config"]["ratio"], r["config"].get("stop", "fixed")), []).append(r)
    figures = []
    for (dataset, ratio, stop), runs in sorted(cells.items()):
        fig, tail = plot_curves(runs), [r["history"][-1]["train_loss"] for r in runs]
        how = "trained until converged" if stop == "converged" else "fixed schedule"
        losses = f"final training loss {min(tail):.2g} to {max(tail):.2g}"
        fig.suptitle(f"{cell_label(dataset, ratio)}, {how}: {len(runs)} runs; {losses}", y=1.03)
        figures.append(fig)
    return figures


def plot_convergence(runs: pd.DataFrame) -> plt.Figure:
    """Per cell (x) and arm (colour), each run's convergence epoch (a cross at its cap: never converged; a square where it
    stopped: diverged) and its training loss at the start and the end of its scoring window; ``runs``: rows of ``tables.runs_frame``."""
    cells = sorted({(d, r) for d, r in zip(runs["dataset"], runs["ratio"])})
    fig, (ax_e, ax_l) = plt.subplots(1, 2, figsize=(11, 3.4))
    for shift, (arm, colour) in zip((-0.15, 0.15), (("msra", "tab:blue"), ("seed", "tab:orange"))):
        mine = runs[runs["arm"] == arm]
        x = np.array([cells.index(k) for k in zip(mine["dataset"], mine["ratio"])], dtype=float) + shift
        done, broke = mine["converged"].to_numpy(bool), mine["diverged"].to_numpy(bool)
        ax_e.scatter(x[done], mine["converged_at"][done], s=12, color=colour, label=READINGS[arm])
        ax_e.scatter(x[~done & ~broke], mine["epochs"][~done & ~broke], s=30, color=colour, marker="x")
        ax_e.scatter(x[broke], mine["stopped"][broke], s=30, color=colour, marker="s")
        ax_l.scatter(x, mine["loss_start"], s=12, color=colour, alpha=0.5, marker="^", label=f"{READINGS[arm]}: window start")
        ax_l.scatter(x, mine["loss_end"], s=12, color=colour, label=f"{READINGS[arm]}: end")
    for ax in (ax_e, ax_l):
        ax.set_xticks(range(len(cells)), [cell_label(d, r).replace(", ", "\n") for d, r in cells], fontsize=7)
        ax.legend(fontsize=7)
    ax_e.set(ylabel="epoch the loss converged (x: the cap)", yscale="log")
    ax_l.set(ylabel="training loss", yscale="log")
    fig.tight_layout()
    return fig


def plot_table2(t2: pd.DataFrame, level: float = 0.95) -> plt.Figure:
    """Table 2 as a figure: per dataset (panel) and ratio, both arms' mean Q3/4 with ``level`` t-intervals from n and sd.

    ``t2`` is ``statistics.table2``'s frame (accuracies as fractions); the axes are in percent, and the
    tick under each pair of intervals names the ratio and the seed filters' δ.
    """
    from scipy import stats

    datasets = list(dict.fromkeys(t2["dataset"]))
    fig, axes = plt.subplots(1, max(1, len(datasets)), figsize=(3.2 * max(1, len(datasets)), 3.2), squeeze=False)
    arms = (("msra", "MSRA", "tab:blue", -0.12), ("seed", "seed filters", "tab:orange", 0.12))
    for ax, dataset in zip(axes[0], datasets):
        cells = t2[t2["dataset"] == dataset].sort_values("ratio").reset_index(drop=True)
        for prefix, label, colour, shift in arms:
            n, mean, sd = (cells[c].to_numpy(float) for c in (f"n_{prefix}", f"{prefix}_mean", f"{prefix}_sd"))
            with np.errstate(invalid="ignore", divide="ignore"):  # one run: no interval, only its mean
                half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
            ax.errorbar(np.arange(len(cells)) + shift, 100 * mean, yerr=100 * half, fmt="o", color=colour, capsize=3, label=label)
        ax.set_xticks(range(len(cells)), [f"r = {100 * r:g} %\nδ = {d:g}" for r, d in zip(cells["ratio"], cells["delta"])])
        ax.set(title=SPECS[dataset].title if dataset in SPECS else dataset, xlim=(-0.5, len(cells) - 0.5))
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"test Q3/4 (%): mean, {100 * level:g} % interval")
    if datasets:
        axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig


MODELS = {"lenet5": "LeNet-5", "resnet8": "ResNet-8"}
COLOURS = dict(zip((*NEW_INITS, "seed", REPAIRED_ARM), plt.get_cmap("tab10").colors))  # each initializer's colour in every plot


def plot_forest(table: pd.DataFrame, planned: int = 0) -> plt.Figure:
    """Per cell (panel), each initializer's Q3/4 difference to MSRA (a ``statistics.comparison_table``) in points with
    its 95 % interval; an initializer with fewer than ``planned`` runs recorded in a cell says how many it has."""
    rows = table[table["arm"] != "msra"]
    cells = list(dict.fromkeys(zip(rows["model"], rows["dataset"], rows["ratio"])))
    arms = list(dict.fromkeys(rows["arm"]))[::-1]  # the table's first initializer on top
    cols = min(3, max(1, len(cells)))
    grid = (math.ceil(len(cells) / cols) or 1, cols)
    fig, axes = plt.subplots(*grid, figsize=(3.4 * cols, grid[0] * (0.35 * len(arms) + 1)), squeeze=False, sharey=True)
    for ax, (model, dataset, ratio) in zip(axes.flat, cells):
        part = rows[(rows["model"] == model) & (rows["dataset"] == dataset) & (rows["ratio"] == ratio)]
        for r in part.itertuples():
            y, diff = arms.index(r.arm), 100 * r.diff
            err = [[diff - 100 * r.ci_low], [100 * r.ci_high - diff]]
            ax.errorbar(diff, y, xerr=err, fmt="o", ms=4, capsize=2, color=COLOURS.get(r.arm, "black"))
            if r.n + r.unconverged < planned:
                note = f"{r.n + r.unconverged} of {planned} runs"
                ax.annotate(note, (diff, y), xytext=(0, 5), textcoords="offset points", fontsize=7, ha="center")
        ax.axvline(0, color="grey", lw=1)
        network = "" if len({m for m, _, _ in cells}) == 1 else f", {MODELS.get(model, model)}"
        ax.set_title(cell_label(dataset, ratio) + network, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(arms)), [READINGS.get(a, a) for a in arms])
    for ax in axes.flat[len(cells) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("Q3/4 − MSRA (points)")
    fig.tight_layout()
    return fig


def plot_delta_grid(runs: pd.DataFrame, score: str = "q34") -> plt.Figure:
    """Per cell (panel), the paper's seed filters' ``score`` (%) at each δ of the grid: each run a dot, the mean a line,
    MSRA's mean dashed; ``runs``: ``tables.paper_grid``'s rows."""
    cells = sorted({(d, r) for d, r in zip(runs["dataset"], runs["ratio"])}, key=lambda c: (c[1], c[0]))
    cols = min(3, max(1, len(cells)))
    fig, axes = plt.subplots(math.ceil(len(cells) / cols) or 1, cols, figsize=(3.3 * cols, 2.6 * math.ceil(len(cells) / cols) or 1))
    for ax, (dataset, ratio) in zip(np.ravel(axes), cells):
        cell = runs[(runs["dataset"] == dataset) & (runs["ratio"] == ratio)]
        seed, msra = cell[cell["arm"] == "seed"], cell[cell["arm"] == "msra"]
        means = seed.groupby("delta")[score].mean()
        ax.plot(means.index, 100 * means, color="tab:orange", marker="o", ms=3, label="seed filters (mean)")
        ax.scatter(seed["delta"], 100 * seed[score], s=6, color="black", alpha=0.6)
        if len(msra):
            ax.axhline(100 * msra[score].mean(), ls="--", color="tab:blue", label="MSRA (mean)")
        ax.set(title=cell_label(dataset, ratio), xlabel="δ")
    for ax in np.ravel(axes)[len(cells) :]:
        ax.axis("off")
    np.ravel(axes)[0].set_ylabel(("validation" if score == "val_q34" else "test") + " Q3/4 (%)")
    np.ravel(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_size_curve(t: pd.DataFrame) -> plt.Figure:
    """Per dataset (panel), each initializer's difference to MSRA (points, 95 % Welch interval) against the share of the
    training set, log-scaled; ``t``: rows of dataset, ratio, arm, diff, ci_low, ci_high (``statistics.by_size``)."""
    datasets = sorted(set(t["dataset"]), key=paper_order)
    fig, axes = plt.subplots(1, max(1, len(datasets)), figsize=(3.4 * max(1, len(datasets)), 3.8), squeeze=False, sharey=False)
    for ax, dataset in zip(axes[0], datasets):
        for name, rows in t[t["dataset"] == dataset].sort_values("ratio").groupby("arm"):
            x, y = 100 * rows["ratio"], 100 * rows["diff"]
            err = [y - 100 * rows["ci_low"], 100 * rows["ci_high"] - y]
            ax.errorbar(x, y, yerr=err, marker="o", ms=3, capsize=2, color=COLOURS.get(name, "black"), label=READINGS.get(name, name))
        ax.axhline(0, color="grey", lw=1)
        ax.set(xscale="log", title=SPECS[dataset].title, xlabel="training images used (%)")
    axes[0][0].set_ylabel("difference to MSRA (points)")
    named = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(named.values(), named.keys(), loc="lower center", ncol=3, fontsize=7, frameon=False)  # below, clear of the data
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    return fig
