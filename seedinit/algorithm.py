"""Algorithm 1 of the paper, vectorized over a batch of images.

``seed_filters`` turns one batch of a conv layer's inputs and activations into one candidate seed filter per image
(steps 1-6); ``TopK`` and ``select_diverse`` keep the best candidates over a whole dataset (step 7); ``mix`` blends them
with random filters. Each reading of an ambiguous step is documented in ``book/method.md``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def inhibit(prev: Tensor, epsilon: float) -> Tensor:
    """Step 1: ``seed = ReLU(prev - epsilon * max(prev))``, max over each image's whole input."""
    peak = prev.amax(dim=tuple(range(1, prev.dim())), keepdim=True)  # no flatten: a channels-last input is not copied
    return F.relu(prev - epsilon * peak)


def activation_map(act: Tensor, reduce: str = "max") -> Tensor:
    """Step 2: one map per image, ``(N, C_out, H', W') -> (N, H', W')``: max (or mean) over channels of ReLU(act); ``act``
    may be given before the ReLU (max(ReLU(x)) = ReLU(max(x)) saves a pass)."""
    return F.relu(act.amax(dim=1)) if reduce == "max" else F.relu(act).mean(dim=1)


def suppress(a: Tensor, threshold: Tensor | float, radius: int) -> Tensor:
    """Step 3: zero ``a`` on the (2r+1)^2 square around every place where ``a > threshold``: those places are already
    represented by the layer (competitive inhibition); what survives are the weakly answered places, where a new filter is needed."""
    if not torch.is_tensor(threshold):
        threshold = torch.tensor(threshold, dtype=a.dtype, device=a.device)
    threshold = threshold.view(-1, 1, 1) if threshold.dim() else threshold
    n, h, w = a.shape
    # images as channels of one channels-last map: the fast max-pool path on the CPU (~8x)
    strong = (a > threshold).to(a.dtype).view(1, n, h, w).contiguous(memory_format=torch.channels_last)
    near = F.max_pool2d(strong, 2 * radius + 1, stride=1, padding=radius).view(n, h, w) > 0
    return a.masked_fill(near, 0.0)


def align(a: Tensor, kernel_size: int, stride: int = 1, size: tuple[int, int] | None = None) -> Tensor:
    """Step 4: put a valid-conv output map on its input grid of ``size``, each value at the centre of its receptive field.
    With ``stride`` s > 1, output i covers input rows ``i*s ... i*s+kernel_size-1`` and stands for the s x s cell around
    that centre, so the map stays dense (as with stride 1); input rows no cell reaches are zero."""
    lo, hi = (kernel_size - 1) // 2, kernel_size // 2
    if stride == 1:
        return F.pad(a, (lo, hi, lo, hi))
    cells = a.repeat_interleave(stride, 1).repeat_interleave(stride, 2)
    top = lo - (stride - 1) // 2  # where the first cell starts; F.pad crops where it is negative
    return F.pad(cells, (top, size[1] - top - cells.shape[2], top, size[0] - top - cells.shape[1]))


