"""Wall time of the whole reproduction grid (``seedinit reproduce``) on this machine.

Runs both stages of ``seedinit.protocol`` for the datasets given, counts the runs it
trained, and records seconds per stage. Ends with ``grid: <runs> runs in <s> s``.

    python benchmarks/grid.py --datasets mnist cifar10 [--data-dir data] [--out book/results] [--workers N] [reproduce flags]

Other flags (``--ratios``, ``--stages``, ``--no-studies``) go to ``seedinit reproduce``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from _record import save

from seedinit.cli import main as cli


def count(folder: str) -> int:
    return len(list(Path(folder).glob("*.json")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "cifar10", "cifar100"])
    p.add_argument("--data-dir", default="data")
    p.add_argument("--out", default="book/results")
    p.add_argument("--workers", type=int, default=None, help="parallel tasks (default: seedinit's)")
    args, rest = p.parse_known_args()
    before, t0 = count(args.out), time.perf_counter()
    flags = ["--datasets", *args.datasets, "--data-dir", args.data_dir, "--out", args.out]
    rc = cli(["reproduce", *flags, *(["--workers", str(args.workers)] if args.workers else []), *rest])
    seconds, runs = time.perf_counter() - t0, count(args.out) - before
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.reproduce_flags = rest
    save(f"grid-{'-'.join(args.datasets)}", args, {"exit": rc, "runs": runs, "seconds": seconds}, device)
    print(f"grid: {runs} runs in {seconds:.0f} s")


if __name__ == "__main__":
    main()
