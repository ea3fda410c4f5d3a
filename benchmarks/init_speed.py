"""Seconds to seed-initialize C1 and C3 over N MNIST images against one training epoch on them.

The paper's point is that the initialization is cheap: the last line prints
``init/epoch ratio: <number>`` (below 1 means cheaper than one epoch).

    python benchmarks/init_speed.py [--n 6000] [--data-dir data] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from _record import save

from seedinit import Config, load_dataset
from seedinit.data import to_float
from seedinit.experiment import build_model, generator
from seedinit.training import train


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6000, help="images (default 6000: MNIST at r = 10 %%)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--repeats", type=int, default=3, help="timings take the best of this many")
    args = p.parse_args()
    data = load_dataset("mnist", args.data_dir)
    x, y = to_float(data.x_train[: args.n]), data.y_train[: args.n]
    cfg = Config(init="seed")
    msra = Config(init="msra")
    t_build = best_of(args.repeats, lambda: build_model(msra, x, 10))
    t_seed = best_of(args.repeats, lambda: build_model(cfg, x, 10)) - t_build
    model, _ = build_model(msra, x, 10)
    t_epoch = best_of(args.repeats, lambda: train(model, x, y, x[:0], y[:0], epochs=1, generator=generator(0, "order")))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.n} MNIST images (best of {args.repeats})")
    print(f"seed init of C1 + C3: {t_seed:.2f} s")
    print(f"one training epoch:   {t_epoch:.2f} s")
    save("init_speed", args, {"init_s": t_seed, "epoch_s": t_epoch, "ratio": t_seed / t_epoch}, torch.device("cpu"))
    print(f"init/epoch ratio: {t_seed / t_epoch:.3f}")


if __name__ == "__main__":
    main()
