"""Tests for aelab.data: the built-in digits, torchvision loading from raw IDX files, and missing-data messages."""
import gzip
import socket
import struct
import urllib.request

import numpy as np
import pytest
import torch

from aelab import data


def write_idx(folder, prefix, images, labels):
    """Write uncompressed IDX files (the format torchvision reads) for images (N, 28, 28) and labels (N,)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), 28, 28))
        f.write(images.astype(np.uint8).tobytes())
    with open(folder / f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)))
        f.write(labels.astype(np.uint8).tobytes())


def test_digits_are_offline_flat_and_in_unit_range(digits):
    """The built-in set: 1,797 8x8 images split 1438/359, values in [0, 1], every class present."""
    assert digits.x_train.shape == (1438, 64) and digits.x_test.shape == (359, 64)
    assert digits.x_train.dtype == torch.float32
    assert 0.0 <= float(digits.x_train.min()) and float(digits.x_train.max()) <= 1.0
    assert set(digits.y_test.tolist()) == set(range(10))
    assert digits.image_shape == (8, 8) and data.is_available("digits")


def test_subset_is_fixed_and_keeps_the_test_set(digits):
    """subset(n, seed) picks the same n training images every time and leaves the test set alone."""
    a, b = digits.subset(100, seed=3), digits.subset(100, seed=3)
    assert a.x_train.shape == (100, 64) and torch.equal(a.x_train, b.x_train)
    assert torch.equal(a.x_test, digits.x_test)
    assert digits.subset(None) is digits


def test_torchvision_loading_from_idx_files_made_here(tmp_path):
    """MNIST is read through torchvision from raw IDX files, flattened to (N, 784) and scaled to [0, 1]."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "train", rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20))
    write_idx(raw, "t10k", rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7))
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        assert (raw / name).exists()
    assert data.is_available("mnist", tmp_path)
    b = data.load("mnist", tmp_path)
    assert b.x_train.shape == (20, 784) and b.x_test.shape == (7, 784)
    assert float(b.x_train.max()) <= 1.0 and b.image_shape == (28, 28)


def test_missing_data_says_where_to_put_files(tmp_path, monkeypatch):
    """Without files, loading raises DataMissing naming the folder and AELAB_DATA_DIR (and never downloads)."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path))
    assert data.data_dir() == tmp_path
    assert not data.is_available("fashion")
    with pytest.raises(data.DataMissing) as exc:
        data.load("fashion")
    assert str(tmp_path / "FashionMNIST" / "raw") in str(exc.value) and "AELAB_DATA_DIR" in str(exc.value)


@pytest.mark.slow
def test_real_mnist_and_fashion_load(real_data_root):
    """The real md5-verified .gz files load with the documented sizes (skipped when not present)."""
    m = data.load("mnist", real_data_root)
    assert m.x_train.shape == (60000, 784) and m.x_test.shape == (10000, 784)
    f = data.load("fashion", real_data_root)
    assert f.class_names[9] == "Ankle boot" and f.x_test.shape == (10000, 784)


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a connection is recorded and fails (a download would be one)."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return attempts


def test_a_corrupt_gz_file_is_named_without_any_network_call(tmp_path, no_network):
    """A damaged .gz (wrong MD5) is named with what to do; torchvision's re-download is never attempted."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        (raw / f"{name}.gz").write_bytes(gzip.compress(b"not mnist"))
    assert data.is_available("mnist", tmp_path)
    with pytest.raises(data.DataCorrupt) as exc:
        data.load("mnist", tmp_path)
    assert no_network == []
    assert "train-images-idx3-ubyte.gz" in str(exc.value) and "MD5" in str(exc.value)
    assert "Download" in str(exc.value) and "Connection" not in str(exc.value)


@pytest.mark.parametrize("damage,needle", [
    (lambda b: b[:-100], "cut short"),
    (lambda b: b + b"\0" * 5, "cut short or appended"),
    (lambda b: b"\x12\x34" + b[2:], "IDX header"),
    (lambda b: b[:6], "not even an IDX header"),
])
def test_a_corrupt_unpacked_file_gets_a_reason(tmp_path, no_network, damage, needle):
    """A damaged unpacked file is named with a reason (torchvision's own checks are bare asserts: an empty one)."""
    rng = np.random.default_rng(1)
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "train", rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 10, 20))
    write_idx(raw, "t10k", rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7))
    target = raw / "t10k-images-idx3-ubyte"
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(data.DataCorrupt) as exc:
        data.load("mnist", tmp_path)
    assert "t10k-images-idx3-ubyte" in str(exc.value) and needle in str(exc.value), str(exc.value)
    assert no_network == []


@pytest.mark.slow
def test_intact_gz_files_are_unpacked_locally(real_data_root, tmp_path, no_network):
    """The real .gz files (MD5-checked) are unpacked here without a network call and load with their sizes."""
    import shutil

    shutil.copytree(real_data_root / "MNIST" / "raw", tmp_path / "MNIST" / "raw",
                    ignore=shutil.ignore_patterns(*MNIST_FILES))  # only the .gz files
    m = data.load("mnist", tmp_path)
    assert m.x_train.shape == (60000, 784) and no_network == []


def test_digits_read_without_scikit_learn_match_its_loader():
    """data.digits_arrays reads the same 1,797 images and labels as sklearn.datasets.load_digits (which it avoids
    importing, a second off a first visit), and catalog.SIZES states the split data.load makes."""
    from sklearn.datasets import load_digits

    from aelab import catalog, data

    pixels, labels = data.digits_arrays()
    ref = load_digits()
    assert np.array_equal(pixels, ref.data) and np.array_equal(labels, ref.target)
    bundle = data.load_digits()
    assert (len(bundle.x_train), len(bundle.x_test)) == catalog.SIZES[catalog.DIGITS]


def test_catalog_sizes_match_the_real_28x28_sets(real_data_root):
    """catalog.SIZES (what Build & Train shows before loading) equals what data.load reads for MNIST and Fashion."""
    from aelab import catalog, data

    for name in (catalog.MNIST, catalog.FASHION):
        bundle = data.load(name, real_data_root)
        assert (len(bundle.x_train), len(bundle.x_test)) == catalog.SIZES[name]
