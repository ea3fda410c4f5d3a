"""Initializers in the habit of ``torch.nn.init``: in place, take a module, return it or a report.

The data-driven ones (``seed_init_``, ``lsuv_init_``, ``kmeans_init_``, ``pca_init_``) share one signature,
``name_init_(model, images, *, generator=None, **options)``: they visit the layers in the order a forward pass runs
them, in eval mode (BatchNorm uses, and keeps, its running statistics), so each layer sees its input as the network
computes it with the layers before it already set; each returns one ``LayerReport`` per layer it set.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .algorithm import TopK, mix, seed_filters, select_diverse
from .config import SEED_FIELDS, ConfigError, SeedOptions, build

Generator = torch.Generator | None
Layers = Sequence[str] | None  # the names of the conv layers to set; None: all


def _random_init_(model: nn.Module, fill: Callable[[Tensor], Tensor]) -> nn.Module:
    """Every Conv2d and Linear weight drawn by ``fill`` on the CPU (one generator, the same weights on any device); zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                m.weight.copy_(fill(torch.empty(m.weight.shape)))
                if m.bias is not None:
                    m.bias.zero_()
    return model


def msra_init_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """He normal init (fan_in, ReLU gain) of every Conv2d and Linear weight; zero biases."""
    return _random_init_(model, lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=generator))


def orthogonal_init_(model: nn.Module, images: Tensor | None = None, *, generator: torch.Generator | None = None) -> list[LayerReport]:
    """Saxe et al. (2014): every Conv2d and Linear weight (semi-)orthogonal times ReLU's gain sqrt(2), zero biases; no data, no reports."""
    _random_init_(model, lambda w: nn.init.orthogonal_(w, gain=nn.init.calculate_gain("relu"), generator=generator))
    return []


@dataclass
class LayerReport:
    """What a data-driven initializer did to one layer."""

    layer: str
    filters: int  # out_channels (out_features)
    candidates: int  # what the data offered: images that gave a seed candidate, patches, or images in the LSUV batch
    seeded: int  # filters set from the data; the rest keep their random init
    scores: list[float] = field(default_factory=list)  # seed: kept candidates' scores; pca: eigenvalues; kmeans: cluster sizes; lsuv: stds
    seconds: float = 0.0


class _Stop(Exception):
    """Raised by a hook to end the forward pass once the layer of interest has run."""


@torch.no_grad()
def _forward(model: nn.Module, images: Tensor, hooks: dict[nn.Module, Callable]) -> None:
    """Run ``model`` on ``images`` (float, channels-last, on its device) with forward ``hooks`` until one raises ``_Stop``."""
    handles = [m.register_forward_hook(h) for m, h in hooks.items()]
    try:
        model(images.to(next(model.parameters()).device, torch.float32).contiguous(memory_format=torch.channels_last))
    except _Stop:
        pass
    finally:
        for h in handles:
            h.remove()


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode for the block (BatchNorm neither needs a batch nor updates its statistics), then the mode the model had."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def layers_in_order(model: nn.Module, images: Tensor, kinds: tuple[type, ...] = (nn.Conv2d,)) -> list[tuple[str, nn.Module]]:
    """The model's layers of ``kinds`` in the order a forward pass of one image first runs them (not registration order).

    Layers the pass never runs are left out; the pass stops once every layer has run.
    """
    names = {m: n for n, m in model.named_modules() if isinstance(m, kinds)}
    order: dict[nn.Module, str] = {}

    def seen(m: nn.Module, _inputs: tuple, _output: Tensor) -> None:
        order.setdefault(m, names[m])
        if len(order) == len(names):
            raise _Stop

    with _evaluating(model):
        _forward(model, images[:1], dict.fromkeys(names, seen))
    return [(n, m) for m, n in order.items()]


