"""Grids of configurations run through a ``concurrent.futures``-style executor, resumable.

A grid file (YAML) holds ``base`` settings, a ``grid`` of lists whose product is taken,
and ``seeds``. Runs already recorded (``runs.recorded_in``) are skipped; each finished run's record
is written at once (atomically), so a sweep killed at any point loses only the runs in
flight. With ``ensemble``, runs that share their data and training settings form one
task, trained together (``torch.func``); otherwise each run is a task of its own.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from ..config import Config
from ..data import DataError, Dataset, load_dataset
from ..experiment import run_together
from ..options import ConfigError
from ..records import RecordError, checkpoint_path, load_records, record_path, write_record
from ..training import Checkpoint
from .runs import recorded_in

GRID_KEYS = ("base", "grid", "seeds")


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
    is_recorded = recorded_in(load_records(out) if Path(out).is_dir() else [])
    return [c for c in configs if not is_recorded(c)]


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
) -> list[str]:
    """Run what is pending through ``executor`` (a spawned process pool of ``workers`` by default), each
    task on ``threads`` torch threads (default: the cores shared out among the workers); with ``log``, what it will do
    is said first (runs recorded already, runs to train) and a progress bar follows the runs."""
    runs = pending(configs, out)
    if log:
        saved = sum(checkpoint_path(out, c).exists() for c in runs)
        going_on = f" ({saved} going on from a saved state)" if saved else ""
        log(f"{len(configs)} runs, {len(configs) - len(runs)} recorded already, {len(runs)} to run{going_on}")
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
