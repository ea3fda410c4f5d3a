"""One process using every core against a pool of processes splitting them, on the same small grid.

Prints seconds for each and ``process/thread ratio: <number>``: why the CLI's local executor is a pool of processes,
each with its share of the cores, rather than one process using them all.

    python benchmarks/executor.py [--runs 4] [--epochs 2] [--ratio 0.05] [--data-dir data]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from _record import save

from seedinit import Config
from seedinit.replication.sweep import run_sweep


def timed(configs: list[Config], data_dir: str, **kw) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_sweep(configs, out, data_dir, **kw)
        return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--ratio", type=float, default=0.05)
    p.add_argument("--data-dir", default="data")
    args = p.parse_args()
    cores = os.cpu_count() or 1
    configs = [Config(ratio=args.ratio, init="seed", delta=0.1 + 0.1 * i, epochs=args.epochs, device="cpu") for i in range(args.runs)]
    with ThreadPoolExecutor(1) as pool:
        t_thread = timed(configs, args.data_dir, executor=pool, workers=1)
    t_process = timed(configs, args.data_dir, workers=cores)
    print(f"{args.runs} runs, MNIST r = {args.ratio:g}, {args.epochs} epochs, {cores} cores")
    print(f"one process, {cores} threads:           {t_thread:.1f} s")
    print(f"{cores} processes, 1 thread each:     {t_process:.1f} s")
    results = {"cores": cores, "thread_s": t_thread, "process_s": t_process, "ratio": t_process / t_thread}
    save("executor", args, results, torch.device("cpu"))
    print(f"process/thread ratio: {t_process / t_thread:.3f}")


if __name__ == "__main__":
    main()
