"""Datasets as in-memory uint8 tensors, from a ``.npz`` cache, the original files, or a download; the training subsets."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .config import DATASETS, Config, generator
from .records import atomic_write


class DataError(RuntimeError):
    """A dataset is missing, corrupt or not what it claims to be; the message says how to fix it."""


@dataclass(frozen=True)
class Spec:
    title: str  # the name readers know it by
    torchvision: str  # class name in torchvision.datasets
    folder: str  # torchvision's folder under root
    image: tuple[int, ...]  # one image's shape as stored (H, W) or (H, W, 3)
    classes: int
    sizes: tuple[int, int]  # official train / test sizes


SPECS = {
    "mnist": Spec("MNIST", "MNIST", "MNIST", (28, 28), 10, (60000, 10000)),
    "fashion_mnist": Spec("Fashion-MNIST", "FashionMNIST", "FashionMNIST", (28, 28), 10, (60000, 10000)),
    "kmnist": Spec("KMNIST", "KMNIST", "KMNIST", (28, 28), 10, (60000, 10000)),
    "cifar10": Spec("CIFAR-10", "CIFAR10", "cifar-10-batches-py", (32, 32, 3), 10, (50000, 10000)),
    "cifar100": Spec("CIFAR-100", "CIFAR100", "cifar-100-python", (32, 32, 3), 100, (50000, 10000)),
}
IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte", "x_test": "t10k-images-idx3-ubyte"}
IDX_FILES |= {"y_test": "t10k-labels-idx1-ubyte"}
assert tuple(SPECS) == DATASETS

# SHA-256 of each array's bytes (labels as int64), as torchvision yields them (../shared/data/README.md); fashion_mnist's from
# Debian's dataset-fashion-mnist (Zalando's files); ``*_luma``: of the (N, H, W) luma images ``luma`` computes from them.
SHA256: dict[str, dict[str, str]] = json.loads((Path(__file__).parent / "digests.json").read_text())
KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Dataset:
    """Train and test images ``(N, C, H, W)`` uint8 and labels ``(N,)`` int64."""

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int


def load_dataset(name: str, root: str | os.PathLike = "data", *, grayscale: bool = True, download: bool = True) -> Dataset:
    """Load ``name`` from ``<root>/<name>.npz`` (keys ``x_train, y_train, x_test, y_test``; a colour dataset's may hold
    luma images), else the original files (the MNIST family's IDX files, gzipped or not, in ``root``, ``<root>/<Folder>/raw``
    or ``<root>/<Folder>``; CIFAR's torchvision folder), else a download through torchvision. Shapes, labels and the SHA-256
    of arrays of the official sizes are checked; what was read is cached as ``<name>.npz`` where ``root`` can be written.
    Colour images become ITU-R 601-2 luma (PIL's "L") when ``grayscale`` is true."""
    if name not in SPECS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(SPECS)}")
    root, spec = Path(root), SPECS[name]
    cache = root / f"{name}.npz"
    arrays, source = (read_npz(cache), cache) if cache.exists() else _originals(name, root, download)
    check_arrays(name, arrays, source)
    if source != cache:
        _write_npz(cache, arrays)
    if not grayscale and arrays["x_train"].ndim == 3 and len(spec.image) == 3:
        raise DataError(
            f"{cache} holds {name} as grayscale (luma) images; grayscale=False needs the colour images. "
            f"Fix: replace it by the colour {name}.npz, or delete it to rebuild it from the original files or a download"
        )
    return to_dataset(name, arrays, grayscale)


def to_dataset(name: str, arrays: dict[str, np.ndarray], grayscale: bool) -> Dataset:
    x_train, x_test = (_to_nchw(arrays[k], grayscale) for k in ("x_train", "x_test"))
    y_train, y_test = (torch.from_numpy(arrays[k].astype(np.int64)) for k in ("y_train", "y_test"))
    return Dataset(name, x_train, y_train, x_test, y_test, SPECS[name].classes)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    fix = f"delete {path} and load again (it is rebuilt from the original files or a download), or copy a good one there"
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {missing}; a dataset .npz needs {list(KEYS)}. Fix: {fix}")
            return {k: z[k] for k in KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is unreadable or truncated ({err}). Fix: {fix}") from None


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Cache atomically; a folder that cannot be written keeps no cache."""
    if os.access(path.parent, os.W_OK):
        atomic_write(path, lambda f: np.savez(f, **arrays))


def _originals(name: str, root: Path, download: bool) -> tuple[dict[str, np.ndarray], Path]:
    """The original files in ``root`` (or downloaded there); DataError naming what was expected and where."""
    spec = SPECS[name]
    where = (
        f"Put {name}.npz (keys {', '.join(KEYS)}) in {root}, or "
        + (f"the IDX files {', '.join(IDX_FILES.values())} (each may end in .gz) in {root} or {root / spec.folder / 'raw'}"
           if len(spec.image) == 2 else f"torchvision's folder {root / spec.folder}")
        + "; or download them through torchvision (the CLI's --download, load_dataset(..., download=True))"
    )  # fmt: skip
    found = _idx_folder(root, spec) if len(spec.image) == 2 else None
    if found:
        return {k: _read_idx(found, f) for k, f in IDX_FILES.items()}, found
    if len(spec.image) == 3 and (root / spec.folder).exists():
        return _torchvision(name, root, False, where), root / spec.folder
    if not download:
        raise DataError(f"{name}: no data in {root} ({root / (name + '.npz')} or the original files). {where}")
    return _torchvision(name, root, True, where), root / spec.folder


def _idx_folder(root: Path, spec: Spec) -> Path | None:
    """The first of ``root``, ``<root>/<Folder>/raw``, ``<root>/<Folder>`` holding all four IDX files (plain or gzipped)."""
    for folder in (root, root / spec.folder / "raw", root / spec.folder):
        have = [f for f in IDX_FILES.values() if (folder / f).exists() or (folder / f"{f}.gz").exists()]
        if len(have) == len(IDX_FILES):
            return folder
        if have:
            missing = sorted(set(IDX_FILES.values()) - set(have))
            raise DataError(f"{folder} holds some of the IDX files but not {', '.join(missing)} (plain or .gz); put all four there")
    return None


def _read_idx(folder: Path, stem: str) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not), checked for its magic number and length."""
    path = folder / stem if (folder / stem).exists() else folder / f"{stem}.gz"
    try:
        data = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is unreadable or truncated ({err}); replace it by the original file") from None
    ndim = data[3] if len(data) > 4 else 0
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if data[:3] != b"\0\0\x08" or ndim not in (1, 3) or len(data) != 4 + 4 * ndim + int(np.prod(dims)):
        raise DataError(f"{path} is not an IDX file of unsigned bytes of the size its header gives; replace it by the original file")
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def _torchvision(name: str, root: Path, download: bool, where: str) -> dict[str, np.ndarray]:
    """Read (or download) through torchvision; a failed download removes the folders it made."""
    import torchvision.datasets as tvd

    cls, made = getattr(tvd, SPECS[name].torchvision), [p for p in (root, root / SPECS[name].folder) if not p.exists()]
    try:
        train, test = (cls(str(root), train=t, download=download) for t in (True, False))
    except Exception as err:  # a checksum, an archive or the network
        for folder in reversed(made):
            shutil.rmtree(folder, ignore_errors=True)
        what = "the download failed" if download else "torchvision's files are unreadable"
        raise DataError(f"{name}: {what} ({type(err).__name__}: {err}). {where}") from None
    x = {"train": np.asarray(train.data), "test": np.asarray(test.data)}
    y = {"train": np.asarray(train.targets, dtype=np.int64), "test": np.asarray(test.targets, dtype=np.int64)}
    return {"x_train": x["train"], "y_train": y["train"], "x_test": x["test"], "y_test": y["test"]}


def check_arrays(name: str, arrays: dict[str, np.ndarray], source: Path) -> None:
    """Shapes, labels and (for official sizes) SHA-256 digests; DataError naming the file otherwise."""
    spec = SPECS[name]
    fix = f"replace {source} by the original files, or delete it and load again"
    shapes = {spec.image, spec.image[:2]}  # a colour dataset may be stored as luma
    for split, size in zip(("train", "test"), spec.sizes):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape[1:] not in shapes:
            allowed = " or ".join(f"(N, {', '.join(map(str, s))})" for s in sorted(shapes, key=len, reverse=True))
            raise DataError(f"{source}: x_{split} is {x.dtype} {x.shape}; {name} needs uint8 {allowed}. Fix: {fix}")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{source}: y_{split} has shape {y.shape} for {len(x)} images; it must be ({len(x)},). Fix: {fix}")
        if len(y) and (y.min() < 0 or y.max() >= spec.classes):
            raise DataError(
                f"{source}: y_{split} holds labels {int(y.min())}..{int(y.max())}; {name} has labels 0..{spec.classes - 1}. Fix: {fix}"
            )
        if len(x) == size and name in SHA256:
            luma_stored = x.ndim == 3 and len(spec.image) == 3
            for key, arr in ((f"x_{split}" + "_luma" * luma_stored, x), (f"y_{split}", y.astype(np.int64))):
                if hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest() != SHA256[name][key]:
                    raise DataError(f"{source}: {key} has the official size but not the official content (SHA-256 mismatch). Fix: {fix}")


def _to_nchw(x: np.ndarray, grayscale: bool) -> Tensor:
    t = torch.from_numpy(x)
    if t.dim() == 3:
        return t.unsqueeze(1).contiguous()
    t = t.permute(0, 3, 1, 2)
    return luma(t) if grayscale else t.contiguous()


def luma(rgb: Tensor) -> Tensor:
    """ITU-R 601-2 luma of uint8 ``(N, 3, H, W)``, bit-exact with PIL's ``convert("L")``."""
    r, g, b = rgb.to(torch.int32).unbind(1)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).to(torch.uint8).unsqueeze(1)


def to_float(x: Tensor) -> Tensor:
    """uint8 images to the network's input: float32 in [0, 1] (Caffe LeNet's 1/256-style scaling)."""
    return x.to(torch.float32).div_(255.0)


def stratified_subset(labels: Tensor, ratio: float, generator: torch.Generator | None = None) -> Tensor:
    """Indices of a random ``ratio`` of each class (at least one per class), sorted; class ratios are kept."""
    if not 0 < ratio <= 1:
        raise ValueError(f"stratified_subset: ratio={ratio} must be in (0, 1]")
    picks = []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        n = max(1, round(ratio * len(idx)))
        picks.append(idx[torch.randperm(len(idx), generator=generator)[:n]])
    return torch.sort(torch.cat(picks)).values


def split_indices(config: Config, labels: Tensor) -> tuple[Tensor, Tensor]:
    """A run's (training, validation) indices into the training set: its stratified ``ratio`` for its RNG seed
    (the same subset for every init), less a stratified ``val_fraction`` of it held out."""
    g = generator(config.seed, "subset")
    return split_validation(stratified_subset(labels, config.ratio, g), labels, config.val_fraction, g)


def split_validation(indices: Tensor, labels: Tensor, fraction: float, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Split training ``indices`` into (train, validation), the validation part stratified by class."""
    if fraction == 0:
        return indices, indices[:0]
    held = stratified_subset(labels[indices], fraction, generator)
    mask = torch.ones(len(indices), dtype=torch.bool)
    mask[held] = False
    return indices[mask], indices[held]
