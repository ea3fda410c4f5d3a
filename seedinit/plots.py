"""Pictures of filters and learning curves, shared by the CLI and the notebooks."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn


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
        w = w.view(rows, cols, s, s)
    grid = torch.full((rows * (s + pad) + pad, cols * (s + pad) + pad), float("nan"))
    for i in range(rows):
        for j in range(cols):
            grid[pad + i * (s + pad) : pad + i * (s + pad) + s, pad + j * (s + pad) : pad + j * (s + pad) + s] = w[i, j]
    return grid


def plot_filters(model: nn.Module, layers: tuple[str, ...] = ("c1", "c3"), title: str = "") -> plt.Figure:
    """The initial filters of the named conv layers, side by side (the paper's Fig. 2 style)."""
    grids = [filter_grid(model.get_submodule(name).weight) for name in layers]
    fig, axes = plt.subplots(1, len(grids), figsize=(4 * len(grids), 6), squeeze=False)
    for ax, name, grid in zip(axes[0], layers, grids):
        conv = model.get_submodule(name)
        cmap = plt.get_cmap("RdBu_r").copy()
        cmap.set_bad("white")
        ax.imshow(grid, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{name}: {conv.out_channels} filters {conv.in_channels}x{conv.kernel_size[0]}x{conv.kernel_size[1]}")
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
