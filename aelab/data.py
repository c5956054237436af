"""Data sets as in-memory float tensors in [0, 1]: built-in digits (offline), MNIST and Fashion-MNIST.

Every loader returns a DataBundle: flattened train/test tensors (N, D), labels, and the image
shape so pages can draw samples. MNIST-style sets are read with torchvision from a data folder
(`AELAB_DATA_DIR`, default ~/.cache/aelab) and are only downloaded when the learner asks: loading unpacks and checks
the files here, so a damaged file is named, never fetched again behind the learner's back.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aelab import config
from aelab.catalog import DATASETS, DIGITS, FASHION, MNIST  # noqa: F401 - re-exported: data.DIGITS etc.

TORCHVISION = {MNIST: "MNIST", FASHION: "FashionMNIST"}  # key -> torchvision class and folder name
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class DataMissing(RuntimeError):
    """The data set's files are not on this machine; the message says where to put them."""


class DataCorrupt(DataMissing):
    """A data file is on this machine but damaged; the message names the file and says what to do."""


@dataclass(frozen=True)
class DataBundle:
    name: str  # key in DATASETS (or a custom name for generated/uploaded data)
    x_train: torch.Tensor  # (N, D) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64 class labels
    x_test: torch.Tensor  # (M, D) float32 in [0, 1], the fixed held-out set
    y_test: torch.Tensor  # (M,) int64
    image_shape: tuple[int, int] | None  # (H, W) for images; None for non-image data
    class_names: tuple[str, ...]  # label -> readable name

    @property
    def input_dim(self) -> int:
        return self.x_train.shape[1]

    @property
    def label(self) -> str:
        return DATASETS.get(self.name, self.name)

    def subset(self, n_train: int | None, seed: int = 0) -> "DataBundle":
        """A fixed random subset of the training set (the test set stays whole)."""
        if n_train is None or n_train >= len(self.x_train):
            return self
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self.x_train), generator=g)[:n_train]
        return DataBundle(self.name, self.x_train[idx], self.y_train[idx], self.x_test, self.y_test,
                          self.image_shape, self.class_names)


def data_dir() -> Path:
    """Folder holding torchvision's data sets: $AELAB_DATA_DIR or ~/.cache/aelab."""
    return config.get("data_dir")


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits as (pixels 0..16 (1797, 64), labels (1797,)), read from the file the package
    ships, as sklearn.datasets.load_digits reads it, without importing scikit-learn (about 1 s on a first visit;
    tests/test_data.py compares the two). Falls back to load_digits where the file is not where it used to be."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(next(iter(spec.submodule_search_locations or []), "")) / "datasets" / "data" / "digits.csv.gz" \
        if spec is not None else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits as sk_digits

        raw = sk_digits()
        return raw.data, raw.target
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")  # (1797, 65): 64 pixels, then the label
    return table[:, :-1], table[:, -1].astype(int, copy=False)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> DataBundle:
    """scikit-learn's 1,797 8x8 digits (shipped with the package, no network), split once with a fixed seed."""
    pixels, labels = digits_arrays()
    x = torch.tensor(pixels / 16.0, dtype=torch.float32)  # (1797, 64), pixel values 0..16 -> [0, 1]
    y = torch.tensor(labels, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(x) * test_fraction))
    test, train = perm[:n_test], perm[n_test:]
    return DataBundle(DIGITS, x[train], y[train], x[test], y[test], (8, 8), tuple(str(i) for i in range(10)))


def _raw_files(name: str, root: Path) -> list[Path]:
    from torchvision import datasets

    cls = getattr(datasets, TORCHVISION[name])
    raw = root / TORCHVISION[name] / "raw"
    return [raw / fname for fname, _md5 in cls.resources]


def is_available(name: str, root: Path | None = None) -> bool:
    """True when the built-in set is asked for, or all four raw files (.gz or unpacked) are present."""
    if name == DIGITS:
        return True
    root = Path(root or data_dir())
    return all(f.exists() or f.with_suffix("").exists() for f in _raw_files(name, root))


def missing_message(name: str, root: Path | None = None) -> str:
    root = Path(root or data_dir())
    folder = root / TORCHVISION[name] / "raw"
    return (
        f"{DATASETS[name]} is not on this machine. Press 'Download' (needs internet), or copy the four "
        f"files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        f"t10k-labels-idx1-ubyte.gz) into {folder} — or set AELAB_DATA_DIR to a folder that holds "
        f"{TORCHVISION[name]}/raw/."
    )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


IDX_SHAPES = {"images": (3, (28, 28)), "labels": (1, ())}  # kind -> (dimensions, shape of one sample)


def _idx_problem(path: Path) -> str | None:
    """Why an unpacked IDX file cannot be the MNIST-style file it is named after, or None when its header
    (magic number, unsigned bytes, one sample's shape) and its size agree (Y. LeCun's IDX format)."""
    ndim, sample = IDX_SHAPES["images" if "images" in path.name else "labels"]
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4 + 4 * ndim)
    if len(head) < 4 + 4 * ndim:
        return f"it has only {size} bytes, not even an IDX header"
    zero, dtype, dims = struct.unpack(">HBB", head[:4])
    if zero != 0 or dtype != 0x08 or dims != ndim:
        return "it does not start with the IDX header of unsigned bytes (it is another kind of file)"
    shape = struct.unpack(f">{ndim}I", head[4:])
    if tuple(shape[1:]) != sample:
        return f"it holds samples of shape {tuple(shape[1:])}, not {sample}"
    expected = 4 + 4 * ndim + int(np.prod(shape))
    if size != expected:
        return f"it has {size:,} bytes, but its header promises {expected:,} (it was cut short or appended to)"
    return None


