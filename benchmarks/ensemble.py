"""K seeds trained as one ensemble (torch.func.vmap) against K separate runs of the same work.

Ends with ``ensemble/sequential ratio: <number>`` (below 1: the ensemble is faster).

    python benchmarks/ensemble.py [--seeds 10] [--epochs 2] [--ratio 0.1] [--data-dir data]
"""

from __future__ import annotations

import argparse
import time

import torch
from _record import save

from seedinit import Config, load_dataset, run, run_together
from seedinit.training import resolve_device


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--ratio", type=float, default=0.1)
    p.add_argument("--init", default="msra")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    data = load_dataset("mnist", args.data_dir)
    configs = [Config(ratio=args.ratio, init=args.init, epochs=args.epochs, seed=s, device=args.device) for s in range(args.seeds)]
    warm = [c.replace(epochs=1) for c in configs[:2]]  # start-up (CUDA context, cuDNN plans) outside the timings
    run_together(warm, data), run(warm[0], data)
    t0 = time.perf_counter()
    together = run_together(configs, data)
    t_ens = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = [run(c, data) for c in configs]
    t_seq = time.perf_counter() - t0
    gap = max(abs(a["history"][-1]["test_acc"] - b["history"][-1]["test_acc"]) for a, b in zip(together, alone))
    device = together[0]["provenance"]["device"]
    print(f"torch {torch.__version__}, {device}; MNIST r = {args.ratio:g}, {args.epochs} epochs, {args.seeds} seeds")
    print(f"ensemble:   {t_ens:.1f} s")
    print(f"sequential: {t_seq:.1f} s")
    print(f"largest per-seed difference in final test accuracy: {gap:.2e}")
    results = {"ensemble_s": t_ens, "sequential_s": t_seq, "max_acc_gap": gap, "ratio": t_ens / t_seq}
    save("ensemble", args, results, resolve_device(args.device))
    print(f"ensemble/sequential ratio: {t_ens / t_seq:.3f}")


if __name__ == "__main__":
    main()
