"""Minibatch Adam training on in-memory tensors, with per-epoch test accuracy."""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from .config import ConfigError
from .stats import evaluated


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' is not available on this machine; use device='cpu' or 'auto'")
    return torch.device(name)


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int | None = None) -> float:
    """Fraction of ``x`` classified as ``y``, in large batches.

    The default batch is 4096 images on a GPU (fewer launches) and 512 on the CPU, where
    LeNet-5's activations then stay in cache: 10000 MNIST images took 1.0 s against 1.7 s
    at 4096 on one core of the 2-core machine (0.52 s against 0.93 s on both).
    """
    batch_size = batch_size or (4096 if x.is_cuda else 512)
    was = model.training
    model.eval()
    correct = sum(int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum()) for i in range(0, len(x), batch_size))
    model.train(was)
    return correct / max(1, len(x))


def train(
    model: nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    generator: torch.Generator | None = None,
    x_val: Tensor | None = None,
    y_val: Tensor | None = None,
    window: float = 0.5,
    progress: bool = False,
) -> list[dict]:
    """Train with Adam; return one entry per epoch: ``epoch, train_loss``, and ``test_acc`` (and ``val_acc``)
    on the epochs that ``stats.evaluated`` names (every epoch of the Q3/4 ``window``, a few before it).

    Tensors must already be on the model's device. The shuffling uses ``generator``
    (on the CPU), so a fixed seed gives the same history on the same machine. A
    non-finite training loss ends the run early: the history shows where it diverged.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    bar = tqdm(range(1, epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=generator).to(x_train.device)
        total = torch.zeros((), device=x_train.device)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        entry = {"epoch": epoch, "train_loss": float(total) / len(order)}
        if evaluated(epoch, epochs, window) or not math.isfinite(entry["train_loss"]):
            entry["test_acc"] = accuracy(model, x_test, y_test)
            if x_val is not None and len(x_val):
                entry["val_acc"] = accuracy(model, x_val, y_val)
        entry["seconds"] = time.perf_counter() - t0
        history.append(entry)
        bar.set_postfix(loss=f"{entry['train_loss']:.4f}", acc=f"{entry.get('test_acc', math.nan):.4f}")
        if not math.isfinite(entry["train_loss"]):
            break
    return history