def prepare_raw(name: str, root: Path) -> Path:
    """Unpack MNIST-style .gz files that are not unpacked yet (after checking their MD5 against torchvision's list)
    and check every unpacked file; raise DataCorrupt naming a damaged file. Never downloads. Returns the folder."""
    from torchvision import datasets

    raw = root / TORCHVISION[name] / "raw"
    for fname, md5 in getattr(datasets, TORCHVISION[name]).resources:
        gz, out = raw / fname, raw / Path(fname).stem  # train-images-idx3-ubyte.gz -> train-images-idx3-ubyte
        if not out.exists():
            if _md5(gz) != md5:
                raise DataCorrupt(f"{gz.name} in {raw} is damaged: its MD5 checksum is not the published one (an "
                                  "interrupted download or copy cuts files short). Delete it and press Download, or "
                                  "copy an intact copy into that folder.")
            part = out.with_name(out.name + ".part")
            try:
                with gzip.open(gz, "rb") as src, open(part, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        dst.write(block)
                os.replace(part, out)
            except (OSError, EOFError) as exc:
                part.unlink(missing_ok=True)
                raise DataCorrupt(f"{gz.name} in {raw} could not be unpacked ({exc}). Delete it and press Download, "
                                  "or copy an intact copy into that folder.") from None
        problem = _idx_problem(out)
        if problem:
            raise DataCorrupt(f"{out.name} in {raw} is damaged: {problem}. Delete it (aelab unpacks it again from "
                              f"{gz.name}, or press Download if that is missing too).")
    return raw


def load_torchvision(name: str, root: Path | None = None) -> DataBundle:
    """Load MNIST or Fashion-MNIST from local raw files: raise DataMissing if absent, DataCorrupt naming a damaged
    file (never download)."""
    from torchvision import datasets

    root = Path(root or data_dir())
    if not is_available(name, root):
        raise DataMissing(missing_message(name, root))
    raw = prepare_raw(name, root)
    cls = getattr(datasets, TORCHVISION[name])
    try:
        parts = [cls(str(root), train=train, download=False) for train in (True, False)]
    except Exception as exc:  # noqa: BLE001 - torchvision's own checks are bare asserts (an empty message)
        raise DataCorrupt(f"The files in {raw} could not be read ({type(exc).__name__}"
                          f"{': ' + str(exc) if str(exc) else ''}). Delete them and press Download.") from None
    xs = [p.data.reshape(len(p.data), -1).float().div_(255.0) for p in parts]  # (N, 28, 28) uint8 -> (N, 784)
    ys = [p.targets.long() for p in parts]
    if any(len(x) != len(y) for x, y in zip(xs, ys)):
        raise DataCorrupt(f"The image and label files in {raw} hold different numbers of samples. Delete them and "
                          "press Download.")
    names = FASHION_CLASSES if name == FASHION else tuple(str(i) for i in range(10))
    return DataBundle(name, xs[0], ys[0], xs[1], ys[1], (28, 28), names)


def download(name: str, root: Path | None = None, progress=None) -> None:
    """Download the four raw files of MNIST/Fashion-MNIST; `progress(fraction, text)` is told after each."""
    from torchvision import datasets
    from torchvision.datasets.utils import download_url

    root = Path(root or data_dir())
    cls = getattr(datasets, TORCHVISION[name])
    raw = root / TORCHVISION[name] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    errors = []
    for i, (fname, md5) in enumerate(cls.resources):
        if progress:
            progress(i / len(cls.resources), f"Downloading {fname} ({i + 1}/{len(cls.resources)})")
        for mirror in cls.mirrors:
            try:
                download_url(f"{mirror}{fname}", str(raw), filename=fname, md5=md5)
                break
            except Exception as exc:  # noqa: BLE001 - every mirror failure is reported together
                errors.append(f"{mirror}{fname}: {exc}")
        else:
            raise DataMissing("Download failed (no internet?). " + missing_message(name, root))
    if progress:
        progress(1.0, "Download complete")


def load(name: str, root: Path | None = None) -> DataBundle:
    """Load a data set by key."""
    if name == DIGITS:
        return load_digits()
    if name in TORCHVISION:
        return load_torchvision(name, root)
    raise DataMissing(f"Unknown data set '{name}'. Choose one of: {', '.join(DATASETS)}.")


def sample_indices(labels: torch.Tensor, per_class: int = 1, n: int = 8, seed: int = 0) -> list[int]:
    """Fixed display indices: cycle through the classes so every digit appears."""
    rng = np.random.default_rng(seed)
    labels = labels.numpy()
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        picked.extend(rng.choice(idx, size=min(per_class, len(idx)), replace=False).tolist())
    return picked[:n]