def best_window(seed: Tensor, kernel_size: int) -> tuple[Tensor, Tensor]:
    """Step 5: the s x s window of largest energy (sum of squares over channels) in each image: the windows
    ``(N, C, s, s)`` and their energies ``(N,)``."""
    n, _, h, w = seed.shape
    s = kernel_size
    # images as channels of one channels-last map, as in ``suppress``: the fast pooling path on the CPU
    per_place = seed.square().sum(1).view(1, n, h, w).contiguous(memory_format=torch.channels_last)
    energy = F.avg_pool2d(per_place, s, stride=1).view(n, -1) * (s * s)
    best, flat = energy.max(dim=1)
    out_w = w - s + 1
    every_window = seed.unfold(2, s, 1).unfold(3, s, 1)  # (N, C, H', W', s, s), a view: only the chosen ones are copied
    windows = every_window[torch.arange(n, device=seed.device), :, flat // out_w, flat % out_w].contiguous()
    return windows, best


def explain(
    prev: Tensor,
    act: Tensor,
    kernel_size: int,
    *,
    stride: int = 1,
    theta: float,
    epsilon: float,
    radius: int,
    theta_mode: str = "absolute",
    act_map: str = "max",
    gate: str = "activation",
) -> dict[str, Tensor]:
    """Steps 1-6 with every intermediate: ``seed``, ``a``, ``threshold``, ``suppressed``, ``gated``, ``g_x``, ``score``.
    ``prev`` is the layer's input ``(N, C_in, H, W)``, padded as the conv pads it; ``act`` is conv(prev), before or after
    its ReLU, ``(N, C_out, (H-s)//stride+1, (W-s)//stride+1)``. With ``theta_mode="relative"`` the threshold is ``theta``
    times each image's peak activation."""
    s = kernel_size
    if prev.dim() != 4 or act.dim() != 4 or prev.shape[0] != act.shape[0]:
        raise ValueError(f"prev and act must be (N, C, H, W) batches of equal N; got {tuple(prev.shape)} and {tuple(act.shape)}")
    if act.shape[-2:] != ((prev.shape[-2] - s) // stride + 1, (prev.shape[-1] - s) // stride + 1):
        raise ValueError(f"act {tuple(act.shape)} is not the valid {s}x{s} convolution with stride {stride} of prev {tuple(prev.shape)}")
    seed = inhibit(prev, epsilon)
    a = activation_map(act, act_map)
    threshold = theta * a.flatten(1).amax(dim=1) if theta_mode == "relative" else a.new_full(a.shape[:1], float(theta))
    suppressed = suppress(a, threshold, radius)
    weight = (suppressed > 0).to(a.dtype) if gate == "mask" else suppressed
    gated = seed * align(weight, s, stride, prev.shape[-2:]).unsqueeze(1)
    windows, energy = best_window(gated, s)
    found = energy > 0
    norm = windows.flatten(1).norm(dim=1).clamp_min(torch.finfo(windows.dtype).tiny)
    g_x = windows / norm.view(-1, 1, 1, 1) * found.view(-1, 1, 1, 1)
    score = suppressed.flatten(1).norm(dim=1) * found
    return dict(seed=seed, a=a, threshold=threshold, suppressed=suppressed, gated=gated, g_x=g_x, score=score)


def seed_filters(prev: Tensor, act: Tensor, kernel_size: int, **settings: float | int | str) -> tuple[Tensor, Tensor]:
    """Steps 1-6 of Algorithm 1 for a batch: ``g_x`` ``(N, C_in, s, s)``, one unit-norm candidate filter per image, and
    its ``score`` ``(N,)``, the Frobenius norm of the suppressed activation map; an image whose chosen window is all zero
    gives no candidate (zero ``g_x`` and score). ``settings`` and the shapes are ``explain``'s."""
    d = explain(prev, act, kernel_size, **settings)
    return d["g_x"], d["score"]


class TopK:
    """Step 7 over a stream of batches: keep the ``k`` candidates with the largest scores (positive only)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.scores: Tensor | None = None
        self.filters: Tensor | None = None
        self.seen = 0  # candidates offered (positive scores)

    def update(self, filters: Tensor, scores: Tensor) -> None:
        keep = scores > 0
        self.seen += int(keep.sum())
        filters, scores = filters[keep], scores[keep]
        if self.scores is not None:
            filters = torch.cat([self.filters, filters])
            scores = torch.cat([self.scores, scores])
        order = torch.argsort(scores, descending=True, stable=True)[: self.k]
        self.scores, self.filters = scores[order], filters[order]


def select_diverse(filters: Tensor, scores: Tensor, k: int, max_cosine: float) -> Tensor:
    """The indices of at most ``k`` of ``filters`` (sorted by decreasing score), kept greedily by score, skipping a
    candidate too similar (cosine > ``max_cosine``) to one kept."""
    flat = F.normalize(filters.flatten(1), dim=1)
    kept: list[int] = []
    for i in range(flat.shape[0]):  # over the pool of candidates, not images
        if len(kept) == k:
            break
        if not kept or (flat[kept] @ flat[i]).max() <= max_cosine:
            kept.append(i)
    return torch.tensor(kept, dtype=torch.long)


def mix(g_x: Tensor, delta: float, random: str, generator: torch.Generator | None = None) -> Tensor:
    """The initial filters ``(1 - delta) * g_r + delta * g_x`` (Algorithm 1, line 14): g_r ~ N(0, 1) elementwise, as the
    paper (``random="normal"``), or N(0, 2 / fan_in) with g_x scaled by sqrt(2), the expected norm of such g_r (``"he"``)."""
    g_r = torch.randn(g_x.shape, generator=generator, dtype=g_x.dtype, device="cpu").to(g_x.device)
    if random == "he":
        g_r, g_x = g_r * (2.0 / g_x[0].numel()) ** 0.5, g_x * 2.0**0.5
    return (1 - delta) * g_r + delta * g_x
