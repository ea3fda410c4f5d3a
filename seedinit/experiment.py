"""One run from a Config: data -> model -> init -> training -> record."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .config import Config
from .data import Dataset, load_dataset, split_validation, stratified_subset, to_float
from .inits import LayerReport, msra_init_, seed_init_
from .models import lenet_for
from .records import provenance
from .stats import diverged, q34
from .training import resolve_device, train


def generator(seed: int, stream: str) -> torch.Generator:
    """An independent CPU generator per purpose, all fixed by the RNG ``seed``."""
    salt = int.from_bytes(stream.encode(), "little") % (2**32)
    state = np.random.SeedSequence([seed, salt]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


@dataclasses.dataclass
class Split:
    """The tensors one run trains and scores on, on its device."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor


def split(config: Config, data: Dataset, device: torch.device) -> Split:
    """The stratified r-subset (and its validation part) for ``config.seed``; the same for every init."""
    g = generator(config.seed, "subset")
    subset = stratified_subset(data.y_train, config.ratio, g)
    train_idx, val_idx = split_validation(subset, data.y_train, config.val_fraction, g)

    def take(x: Tensor, idx: Tensor | None = None) -> Tensor:
        return (x if idx is None else x[idx]).to(device)

    return Split(
        to_float(take(data.x_train, train_idx)), take(data.y_train, train_idx),
        to_float(take(data.x_train, val_idx)), take(data.y_train, val_idx),
        to_float(take(data.x_test)), take(data.y_test),
    )  # fmt: skip


def build_model(config: Config, images: Tensor, num_classes: int) -> tuple[nn.Module, list[LayerReport]]:
    """LeNet-5 initialized as ``config`` says: MSRA everywhere, then seed filters for C1 and C3."""
    # channels-last: max-pooling runs several times faster on the CPU in this layout
    model = lenet_for(images, num_classes, config.hidden).to(images.device, memory_format=torch.channels_last)
    g = generator(config.seed, "init")
    msra_init_(model, generator=g)
    reports = []
    if config.init == "seed":
        reports = seed_init_(
            model, images, delta=config.delta, theta=config.theta, epsilon=config.epsilon, radius=config.radius,
            theta_mode=config.theta_mode, act_map=config.act_map, gate=config.gate, random=config.random,
            selection=config.selection, zero_mean=config.zero_mean, generator=g,
        )  # fmt: skip
    return model, reports


def run(config: Config, data: Dataset | None = None, data_dir: str = "data", progress: bool = False) -> dict[str, Any]:
    """Train one configuration and return its record (config, history, Q3/4, timings, provenance)."""
    device = resolve_device(config.device)
    data = data or load_dataset(config.dataset, data_dir, grayscale=config.grayscale)
    s = split(config, data, device)
    t0 = time.perf_counter()
    model, reports = build_model(config, s.x_train, data.num_classes)
    t_init = time.perf_counter() - t0
    history = train(
        model, s.x_train, s.y_train, s.x_test, s.y_test, epochs=config.epochs, batch_size=config.batch_size,
        lr=config.lr, generator=generator(config.seed, "order"), x_val=s.x_val, y_val=s.y_val, window=config.window,
        progress=progress,
    )  # fmt: skip
    sizes = {"train": len(s.x_train), "val": len(s.x_val), "test": len(s.x_test)}
    return record_for(config, history, reports, sizes, {"init": t_init, "train": sum(h["seconds"] for h in history)}, device)


def record_for(
    config: Config, history: list[dict], reports: list[LayerReport], sizes: dict, seconds: dict, device: torch.device, ensemble: int = 1
) -> dict[str, Any]:
    """The JSON record of one finished run; ``ensemble`` says how many seeds trained together."""
    record = {
        "config": config.to_dict(),
        "history": history,
        "q34": q34(history, config.window, config.epochs),
        "diverged": diverged(history),
        "sizes": sizes,
        "init_report": [dataclasses.asdict(r) for r in reports],
        "seconds": seconds,
        "ensemble": ensemble,
        "provenance": provenance(device),
    }
    if sizes["val"]:
        record["val_q34"] = q34(history, config.window, config.epochs, key="val_acc")
    return record
