"""Wall time of the whole reproduction grid (``seedinit reproduce``) on this machine.

Runs both stages of ``seedinit.replication.protocol`` for the datasets given, counts the runs it
trained, and records seconds per stage. Ends with ``grid: <runs> runs in <s> s``.
With ``--time-limit S`` (or on SIGTERM) it stops after S seconds, ends its workers, and
records how many runs finished by then (``complete: false``), e.g. on a machine available for a fixed time.

    python benchmarks/grid.py --datasets mnist cifar10 [--data-dir data] [--out book/results] [--workers N] [--time-limit S] [flags]

Other flags (``--ratios``, ``--stages``, ``--no-studies``) go to ``seedinit reproduce``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import time
from pathlib import Path

import torch
from _record import save

from seedinit.replication.cli import main as cli


def count(folder: str) -> int:
    return len(list(Path(folder).glob("*.json")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "cifar10", "cifar100"])
    p.add_argument("--data-dir", default="data")
    p.add_argument("--out", default="book/results")
    p.add_argument("--workers", type=int, default=None, help="parallel tasks (default: seedinit's)")
    p.add_argument("--time-limit", type=int, default=None, help="stop after this many seconds and record the runs finished")
    args, rest = p.parse_known_args()
    before, t0 = count(args.out), time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.reproduce_flags = rest

    def finish(rc: int, complete: bool) -> None:
        seconds, runs = time.perf_counter() - t0, count(args.out) - before
        save(f"grid-{'-'.join(args.datasets)}", args, {"exit": rc, "complete": complete, "runs": runs, "seconds": seconds}, device)
        print(f"grid: {runs} runs in {seconds:.0f} s" + ("" if complete else " (stopped before the end)"), flush=True)

    def stop(signum: int, frame: object) -> None:
        for child in multiprocessing.active_children():  # the sweep's workers: a run in flight leaves no record
            child.kill()
        finish(128 + signum, complete=False)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    if args.time_limit:
        signal.alarm(args.time_limit)
    flags = ["--datasets", *args.datasets, "--data-dir", args.data_dir, "--out", args.out]
    rc = cli(["reproduce", *flags, *(["--workers", str(args.workers)] if args.workers else []), *rest])
    signal.alarm(0)
    finish(rc, complete=rc == 0)


if __name__ == "__main__":
    main()
