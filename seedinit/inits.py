"""Initializers in the habit of ``torch.nn.init``: in place, take a module, return it or a report."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .algorithm import TopK, mix, seed_filters, select_diverse
from .config import SEED_FIELDS, ConfigError, SeedOptions


def msra_init_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """He normal init (fan_in, ReLU gain) of every Conv2d and Linear weight; zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                w = torch.empty(m.weight.shape)
                nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=generator)
                m.weight.copy_(w)
                if m.bias is not None:
                    m.bias.zero_()
    return model


@dataclass
class LayerReport:
    """What seed initialization did to one conv layer."""

    layer: str
    filters: int  # out_channels
    candidates: int  # images that gave a candidate
    seeded: int  # filters set from a seed filter; the rest keep their random init
    scores: list[float] = field(default_factory=list)  # scores of the kept candidates
    seconds: float = 0.0


class _Stop(Exception):
    """Raised by a hook to end the forward pass once the layer of interest has run."""


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """The model's Conv2d layers in registration order (forward order for sequential nets)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _check_conv(name: str, conv: nn.Conv2d) -> None:
    ok = conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
    ok = ok and conv.kernel_size[0] == conv.kernel_size[1] and conv.padding_mode == "zeros"
    if not ok or isinstance(conv.padding, str):
        raise ValueError(
            f"seed_init_: layer {name!r} is not supported: Algorithm 1 needs a square kernel, stride 1, "
            f"dilation 1, groups 1 and numeric zero padding (got {conv})"
        )


@torch.no_grad()
def layer_io(model: nn.Module, conv: nn.Conv2d, images: Tensor) -> tuple[Tensor, Tensor]:
    """The conv layer's input (zero-padded as the layer pads it) and its output, before ReLU, for a batch of model inputs."""
    captured: dict[str, Tensor] = {}

    def hook(_m: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        captured["prev"], captured["act"] = inputs[0], output  # ReLU is applied inside activation_map
        raise _Stop  # the rest of the network is not needed

    handle = conv.register_forward_hook(hook)
    try:
        model(images.to(conv.weight.device, torch.float32).contiguous(memory_format=torch.channels_last))
    except _Stop:
        pass
    finally:
        handle.remove()
    pad = conv.padding[0]
    return (F.pad(captured["prev"], (pad,) * 4) if pad else captured["prev"]), captured["act"]


def _candidates(model: nn.Module, conv: nn.Conv2d, images: Tensor, batch_size: int, pool: int, **algo) -> TopK:
    """Stream ``images`` through ``model`` up to ``conv``; keep the best ``pool`` candidates."""
    best = TopK(pool)
    for start in range(0, images.shape[0], batch_size):
        prev, act = layer_io(model, conv, images[start : start + batch_size])
        best.update(*seed_filters(prev, act, conv.kernel_size[0], **algo))
    return best


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
    o = _options(options, settings)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"seed_init_: batch_size={batch_size!r} is not allowed; batch_size must be a whole number >= 1")
    if not torch.is_tensor(images) or images.dim() != 4:
        raise ValueError(
            f"seed_init_: images must be an (N, C, H, W) tensor of model inputs; got {type(images).__name__} {getattr(images, 'shape', '')}"
        )
    convs = conv_layers(model)
    if layers is not None:
        missing = sorted(set(layers) - {n for n, _ in convs})
        if missing:
            raise ValueError(f"seed_init_: no Conv2d named {missing}; the model's Conv2d layers are {[n for n, _ in convs]}")
        convs = [(n, c) for n, c in convs if n in layers]
    for name, conv in convs:
        _check_conv(name, conv)
    algo = dict(theta=o.theta, epsilon=o.epsilon, radius=o.radius, theta_mode=o.theta_mode, act_map=o.act_map, gate=o.gate)
    was_training = model.training
    model.eval()
    reports = []
    for name, conv in convs:
        t0 = time.perf_counter()
        k = conv.out_channels
        best = _candidates(model, conv, images, batch_size, k if o.selection == "topk" else 16 * k, **algo)
        g_x, scores = best.filters, best.scores
        if g_x is not None and o.selection == "diverse":
            keep = select_diverse(g_x, scores, k, o.max_cosine)
            g_x, scores = g_x[keep], scores[keep]
        n = 0 if g_x is None else g_x.shape[0]
        with torch.no_grad():
            if n:
                if o.zero_mean:  # our variant: the kept g_x share a large positive mean (each is a ReLU output)
                    g_x = g_x - g_x.mean(dim=(1, 2, 3), keepdim=True)
                    g_x = g_x / g_x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                conv.weight[:n] = mix(g_x, o.delta, o.random, generator).to(conv.weight.device)
            if conv.bias is not None:
                conv.bias.zero_()
        reports.append(LayerReport(name, k, best.seen, n, [] if scores is None else scores.tolist(), time.perf_counter() - t0))
    model.train(was_training)
    return reports


def _options(options: SeedOptions | None, settings: dict[str, object]) -> SeedOptions:
    """``options`` (or the defaults) with ``settings`` applied; ConfigError naming an unknown or bad setting."""
    unknown = sorted(set(settings) - set(SEED_FIELDS))
    if unknown:
        raise ConfigError(f"seed_init_: unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(SEED_FIELDS)}")
    base = {name: getattr(options, name) for name in SEED_FIELDS} if options is not None else {}
    try:
        return SeedOptions(**(base | settings))
    except ConfigError as err:
        raise ConfigError(str(err).replace("SeedOptions:", "seed_init_:", 1)) from None
