"""Seconds to seed-initialize C1 and C3 over N MNIST images against one training epoch on them.

The paper's point is that the initialization is cheap: the last line prints
``init/epoch ratio: <number>`` (below 1 means cheaper than one epoch). It also times
the forward passes Algorithm 1 cannot skip (C1's input to its output, then to C3's),
without the algorithm, against the same epoch.

    python benchmarks/init_speed.py [--n 6000] [--data-dir data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import inspect
import time

import torch
from _record import save

from seedinit import Config, load_dataset
from seedinit.config import generator
from seedinit.data import to_float
from seedinit.experiment import build_model
from seedinit.inits import layer_io, layers_in_order, seed_init_
from seedinit.training import train


def best_of(repeats: int, fns: dict) -> dict[str, float]:
    """Each function's best time over ``repeats`` rounds; a round runs them all, so a noisy spell hits every one alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: min(ts) for name, ts in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6000, help="images (default 6000: MNIST at r = 10 %%)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--repeats", type=int, default=5, help="timings take the best of this many")
    args = p.parse_args()
    data = load_dataset("mnist", args.data_dir)
    x, y = to_float(data.x_train[: args.n]), data.y_train[: args.n]
    cfg = Config(init="seed")
    msra = Config(init="msra")
    model, _ = build_model(msra, x, 10)
    batch = inspect.signature(seed_init_).parameters["batch_size"].default
    convs = [conv for _, conv in layers_in_order(model, x)]
    best = best_of(
        args.repeats,
        {
            "msra": lambda: build_model(msra, x, 10),
            "seed": lambda: build_model(cfg, x, 10),
            "passes": lambda: [layer_io(model, c, x[i : i + batch]) for c in convs for i in range(0, len(x), batch)],
            "epoch": lambda: train(model, x, y, x[:0], y[:0], epochs=1, generator=generator(0, "order")),
        },
    )
    t_seed, t_epoch = best["seed"] - best["msra"], best["epoch"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.n} MNIST images (best of {args.repeats})")
    print(f"seed init of C1 + C3: {t_seed:.2f} s")
    print(f"  of which the forward passes: {best['passes']:.2f} s ({best['passes'] / t_epoch:.3f} of an epoch)")
    print(f"one training epoch:   {t_epoch:.2f} s")
    results = {"init_s": t_seed, "passes_s": best["passes"], "epoch_s": t_epoch, "ratio": t_seed / t_epoch}
    save("init_speed", args, results, torch.device("cpu"))
    print(f"init/epoch ratio: {t_seed / t_epoch:.3f}")


if __name__ == "__main__":
    main()
