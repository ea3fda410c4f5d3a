"""Loaders on tiny fake files in each real format, stratified subsets, luma, and clear errors."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED, learnable, write_cifar, write_idx, write_npz
from PIL import Image

from seedinit import DataError, load_dataset, stratified_subset
from seedinit.data import luma, split_validation


def test_npz_is_loaded_as_nchw_uint8(tiny_mnist):
    d = load_dataset("mnist", tiny_mnist)
    assert d.x_train.shape == (200, 1, 28, 28) and d.x_train.dtype == torch.uint8
    assert d.y_test.shape == (100,) and d.y_test.dtype == torch.int64 and d.num_classes == 10


def test_mnist_idx_files_through_torchvision_then_cached_as_npz(tmp_path):
    write_idx(tmp_path)
    d = load_dataset("mnist", tmp_path, download=False)
    x, y = learnable(30, (28, 28), 10, 0)
    assert torch.equal(d.x_train[:, 0], torch.from_numpy(x)) and torch.equal(d.y_train, torch.from_numpy(y))
    assert (tmp_path / "mnist.npz").exists()
    again = load_dataset("mnist", tmp_path, download=False)  # now from the cache
    assert torch.equal(again.x_test, d.x_test)


def test_fashion_mnist_idx_files(tmp_path):
    write_idx(tmp_path, folder="FashionMNIST", n_train=12, n_test=6)
    assert load_dataset("fashion_mnist", tmp_path, download=False).x_train.shape == (12, 1, 28, 28)


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_pickles_through_torchvision(tmp_path, monkeypatch, classes):
    _, batches = write_cifar(tmp_path, monkeypatch, classes=classes)
    name = "cifar10" if classes == 10 else "cifar100"
    rgb = load_dataset(name, tmp_path, grayscale=False, download=False)
    first_x, first_y = next(iter(batches.values()))
    assert rgb.x_train.shape == ((40 if classes == 10 else 8), 3, 32, 32)
    assert torch.equal(rgb.x_train[:8], torch.from_numpy(first_x).permute(0, 3, 1, 2))
    assert torch.equal(rgb.y_train[:8], torch.from_numpy(first_y))
    gray = load_dataset(name, tmp_path, download=False)
    assert gray.x_test.shape[1] == 1 and gray.num_classes == classes


def test_grayscale_is_bit_exact_with_pil():
    rgb = np.random.default_rng(0).integers(0, 256, size=(4, 9, 9, 3), dtype=np.uint8)
    pil = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in rgb])
    ours = luma(torch.from_numpy(rgb).permute(0, 3, 1, 2))[:, 0].numpy()
    assert np.array_equal(ours, pil)


def test_stratified_subset_keeps_class_ratios():
    labels = torch.tensor([0] * 500 + [1] * 300 + [2] * 200)
    idx = stratified_subset(labels, 0.1, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[idx]).tolist() == [50, 30, 20]
    assert len(set(idx.tolist())) == 100
    other = stratified_subset(labels, 0.1, torch.Generator().manual_seed(1))
    assert not torch.equal(idx, other)
    assert torch.bincount(labels[stratified_subset(labels, 0.001)]).tolist() == [1, 1, 1]


def test_validation_split_is_disjoint_and_stratified():
    labels = torch.tensor([0, 1] * 100)
    train, val = split_validation(torch.arange(200), labels, 0.2, torch.Generator().manual_seed(0))
    assert len(val) == 40 and torch.bincount(labels[val]).tolist() == [20, 20]
    assert not set(train.tolist()) & set(val.tolist()) and len(train) == 160


def test_missing_data_offline_says_where_to_put_files(tmp_path):
    with pytest.raises(DataError, match=r"no data in .*mnist\.npz.*download=True"):
        load_dataset("mnist", tmp_path, download=False)


def test_unknown_dataset_lists_the_known_ones(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'svhn'.*cifar10"):
        load_dataset("svhn", tmp_path)


def test_truncated_npz_names_the_file(tmp_path):
    path = write_npz(tmp_path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"mnist\.npz is unreadable or truncated"):
        load_dataset("mnist", tmp_path)


def test_wrong_shapes_and_labels_are_refused(tmp_path):
    x, y = learnable(10, (28, 28), 10, 0)
    np.savez(tmp_path / "mnist.npz", x_train=x[:, :20], y_train=y, x_test=x, y_test=y)
    with pytest.raises(DataError, match=r"x_train is uint8 \(10, 20, 28\)"):
        load_dataset("mnist", tmp_path)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y + 5, x_test=x, y_test=y)
    with pytest.raises(DataError, match=r"labels 5\.\.14; mnist has labels 0\.\.9"):
        load_dataset("mnist", tmp_path)


@pytest.mark.skipif(not (SHARED / "mnist.npz").exists(), reason="needs ../shared/data")
def test_real_mnist_passes_its_sha256_check():
    d = load_dataset("mnist", SHARED, download=False)
    assert d.x_train.shape == (60000, 1, 28, 28)
    assert torch.bincount(d.y_train)[0].item() == 5923


def test_a_colour_dataset_stored_as_luma_loads_gray_only(tmp_path):
    x_train, y_train = learnable(20, (32, 32, 3), 10, 0)
    x_test, y_test = learnable(10, (32, 32, 3), 10, 1)
    np.savez(tmp_path / "cifar10.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    colour = load_dataset("cifar10", tmp_path, download=False)
    gray = tmp_path / "gray"
    gray.mkdir()
    as_luma = {k: colour.x_train[:, 0].numpy() if k == "x_train" else colour.x_test[:, 0].numpy() for k in ("x_train", "x_test")}
    np.savez(gray / "cifar10.npz", y_train=y_train, y_test=y_test, **as_luma)
    again = load_dataset("cifar10", gray, download=False)
    assert torch.equal(again.x_train, colour.x_train) and torch.equal(again.x_test, colour.x_test)
    with pytest.raises(DataError, match="holds cifar10 as grayscale .* grayscale=False needs the colour images"):
        load_dataset("cifar10", gray, grayscale=False, download=False)


@pytest.mark.skipif(not (SHARED / "cifar100.npz").exists(), reason="needs ../shared/data")
def test_real_cifar100_stored_as_luma_passes_its_sha256_check(tmp_path):
    d = load_dataset("cifar100", SHARED, download=False)
    np.savez(
        tmp_path / "cifar100.npz",
        x_train=d.x_train[:, 0].numpy(),
        y_train=d.y_train.numpy(),
        x_test=d.x_test[:, 0].numpy(),
        y_test=d.y_test.numpy(),
    )
    assert torch.equal(load_dataset("cifar100", tmp_path, download=False).x_test, d.x_test)
    bad = d.x_test[:, 0].numpy().copy()
    bad[0, 0, 0] ^= 1
    np.savez(tmp_path / "cifar100.npz", x_train=d.x_train[:, 0].numpy(), y_train=d.y_train.numpy(), x_test=bad, y_test=d.y_test.numpy())
    with pytest.raises(DataError, match="x_test_luma has the official size but not the official content"):
        load_dataset("cifar100", tmp_path, download=False)


def write_gz_idx(folder, n_train=12, n_test=6):
    """The original layout of the MNIST family's files, as Debian's dataset-fashion-mnist ships them: gzipped IDX in one folder."""
    import gzip
    import struct

    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = learnable(n, (28, 28), 10, seed)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">IIII", 2051, n, 28, 28) + x.tobytes()))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 2049, n) + y.astype(np.uint8).tobytes()))
    return folder


def test_gzipped_idx_files_in_one_folder_load_and_are_cached(tmp_path):
    folder = write_gz_idx(tmp_path / "fashion")
    d = load_dataset("fashion_mnist", folder, download=False)
    x, _ = learnable(12, (28, 28), 10, 0)
    assert torch.equal(d.x_train[:, 0], torch.from_numpy(x)) and d.y_test.shape == (6,)
    assert (folder / "fashion_mnist.npz").exists()
    write_gz_idx(tmp_path / "FashionMNIST" / "raw")  # torchvision's layout, gzipped: found there too
    assert load_dataset("fashion_mnist", tmp_path, download=False).x_train.shape == (12, 1, 28, 28)


def test_idx_files_that_are_partial_or_not_idx_are_named(tmp_path):
    folder = write_gz_idx(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"holds some of the IDX files but not t10k-labels-idx1-ubyte \(plain or \.gz\)"):
        load_dataset("fashion_mnist", folder, download=False)
    write_gz_idx(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz is unreadable or truncated"):
        load_dataset("fashion_mnist", folder, download=False)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\x09" + bytes(3))  # the header says 9 labels: 3 follow
    with pytest.raises(DataError, match="is not an IDX file of unsigned bytes of the size its header gives"):
        load_dataset("fashion_mnist", folder, download=False)


def test_a_failed_download_leaves_no_empty_folders(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.KMNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there: the download fails at once
    root = tmp_path / "data"
    with pytest.raises(DataError, match="kmnist: the download failed"):
        load_dataset("kmnist", root)
    assert not root.exists()


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").exists(), reason="needs Debian's dataset-fashion-mnist")
def test_debians_fashion_mnist_passes_its_sha256_check(tmp_path):
    d = load_dataset("fashion_mnist", "/usr/share/datasets/fashion-mnist", download=False)
    assert d.x_train.shape == (60000, 1, 28, 28) and torch.bincount(d.y_test).tolist() == [1000] * 10
