"""Datasets as in-memory uint8 tensors: a keras-style ``.npz`` cache first, torchvision second.

``load_dataset`` looks in ``root`` for ``<name>.npz`` (keys ``x_train, y_train, x_test,
y_test``), then for torchvision's own files, then downloads through torchvision; what
it reads from torchvision it caches as ``<name>.npz``. Arrays of the official sizes
are checked against known SHA-256 digests. A colour dataset's ``.npz`` may also hold
its images already as luma ``(N, H, W)`` (a third of the size, e.g. to ship it to a
remote GPU); those are checked against the digests of the luma arrays.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .config import DATASETS, Config, generator


class DataError(RuntimeError):
    """A dataset is missing, corrupt or not what it claims to be; the message says how to fix it."""


@dataclass(frozen=True)
class Spec:
    torchvision: str  # class name in torchvision.datasets
    folder: str  # torchvision's folder under root
    image: tuple[int, ...]  # one image's shape as stored (H, W) or (H, W, 3)
    classes: int
    sizes: tuple[int, int]  # official train / test sizes


SPECS = {
    "mnist": Spec("MNIST", "MNIST/raw", (28, 28), 10, (60000, 10000)),
    "fashion_mnist": Spec("FashionMNIST", "FashionMNIST/raw", (28, 28), 10, (60000, 10000)),
    "kmnist": Spec("KMNIST", "KMNIST/raw", (28, 28), 10, (60000, 10000)),
    "cifar10": Spec("CIFAR10", "cifar-10-batches-py", (32, 32, 3), 10, (50000, 10000)),
    "cifar100": Spec("CIFAR100", "cifar-100-python", (32, 32, 3), 100, (50000, 10000)),
}
assert tuple(SPECS) == DATASETS

# SHA-256 of each array's bytes, as torchvision yields them (../shared/data/README.md);
# ``*_luma``: of the (N, H, W) luma images computed from those by ``luma``.
SHA256 = {
    "mnist": {
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "e474323ac02fc156161b0bbb1f8c9cfeb327a74bcd9f9680a8385269a24f566c",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "2fd8de6bdb8d11780b4b96dc57847bcfe6953f7c32aa48bfcd8237c3b7847243",
    },
    "cifar10": {
        "x_train": "47af8b02cfcfb6cdf3dbbd1969ad7f1b70f4413f6f80f437b020ee4e5bc8304a",
        "y_train": "f5cfe00b0f00968c0cc5ff3b1d2de51b10e33efa277c2986f4e0fa63e58c9f4f",
        "x_test": "f9b1e2130bab680db56eb06d886f7f1ad0f1183907ceff4659d1735c890f5b04",
        "y_test": "cbb7365de8ed11f05cc4c3a1e7f78144127c5e851efd83762fb18202461230bb",
        "x_train_luma": "f346c5f19e1cde45025299d0b5224a35d90eebcae6b08126508785ecb7953bcb",
        "x_test_luma": "da6570c8fc30598084b7026f0db9189359f487774fe45dee03ff80287878c887",
    },
    "cifar100": {
        "x_train": "4e457917601a66aed021f5fa37957b56c6319557c0a8ed5484de3c390af45430",
        "y_train": "8bf4935e7c77a3096270043c6f3b221b6ecb9c63d1a08608e9af66cff17e977a",
        "x_test": "4cb8e5d9309da489bf6b19cc10cd96c3ae6f8daf225380b605aaee4c0d6aee19",
        "y_test": "80031c23f8300724c6fbc588e4bccbe41c6392041782148727bb497b0132c4ad",
        "x_train_luma": "099a18c34c4296a8e4a822081505b45f5e5bfccbe7a0c986ef06f79a2b34ea26",
        "x_test_luma": "9496da7f00c8ec82c704ca277f62bb6403fdf1d7579750b56bf0fd6919245509",
    },
}
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
    """Load ``name`` from ``root`` (npz cache, else torchvision files, else download); see the module doc.

    Colour images become ITU-R 601-2 luma (PIL's "L") when ``grayscale`` is true.
    """
    if name not in SPECS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(SPECS)}")
    root = Path(root)
    cache = root / f"{name}.npz"
    arrays = _read_npz(cache) if cache.exists() else _from_torchvision(name, root, download)
    _check(name, arrays, cache)
    if not cache.exists():
        _write_npz(cache, arrays)
    if not grayscale and arrays["x_train"].ndim == 3 and len(SPECS[name].image) == 3:
        raise DataError(
            f"{cache} holds {name} as grayscale (luma) images; grayscale=False needs the colour images. "
            f"Fix: replace it by the colour {name}.npz, or delete it to rebuild it from torchvision's files or a download"
        )
    x_train, x_test = (_to_nchw(arrays[k], grayscale) for k in ("x_train", "x_test"))
    y_train, y_test = (torch.from_numpy(arrays[k].astype(np.int64)) for k in ("y_train", "y_test"))
    return Dataset(name, x_train, y_train, x_test, y_test, SPECS[name].classes)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    fix = f"delete {path} and load again (it is rebuilt from torchvision's files or a download), or copy a good one there"
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {missing}; a dataset .npz needs {list(KEYS)}. Fix: {fix}")
            return {k: z[k] for k in KEYS}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is unreadable or truncated ({err}). Fix: {fix}") from None


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _from_torchvision(name: str, root: Path, download: bool) -> dict[str, np.ndarray]:
    import torchvision.datasets as tvd

    spec = SPECS[name]
    cls = getattr(tvd, spec.torchvision)
    where = (
        f"Put {name}.npz (keys {', '.join(KEYS)}) or torchvision's files ({root / spec.folder}) in {root}; "
        f"for the paper's datasets `make data` copies them from ../shared/data"
    )
    try:
        train, test = (cls(str(root), train=t, download=False) for t in (True, False))
    except RuntimeError as err:
        if "corrupted" in str(err) and any((root / spec.folder).glob("*")):
            raise DataError(f"{name}: torchvision's files in {root / spec.folder} fail their checksum ({err}). {where}") from None
        if not download:
            raise DataError(f"{name}: no data in {root}. {where}") from None
        try:
            train, test = (cls(str(root), train=t, download=True) for t in (True, False))
        except Exception as err2:  # any network or archive failure
            raise DataError(f"{name}: no data in {root} and the download failed ({type(err2).__name__}: {err2}). {where}") from None
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{name}: torchvision's files in {root / spec.folder} are unreadable ({err}). {where}") from None
    return {
        "x_train": np.asarray(train.data),
        "y_train": np.asarray(train.targets, dtype=np.int64),
        "x_test": np.asarray(test.data),
        "y_test": np.asarray(test.targets, dtype=np.int64),
    }


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _check(name: str, arrays: dict[str, np.ndarray], source: Path) -> None:
    """Shapes, labels and (for official sizes) SHA-256 digests; DataError naming the file otherwise."""
    spec = SPECS[name]
    fix = f"delete {source} (or torchvision's files) and load again"
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
                if sha256(arr) != SHA256[name][key]:
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
