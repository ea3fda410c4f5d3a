"""Pack datasets small enough to carry to a remote GPU machine that takes no downloads, and unpack them there.

    python benchmarks/ship.py pack mnist cifar10 --data-dir data --to .gdata
    python benchmarks/ship.py unpack .gdata --data-dir gdata

Colour datasets travel as luma (the model's input when ``grayscale=True``) coded as
LOCO-I (JPEG-LS) prediction residuals, then xz: lossless, about 0.68 of the luma bytes for
CIFAR. Unpacking writes ``<name>.npz``, which ``load_dataset`` checks against the official digests.
"""

from __future__ import annotations

import argparse
import io
import lzma
from pathlib import Path

import numpy as np

from seedinit.data import SPECS, load_dataset


def _predict(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """LOCO-I's median edge detector: left ``a``, above ``b``, above-left ``c``."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.where(c >= hi, lo, np.where(c <= lo, hi, a + b - c))


def encode(x: np.ndarray) -> np.ndarray:
    """Residuals (mod 256) of uint8 images ``(N, H, W)`` against their causal prediction."""
    p = x.astype(np.int16)
    pred = np.zeros_like(p)
    pred[:, 0, 1:], pred[:, 1:, 0] = p[:, 0, :-1], p[:, :-1, 0]
    pred[:, 1:, 1:] = _predict(p[:, 1:, :-1], p[:, :-1, 1:], p[:, :-1, :-1])
    return ((p - pred) % 256).astype(np.uint8)


def decode(e: np.ndarray) -> np.ndarray:
    """The images whose residuals are ``e``: pixel by pixel, every image at once."""
    r, x = e.astype(np.int16), np.zeros(e.shape, np.int16)
    for i in range(e.shape[1]):
        for j in range(e.shape[2]):
            a = x[:, i, j - 1] if j else None
            b = x[:, i - 1, j] if i else None
            guess = _predict(a, b, x[:, i - 1, j - 1]) if i and j else (a if j else b if i else 0)
            x[:, i, j] = (guess + r[:, i, j]) % 256
    return x.astype(np.uint8)


def pack(name: str, data_dir: str, to: Path) -> Path:
    d = load_dataset(name, data_dir)  # grayscale: colour images become luma
    colour = len(SPECS[name].image) == 3
    arrays = {k: getattr(d, k).numpy() for k in ("x_train", "y_train", "x_test", "y_test")}
    for k in ("x_train", "x_test"):
        arrays[k] = encode(arrays[k][:, 0]) if colour else arrays[k][:, 0]
    buf = io.BytesIO()
    np.savez(buf, loco=np.array(colour), **arrays)
    to.mkdir(parents=True, exist_ok=True)
    path = to / f"{name}.npz.xz"
    path.write_bytes(lzma.compress(buf.getvalue(), preset=9))
    print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB")
    return path


def unpack(folder: Path, data_dir: str) -> None:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.npz.xz")):
        name = path.name.removesuffix(".npz.xz")
        with np.load(io.BytesIO(lzma.decompress(path.read_bytes()))) as z:
            arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            if z["loco"]:
                arrays["x_train"], arrays["x_test"] = decode(arrays["x_train"]), decode(arrays["x_test"])
        np.savez(Path(data_dir) / f"{name}.npz", **arrays)
        load_dataset(name, data_dir, download=False)  # the official digests, or DataError
        print(f"{name}: unpacked and verified")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pack")
    a.add_argument("names", nargs="+")
    a.add_argument("--data-dir", default="data")
    a.add_argument("--to", type=Path, default=Path(".gdata"))
    b = sub.add_parser("unpack")
    b.add_argument("folder", type=Path)
    b.add_argument("--data-dir", default="gdata")
    args = p.parse_args()
    if args.command == "pack":
        for name in args.names:
            pack(name, args.data_dir, args.to)
    else:
        unpack(args.folder, args.data_dir)


if __name__ == "__main__":
    main()
