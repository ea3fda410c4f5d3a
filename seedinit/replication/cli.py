"""Command line: ``seedinit run|sweep|reproduce|filters`` (and ``python -m seedinit``).

Every Config field but ``role`` is a flag (``--theta-mode``, ``--no-grayscale``, ``seed`` as ``--seeds``), so the CLI,
the notebooks and the records share one set of names. Bad input stops before any
training with one line and exit status 2; Ctrl-C stops with status 130, keeping every
record already written. ``sweep`` and ``reproduce`` say what they will train and about how
long it takes before they start; with ``--dry-run`` they stop there.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..config import APPLIES, DATASETS, DEFAULTS, Config
from ..data import DataError, load_dataset, split_indices, to_float
from ..experiment import build_model, run
from ..options import SEED_FIELDS, ConfigError, fail, flag
from ..records import RecordError, checkpoint_path, read_record, record_path, write_record
from ..training import Checkpoint, resolve_device
from .plots import plot_filters
from .protocol import PAPER_DATASETS, RATIOS, reproduce
from .sweep import TIMINGS, SweepError, expand, load_grid, plan, run_sweep

if TYPE_CHECKING:
    from dask.distributed import Client

EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130
FILTER_FIELDS = ("dataset", "ratio", "grayscale", "init", "hidden", "val_fraction", "device", *SEED_FIELDS)


class Written:
    """The records a command wrote into ``--out``, counted for the message when it stops early."""

    def __init__(self, out: str | None) -> None:
        self.out = Path(out) if out else None
        self.before = self._now()

    def _now(self) -> set[Path]:
        return set(self.out.glob("*.json")) if self.out and self.out.is_dir() else set()

    def __len__(self) -> int:
        return len(self._now() - self.before)


def _config_flags(p: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    for f in dataclasses.fields(Config):
        if f.name in ("seed", "role") or (only is not None and f.name not in only):
            continue
        shown = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
        name, kw = flag(f.name), {"help": f"{f.metadata['help']} (default: {shown})", "default": argparse.SUPPRESS}
        if isinstance(f.default, bool):
            p.add_argument(name, action=argparse.BooleanOptionalAction, **kw)
        elif isinstance(f.default, tuple):
            p.add_argument(name, type=int, nargs="*", metavar="N", **kw)
        else:
            p.add_argument(name, type=type(f.default), choices=f.metadata["choices"], **kw)


def _common_flags(p: argparse.ArgumentParser, out: str, seeds: str | None = "+") -> None:
    p.add_argument("--data-dir", default="data", help="folder with <dataset>.npz or the original files (default: data)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True, help="fetch a missing dataset (default: yes)")
    p.add_argument("--out", default=out, help=f"where to write (default: {out})")
    if seeds:
        what = "RNG seed(s), one run each" if seeds == "+" else "RNG seed of the subset and the initialization"
        p.add_argument("--seeds", "--seed", type=int, nargs=seeds, default=[0], metavar="S", help=f"{what} (default: 0)")


def _sweep_flags(p: argparse.ArgumentParser) -> None:
    _common_flags(p, "runs", seeds=None)
    p.add_argument("--executor", choices=("process", "dask"), default="process", help="a local process pool (default) or dask.distributed")
    p.add_argument("--workers", type=int, default=None, help="parallel tasks (default: one per core)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per task (default: the cores shared out among the workers)")
    p.add_argument("--scheduler", default=None, help="dask scheduler address (default: a LocalCluster on this machine)")
    ens = "train runs that share data and training settings together (default: on a GPU; benchmarks/ensemble.py measures both)"
    p.add_argument("--ensemble", action=argparse.BooleanOptionalAction, default=None, help=ens)
    p.add_argument("--dry-run", action="store_true", help="say what would be trained and about how long it takes, then stop")
    timed = f"records whose per-epoch times estimate how long the runs take, besides those in --out (default: {TIMINGS})"
    p.add_argument("--timings", default=TIMINGS, metavar="DIR", help=timed)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedinit", description="Seed-filter initialization of CNNs (Suzuki et al.), reproducible.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train configurations and write one JSON record per run")
    _config_flags(run)
    _common_flags(run, "runs")
    run.add_argument("--force", action="store_true", help="re-run configurations that already have a record")
    sw = sub.add_parser("sweep", help="run a grid of configurations (YAML), skipping those already recorded")
    sw.add_argument("grid", help="grid file (YAML): base settings, grid: lists of values, seeds: the RNG seeds")
    _sweep_flags(sw)
    rep = sub.add_parser("reproduce", help="the paper's protocol: delta chosen on validation, then the Table-2 arms and the studies")
    rep.add_argument("--datasets", nargs="+", default=list(PAPER_DATASETS), choices=DATASETS, help="default: the paper's three")
    rep.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS), help="one or more of 0.01 0.05 0.1 (default: all three)")
    studies = "skip the studies (interpretation, sensitivity, baseline, schedule, the delta grid's check, comparison, ResNet)"
    rep.add_argument("--no-studies", dest="studies", action="store_false", help=studies)
    stages = "1: the delta grids, the interpretation, sensitivity and baseline studies; 2: the Table-2 arms and the other studies"
    rep.add_argument("--stages", type=int, nargs="+", default=[1, 2], choices=(1, 2), help=stages)
    schedule = "stage 2's Table-2 arms until converged (default), or on the fixed schedule beside the control arm"
    rep.add_argument("--schedule", choices=("converged", "fixed"), default="converged", help=schedule)
    _sweep_flags(rep)
    flt = sub.add_parser("filters", help="draw the initial C1 and C3 filters (the paper's Fig. 2)")
    _config_flags(flt, FILTER_FIELDS)
    _common_flags(flt, "filters.png", seeds=1)
    return p


def applies(cfg: Config, given: Iterable[str], source: str) -> Config:
    """``cfg``, once each setting ``given`` by a user is found to apply to it: one that would change nothing is refused,
    not ignored (a grid's MSRA runs under several deltas are one run; ``key`` counts such a setting at its default)."""
    for name in sorted(APPLIES.keys() & set(given)):
        on, needed = APPLIES[name]
        if getattr(cfg, on) != needed and getattr(cfg, name) != DEFAULTS[name]:
            fail(source, name, getattr(cfg, name), f"left at its default, {DEFAULTS[name]!r}: it applies only when {on} is {needed}")
    return cfg


def _config(args: argparse.Namespace, **extra: object) -> Config:
    values = {k: v for k, v in vars(args).items() if k in {f.name for f in dataclasses.fields(Config)}}
    return applies(Config.from_dict({**values, **extra}, source="command line"), values, "command line")


def writable(folder: Path, what: str = "--out") -> None:
    """Check that ``folder`` is, or can be made as, a folder files can be written in, without making it (a command that
    stops early leaves nothing behind); ConfigError saying what is wrong otherwise."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{what} {folder} is a file; it must be a folder (existing, or one that can be made)")
    base = next(p for p in (folder, *folder.parents) if p.exists())  # the folder, or the nearest one above it
    if not base.is_dir():
        raise ConfigError(f"{what} {folder} cannot be made: {base} is a file; choose a folder you can write")
    try:
        tempfile.TemporaryFile(dir=base).close()
    except OSError as err:
        raise ConfigError(f"{what} {folder} cannot be written ({err.strerror}); choose a folder you can write") from None


def data_ready(configs: list[Config], args: argparse.Namespace) -> None:
    """Check each device and, unless it is a dry run, load each dataset the configurations need once, before any training."""
    for device in {c.device for c in configs}:
        resolve_device(device)
    if args.dry_run:  # a dry run downloads nothing
        return
    for name, gray in sorted({(c.dataset, c.grayscale) for c in configs}):
        load_dataset(name, args.data_dir, grayscale=gray, download=args.download)


def cmd_run(args: argparse.Namespace) -> int:
    configs = [_config(args, seed=s) for s in args.seeds]
    writable(Path(args.out))
    resolve_device(configs[0].device)
    data = load_dataset(configs[0].dataset, args.data_dir, grayscale=configs[0].grayscale, download=args.download)
    for cfg in configs:
        path = record_path(args.out, cfg)
        if path.exists() and not args.force:
            print(f"{path}: recorded already (Q3/4 {read_record(path)['q34']:.4f}); --force re-runs it")
            continue
        checkpoint = Checkpoint(checkpoint_path(args.out, cfg))
        record = run(cfg, data, progress=sys.stderr.isatty(), checkpoint=checkpoint)
        write_record(path, record)
        checkpoint.path.unlink(missing_ok=True)
        took = f"init {record['seconds']['init']:.2f} s, train {record['seconds']['train']:.1f} s"
        if record["diverged"]:
            loss = max(h["train_loss"] for h in record["history"])
            print(f"{path}: DIVERGED (training loss up to {loss:.3g}): no Q3/4 score; {took}")
            continue
        state = "" if record["converged_at"] or cfg.stop == "fixed" else "  NOT CONVERGED"
        print(f"{path}: Q3/4 {record['q34']:.4f}, {took}{state}")
    return 0


def _sweeper(args: argparse.Namespace) -> Callable[[list[Config]], None]:
    """``run(configs)``: what it will train and about how long that takes, then (unless a dry run) the pending ones
    through the executor the flags name, with a progress bar."""

    ensemble = torch.cuda.is_available() if args.ensemble is None else args.ensemble
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    for option, value in (("--workers", workers), ("--threads", 1 if args.threads is None else args.threads)):
        if value < 1:
            raise ConfigError(f"{option} {value} is not allowed; it must be a whole number >= 1")
    if args.scheduler and args.executor != "dask":
        raise ConfigError(f"--scheduler {args.scheduler} needs --executor dask; without it the runs train here")
    writable(Path(args.out))

    def sweep(configs: list[Config]) -> None:
        planned, said = plan(configs, args.out, workers, args.timings), functools.partial(print, flush=True)
        if planned.todo and not args.scheduler:  # a cluster's workers read their own data folder
            data_ready(planned.todo, args)
        if args.dry_run:
            said(planned)
            return
        client = _dask(args, workers) if planned.todo and args.executor == "dask" else None
        try:
            executor = client.get_executor() if client else None
            run_sweep(configs, args.out, args.data_dir, executor, workers, ensemble, None, args.threads, args.download, said, planned)
        finally:
            if client:
                client.close()

    return sweep


def _dask(args: argparse.Namespace, workers: int) -> Client:
    """A dask client of the scheduler named, or of its own LocalCluster; ConfigError if the scheduler does not answer in 10 s."""
    import logging

    from dask.distributed import Client

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # a failed task is reported once, by the CLI
    if not args.scheduler:
        return Client(n_workers=workers, threads_per_worker=1, processes=True, silence_logs=logging.CRITICAL)
    try:
        return Client(args.scheduler, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise ConfigError(
            f"--scheduler {args.scheduler}: no dask scheduler answered within 10 s ({err}); start one, or drop --scheduler"
        ) from None


def cmd_sweep(args: argparse.Namespace) -> int:
    configs, sweep = expand(load_grid(args.grid), source=args.grid), _sweeper(args)  # every flag checked before any output
    print(f"{args.grid}: ", end="")
    sweep(configs)
    _dry_run_said(args)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    bad = [r for r in args.ratios if r not in RATIOS]
    if bad:
        raise ConfigError(f"--ratios {bad[0]:g} is not allowed; the protocol's ratios are {', '.join(map(str, RATIOS))}")
    settings = {"studies": args.studies, "stages": args.stages, "schedule": args.schedule, "dry_run": args.dry_run}
    reproduce(args.datasets, args.ratios, args.out, _sweeper(args), **settings)
    _dry_run_said(args)
    return 0


def _dry_run_said(args: argparse.Namespace) -> None:
    """After a dry run, that it trained nothing."""
    if args.dry_run:
        print("--dry-run: nothing trained, nothing written")


def cmd_filters(args: argparse.Namespace) -> int:
    cfg, out = _config(args, seed=args.seeds[0]), Path(args.out)
    formats = ("png", "pdf", "svg", "jpg")
    if out.is_dir() or out.suffix[1:].lower() not in formats:
        raise ConfigError(f"--out {out} must name an image file ending in {', '.join('.' + f for f in formats)}")
    writable(out.parent)
    data = load_dataset(cfg.dataset, args.data_dir, grayscale=cfg.grayscale, download=args.download)
    train_idx, _ = split_indices(cfg, data.y_train)
    model, reports = build_model(cfg, to_float(data.x_train[train_idx].to(resolve_device(cfg.device))), data.num_classes)
    what = f"seed filters, delta={cfg.delta:g}" if cfg.init == "seed" else "MSRA" if cfg.init == "msra" else cfg.init
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_filters(model, title=f"{cfg.dataset}, r={cfg.ratio:g}: {what}").savefig(out, dpi=120)
    for r in reports:
        print(f"{r} in {r.seconds:.2f} s")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    written = Written(args.out if args.command != "filters" else None)
    command = {"run": cmd_run, "sweep": cmd_sweep, "reproduce": cmd_reproduce, "filters": cmd_filters}[args.command]
    try:
        return command(args)
    except (ConfigError, DataError, RecordError) as err:
        print(f"seedinit: error: {' '.join(str(err).split())}", file=sys.stderr)
        return EXIT_USAGE
    except SweepError as err:
        print(f"seedinit: error: {err}; {len(written)} runs recorded, re-run the same command to resume", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"\nseedinit: interrupted; {len(written)} runs recorded, re-run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
