"""The arithmetic floor: this machine's peak rate against the floating-point work of the reproduction.

Measures the fastest of a few large, cache-friendly convolutions and a matrix product
(the most this machine's kernels deliver) and counts, with ``seedinit.replication.cost``, the
operations of the whole protocol's grid and of seed initialization against one epoch. No schedule beats work / peak. Ends with
``grid floor: <hours> h`` (the whole grid at the peak rate).

    python benchmarks/roofline.py [--n 6000] [--data-dir data] [--device auto]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from _record import save
from torch.utils.flop_counter import FlopCounterMode

from seedinit import Config, load_dataset
from seedinit.data import to_float
from seedinit.experiment import build_model
from seedinit.replication.cost import fixed_grid, flops, work
from seedinit.training import resolve_device


def rate(fn: Callable[[], torch.Tensor], device: torch.device, repeats: int = 8) -> float:
    """FLOP/s of ``fn``'s best timing over ``repeats`` (operations counted by FlopCounterMode)."""

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    with FlopCounterMode(display=False) as count:
        fn()  # also the warm-up
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return count.get_total_flops() / best


def peak(device: torch.device) -> dict[str, float]:
    """GFLOP/s of large probes: 3x3 and 5x5 convolutions (channels-last) and a square matrix product."""
    cl = torch.channels_last

    def conv(n: int, c_in: int, c_out: int, side: int, k: int) -> Callable[[], torch.Tensor]:
        x = torch.randn(n, c_in, side, side, device=device).contiguous(memory_format=cl)
        w = torch.randn(c_out, c_in, k, k, device=device).contiguous(memory_format=cl)
        return lambda: F.conv2d(x, w)

    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    probes = {"conv 128->128 3x3": conv(16, 128, 128, 56, 3), "conv 64->64 5x5": conv(32, 64, 64, 32, 5), "matmul 2048": lambda: a @ b}
    return {name: rate(fn, device) / 1e9 for name, fn in probes.items()}


def init_flops(n: int, data_dir: str) -> dict[str, float]:
    """Operations of seed-initializing C1 and C3 over ``n`` MNIST images, and of one training epoch over them."""
    x = to_float(load_dataset("mnist", data_dir).x_train[:n])
    with FlopCounterMode(display=False) as count:
        build_model(Config(init="seed"), x, 10)
    return {"init_gflop": count.get_total_flops() / 1e9, "epoch_gflop": n * flops(Config())[0] / 1e9}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6000, help="images for the init/epoch count (default 6000: MNIST at r = 10 %%)")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    device = resolve_device(args.device)
    probes = peak(device)
    best = max(probes.values())
    runs = fixed_grid()
    grid = work(runs) / 1e9
    counts = init_flops(args.n, args.data_dir)
    for name, g in probes.items():
        print(f"{name:18s} {g:6.1f} GFLOP/s")
    print(f"peak (best probe):  {best:6.1f} GFLOP/s on {device.type}, {torch.get_num_threads()} threads")
    print(f"seed init of C1 + C3 / one epoch, in operations: {counts['init_gflop']:.1f} / {counts['epoch_gflop']:.1f} GFLOP")
    print(f"whole grid ({len(runs)} runs): {grid / 1e6:.2f} PFLOP; 3 hours need {grid / 3 / 3600:.0f} GFLOP/s")
    results = {"probes_gflops": probes, "peak_gflops": best, "grid_gflop": grid, **counts,
               "grid_floor_h": grid / best / 3600}  # fmt: skip
    save("roofline", args, results, device)
    print(f"grid floor: {grid / best / 3600:.2f} h")


if __name__ == "__main__":
    main()
