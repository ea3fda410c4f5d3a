"""The method chapter's sample in book/sample: checked by its SHA-256 when loaded, and the subset it claims to be."""

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
from conftest import SHARED

from seedinit import Config, ConfigError, DataError, load_dataset
from seedinit.replication.plots import plot_steps
from seedinit.replication.sample import load_sample

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "book" / "sample"
spec = importlib.util.spec_from_file_location("make_sample", ROOT / "scripts" / "make_sample.py")
make_sample = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_sample)


@pytest.mark.parametrize(("name", "n", "size"), [("mnist", 599, 28), ("cifar10", 500, 32)])
def test_each_sample_is_one_percent_of_each_class_as_lenet_sees_it(name, n, size):
    d = load_sample(name, SAMPLE)
    assert d.x_train.shape == (n, 1, size, size) and d.x_train.dtype == torch.uint8 and d.num_classes == 10
    assert d.x_test.shape[0] == 0 and len(d.y_test) == 0
    counts = torch.bincount(d.y_train, minlength=10)
    assert counts.min() >= 50 and counts.max() <= 70  # 1 % of 5,421 to 6,742 MNIST digits a class, of 5,000 CIFAR-10 images
    assert torch.equal(load_dataset(name, SAMPLE, download=False).x_train, d.x_train)  # a dataset .npz like any other


def test_the_recorded_digests_are_the_files_and_the_readme_states_them():
    readme = (SAMPLE / "README.md").read_text()
    for line in (SAMPLE / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((SAMPLE / name).read_bytes()).hexdigest() == digest, name
        assert digest in readme and f"{(SAMPLE / name).stat().st_size:,} bytes" in readme, name
    assert "CC BY-SA 3.0" in readme and "Krizhevsky" in readme


def test_a_changed_sample_is_refused_with_its_digest_named(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "sample")
    data = bytearray((tmp_path / "sample" / "mnist.npz").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "sample" / "mnist.npz").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"mnist\.npz: SHA-256 [0-9a-f]{64} is not the one .*SHA256SUMS records"):
        load_sample("mnist", tmp_path / "sample")
    load_sample("cifar10", tmp_path / "sample")  # the other one is untouched


def test_a_dataset_without_a_sample_is_named_with_those_there_are(tmp_path):
    with pytest.raises(DataError, match=r"no sample of 'kmnist' in .* \(samples recorded in .*: cifar10, mnist\)"):
        load_sample("kmnist", SAMPLE)
    with pytest.raises(DataError, match="SHA256SUMS is missing or unreadable"):
        load_sample("mnist", tmp_path)


def full(name: str) -> Path:
    """A folder holding the full ``name`` (the shared copy, or ``make data``'s), else skip."""
    for folder in (ROOT / "data", SHARED):
        if (folder / f"{name}.npz").exists():
            return folder
    pytest.skip(f"the full {name} is not at hand (make data puts it in data/)")


@pytest.mark.parametrize("name", make_sample.DATASETS)
def test_the_sample_is_the_subset_drawn_afresh_from_the_full_dataset(name):
    assert make_sample.check(SAMPLE, str(full(name)), (name,)) == []


def test_the_script_writes_the_same_bytes_again(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in make_sample.DATASETS:
        (data / f"{name}.npz").symlink_to(full(name) / f"{name}.npz")
    assert make_sample.main(["--data-dir", str(data), "--out", str(tmp_path / "sample")]) == 0
    assert (tmp_path / "sample" / "SHA256SUMS").read_text() == (SAMPLE / "SHA256SUMS").read_text()


def test_the_walkthrough_draws_algorithm_1_on_one_sample_image_of_lenet5():
    fig = plot_steps(load_sample("mnist", SAMPLE), Config(dataset="mnist", delta=0.5), 3)
    assert len(fig.axes) == 9 and fig._suptitle.get_text().startswith("MNIST: training image 3, score ")
    assert float(fig._suptitle.get_text().rsplit(" ", 1)[1]) > 0  # a digit is represented somewhere on C1's map
    with pytest.raises(ConfigError, match="model='resnet8' is not allowed; the walkthrough shows LeNet-5's C1"):
        plot_steps(load_sample("cifar10", SAMPLE), Config(dataset="cifar10", model="resnet8", grayscale=False), 0)
