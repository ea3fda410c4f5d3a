"""Command line: ``seedinit run|sweep|reproduce|filters`` (and ``python -m seedinit``).

Every Config field is a flag (``--theta-mode``, ``--no-grayscale``, ...), so the CLI,
the notebooks and the records share one set of names.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .config import Config, ConfigError
from .data import DataError
from .protocol import PAPER_DATASETS, RATIOS
from .records import RecordError

EXIT_USAGE, EXIT_DATA = 2, 1


def _add_config_flags(p: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    for f in dataclasses.fields(Config):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        kw = {"help": f"{f.metadata['help']} (default: {f.default})", "default": argparse.SUPPRESS}
        if isinstance(f.default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif isinstance(f.default, tuple):
            p.add_argument(flag, type=int, nargs="*", metavar="N", **kw)
        else:
            p.add_argument(flag, type=type(f.default), choices=f.metadata["choices"], **kw)


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default="data", help="folder with <dataset>.npz or torchvision's files (default: data)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True, help="download through torchvision if missing")


def _config(args: argparse.Namespace, **extra: object) -> Config:
    names = {f.name for f in dataclasses.fields(Config)}
    values = {k: v for k, v in vars(args).items() if k in names}
    return Config.from_dict({**values, **extra}, source="command line")


def _add_sweep_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default="data", help="folder with <dataset>.npz or torchvision's files (default: data)")
    p.add_argument("--out", default="runs", help="folder for the records (default: runs)")
    p.add_argument(
        "--executor",
        choices=("process", "dask"),
        default="process",
        help="process: a local pool, each worker with its share of the cores (default); dask: dask.distributed",
    )
    p.add_argument("--workers", type=int, default=None, help="parallel tasks (default: one per core)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per task (default: the cores shared out among the workers)")
    p.add_argument("--scheduler", default=None, help="dask scheduler address (default: a LocalCluster on this machine)")
    p.add_argument(
        "--ensemble",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train runs that share data and training settings together (default: on with CUDA, off on the CPU where it measured slower)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedinit", description="Seed-filter initialization of CNNs (Suzuki et al.), reproducible.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train configurations and write one JSON record per run")
    _add_config_flags(run, skip=("seed",))
    run.add_argument("--seeds", type=int, nargs="+", default=[0], metavar="S", help="RNG seeds, one run each (default: 0)")
    _add_data_flags(run)
    run.add_argument("--out", default="runs", help="folder for the records (default: runs)")
    run.add_argument("--force", action="store_true", help="re-run configurations that already have a record")

    sw = sub.add_parser("sweep", help="run a grid of configurations (YAML), skipping those already recorded")
    sw.add_argument("grid", help="grid file: base settings, a grid of lists, seeds")
    _add_sweep_flags(sw)

    rep = sub.add_parser("reproduce", help="the paper's experiments: delta chosen on validation, then Table-2 arms (seedinit.protocol)")
    rep.add_argument("--datasets", nargs="+", default=list(PAPER_DATASETS), choices=PAPER_DATASETS, help="default: all three")
    rep.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS), help="default: 0.01 0.05 0.1")
    rep.add_argument("--no-studies", dest="studies", action="store_false", help="skip the interpretation, sensitivity and schedule studies")
    stages = "1: delta grid, interpretation and sensitivity studies; 2: Table-2 arms and the schedule study"
    rep.add_argument("--stages", type=int, nargs="+", default=[1, 2], choices=(1, 2), help=stages)
    _add_sweep_flags(rep)

    flt = sub.add_parser("filters", help="draw the initial C1 and C3 filters (the paper's Fig. 2)")
    _add_config_flags(flt)
    _add_data_flags(flt)
    flt.add_argument("--out", default="filters.png", help="image file to write (default: filters.png)")
    return p


def cmd_run(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .experiment import run
    from .records import read_record, record_path, write_record

    configs = [_config(args, seed=s) for s in args.seeds]
    data = None
    for cfg in configs:
        path = record_path(args.out, cfg)
        if path.exists() and not args.force:
            rec = read_record(path)
            print(f"{path}: recorded already (Q3/4 {rec['q34']:.4f}); --force re-runs it")
            continue
        data = data or load_dataset(cfg.dataset, args.data_dir, grayscale=cfg.grayscale, download=args.download)
        record = run(cfg, data, progress=sys.stderr.isatty())
        write_record(path, record)
        flag = "  DIVERGED" if record["diverged"] else ""
        print(f"{path}: Q3/4 {record['q34']:.4f}, init {record['seconds']['init']:.2f} s, train {record['seconds']['train']:.1f} s{flag}")
    return 0


def _sweeper(args: argparse.Namespace) -> Callable[[list[Config]], None]:
    """``run(configs)``: the pending ones through the executor the flags name, with a progress bar."""
    import torch
    from tqdm import tqdm

    from .sweep import pending, run_sweep

    ensemble = torch.cuda.is_available() if args.ensemble is None else args.ensemble
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    for flag, value in (("--workers", workers), ("--threads", 1 if args.threads is None else args.threads)):
        if value < 1:
            raise ConfigError(f"{flag}={value} is not allowed; it must be a whole number >= 1")

    def sweep(configs: list[Config]) -> None:
        todo = pending(configs, args.out)
        print(f"{len(configs)} runs, {len(configs) - len(todo)} recorded already, {len(todo)} to run", flush=True)
        if not todo:
            return
        with tqdm(total=len(todo), desc="runs", unit="run") as bar:
            done = lambda paths: bar.update(len(paths))  # noqa: E731
            if args.executor == "dask":
                from dask.distributed import Client, LocalCluster

                cluster = None if args.scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
                with Client(args.scheduler or cluster) as client:
                    run_sweep(todo, args.out, args.data_dir, client.get_executor(), workers, ensemble, done, args.threads)
                if cluster is not None:
                    cluster.close()
            else:
                run_sweep(todo, args.out, args.data_dir, None, workers, ensemble, done, args.threads)

    return sweep


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import expand, load_grid

    print(f"{args.grid}: ", end="")
    _sweeper(args)(expand(load_grid(args.grid), source=args.grid))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .protocol import reproduce

    bad = [r for r in args.ratios if r not in RATIOS]
    if bad:
        raise ConfigError(f"--ratios {bad[0]:g} is not allowed; the protocol's ratios are {', '.join(map(str, RATIOS))}")
    reproduce(args.datasets, args.ratios, args.out, _sweeper(args), studies=args.studies, stages=args.stages)
    return 0


def cmd_filters(args: argparse.Namespace) -> int:
    from .data import load_dataset, split_indices, to_float
    from .experiment import build_model
    from .plots import plot_filters
    from .training import resolve_device

    cfg = _config(args)
    data = load_dataset(cfg.dataset, args.data_dir, grayscale=cfg.grayscale, download=args.download)
    train_idx, _ = split_indices(cfg, data.y_train)
    model, reports = build_model(cfg, to_float(data.x_train[train_idx].to(resolve_device(cfg.device))), data.num_classes)
    what = f"seed filters, delta={cfg.delta:g}" if cfg.init == "seed" else "MSRA"
    fig = plot_filters(model, title=f"{cfg.dataset}, r={cfg.ratio:g}: {what}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    for r in reports:
        print(f"{r.layer}: {r.seeded}/{r.filters} filters seeded from {r.candidates} candidates in {r.seconds:.2f} s")
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"run": cmd_run, "sweep": cmd_sweep, "reproduce": cmd_reproduce, "filters": cmd_filters}[args.command](args)
    except ConfigError as err:
        print(f"seedinit: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (DataError, RecordError) as err:
        print(f"seedinit: error: {err}", file=sys.stderr)
        return EXIT_DATA


if __name__ == "__main__":
    sys.exit(main())