def _check_conv(who: str, name: str, conv: nn.Conv2d) -> None:
    square = conv.kernel_size[0] == conv.kernel_size[1] and conv.stride[0] == conv.stride[1]
    ok = square and conv.dilation == (1, 1) and conv.groups == 1 and conv.padding_mode == "zeros"
    if not ok or isinstance(conv.padding, str) or conv.padding[0] != conv.padding[1]:
        raise ValueError(
            f"{who}: layer {name!r} is not supported: it needs a square kernel, the same stride and numeric zero padding "
            f"on both axes, dilation 1 and groups 1 (grouped and dilated convs are not); got {conv}"
        )


@torch.no_grad()
def layer_io(model: nn.Module, layer: nn.Module, images: Tensor) -> tuple[Tensor, Tensor]:
    """A layer's input (a conv's zero-padded as the conv pads it) and output, before ReLU, for a batch of model inputs.

    The forward pass stops at the layer: nothing after it runs.
    """
    captured: dict[str, Tensor] = {}

    def hook(_m: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        captured["prev"], captured["act"] = inputs[0], output  # ReLU is applied inside activation_map
        raise _Stop  # the rest of the network is not needed

    _forward(model, images, {layer: hook})
    pad = layer.padding[0] if isinstance(layer, nn.Conv2d) else 0
    return (F.pad(captured["prev"], (pad,) * 4) if pad else captured["prev"]), captured["act"]


def _io(model: nn.Module, conv: nn.Conv2d, images: Tensor, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
    """``layer_io`` over ``images``, ``batch_size`` at a time."""
    for start in range(0, images.shape[0], batch_size):
        yield layer_io(model, conv, images[start : start + batch_size])


def _sample(model: nn.Module, conv: nn.Conv2d, images: Tensor, batch_size: int, n: int, generator: Generator) -> Tensor:
    """About ``n`` of the conv's receptive fields over ``images`` (all, where there are fewer), drawn evenly over the images
    with ``generator``: ``(n, C_in * s * s)`` in double, rows laid out as the conv's filters."""
    rows, (s, stride) = [], (conv.kernel_size[0], conv.stride[0])
    for prev, _ in _io(model, conv, images, batch_size):
        every = prev.unfold(2, s, stride).unfold(3, s, stride)  # (B, C, H', W', s, s), a view: only the drawn ones are copied
        b, _, h, w = every.shape[:4]
        pick = torch.randperm(b * h * w, generator=generator)[: math.ceil(n * b / images.shape[0])]
        rows.append(every[pick // (h * w), :, pick // w % h, pick % w].flatten(1))
    return torch.cat(rows).double()


def _he_norm(w: Tensor) -> Tensor:
    """Rows (filters) scaled to sqrt(2), the expected norm of a He-normal filter (variance 2 / fan_in)."""
    return F.normalize(w.float(), dim=1) * 2**0.5


def _check_images(who: str, images: object, batch_size: object) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"{who}: batch_size={batch_size!r} is not allowed; batch_size must be a whole number >= 1")
    if not torch.is_tensor(images) or images.dim() != 4:
        got = f"{type(images).__name__} {getattr(images, 'shape', '')}"
        raise ValueError(f"{who}: images must be an (N, C, H, W) tensor of model inputs; got {got}")


def _init_convs_(
    who: str, model: nn.Module, images: Tensor, layers: Layers, batch_size: int, make: Callable[[nn.Conv2d], tuple]
) -> list[LayerReport]:
    """The conv layers (all, or those named in ``layers``) in forward order: each one's first filters become those of
    ``make(conv) = (filters, candidates, scores)``, the rest keep their weights; biases are zeroed; one report each."""
    _check_images(who, images, batch_size)
    convs = layers_in_order(model, images)
    if layers is not None:
        missing = sorted(set(layers) - {n for n, _ in convs})
        if missing:
            raise ValueError(f"{who}: no Conv2d named {missing}; the model's Conv2d layers are {[n for n, _ in convs]}")
        convs = [(n, c) for n, c in convs if n in layers]
    for name, conv in convs:
        _check_conv(who, name, conv)
    reports = []
    with _evaluating(model):
        for name, conv in convs:
            t0 = time.perf_counter()
            w, candidates, scores = make(conv)
            with torch.no_grad():
                conv.weight[: len(w)] = w.view(len(w), *conv.weight.shape[1:]).to(conv.weight.device)
                if conv.bias is not None:
                    conv.bias.zero_()
            reports.append(LayerReport(name, conv.out_channels, candidates, len(w), scores, time.perf_counter() - t0))
    return reports


def seed_init_(
    model: nn.Module,
    images: Tensor,
    options: SeedOptions | None = None,
    /,
    *,
    layers: Sequence[str] | None = None,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    **settings: object,
) -> list[LayerReport]:
    """Initialize the model's conv filters from data with Algorithm 1, in place; one report per layer.

    The settings are ``options`` (a ``SeedOptions``, or a ``Config``), with keyword
    ``settings`` (``delta=0.3``, ...) taking precedence; defaults are the CLI's. Layers
    (all ``nn.Conv2d``, or those named in ``layers``) are done in forward order, so a
    layer sees the new weights of the layers before it; each layer's activations come
    from its current weights (call ``msra_init_`` first). Its ``out_channels`` filters
    become ``(1-delta) g_r + delta g_x`` from the best candidates over all ``images``
    (the model's float input, streamed ``batch_size`` at a time); if fewer candidates
    exist, the remaining filters keep their current weights. Biases are zeroed.
    """
    base = {name: getattr(options, name) for name in SEED_FIELDS} if options is not None else {}
    o = build(SeedOptions, base | settings, "seed_init_", SEED_FIELDS)
    algo = dict(theta=o.theta, epsilon=o.epsilon, radius=o.radius, theta_mode=o.theta_mode, act_map=o.act_map, gate=o.gate)

    def make(conv: nn.Conv2d) -> tuple[Tensor, int, list[float]]:
        k = conv.out_channels
        best = TopK(k if o.selection == "topk" else 16 * k)  # the best candidates over all images
        for prev, act in _io(model, conv, images, batch_size):
            best.update(*seed_filters(prev, act, conv.kernel_size[0], stride=conv.stride[0], **algo))
        g_x, scores = best.filters, best.scores
        if g_x is not None and o.selection == "diverse":
            keep = select_diverse(g_x, scores, k, o.max_cosine)
            g_x, scores = g_x[keep], scores[keep]
        if g_x is None or not len(g_x):
            return conv.weight[:0], best.seen, []
        if o.zero_mean:  # our variant: the kept g_x share a large positive mean (each is a ReLU output)
            g_x = g_x - g_x.mean(dim=(1, 2, 3), keepdim=True)
            g_x = g_x / g_x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
        return mix(g_x, o.delta, o.random, generator), best.seen, scores.tolist()

    return _init_convs_("seed_init_", model, images, layers, batch_size, make)


def lsuv_init_(
    model: nn.Module, images: Tensor, *, generator: Generator = None, tol: float = 0.1, max_iter: int = 10, batch_size: int = 256
) -> list[LayerReport]:
    """LSUV (Mishkin & Matas 2016): orthogonal init, then each Conv2d and Linear layer in forward order has its weight divided
    by its output's std on one batch (``batch_size`` images drawn with ``generator``) until that std is 1 within ``tol``."""
    orthogonal_init_(model, generator=generator)
    _check_images("lsuv_init_", images, batch_size)
    batch = images[torch.randperm(images.shape[0], generator=generator)[:batch_size]]
    reports = []
    with _evaluating(model):
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

    return _init_convs_("kmeans_init_", model, images, layers, batch_size, make)


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

    return _init_convs_("pca_init_", model, images, layers, batch_size, make)


# Config.init's other names (not msra, not seed, which takes its options): each is called as f(model, images, generator=g)
NAMED_INITS: dict[str, Callable[..., list[LayerReport]]] = {
    "orthogonal": orthogonal_init_, "lsuv": lsuv_init_, "kmeans": kmeans_init_, "pca": pca_init_,
}  # fmt: skip
