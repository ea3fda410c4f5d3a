"""The one training loop: minibatch Adam for one run, or for K runs at once (stacked parameters, ``torch.func``).

K runs share their data and training settings (``Config.group_key``) and may differ in RNG seed and initialization.
Each keeps its own subset, data order, optimizer state (Adam is elementwise, so one optimizer over stacked parameters
is K independent ones) and stopping epoch: per-run histories match separate runs up to floating-point error. On a GPU
this turns K small, launch-bound trainings into one larger one.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Generator, Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from .config import Config, generator
from .inits import evaluating
from .options import ConfigError
from .records import atomic_write
from .stats import converged, diverged, evaluated, window_start


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' is not available on this machine; use device='cpu' or 'auto'")
    return torch.device(name)


class Runs:
    """K runs behind one interface: ``parameters``, ``logits`` and ``losses`` of all of them, and ``tensors``, every
    parameter and buffer (the state a checkpoint saves and restores)."""

    module: nn.Module  # whose train/eval mode the forward pass follows
    k: int


class Single(Runs):
    """One model behind the K-run interface (K = 1): the plain training step, bit for bit."""

    def __init__(self, model: nn.Module) -> None:
        self.module, self.k = model, 1

    def parameters(self) -> list[Tensor]:
        return list(self.module.parameters())

    def tensors(self) -> list[Tensor]:
        return list(self.module.state_dict().values())

    def logits(self, x: Tensor, shared: bool) -> Tensor:
        """``(1, B, classes)`` for a batch ``(B, ...)`` (shared) or ``(1, B, ...)``."""
        return self.module(x if shared else x[0]).unsqueeze(0)

    def losses(self, x: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(self.module(x[0]), y[0]).view(1)


class Stacked(Runs):
    """K copies of one architecture as stacked parameters, called through vmap (no BatchNorm: buffers stay fixed)."""

    def __init__(self, models: list[nn.Module]) -> None:
        self.params, self.buffers = stack_module_state(models)
        self.module, self.k = copy.deepcopy(models[0]).to("meta"), len(models)

        def one(p: dict, b: dict, x: Tensor) -> Tensor:
            return functional_call(self.module, (p, b), (x,))

        self.shared_x = vmap(one, in_dims=(0, 0, None))  # every model sees the same batch
        self.own_x = vmap(one, in_dims=(0, 0, 0))  # model k sees batch k

    def parameters(self) -> list[Tensor]:
        return list(self.params.values())

    def tensors(self) -> list[Tensor]:
        return [*self.params.values(), *self.buffers.values()]

    def logits(self, x: Tensor, shared: bool) -> Tensor:
        return (self.shared_x if shared else self.own_x)(self.params, self.buffers, x)

    def losses(self, x: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(self.logits(x, shared=False).flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)


def stack(models: list[nn.Module]) -> Runs:
    return Single(models[0]) if len(models) == 1 else Stacked(models)


@torch.no_grad()
def accuracies(net: Runs, x: Tensor, y: Tensor, shared: bool = True, batch_size: int | None = None) -> list[float]:
    """Each run's fraction of ``x`` classified as ``y``: ``x`` shared ``(N, ...)`` or one set per run ``(K, N, ...)``.
    ``batch_size`` bounds K x images per call, and with it the activations' memory: 16384 on a GPU, 512 on the CPU,
    where LeNet-5's activations then stay in cache."""
    n = x.shape[0] if shared else x.shape[1]
    step = max(1, (batch_size or (16384 if x.is_cuda else 512)) // net.k)
    correct = torch.zeros(net.k, dtype=torch.long, device=x.device)
    with evaluating(net.module):
        for i in range(0, n, step):
            xb, yb = (x[i : i + step], y[i : i + step]) if shared else (x[:, i : i + step], y[:, i : i + step])
            correct += (net.logits(xb, shared).argmax(-1) == yb).sum(-1)
    return [int(c) / max(1, n) for c in correct]


@dataclass
class Pool:
    """What K runs train and are scored on, on one device: a float image pool with each run's training and
    validation indices into it ``(K, n)`` and ``(K, m)``, and the test set."""

    x: Tensor
    y: Tensor
    train_idx: Tensor
    val_idx: Tensor
    x_test: Tensor
    y_test: Tensor
    classes: int


@dataclass
class RunState:
    """One run's history and where it stands: converged (the epoch), diverged, done; it decides when to measure accuracy."""

    config: Config
    classes: int
    history: list[dict] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    converged_at: int | None = None
    diverged: bool = False
    done: bool = False
    resumed: list[int] = field(default_factory=list)  # the epochs at which training went on from a checkpoint

    def window(self) -> tuple[int, int]:
        """The scoring window (first and last epoch): the last ``window`` of the epochs (stop=fixed), the
        ``score_epochs`` after convergence, or, for a run that never converged, the last ``score_epochs`` before the cap."""
        c = self.config
        if c.stop == "fixed":
            return window_start(c.epochs, c.window), c.epochs
        start = self.converged_at + 1 if self.converged_at is not None else c.epochs - c.score_epochs + 1
        return start, start + c.score_epochs - 1

    def step(self, epoch: int, loss: float) -> bool:
        """Take an epoch's training loss; return whether to measure accuracy after it."""
        c = self.config
        self.losses.append(loss)
        if diverged(self.losses, self.classes):
            self.diverged = self.done = True
            return True
        room = c.stop == "fixed" or epoch <= c.epochs - c.score_epochs  # a full scoring window must fit under the cap
        if self.converged_at is None and room and converged(self.losses, c.patience, c.rtol, c.atol):
            self.converged_at = epoch
        start, end = self.window()
        self.done = epoch >= end
        if self.done and diverged(self.losses, self.classes, ended=True):  # it ends above the bound: no score
            self.diverged = True
        return evaluated(epoch, c.epochs, c.window) if c.stop == "fixed" else epoch >= start


@dataclass
class Checkpoint:
    """Where a training saves its whole state, at most once every ``every`` seconds, so that a run killed midway
    goes on from its last saved epoch with the same numbers as if it had never stopped."""

    path: Path
    every: float = 60.0

    def save(self, epoch: int, net: Runs, opt: torch.optim.Optimizer, orders: list[Generator], runs: list[RunState]) -> None:
        """The state after ``epoch``, written atomically: a kill while saving leaves the previous checkpoint."""
        state = {"epoch": epoch, "runs": [r.config.run_name() for r in runs], "optimizer": opt.state_dict()}
        state |= {"tensors": [t.detach().cpu() for t in net.tensors()], "orders": [g.get_state() for g in orders]}
        state["progress"] = [{k: v for k, v in vars(r).items() if k not in ("config", "classes")} for r in runs]
        atomic_write(self.path, lambda f: torch.save(state, f))

    def resume(self, net: Runs, opt: torch.optim.Optimizer, orders: list[Generator], runs: list[RunState]) -> int:
        """Restore the state saved for exactly these runs, if any (not one of other runs); return the epoch to go on from."""
        state = torch.load(self.path, map_location="cpu", weights_only=True) if self.path.exists() else None
        if state is None or state["runs"] != [r.config.run_name() for r in runs]:
            return 1
        with torch.no_grad():
            for t, saved in zip(net.tensors(), state["tensors"]):
                t.copy_(saved)
        opt.load_state_dict(state["optimizer"])
        for g, saved in zip(orders, state["orders"]):
            g.set_state(saved)
        for r, saved in zip(runs, state["progress"]):
            vars(r).update(saved)
            r.resumed.append(state["epoch"] + 1)
        return state["epoch"] + 1


def tracked(n: int) -> Tensor:
    """The test images whose accuracy ``Config.track`` measures after every epoch, the same for every run: the first
    2,000 of a fixed permutation of the test set (RNG seed 0, stream "track")."""
    return torch.randperm(n, generator=generator(0, "track"))[:2000]


def fit(
    net: Runs, pool: Pool, configs: list[Config], orders: list[Generator], progress: bool = False, checkpoint: Checkpoint | None = None
) -> list[RunState]:
    """Train the K runs of ``net`` until each is done (``RunState.step``); their shared settings are ``configs[0]``'s.
    With ``checkpoint``, go on from its saved state and save as training goes."""
    cfg, (k, n) = configs[0], pool.train_idx.shape
    track = tracked(len(pool.y_test)).to(pool.y_test.device) if cfg.track else None
    runs = [RunState(c, pool.classes) for c in configs]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    first = checkpoint.resume(net, opt, orders, runs) if checkpoint else 1
    saved = time.monotonic()
    bar = tqdm(range(first, cfg.epochs + 1), desc="epochs" if k == 1 else f"{k} runs", disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        net.module.train()
        orders_now = torch.stack([pool.train_idx[j][torch.randperm(n, generator=g).to(pool.y.device)] for j, g in enumerate(orders)])
        total = torch.zeros(k, device=pool.y.device)
        for i in range(0, n, cfg.batch_size):
            idx = orders_now[:, i : i + cfg.batch_size]  # (K, B)
            losses = net.losses(pool.x[idx], pool.y[idx])
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()  # run k's gradient is that of its own loss alone
            opt.step()
            total += losses.detach() * idx.shape[1]
        measure = {j: r.step(epoch, float(total[j]) / n) for j, r in enumerate(runs) if not r.done}
        acc = val = None
        if any(measure.values()):
            acc = accuracies(net, pool.x_test, pool.y_test)
            if pool.val_idx.shape[1]:
                val = accuracies(net, pool.x[pool.val_idx], pool.y[pool.val_idx], shared=False)
        fast = accuracies(net, pool.x_test[track], pool.y_test[track]) if track is not None else None
        seconds = (time.perf_counter() - t0) / k
        for j, measured in measure.items():
            entry = {"epoch": epoch, "train_loss": runs[j].losses[-1]}
            if measured:
                entry["test_acc"] = acc[j]
                if val is not None:
                    entry["val_acc"] = val[j]
            if fast is not None:
                entry["track_acc"] = fast[j]
            runs[j].history.append(entry | {"seconds": seconds})
        bar.set_postfix(loss=f"{min(r.losses[-1] for r in runs):.4g}", running=sum(not r.done for r in runs))
        if all(r.done for r in runs):
            break
        if checkpoint and time.monotonic() - saved >= checkpoint.every:
            checkpoint.save(epoch, net, opt, orders, runs)
            saved = time.monotonic()
    return runs


def train(
    model: nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    *,
    generator: Generator | None = None,
    x_val: Tensor | None = None,
    y_val: Tensor | None = None,
    progress: bool = False,
    **settings: object,
) -> list[dict]:
    """Train ``model`` with Adam on tensors already on its device; return one entry per epoch (``epoch, train_loss``,
    and ``test_acc``/``val_acc`` where measured). ``settings`` are Config's training ones (``epochs``, ``stop``, ...)."""
    cfg = Config.from_dict(settings, source="train")
    x_val = x_train[:0] if x_val is None else x_val
    y_val = y_train[:0] if y_val is None else y_val
    n, m = len(x_train), len(x_val)
    idx = torch.arange(n + m, device=y_train.device)
    classes = int(torch.cat([y_train, y_test]).max()) + 1
    pool = Pool(torch.cat([x_train, x_val]), torch.cat([y_train, y_val]), idx[None, :n], idx[None, n:], x_test, y_test, classes)
    return fit(Single(model), pool, [cfg], [generator or torch.Generator().manual_seed(0)], progress)[0].history
