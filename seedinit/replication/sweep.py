"""Grids of configurations run through a ``concurrent.futures``-style executor, resumable.

A grid file (YAML) holds ``base`` settings, a ``grid`` of lists whose product is taken,
and ``seeds``. Runs already recorded (``runs.recorded_in``) are skipped; each finished run's record
is written at once (atomically), so a sweep killed at any point loses only the runs in
flight. With ``ensemble``, runs that share their data and training settings form one
task, trained together (``torch.func``); otherwise each run is a task of its own.
Before training, a sweep's ``Plan`` says what it will train and about how long that takes,
estimated from recorded runs of the same settings (``estimate``).
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from statistics import median
from typing import Any

import torch
import yaml
from tqdm import tqdm

from ..config import DEFAULTS, Config
from ..data import DataError, Dataset, load_dataset
from ..experiment import run_together
from ..options import ConfigError
from ..records import RecordError, checkpoint_path, record_path, write_record
from ..training import Checkpoint
from .runs import recorded_in, records_in

GRID_KEYS = ("base", "grid", "seeds")
TIMINGS = "book/results"  # the edition's records, whose per-epoch times estimate a sweep's time wherever it writes
STUDIES = {  # runs' roles in words, for the cost of each study
    "delta-grid": "δ grids",
    "table2": "Table 2",
    "study:resnet": "ResNet-8 study",
    "study:full-set": "whole-training-set study",
    "user": "other runs",
}


class SweepError(RuntimeError):
    """A run of a sweep failed in its worker; the message names the run and the error, without the worker's traceback."""


