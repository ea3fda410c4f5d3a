"""Runs from Configs: data -> model -> init -> training -> record, for one run or K trained together."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch
from torch import Tensor, nn

from .config import Config, generator
from .data import Dataset, load_dataset, split_indices, to_float
from .inits import LayerReport, msra_init_, seed_init_
from .models import LeNet5, ResNet8
from .options import ConfigError
from .other_inits import NAMED_INITS
from .records import provenance
from .stats import q34
from .training import Checkpoint, Pool, RunState, fit, resolve_device, stack


def build_model(config: Config, images: Tensor, num_classes: int) -> tuple[nn.Module, list[LayerReport]]:
    """The ``config.model`` initialized as ``config`` says: MSRA everywhere, then ``config.init`` (seed filters for the convs, ...)."""
    lenet = config.model == "lenet5"
    c, h, w = images.shape[1:]
    if lenet and h != w:
        raise ValueError(f"LeNet5 needs square images; got {(h, w)}")
    net = LeNet5(c, num_classes, w, config.hidden, config.conv_relu) if lenet else ResNet8(c, num_classes)
    # channels-last: max-pooling runs several times faster on the CPU in this layout
    model = net.to(images.device, memory_format=torch.channels_last)
    g = generator(config.seed, "init")
    msra_init_(model, generator=g)
    if config.init == "seed":
        return model, seed_init_(model, images, config, generator=g)
    return model, [] if config.init == "msra" else NAMED_INITS[config.init](model, images, generator=g)


def run(
    config: Config, data: Dataset | None = None, data_dir: str = "data", progress: bool = False, checkpoint: Checkpoint | None = None
) -> dict[str, Any]:
    """Train one configuration and return its record (config, history, Q3/4, timings, provenance); with
    ``checkpoint``, a run killed midway goes on from where it was saved."""
    data = data or load_dataset(config.dataset, data_dir, grayscale=config.grayscale)
    return run_together([config], data, progress, checkpoint)[0]


def run_together(
    configs: list[Config], data: Dataset, progress: bool = False, checkpoint: Checkpoint | None = None
) -> list[dict[str, Any]]:
    """Train configurations that share ``Config.group_key`` as one ensemble; one record each, as ``run`` gives."""
    if len(configs) > 1 and configs[0].model != "lenet5":
        raise ValueError(f"model={configs[0].model!r} has BatchNorm, whose buffers stacked runs cannot update; train its runs one by one")
    if len({c.group_key() for c in configs}) > 1:
        odd = [c.run_name() for c in configs if c.group_key() != configs[0].group_key()]
        raise ValueError(f"runs trained together need the same data and training settings; {', '.join(odd)} differ from the first")
    if len({(c.key(), c.seed) for c in configs}) != len(configs):
        raise ValueError("runs trained together must be distinct; the same run appears twice")
    device = resolve_device(configs[0].device)
    x, y, x_test = to_float(data.x_train.to(device)), data.y_train.to(device), to_float(data.x_test.to(device))
    if configs[0].inputs == "standard":  # by the whole training set's statistics, the same for every subset
        mean, sd = x.mean(), x.std()
        x, x_test = (x - mean) / sd, (x_test - mean) / sd
    splits = [split_indices(c, data.y_train) for c in configs]
    train_idx, val_idx = (torch.stack(part).to(device) for part in zip(*splits))  # stratified: equal sizes
    if not train_idx.shape[1]:
        c = configs[0]
        raise ConfigError(
            f"{c.run_name()}: ratio={c.ratio:g} of {len(data.y_train)} images less val_fraction={c.val_fraction:g} leaves none to train on"
        )
    built, t_init = [], []
    for c, t in zip(configs, train_idx):  # each run's own init time: the runs of one ensemble may use different inits
        t0 = time.perf_counter()
        built.append(build_model(c, x[t], data.num_classes))
        if device.type == "cuda":
            torch.cuda.synchronize()
        t_init.append(time.perf_counter() - t0)
    pool = Pool(x, y, train_idx, val_idx, x_test, data.y_test.to(device), data.num_classes)
    runs = fit(stack([m for m, _ in built]), pool, configs, [generator(c.seed, "order") for c in configs], progress, checkpoint)
    sizes = {"train": train_idx.shape[1], "val": val_idx.shape[1], "test": len(pool.y_test)}
    return [record_for(r, reports, sizes, t, device, len(configs)) for r, (_, reports), t in zip(runs, built, t_init)]


def record_for(
    run: RunState, reports: list[LayerReport], sizes: dict, t_init: float, device: torch.device, ensemble: int
) -> dict[str, Any]:
    """The JSON record of one finished run; ``ensemble`` says how many runs trained together."""
    start, end = run.window()
    record = {
        "config": run.config.to_dict(),
        "history": run.history,
        "q34": q34(run.history, start, end),
        "scored": [start, end],
        "converged_at": run.converged_at,
        "diverged": run.diverged,
        "sizes": sizes,
        "init_report": [dataclasses.asdict(r) for r in reports],
        "seconds": {"init": t_init, "train": sum(h["seconds"] for h in run.history)},
        "ensemble": ensemble,
        "provenance": provenance(device),
    }
    if run.resumed:
        record["resumed"] = run.resumed
    if sizes["val"]:
        record["val_q34"] = q34(run.history, start, end, key="val_acc")
    return record
