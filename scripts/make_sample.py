"""Write the method chapter's sample images (``book/sample``) from the full datasets, or check them against them.

The method chapter runs Algorithm 1 on this sample, so the book builds from the repository
alone, without a download. Each dataset's sample is the training subset of the runs at
r = 1 % with RNG seed 0 (``seedinit.data.split_indices``: the images a Table-2 run of that
seed trains on), its colour images as the ITU-R 601-2 luma LeNet-5 sees, and no test
images. ``<name>.npz`` holds ``x_train, y_train`` (and empty ``x_test, y_test``, so that
``load_dataset`` reads it too) and ``index``, each image's position in the official
training set; ``SHA256SUMS`` holds each file's SHA-256, which ``seedinit.replication.sample.load_sample``
checks before it reads one.

    python scripts/make_sample.py --data-dir data            # rewrite book/sample from data/<name>.npz
    python scripts/make_sample.py --data-dir data --check    # the files in book/sample are exactly that subset

The full datasets are read with ``seedinit.load_dataset`` (``make data`` puts them in
``data/``), which checks them against the official SHA-256 digests. The archives are
written with fixed timestamps, so the same zlib writes the same bytes; ``--check``
compares the arrays, whatever zlib wrote them.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from seedinit import Config, load_dataset
from seedinit.data import split_indices
from seedinit.replication.sample import load_sample

DATASETS = ("mnist", "cifar10")  # those the method chapter walks through
RATIO, SEED = 0.01, 0  # the paper's smallest share of the training set, the first RNG seed
ROOT = Path(__file__).resolve().parents[1]


def sample(name: str, data_dir: str) -> dict[str, np.ndarray]:
    """The r = 1 % training subset of RNG seed 0 of ``name``, as the arrays of its ``.npz``."""
    data = load_dataset(name, data_dir, download=False)
    index = split_indices(Config(dataset=name, ratio=RATIO, seed=SEED), data.y_train)[0]
    x = data.x_train[index][:, 0].numpy()  # (N, H, W) uint8: one channel, luma for CIFAR
    empty = {"x_test": np.zeros((0, *x.shape[1:]), np.uint8), "y_test": np.zeros(0, np.int64)}
    return {"x_train": x, "y_train": data.y_train[index].numpy(), **empty, "index": index.numpy()}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed``'s format with fixed timestamps, so that rewriting the same arrays writes the same bytes."""
    with zipfile.ZipFile(path, "w") as z:
        for key, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue(), compresslevel=9)


def check(folder: Path, data_dir: str, names: tuple[str, ...] = DATASETS) -> list[str]:
    """What differs between the files in ``folder`` and the subsets drawn afresh from ``data_dir``."""
    wrong = []
    for name in names:
        load_sample(name, folder)  # its SHA-256 and its shapes and labels
        with np.load(folder / f"{name}.npz", allow_pickle=False) as z:
            kept = {k: z[k] for k in z.files}
        for key, a in sample(name, data_dir).items():
            b = kept.get(key)
            if b is None or b.dtype != a.dtype or b.shape != a.shape or not np.array_equal(a, b):
                wrong.append(f"{folder / name}.npz: {key} differs from the subset drawn from {data_dir}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/make_sample.py", description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="data", help="the full datasets, as seedinit.load_dataset reads them (default: data)")
    p.add_argument("--out", default=str(ROOT / "book" / "sample"), help="the sample's folder (default: book/sample)")
    p.add_argument("--check", action="store_true", help="write nothing; compare the sample in --out with the full datasets")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.check:
        wrong = check(out, args.data_dir)
        print("\n".join(wrong) or f"{out}: {', '.join(DATASETS)} are the r = {RATIO:g} subsets of RNG seed {SEED} of {args.data_dir}")
        return 1 if wrong else 0
    out.mkdir(parents=True, exist_ok=True)
    sums = []
    for name in DATASETS:
        path = out / f"{name}.npz"
        write_npz(path, arrays := sample(name, args.data_dir))
        sums.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")
        print(f"{path}: {len(arrays['x_train'])} images {arrays['x_train'].shape[1:]}, {path.stat().st_size} bytes")
    (out / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
