"""Tests for aelab.drawing: a real data-set image drawn on the canvas's grid comes back from the preprocessing
(MNIST and Digits), bad drawings get messages, and the percentile/sentence follow the numbers.
Run: python -m pytest -q tests/test_drawing.py

Tolerances, measured on the first 300 test images (see the asserts): MNIST drawn with square pixels comes back
with per-image MSE under 1e-3 (measured max 4e-5; 89% bit-exact); smoothly interpolated, mean MSE under 0.02
(measured 0.010) and 85% are nearer their own original than any other test image (measured 91-94%). Digits: an
8x8 value counts ink in a 4x4 block, so its position inside the block is lost; drawn with square pixels 70% come
back exactly (measured 76%, the rest shifted by half a block: the box is re-centred), mean MSE under 0.02.
"""
import base64

import numpy as np
import pytest
import torch

from aelab import data, drawing
from aelab.model import Autoencoder
from aelab.spec import ArchSpec

N = 300


def round_trip(bundle, mode: str):
    x = bundle.x_test.numpy()[:N]
    side = bundle.image_shape[0]
    out = np.stack([drawing.preprocess(drawing.upsample(img, side, mode), bundle.input_dim) for img in x])
    mse = ((out - x) ** 2).mean(axis=1)
    d = ((out[:, None, :] - x[None]) ** 2).mean(axis=2)  # (N, N) distance of each result to every original
    identity = float((d.argmin(axis=1) == np.arange(len(x))).mean())
    return out, x, mse, identity


@pytest.fixture(scope="module")
def mnist(real_data_root):
    return data.load("mnist", real_data_root)


def test_mnist_image_comes_back_unchanged(mnist):
    """MNIST test images drawn on the canvas grid (4x4 pixels each) come back within MSE 1e-3, most bit-exact."""
    out, x, mse, identity = round_trip(mnist, "nearest")
    assert mse.max() < 1e-3 and identity == 1.0
    assert np.mean(np.abs(out - x).max(axis=1) <= 1 / 255) >= 0.85


def test_mnist_smoothly_drawn_image_comes_back_close(mnist):
    """Bilinearly enlarged MNIST images come back with mean MSE < 0.02, mostly nearest their own original."""
    _, _, mse, identity = round_trip(mnist, "bilinear")
    assert mse.mean() < 0.02 and identity >= 0.85


def test_digits_image_comes_back_within_half_a_block(digits):
    """Digits images drawn with square pixels come back exactly for >= 70%, mean MSE < 0.02, 17 levels kept."""
    out, x, mse, identity = round_trip(digits, "nearest")
    assert np.mean(mse < 1e-9) >= 0.70 and mse.mean() < 0.02 and identity >= 0.75
    assert np.allclose(out * 16, np.round(out * 16))  # values are counts 0..16 divided by 16


def test_digits_smoothly_drawn_image_comes_back_close(digits):
    """Bilinearly enlarged Digits images: mean MSE < 0.025 and >= 80% nearest their own original."""
    _, _, mse, identity = round_trip(digits, "bilinear")
    assert mse.mean() < 0.025 and identity >= 0.80


def test_mnist_layout_of_a_drawn_stroke():
    """A drawn stroke is fitted into 20 pixels (longer side), its centre of mass at (14, 14), darkest pixel 1."""
    ink = np.zeros((drawing.GRID, drawing.GRID), np.float32)
    ink[10:100, 30:45] = 1.0  # a tall bar, off-centre
    img = drawing.to_mnist(ink).reshape(28, 28)
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 <= 5
    yy, xx = np.mgrid[0:28, 0:28]
    assert abs((img * yy).sum() / img.sum() - 14) <= 0.5 and abs((img * xx).sum() / img.sum() - 14) <= 0.5
    assert img.max() == pytest.approx(1.0)


def test_payload_encoding_round_trip_and_bad_payloads():
    """encode/decode are inverse (to 1/255); empty, missing, wrong-size or damaged bitmaps raise DrawingError."""
    ink = np.random.default_rng(0).random((drawing.GRID, drawing.GRID)).astype(np.float32)
    assert np.abs(drawing.decode(drawing.encode(ink)) - ink).max() <= 0.5 / 255 + 1e-6
    bad = [None, {}, {"size": drawing.GRID, "ink": ""}, {"size": 10, "ink": "AAAA"},
           {"size": drawing.GRID, "ink": "not base64!"},
           {"size": drawing.GRID, "ink": base64.b64encode(b"\0" * 10).decode()}]
    for payload in bad:
        with pytest.raises(drawing.DrawingError):
            drawing.decode(payload)


def test_empty_drawing_and_non_image_model_get_messages():
    """A blank canvas and a model on 100-number samples raise DrawingError with what to do."""
    blank = np.zeros((drawing.GRID, drawing.GRID), np.float32)
    with pytest.raises(drawing.DrawingError, match="empty"):
        drawing.preprocess(blank, 64)
    with pytest.raises(drawing.DrawingError, match="not an 8x8 or 28x28 image"):
        drawing.preprocess(blank, 100)


def test_judge_ranks_a_drawing_among_the_test_images(digits):
    """The percentile is the share of test errors below the drawing's, the code lies in the reference's projection,
    and a held-out image's own percentile is where its error ranks."""
    torch.manual_seed(0)
    model = Autoencoder(ArchSpec(64, (32,), 5)).eval()
    ref = drawing.reference("owner", model, digits.x_test, digits.y_test)
    assert ref.points.shape == (len(digits.x_test), 2) and "PCA" in ref.how
    ink = drawing.upsample(digits.x_test[3].numpy(), 8)
    v = drawing.judge(ink, model, ref, digits.class_names)
    assert v.percentile == pytest.approx(100 * np.mean(ref.errors < v.error))
    assert v.image.shape == v.recon.shape == (64,) and v.point.shape == (2,)
    assert v.nearest_class in digits.class_names and f"{v.error:.4f}" in v.sentence


@pytest.mark.parametrize("error,needle", [(0.5, "higher than every test image"), (0.0995, "flagged as an anomaly"),
                                          (0.095, "unusual"), (0.07, "ordinary"), (0.01, "easier than most")])
def test_sentence_branches(error, needle):
    """The sentence is chosen by the percentile (<50, 50-90, 90-99, >=99) and by beating the worst test image."""
    errors = np.linspace(0.0, 0.1, 1001)
    pct = float((errors < error).mean() * 100)
    assert needle in drawing.sentence(pct, error, errors, "7")


def test_test_image_ink_is_the_bilinear_path_and_names_the_image(digits):
    """'Try a test image' hands the page held-out image i enlarged bilinearly onto the canvas grid (the smooth path
    measured above) and a description naming its index and class; random indices stay in range."""
    ink, what = drawing.test_image_ink(digits, 5)
    assert np.array_equal(ink, drawing.upsample(digits.x_test[5].numpy(), 8, "bilinear"))
    assert what.startswith(f"held-out image #5 ({digits.class_names[int(digits.y_test[5])]})")
    assert {drawing.random_test_index(3) for _ in range(50)} <= {0, 1, 2}
