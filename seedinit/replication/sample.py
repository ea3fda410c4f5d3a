"""The method chapter's images: a small sample of real training images kept with the book, read only if its SHA-256 is
the one recorded beside it, so the chapter builds without downloading anything."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..data import DataError, Dataset, check_arrays, read_npz, to_dataset


def load_sample(name: str, folder: str | os.PathLike = "book/sample") -> Dataset:
    """The sample of ``name`` kept in ``folder``: ``<name>.npz`` (a few hundred training images as ``x_train, y_train``,
    colour ones as luma; no test images), read only if its SHA-256 is the one ``<folder>/SHA256SUMS`` records for it."""
    folder = Path(folder)
    path, sums = folder / f"{name}.npz", folder / "SHA256SUMS"
    fix = f"restore {path} from the repository (git checkout -- {path}), or rebuild it with scripts/make_sample.py"
    try:
        recorded = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
    except (OSError, ValueError) as err:
        raise DataError(f"{sums} is missing or unreadable ({err}); it records the SHA-256 of each sample. Fix: {fix}") from None
    if f"{name}.npz" not in recorded or not path.exists():
        have = ", ".join(n.removesuffix(".npz") for n in sorted(recorded)) or "none"
        raise DataError(f"no sample of {name!r} in {folder} (samples recorded in {sums}: {have})")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != recorded[f"{name}.npz"]:
        raise DataError(f"{path}: SHA-256 {digest} is not the one {sums} records ({recorded[name + '.npz']}). Fix: {fix}")
    arrays = read_npz(path)
    check_arrays(name, arrays, path)
    return to_dataset(name, arrays, grayscale=True)
