"""The other initializers the book compares: orthogonal, LSUV, k-means and PCA patch filters (``seedinit.inits``' habits)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .inits import LayerReport, Layers, check_images, evaluating, init_convs_, layer_io, layer_io_batches, layers_in_order, random_init_

Generator = torch.Generator | None


def orthogonal_init_(model: nn.Module, images: Tensor | None = None, *, generator: torch.Generator | None = None) -> list[LayerReport]:
    """Saxe et al. (2014): every Conv2d and Linear weight (semi-)orthogonal times ReLU's gain sqrt(2), zero biases; no data, no reports."""
    random_init_(model, lambda w: nn.init.orthogonal_(w, gain=nn.init.calculate_gain("relu"), generator=generator))
    return []


def _sample(model: nn.Module, conv: nn.Conv2d, images: Tensor, batch_size: int, n: int, generator: Generator) -> Tensor:
    """About ``n`` of the conv's receptive fields over ``images`` (all, where there are fewer), drawn evenly over the images
    with ``generator``: ``(n, C_in * s * s)`` in double, rows laid out as the conv's filters."""
    rows, (s, stride) = [], (conv.kernel_size[0], conv.stride[0])
    for prev, _ in layer_io_batches(model, conv, images, batch_size):
        every = prev.unfold(2, s, stride).unfold(3, s, stride)  # (B, C, H', W', s, s), a view: only the drawn ones are copied
        b, _, h, w = every.shape[:4]
        pick = torch.randperm(b * h * w, generator=generator)[: math.ceil(n * b / images.shape[0])]
        rows.append(every[pick // (h * w), :, pick // w % h, pick % w].flatten(1))
    return torch.cat(rows).double()


def _he_norm(w: Tensor) -> Tensor:
    """Rows (filters) scaled to sqrt(2), the expected norm of a He-normal filter (variance 2 / fan_in)."""
    return F.normalize(w.float(), dim=1) * 2**0.5


def lsuv_init_(
    model: nn.Module, images: Tensor, *, generator: Generator = None, tol: float = 0.1, max_iter: int = 10, batch_size: int = 256
) -> list[LayerReport]:
    """LSUV (Mishkin & Matas 2016): orthogonal init, then each Conv2d and Linear layer in forward order has its weight divided
    by its output's std on one batch (``batch_size`` images drawn with ``generator``) until that std is 1 within ``tol``."""
    orthogonal_init_(model, generator=generator)
    check_images("lsuv_init_", images, batch_size)
    batch = images[torch.randperm(images.shape[0], generator=generator)[:batch_size]]
    reports = []
    with evaluating(model):
        for name, layer in layers_in_order(model, batch, (nn.Conv2d, nn.Linear)):
            t0, stds = time.perf_counter(), []
            for _ in range(max_iter):
                stds.append(float(layer_io(model, layer, batch)[1].std()))
                if stds[-1] == 0 or abs(stds[-1] - 1) <= tol:  # zero: a dead layer, which no scale revives
                    break
                with torch.no_grad():
                    layer.weight.div_(stds[-1])
            reports.append(LayerReport(name, layer.weight.shape[0], len(batch), 0, stds, time.perf_counter() - t0))
    return reports


def kmeans_init_(
    model: nn.Module,
    images: Tensor,
    *,
    generator: Generator = None,
    layers: Layers = None,
    batch_size: int = 256,
    patches: int = 10000,
    iters: int = 10,
    eps: float = 0.1,
) -> list[LayerReport]:
    """Coates & Ng (2012): each conv's filters are the spherical k-means centroids of ~``patches`` random patches of its input
    (drawn with ``generator``), each normalized for brightness and contrast, then ZCA-whitened (``eps`` times the mean variance
    or eigenvalue regularizes both), mapped back through the whitening and scaled to He's norm; scores: the clusters' sizes."""

    def make(conv: nn.Conv2d) -> tuple[Tensor, int, list[float]]:
        x = _sample(model, conv, images, batch_size, patches, generator)
        x = x - x.mean(1, keepdim=True)
        x = x / (x.var(1, keepdim=True) + eps * x.var(1).mean()).sqrt()
        values, vectors = torch.linalg.eigh(torch.cov(x.T))
        zca = vectors @ torch.diag((values + eps * values.mean()).rsqrt()) @ vectors.T
        white = x @ zca
        d = F.normalize(torch.randn(conv.out_channels, x.shape[1], generator=generator).to(x), dim=1)
        for _ in range(iters):
            s = white @ d.T
            s = s * (s.abs() == s.abs().amax(1, keepdim=True))  # each patch counts for its nearest centroid (by |cosine|) only
            d = F.normalize(d + s.T @ white, dim=1)
        return _he_norm(d @ zca), len(x), (s != 0).sum(0).tolist()  # zca is symmetric: d . zca x = (zca d) . x

    return init_convs_("kmeans_init_", model, images, layers, batch_size, make)


def pca_init_(
    model: nn.Module, images: Tensor, *, generator: Generator = None, layers: Layers = None, batch_size: int = 256, patches: int = 50000
) -> list[LayerReport]:
    """Each conv's filters: the leading eigenvectors of the covariance of ~``patches`` random patches of its input (drawn with
    ``generator``), then their negatives (the whitening layer of the fastest CIFAR-10 trainers), each with its largest entry
    positive, scaled to He's norm; scores: the eigenvalues. Filters beyond twice the patch size keep their init."""

    def make(conv: nn.Conv2d) -> tuple[Tensor, int, list[float]]:
        x = _sample(model, conv, images, batch_size, patches, generator)
        values, vectors = torch.linalg.eigh(torch.cov(x.T))
        values, vectors = values.flip(0), vectors.flip(1).T  # leading first, one per row
        vectors = vectors * vectors.gather(1, vectors.abs().argmax(1, keepdim=True)).sign()  # eigh's signs are arbitrary
        w = torch.cat([vectors, -vectors])[: conv.out_channels]
        return _he_norm(w), len(x), values.repeat(2)[: len(w)].tolist()

    return init_convs_("pca_init_", model, images, layers, batch_size, make)


# Config.init's other names (not msra, not seed, which takes its options): each is called as f(model, images, generator=g)
NAMED_INITS: dict[str, Callable[..., list[LayerReport]]] = {
    "orthogonal": orthogonal_init_, "lsuv": lsuv_init_, "kmeans": kmeans_init_, "pca": pca_init_,
}  # fmt: skip
