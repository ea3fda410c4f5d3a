"""Train K runs at once: stacked parameters, ``torch.func.vmap``, one Adam.

The K configurations share their data and training settings (``Config.training``) and
may differ in RNG seed and initialization (MSRA, seed filters at several deltas, ...).
Each keeps its own subset, initialization, data order and optimizer state (Adam is
elementwise, so one optimizer over stacked parameters is K independent ones); the
per-run histories match separate ``experiment.run`` calls up to floating-point error.
On a GPU this turns K small, launch-bound trainings into one larger one.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from .config import Config
from .data import Dataset, split_validation, stratified_subset, to_float
from .experiment import build_model, generator, record_for
from .stats import evaluated
from .training import resolve_device


def _check_members(configs: list[Config]) -> None:
    base = configs[0].training()
    odd = [c.run_name() for c in configs if c.training() != base]
    if odd:
        raise ValueError(f"an ensemble needs runs with the same data and training settings; {', '.join(odd)} differ from the first")
    if len({(c.key(), c.seed) for c in configs}) != len(configs):
        raise ValueError("an ensemble needs distinct configurations; the same run appears twice")


class Stacked:
    """K copies of one architecture as stacked parameters, called through vmap."""

    def __init__(self, models: list[nn.Module]) -> None:
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")

        def one(p: dict, b: dict, x: Tensor) -> Tensor:
            return functional_call(self.base, (p, b), (x,))

        self.shared_x = vmap(one, in_dims=(0, 0, None))  # every model sees the same batch
        self.own_x = vmap(one, in_dims=(0, 0, 0))  # model k sees batch k

    def __call__(self, x: Tensor, shared: bool = False) -> Tensor:
        return (self.shared_x if shared else self.own_x)(self.params, self.buffers, x)

    @torch.no_grad()
    def accuracy(self, x: Tensor, y: Tensor, shared: bool, images: int = 16384) -> Tensor:
        """Per-model accuracy ``(K,)``; ``x`` is shared ``(N, ...)`` or per model ``(K, N, ...)``; ``images`` bounds K x batch.

        On an H100, 2**16 images took about 15 GB a process: nine ensembles at once ran out of memory.
        """
        n = x.shape[0] if shared else x.shape[1]
        batch_size = max(1, images // len(next(iter(self.params.values()))))
        correct = 0
        for i in range(0, n, batch_size):
            xb, yb = (x[i : i + batch_size], y[i : i + batch_size]) if shared else (x[:, i : i + batch_size], y[:, i : i + batch_size])
            correct = correct + (self(xb, shared).argmax(-1) == yb).sum(-1)
        return correct.float() / max(1, n)


def run_ensemble(configs: list[Config], data: Dataset, progress: bool = False) -> list[dict[str, Any]]:
    """Train configurations that share ``Config.training()`` together; one record each, as ``run`` gives."""
    _check_members(configs)
    cfg = configs[0]
    device = resolve_device(cfg.device)
    pool_x, pool_y = to_float(data.x_train.to(device)), data.y_train.to(device)
    splits = []
    for c in configs:
        g = generator(c.seed, "subset")
        splits.append(split_validation(stratified_subset(data.y_train, c.ratio, g), data.y_train, c.val_fraction, g))
    train_idx = torch.stack([t for t, _ in splits]).to(device)  # (K, n): equal sizes, stratified counts are fixed
    val_idx = torch.stack([v for _, v in splits]).to(device)
    t0 = time.perf_counter()
    built = [build_model(c, pool_x[t], data.num_classes) for c, t in zip(configs, train_idx)]
    t_init = (time.perf_counter() - t0) / len(configs)
    net = Stacked([m for m, _ in built])
    x_test, y_test = to_float(data.x_test.to(device)), data.y_test.to(device)
    histories = _train(net, configs, pool_x, pool_y, train_idx, val_idx, x_test, y_test, progress)
    sizes = {"train": train_idx.shape[1], "val": val_idx.shape[1], "test": len(y_test)}
    return [
        record_for(c, h, r, sizes, {"init": t_init, "train": sum(e["seconds"] for e in h)}, device, ensemble=len(configs))
        for c, h, (_, r) in zip(configs, histories, built)
    ]


def _train(net: Stacked, configs: list[Config], pool_x, pool_y, train_idx, val_idx, x_test, y_test, progress) -> list[list[dict]]:
    cfg, k, n = configs[0], len(configs), train_idx.shape[1]
    params = list(net.params.values())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    gens = [generator(c.seed, "order") for c in configs]
    histories: list[list[dict]] = [[] for _ in configs]
    live = torch.ones(k, dtype=torch.bool)
    for epoch in tqdm(range(1, cfg.epochs + 1), desc=f"{k} runs", disable=not progress, leave=False):
        t0 = time.perf_counter()
        orders = torch.stack([train_idx[j][torch.randperm(n, generator=g).to(train_idx.device)] for j, g in enumerate(gens)])
        total = torch.zeros(k, device=pool_x.device)
        for i in range(0, n, cfg.batch_size):
            idx = orders[:, i : i + cfg.batch_size]  # (K, B)
            logits = net(pool_x[idx])  # (K, B, classes)
            losses = F.cross_entropy(logits.flatten(0, 1), pool_y[idx].flatten(), reduction="none").view(idx.shape).mean(1)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()  # seed k's gradient is that of its own loss alone
            opt.step()
            total += losses.detach() * idx.shape[1]
        losses_now = (total / n).tolist()
        acc = val = None
        if evaluated(epoch, cfg.epochs, cfg.window) or not all(map(math.isfinite, losses_now)):
            acc = net.accuracy(x_test, y_test, shared=True).tolist()
            val = net.accuracy(pool_x[val_idx], pool_y[val_idx], shared=False).tolist() if val_idx.shape[1] else None
        seconds = (time.perf_counter() - t0) / k
        for j, loss in enumerate(losses_now):
            if not live[j]:
                continue
            entry = {"epoch": epoch, "train_loss": loss}
            if acc is not None:
                entry["test_acc"] = acc[j]
            if val is not None:
                entry["val_acc"] = val[j]
            entry["seconds"] = seconds
            histories[j].append(entry)
            live[j] = math.isfinite(loss)  # a diverged seed's history ends here, as in a separate run
        if not live.any():
            break
    return histories
