"""The paper's initializers, ``msra_init_`` and ``seed_init_``, in the habit of ``torch.nn.init`` (in place), and the
layer walk every data-driven initializer shares.

The data-driven ones (``seed_init_``; ``lsuv_init_``, ``kmeans_init_``, ``pca_init_`` of ``seedinit.other_inits``) are
called as ``name_init_(model, images, *, generator=None, **options)`` and visit the layers in forward order, in eval mode
(BatchNorm uses, and keeps, its running statistics), so each layer sees its input with the layers before it already set;
each returns one ``LayerReport`` per layer it set.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .algorithm import TopK, mix, seed_filters, select_diverse
from .options import SEED_FIELDS, ConfigError, SeedOptions, build

Layers = Sequence[str] | None  # the names of the conv layers to set; None: all


def random_init_(model: nn.Module, fill: Callable[[Tensor], Tensor]) -> nn.Module:
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
    return random_init_(model, lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=generator))


@dataclass
class LayerReport:
    """What a data-driven initializer did to one layer."""

    layer: str
    filters: int  # out_channels (out_features)
    candidates: int  # what the data offered: images that gave a seed candidate, patches, or images in the LSUV batch
    seeded: int  # filters set from the data; the rest keep their random init
    scores: list[float] = field(default_factory=list)  # seed: kept candidates' scores; pca: eigenvalues; kmeans: cluster sizes; lsuv: stds
    seconds: float = 0.0

    def __str__(self) -> str:
        kept = f" (the other {self.filters - self.seeded} keep their weights)" if self.seeded < self.filters else ""
        return f"{self.layer}: {self.seeded} of {self.filters} filters set from the data, which offered {self.candidates}{kept}"


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
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode for the block (BatchNorm neither needs a batch nor updates its statistics), then the mode the model had."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def layers_in_order(model: nn.Module, images: Tensor, kinds: tuple[type, ...] = (nn.Conv2d,)) -> list[tuple[str, nn.Module]]:
    """The model's layers of ``kinds`` in the order a forward pass of one image first runs them (not registration order);
    layers the pass never runs are left out, and the pass stops once every layer has run."""
    names = {m: n for n, m in model.named_modules() if isinstance(m, kinds)}
    order: dict[nn.Module, str] = {}

    def seen(m: nn.Module, _inputs: tuple, _output: Tensor) -> None:
        order.setdefault(m, names[m])
        if len(order) == len(names):
            raise _Stop

    with evaluating(model):
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
    """A layer's input (a conv's zero-padded as the conv pads it) and output, before ReLU, for a batch of model inputs;
    the forward pass stops at the layer: nothing after it runs."""
    captured: dict[str, Tensor] = {}

    def hook(_m: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        captured["prev"], captured["act"] = inputs[0], output  # ReLU is applied inside activation_map
        raise _Stop  # the rest of the network is not needed

    _forward(model, images, {layer: hook})
    pad = layer.padding[0] if isinstance(layer, nn.Conv2d) else 0
    return (F.pad(captured["prev"], (pad,) * 4) if pad else captured["prev"]), captured["act"]


def layer_io_batches(model: nn.Module, conv: nn.Conv2d, images: Tensor, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
    """``layer_io`` over ``images``, ``batch_size`` at a time."""
    for start in range(0, images.shape[0], batch_size):
        yield layer_io(model, conv, images[start : start + batch_size])


def check_images(who: str, images: object, batch_size: object) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"{who}: batch_size={batch_size!r} is not allowed; batch_size must be a whole number >= 1")
    if not torch.is_tensor(images) or images.dim() != 4:
        got = f"{type(images).__name__} {getattr(images, 'shape', '')}"
        raise ValueError(f"{who}: images must be an (N, C, H, W) tensor of model inputs; got {got}")


def init_convs_(
    who: str, model: nn.Module, images: Tensor, layers: Layers, batch_size: int, make: Callable[[nn.Conv2d], tuple]
) -> list[LayerReport]:
    """The conv layers (all, or those named in ``layers``) in forward order: each one's first filters become those of
    ``make(conv) = (filters, candidates, scores)``, the rest keep their weights; biases are zeroed; one report each."""
    check_images(who, images, batch_size)
    convs = layers_in_order(model, images)
    if layers is not None:
        missing = sorted(set(layers) - {n for n, _ in convs})
        if missing:
            raise ValueError(f"{who}: no Conv2d named {missing}; the model's Conv2d layers are {[n for n, _ in convs]}")
        convs = [(n, c) for n, c in convs if n in layers]
    for name, conv in convs:
        _check_conv(who, name, conv)
    reports = []
    with evaluating(model):
        for name, conv in convs:
            t0 = time.perf_counter()
            w, candidates, scores = make(conv)
            with torch.no_grad():
                conv.weight[: len(w)] = w.view(len(w), *conv.weight.shape[1:]).to(conv.weight.device)
                if conv.bias is not None:
                    conv.bias.zero_()
            reports.append(LayerReport(name, conv.out_channels, candidates, len(w), scores, time.perf_counter() - t0))
    short = [str(r) for r in reports if r.seeded < r.filters]
    if short:  # the data gave too few candidates: more images, or larger ones, give more
        warnings.warn(f"{who}: the data set only some filters of these layers: {'; '.join(short)}", UserWarning, stacklevel=3)
    return reports


def seed_init_(
    model: nn.Module,
    images: Tensor,
    options: SeedOptions | None = None,
    /,
    *,
    layers: Layers = None,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
    **settings: object,
) -> list[LayerReport]:
    """Initialize the model's conv filters (all, or those named in ``layers``) from data with Algorithm 1, in place.
    The settings are ``options`` (a ``SeedOptions`` or a ``Config``), keyword ``settings`` (``delta=0.3``, ...) taking
    precedence. Each layer's activations come from its current weights (call ``msra_init_`` first); its filters become
    ``(1-delta) g_r + delta g_x`` from the best candidates over all ``images`` (the model's float input, ``batch_size``
    at a time); where there are fewer candidates than filters, the rest keep their weights. Biases are zeroed."""
    base = {name: getattr(options, name) for name in SEED_FIELDS} if options is not None else {}
    o = build(SeedOptions, base | settings, "seed_init_", SEED_FIELDS)
    algo = dict(theta=o.theta, epsilon=o.epsilon, radius=o.radius, theta_mode=o.theta_mode, act_map=o.act_map, gate=o.gate)

    def make(conv: nn.Conv2d) -> tuple[Tensor, int, list[float]]:
        k = conv.out_channels
        best = TopK(k if o.selection == "topk" else 16 * k)  # the best candidates over all images
        for prev, act in layer_io_batches(model, conv, images, batch_size):
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

    return init_convs_("seed_init_", model, images, layers, batch_size, make)
