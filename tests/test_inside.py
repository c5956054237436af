"""Tests for aelab.inside: weights as images (which weights, order, captions, the one-trace figure) and code trails.
Run: python -m pytest -q tests/test_inside.py
"""
import numpy as np
import plotly.io as pio
import pytest
import torch

from aelab import inside
from aelab.model import Autoencoder
from aelab.spec import ArchSpec


def test_dense_filters_are_first_rows_and_last_columns_by_norm():
    """Encoder images are the rows of the first Linear, decoder images the columns of the last, largest norm first."""
    model = Autoencoder(ArchSpec(64, (10,), 2))
    state = model.state_dict()
    enc, dec = inside.filter_sets(state, 64)
    w_first, w_last = state["encoder.0.weight"].numpy(), state["decoder.2.weight"].numpy()  # (10, 64), (64, 10)
    assert enc.shape == dec.shape == (8, 8)
    assert np.allclose(enc.images, w_first[enc.units]) and np.allclose(dec.images, w_last.T[dec.units])
    assert np.all(np.diff(enc.norms) <= 0) and np.allclose(enc.norms, np.linalg.norm(w_first, axis=1)[enc.units])


def test_conv_filters_are_the_first_and_last_3x3_kernels():
    """For a conv model the images are the first Conv2d's and the last ConvTranspose2d's 3x3 kernels."""
    model = Autoencoder(ArchSpec(784, (), 3, layout="conv", channels=(6, 12)))
    enc, dec = inside.filter_sets(model.state_dict(), 784)
    assert enc.shape == (3, 3) and len(enc.images) == 6 and len(dec.images) == 6


def test_roughness_is_one_for_noise_and_small_for_smooth_images():
    """Independent noise scores about 1 whatever its scale; a smooth blob scores near 0; a checkerboard near 2."""
    rng = np.random.default_rng(0)
    assert inside.roughness(rng.normal(0, 5, (200, 784)), (28, 28)).mean() == pytest.approx(1.0, abs=0.02)
    yy, xx = np.mgrid[0:28, 0:28]
    blob = np.exp(-((yy - 14) ** 2 + (xx - 12) ** 2) / 30.0).reshape(1, -1)
    assert inside.roughness(blob, (28, 28))[0] < 0.05
    checker = ((yy + xx) % 2).reshape(1, -1).astype(float)
    assert inside.roughness(checker, (28, 28))[0] > 1.9


def test_captions_follow_the_weights():
    """Random starting weights read as noise; zeroed filters are counted as near zero; smooth ones as strokes."""
    model = Autoencoder(ArchSpec(784, (20,), 2))
    enc, _ = inside.filter_sets(model.state_dict(), 784)
    assert "still look like noise" in inside.describe(enc) and "none is near zero" in inside.describe(enc)
    state = model.state_dict()
    yy, xx = np.mgrid[0:28, 0:28]
    blobs = np.stack([np.exp(-((yy - 8 - i) ** 2 + (xx - 10) ** 2) / 20.0).reshape(-1) for i in range(20)])
    blobs[:5] *= 0.01  # five filters that shrank to almost nothing
    state["encoder.0.weight"] = torch.tensor(blobs, dtype=torch.float32)
    enc, _ = inside.filter_sets(state, 784)
    text = inside.describe(enc, 20, reference=0.22)
    assert "5 are near zero" in text and "smooth strokes" in text


def test_weights_figure_is_one_heatmap_and_small():
    """784-128 weights: one int8 heatmap trace, 64 of 128 filters per side, well under 300 kB of JSON."""
    enc, dec = inside.filter_sets(Autoencoder(ArchSpec(784, (128,), 8)).state_dict(), 784)
    fig = inside.weights_figure(enc, dec)
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    assert len(enc.images) == inside.MAX_FILTERS == 64
    assert len(pio.to_json(fig, validate=False)) < 300_000


def test_trails_keep_the_last_frames_and_skip_repeats():
    """The buffer keeps TRAIL_LENGTH frames, ignores a repeated update key and restarts for another code size."""
    trails = inside.CodeTrails(np.arange(5), np.zeros(5, int), length=3)
    for v in range(5):
        assert trails.push(np.full((5, 2), v, float), key=v)
    assert not trails.push(np.zeros((5, 2)), key=4)
    pos, how = trails.positions(2)
    assert pos.shape == (3, 5, 2) and how == "raw code" and pos[:, 0, 0].tolist() == [2, 3, 4]
    trails.push(np.zeros((5, 4)), key=9)
    assert len(trails.frames) == 1


@pytest.mark.parametrize("k,dims", [(2, 2), (3, 3), (6, 2), (6, 3)])
def test_trails_figure_draws_points_and_fading_segments(k, dims):
    """Current positions per class plus one grey line trace per age, older ones fainter; long codes use one PCA."""
    rng = np.random.default_rng(1)
    trails = inside.CodeTrails(np.arange(30), rng.integers(0, 3, 30))
    for v in range(4):
        trails.push(rng.normal(size=(30, k)), key=v)
    fig = inside.trails_figure(trails, ["a", "b", "c"], dims=dims)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 3
    opacities = [float(t.line.color.split(",")[-1].rstrip(")")) for t in lines]
    assert opacities == sorted(opacities, reverse=True)
    assert ("PCA" in fig.layout.title.text) == (k > dims)


def test_weights_view_names_the_total_and_draws_one_figure():
    """weights_view: one figure with the given title and a caption per set that counts every filter of the layer
    ('the 64 strongest of 128 shown'), the same captions describe gives."""
    state = Autoencoder(ArchSpec(784, (128,), 8)).state_dict()
    fig, captions = inside.weights_view(state, 784, title="live")
    enc, dec = inside.filter_sets(state, 784)
    assert fig.layout.title.text == "live" and len(fig.data) == 1 and enc.total == dec.total == 128
    assert captions == [inside.describe(enc), inside.describe(dec)]
    assert "the 64 strongest of 128 shown" in captions[0]
