"""Tiny fake datasets in the formats the real ones come in (keras npz, MNIST IDX, CIFAR pickles)."""

import hashlib
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

# pytest-xdist's workers (``make test`` runs ``-n auto``) split the cores, as seedinit.replication.sweep's workers do: torch threads
# beyond the cores cost ~10x. Set before any test imports torch; the subprocesses tests start (book build, notebooks) inherit it.
if workers := int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")):
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def learnable(n, shape, classes, seed):
    """Images whose class is visible: a soft blob at a class-dependent place, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    h, w = shape[:2]
    rows, cols = np.mgrid[0:h, 0:w]
    x = rng.normal(20, 10, size=(n, *shape))
    for i, c in enumerate(y):
        r, q = h // 4 + (c * 7) % max(1, h // 2), w // 4 + (c * 3) % max(1, w // 2)
        blob = 230 * np.exp(-((rows - r) ** 2 + (cols - q) ** 2) / 8)
        x[i] += blob if len(shape) == 2 else blob[..., None]
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


def write_npz(root, name="mnist", n_train=200, n_test=100, shape=(28, 28), classes=10):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    x_train, y_train = learnable(n_train, shape, classes, 0)
    x_test, y_test = learnable(n_test, shape, classes, 1)
    np.savez(root / f"{name}.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return root / f"{name}.npz"


def write_idx(root, folder="MNIST", n_train=30, n_test=20):
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = learnable(n, (28, 28), 10, seed)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + x.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + y.astype(np.uint8).tobytes())
    return raw


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def write_cifar(root, monkeypatch, classes=10, n_per_batch=8):
    """Fake CIFAR pickles; torchvision's checksum lists are pointed at them (the files are real pickles)."""
    import torchvision.datasets as tvd

    cls, folder = (tvd.CIFAR10, "cifar-10-batches-py") if classes == 10 else (tvd.CIFAR100, "cifar-100-python")
    base = Path(root) / folder
    base.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"] if classes == 10 else ["train", "test"]
    label_key = "labels" if classes == 10 else "fine_labels"
    batches = {}
    for i, name in enumerate(names):
        x, y = learnable(n_per_batch, (32, 32, 3), classes, i)
        entry = {"data": x.transpose(0, 3, 1, 2).reshape(n_per_batch, -1), label_key: y.tolist()}
        (base / name).write_bytes(pickle.dumps(entry))
        batches[name] = (x, y)
    meta_name, meta_key = ("batches.meta", "label_names") if classes == 10 else ("meta", "fine_label_names")
    (base / meta_name).write_bytes(pickle.dumps({meta_key: [f"class{i}" for i in range(classes)]}))
    monkeypatch.setattr(cls, "train_list", [[n, md5(base / n)] for n in names[:-1]])
    monkeypatch.setattr(cls, "test_list", [[names[-1], md5(base / names[-1])]])
    monkeypatch.setattr(cls, "meta", {"filename": meta_name, "key": meta_key, "md5": md5(base / meta_name)})
    return base, batches


@pytest.fixture
def tiny_mnist(tmp_path):
    write_npz(tmp_path)
    return tmp_path