def load_grid(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a grid file; ConfigError names the file and the bad entry."""
    try:
        spec = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the grid file ({err})") from None
    if not isinstance(spec, dict) or set(spec) - set(GRID_KEYS) or not (spec.get("base") or spec.get("grid")):
        raise ConfigError(
            f"{path}: a grid file is a mapping with keys {', '.join(GRID_KEYS)}, naming settings in base or grid; got {spec!r:.200}"
        )
    expand(spec, source=str(path))  # validates every configuration
    return spec


def as_list(value: Any) -> list:
    """A parameter given as a string (papermill's ``-p``) read as YAML; one value becomes a list of one."""
    value = yaml.safe_load(value) if isinstance(value, str) else value
    return value if isinstance(value, list) else [value]


def expand(spec: dict[str, Any], source: str = "grid") -> list[Config]:
    """Every configuration of the grid, duplicates (e.g. MSRA runs under several deltas) removed."""
    base, grid, seeds = spec.get("base") or {}, spec.get("grid") or {}, spec.get("seeds", [0])
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: grid.{name} must be a non-empty list; got {values!r}")
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"{source}: seeds must be a non-empty list of whole numbers (RNG seeds); got {seeds!r}")
    if "seed" in base or "seed" in grid:
        raise ConfigError(f"{source}: the RNG seeds go in the top-level list seeds (e.g. seeds: [0, 1, 2]), not in base or grid")
    unique: dict[tuple, Config] = {}
    for combo in itertools.product(*grid.values()):
        for seed in seeds:
            cfg = Config.from_dict({**base, **dict(zip(grid, combo)), "seed": seed}, source=source)
            unique.setdefault((cfg.key(), cfg.seed), cfg)
    return list(unique.values())


def pending(configs: Iterable[Config], out: str | os.PathLike) -> list[Config]:
    """The configurations not recorded in ``out`` (``runs.recorded_in``); an unreadable record raises RecordError."""
    is_recorded = recorded_in(records_in(out))
    return [c for c in configs if not is_recorded(c)]


def _share(ratio: float, val_fraction: float) -> float:
    """The share of its dataset's training images a run trains on: its ratio less its validation part."""
    return ratio * (1 - val_fraction)


@dataclasses.dataclass(frozen=True)
class Timing:
    """What a record says of its run's time: seconds per epoch and per unit of ``_share``, and epochs trained."""

    ratio: float
    per_epoch: float
    epochs: int
    converged: bool  # trained until converged, not on a fixed schedule
    gpu: bool

    @classmethod
    def of(cls, record: dict[str, Any]) -> Timing:
        c, epochs = {**DEFAULTS, **record["config"]}, len(record["history"])
        gpu = not record.get("provenance", {}).get("device", "cpu").startswith("cpu")
        per_epoch = record["seconds"]["train"] / epochs / _share(c["ratio"], c["val_fraction"])
        return cls(c["ratio"], per_epoch, epochs, c["stop"] == "converged", gpu)


def _nearest(timings: list[Timing], ratio: float, value: Callable[[Timing], float]) -> float:
    """The median ``value`` of the ``timings`` at the recorded ratio nearest to ``ratio``."""
    near = min({t.ratio for t in timings}, key=lambda q: abs(math.log(q / ratio)))
    return median(value(t) for t in timings if t.ratio == near)


def _epochs(cfg: Config, same: list[Timing]) -> float:
    """How many epochs ``cfg`` trains: its schedule, or, until converged, as many as recorded runs of its kind took (at most its cap)."""
    converged = [t for t in same if t.converged]
    if cfg.stop != "converged" or not converged:
        return cfg.epochs
    return min(cfg.epochs, _nearest(converged, cfg.ratio, lambda t: t.epochs))


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The estimated compute seconds of each run that has recorded runs of its dataset, init and model to go by."""

    seconds: list[float]
    unknown: int  # runs with none to go by
    devices: frozenset[bool]  # the recorded runs it went by ran on a GPU (True), on a CPU (False)

    def wall(self, workers: int) -> float:
        """Seconds until ``workers`` have trained the runs, each run to the first worker free, the longest first."""
        free = [0.0] * max(1, min(workers, len(self.seconds)))
        for s in sorted(self.seconds, reverse=True):
            heapq.heappush(free, heapq.heappop(free) + s)
        return max(free)

    def words(self, workers: int) -> str:
        """The estimate as one clause, saying what it rests on."""
        none = "no recorded run of the same dataset, initialization and model"
        if not self.seconds:
            return f"no estimate of the time: {none}"
        on = {frozenset({False}): "a CPU", frozenset({True}): "a GPU"}.get(self.devices, "CPUs and GPUs")
        basis = f"from recorded runs of the same dataset, initialization and model, on {on}"
        told = f"about {duration(self.wall(workers))} on {workers} worker{'s' * (workers != 1)} ({basis})"
        return told + (f"; {self.unknown} of them not counted: {none}" if self.unknown else "")


def estimate(configs: Iterable[Config], records: list[dict[str, Any]], gpu: bool = False) -> Estimate:
    """Each run's compute seconds from ``records`` of its dataset, init and model (run on a GPU if ``gpu`` and the run may use
    one, on a CPU otherwise, where there are such): the median seconds per epoch at the recorded ratio nearest to its own,
    scaled by training-set size, times its epochs (``_epochs``)."""
    kinds: dict[tuple, list[Timing]] = {}
    for r in records:
        if r["history"]:
            c = {**DEFAULTS, **r["config"]}
            kinds.setdefault((c["dataset"], c["init"], c["model"]), []).append(Timing.of(r))
    seconds, unknown, devices = [], 0, set()
    for cfg in configs:
        same = kinds.get((cfg.dataset, cfg.init, cfg.model), [])
        timed = [t for t in same if t.gpu == (gpu and cfg.device != "cpu")] or same
        if not timed:
            unknown += 1
            continue
        devices |= {t.gpu for t in timed}
        per_epoch = _nearest(timed, cfg.ratio, lambda t: t.per_epoch) * _share(cfg.ratio, cfg.val_fraction)
        seconds.append(per_epoch * _epochs(cfg, same))
    return Estimate(seconds, unknown, frozenset(devices))


def duration(seconds: float) -> str:
    """A duration in the unit a reader plans with: ``under a minute``, ``25 min``, ``2.5 h``, ``14 h``."""
    if seconds < 60:
        return "under a minute"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 10 * 3600 else f"{seconds / 3600:.0f} h"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a sweep will do: of its ``total`` runs, those not recorded (``todo``), how many of them go on from a saved state,
    and their estimated time on ``workers``."""

    total: int
    todo: list[Config]
    resumed: int
    cost: Estimate
    workers: int

    def __str__(self) -> str:
        going_on = f" ({self.resumed} going on from a saved state)" if self.resumed else ""
        runs = f"{self.total} run{'s' * (self.total != 1)}"
        said = f"{runs}, {self.total - len(self.todo)} recorded already, {len(self.todo)} to run{going_on}"
        return said + (f"; {self.cost.words(self.workers)}" if self.todo else "")


def plan(configs: list[Config], out: str | os.PathLike, workers: int = 1, timings: str | os.PathLike | None = TIMINGS) -> Plan:
    """The ``Plan`` of a sweep of ``configs`` into ``out``, reading its records once; the time is estimated from them and
    from those in ``timings`` (an absent folder adds none)."""
    records = records_in(out)
    is_recorded = recorded_in(records)
    todo = [c for c in configs if not is_recorded(c)]
    same = timings is None or not Path(timings).is_dir() or Path(timings).resolve() == Path(out).resolve()
    cost = estimate(todo, records + ([] if same else records_in(timings)), torch.cuda.is_available())
    return Plan(len(configs), todo, sum(checkpoint_path(out, c).exists() for c in todo), cost, workers)


def costs(records: list[dict[str, Any]], workers: int = 2) -> list[dict[str, Any]]:
    """Per study of ``records``, then for all of them: runs, the compute hours their records hold (``recorded``), and the
    hours to train them again on a CPU with ``workers`` workers (``again``, ``estimate``'s)."""
    studies: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        studies.setdefault(r["config"]["role"], []).append(r)
    rows = []
    for name, group in [*sorted(studies.items()), ("all", records)]:
        again = estimate([Config.from_dict(r["config"]) for r in group], records)
        rows.append({
            "study": "all runs" if name == "all" else STUDIES.get(name, f"{name.removeprefix('study:')} study"),
            "runs": len(group),
            "recorded (h)": sum(r["seconds"]["train"] + r["seconds"]["init"] for r in group) / 3600,
            "again (h)": again.wall(workers) / 3600,
        })  # fmt: skip
    return rows


def tasks(configs: list[Config], ensemble: bool = False) -> list[list[Config]]:
    """One task per run, or with ``ensemble`` one per set of runs sharing ``Config.group_key``."""
    if not ensemble:
        return [[cfg] for cfg in configs]
    groups: dict[tuple, list[Config]] = {}
    for cfg in configs:
        groups.setdefault(cfg.group_key(), []).append(cfg)
    return list(groups.values())


@functools.lru_cache(maxsize=2)
def _dataset(name: str, data_dir: str, grayscale: bool, download: bool) -> Dataset:
    """Each worker reads and checks a dataset once, not once per task."""
    return load_dataset(name, data_dir, grayscale=grayscale, download=download)


def run_task(configs: list[Config], data_dir: str, out: str, threads: int, download: bool = True) -> list[str]:
    """Train one task, one run or an ensemble (in a worker), and write its records as soon as they exist."""
    torch.set_num_threads(threads)  # workers split the cores: oversubscription costs ~10x
    cfg = configs[0]
    data = _dataset(cfg.dataset, data_dir, cfg.grayscale, download)
    checkpoint = Checkpoint(checkpoint_path(out, cfg))
    try:
        written = [str(write_record(record_path(out, c), r)) for c, r in zip(configs, run_together(configs, data, checkpoint=checkpoint))]
        checkpoint.path.unlink(missing_ok=True)
        return written
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # workers share one GPU: hand back what this task cached


def run_sweep(
    configs: list[Config],
    out: str,
    data_dir: str = "data",
    executor: Executor | None = None,
    workers: int = 1,
    ensemble: bool = False,
    on_done: Callable[[list[str]], None] | None = None,
    threads: int | None = None,
    download: bool = True,
    log: Callable[[str], Any] | None = None,
    planned: Plan | None = None,
) -> list[str]:
    """Run what is pending through ``executor`` (a spawned process pool of ``workers`` by default), each
    task on ``threads`` torch threads (default: the cores shared out among the workers); with ``log``, what it will do
    is said first (its ``Plan``: runs recorded already, runs to train, their estimated time) and a progress bar follows
    the runs. ``planned``: the plan of these ``configs``, where the caller has made it (the records are read once)."""
    planned = planned or plan(configs, out, workers, TIMINGS if log else None)
    runs = planned.todo
    if log:
        log(str(planned))
    bar = tqdm(total=len(runs), desc="runs", unit="run", disable=log is None or not runs)
    todo = tasks(runs, ensemble)
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    own = executor is None
    # spawn, not fork: a forked child of a process that already ran torch's OpenMP threads can hang
    executor = executor or ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    written: list[str] = []
    try:
        futures = {executor.submit(run_task, group, data_dir, out, threads, download): group for group in todo}
        for fut in as_completed(futures):
            try:
                paths = fut.result()
            except (ConfigError, DataError, RecordError):
                raise
            except Exception as err:  # whatever broke in the worker: one line, not its traceback
                raise SweepError(f"run {futures[fut][0].run_name()} failed: {type(err).__name__}: {err}") from None
            written += paths
            bar.update(len(paths))
            if on_done:
                on_done(paths)
    except KeyboardInterrupt:
        if own:  # stop the workers now: their runs in flight leave no record, and no queued run starts
            for child in multiprocessing.active_children():
                child.terminate()
                child.join()
            for tmp in Path(out).glob(".*.tmp"):
                tmp.unlink()
        raise
    finally:
        bar.close()
        if own:
            executor.shutdown(cancel_futures=True)
    return written
