"""Tests of aelab.latent (and the VAE maths it relies on): selections, lattices, lines, sampling, holes, t-SNE, CSV.

Run: python -m pytest -q tests/test_latent.py
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from aelab import analysis, latent, runs, train
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig


@pytest.fixture(scope="module")
def ae_run(digits):
    """A small plain autoencoder with a 2-number code, trained briefly on digits."""
    return runs.train_run(digits, ArchSpec(64, (32,), 2), TrainConfig(epochs=3, batch_size=64))


@pytest.fixture(scope="module")
def vae_run(digits):
    """A small VAE with a 2-number code, trained briefly on digits."""
    return runs.train_run(digits, ArchSpec(64, (32,), 2, kind="vae"), TrainConfig(epochs=3, batch_size=64, beta=0.1))


# -- the VAE's KL term and the encode/decode round trip ---------------------------------------------
def test_kl_term_matches_torch_distributions():
    """train.kl_to_standard_normal equals torch's KL(N(mu, sigma) || N(0, 1)) summed over code dims."""
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(64, 5, generator=g) * 2  # (B, k)
    logvar = torch.randn(64, 5, generator=g) * 1.5  # (B, k)
    ours = train.kl_to_standard_normal(mu, logvar)  # (B,)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)  # (B,)
    assert ours.shape == (64,)
    assert torch.allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_kl_term_is_zero_only_at_the_prior():
    """KL is 0 for mu = 0, sigma = 1 and positive as soon as either moves away."""
    zeros = torch.zeros(3, 4)
    assert torch.allclose(train.kl_to_standard_normal(zeros, zeros), torch.zeros(3))
    assert (train.kl_to_standard_normal(zeros + 0.5, zeros) > 0).all()
    assert (train.kl_to_standard_normal(zeros, zeros - 1.0) > 0).all()


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_decoding_the_code_reproduces_the_reconstruction(digits, kind):
    """decode(encode(x)) is exactly what the model outputs for x (a VAE decodes its mean code)."""
    model = train.build_seeded(ArchSpec(64, (32, 16), 3, kind=kind), seed=3).eval()
    x = digits.x_test[:50]  # (50, 64)
    via_code = analysis.decode(model, analysis.encode(model, x))  # (50, 3) -> (50, 64)
    assert torch.allclose(via_code, analysis.reconstruct(model, x), atol=1e-6)


# -- selections ---------------------------------------------------------------------------------
@pytest.mark.parametrize("event", [None, {}, [], "abc", {"selection": None}, {"selection": {"points": []}},
                                   {"selection": {"points": "12"}}, {"selection": {"box": [], "points": None}}])
def test_empty_or_malformed_selections_give_no_indices(event):
    """Empty, missing or wrongly typed selections map to no index (never an error)."""
    assert latent.selected_indices(event, n=100) == []


def test_selection_maps_customdata_to_indices_in_order():
    """customdata numbers (plain, float, list or numeric string) become indices in selection order."""
    event = {"selection": {"points": [{"customdata": 7}, {"customdata": [3, "x"]}, {"customdata": 5.0},
                                      {"customdata": " 9 "}]}}
    assert latent.selected_indices(event, n=10) == [7, 3, 5, 9]


def test_selection_drops_bad_points_out_of_range_and_repeats():
    """Points without usable customdata, negative or too-large indices, and repeats are dropped."""
    points = [{"customdata": 2}, {"x": 1}, "junk", {"customdata": None}, {"customdata": 2.5},
              {"customdata": True}, {"customdata": -1}, {"customdata": 10}, {"customdata": []},
              {"customdata": float("nan")}, {"customdata": "two"}, {"customdata": 2}, {"customdata": 4}]
    assert latent.selected_indices({"selection": {"points": points}}, n=10) == [2, 4]


def test_box_selection_with_many_points_and_bare_points_dict():
    """A box selection of thousands of points keeps them all (deduplicated); a bare {'points': ...} works too."""
    points = [{"customdata": i % 1500, "x": 0.1 * i} for i in range(3000)]
    picked = latent.selected_indices({"selection": {"points": points, "box": [{"x": [0, 1]}]}}, n=2000)
    assert picked == list(range(1500))
    assert latent.selected_indices({"points": [{"customdata": 1}]}) == [1]


# -- ranges, directions, lattices, lines ---------------------------------------------------------
def test_code_bounds_cover_the_codes_and_open_up_dead_dimensions():
    """Bounds contain every code; a dimension that never changes still gets a range of width 2."""
    codes = np.column_stack([np.linspace(-1, 3, 50), np.full(50, 0.7)])
    lo, hi = latent.code_bounds(codes, margin=0.1)
    assert np.all(lo <= codes.min(0)) and np.all(hi >= codes.max(0))
    assert lo[0] == pytest.approx(-1.4) and hi[0] == pytest.approx(3.4)
    assert hi[1] - lo[1] == pytest.approx(2.0)


def test_raw_slider_directions_round_trip_codes():
    """For k <= 16 the sliders are the code numbers: coords(z) == z and to_code(coords(z), z) == z."""
    codes = np.random.default_rng(0).normal(size=(100, 5))
    dirs = latent.slider_directions(codes)
    assert dirs.is_raw and dirs.names == ("z1", "z2", "z3", "z4", "z5")
    np.testing.assert_allclose(dirs.coords(codes[3]), codes[3])
    moved = dirs.to_code(np.array([1.0, 2, 3, 4, 5]), codes[3])
    np.testing.assert_allclose(moved, [1, 2, 3, 4, 5])


def test_pca_slider_directions_for_large_codes():
    """For k > 16: orthonormal principal directions; moving one slider by 1 moves the code 1 along it."""
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(300, 20)) * np.r_[10.0, np.linspace(2, 0.1, 19)]  # dim 0 spreads most
    dirs = latent.slider_directions(codes)
    assert not dirs.is_raw and dirs.names[0] == "PC1" and len(dirs.names) == latent.PCA_SLIDERS
    np.testing.assert_allclose(dirs.basis @ dirs.basis.T, np.eye(latent.PCA_SLIDERS), atol=1e-10)
    assert np.all(np.diff(dirs.explained) <= 1e-12) and abs(dirs.basis[0, 0]) > 0.9  # PC1 = widest axis
    base = codes[7]
    np.testing.assert_allclose(dirs.to_code(dirs.coords(base), base), base, atol=1e-10)
    step = dirs.coords(base) + np.eye(latent.PCA_SLIDERS)[0]
    np.testing.assert_allclose(dirs.to_code(step, base) - base, dirs.basis[0], atol=1e-10)


def test_lattice_over_a_2d_code_spans_its_range(ae_run, digits):
    """2-D code: rows*cols codes and images; corners sit at the code range; rows share z2, columns z1."""
    codes = analysis.encode(ae_run.model, digits.x_train)
    lat, images = latent.lattice(ae_run.model, codes, 4, 6)
    assert lat.codes.shape == (24, 2) and images.shape == (24, 64)
    lo, hi = latent.code_bounds(codes, margin=0.0, quantile=0.01)
    np.testing.assert_allclose(lat.codes[0], [lo[0], hi[1]])  # top-left: low z1, high z2
    np.testing.assert_allclose(lat.codes[-1], [hi[0], lo[1]])  # bottom-right
    grid = lat.codes.reshape(4, 6, 2)
    assert np.all(grid[:, :, 1] == grid[:, :1, 1]) and np.all(grid[:, :, 0] == grid[:1, :, 0])
    assert np.all((images >= 0) & (images <= 1))  # sigmoid output


def test_lattice_over_two_principal_directions_for_larger_codes():
    """k > 2: the grid is centred on the mean code and moves only within the plane of the two chosen directions."""
    codes = np.random.default_rng(2).normal(size=(400, 6)) * [5, 3, 2, 1, 0.5, 0.2]
    lat = latent.lattice_codes(codes, 5, 5, pair=(0, 2), span=2.0)
    assert lat.codes.shape == (25, 6) and (lat.x_name, lat.y_name) == ("PC1", "PC3")
    mean, axes, _ = latent.principal_axes(codes, 3)
    np.testing.assert_allclose(lat.codes[12], mean, atol=1e-10)  # the centre of an odd grid is the mean
    offsets = lat.codes - mean
    np.testing.assert_allclose(offsets @ axes[1], 0, atol=1e-9)  # nothing along the unchosen PC2
    sd = np.std((codes - mean) @ axes[0])
    assert lat.x_values[0] == pytest.approx(-2 * sd) and lat.x_values[-1] == pytest.approx(2 * sd)


def test_lattice_for_a_1d_code_and_bad_requests():
    """A 1-dim code gives one monotone line read row by row; bad sizes or direction pairs raise ValueError."""
    codes = np.linspace(-2, 2, 101)[:, None]
    lat = latent.lattice_codes(codes, 3, 4)
    assert lat.codes.shape == (12, 1) and np.all(np.diff(lat.codes[:, 0]) > 0)
    with pytest.raises(ValueError):
        latent.lattice_codes(codes, 0, 4)
    with pytest.raises(ValueError):
        latent.lattice_codes(np.random.default_rng(0).normal(size=(50, 4)), 3, 3, pair=(1, 1))


def test_interpolation_shape_endpoints_and_even_steps():
    """interpolate gives (steps, k) codes, exactly the two codes at the ends, equal steps between."""
    za, zb = np.array([0.3, -1.7, 2.2]), np.array([-4.1, 0.9, 0.05])
    line = latent.interpolate(za, zb, 7)
    assert line.shape == (7, 3)
    assert np.array_equal(line[0], za) and np.array_equal(line[-1], zb)
    steps = np.diff(line, axis=0)
    np.testing.assert_allclose(steps, np.broadcast_to((zb - za) / 6, steps.shape))
    with pytest.raises(ValueError):
        latent.interpolate(za, zb, 1)


# -- sampling and holes ---------------------------------------------------------------------------
def test_gaussian_fit_and_samples_match_the_codes_statistics():
    """Samples of the fitted Gaussian reproduce the codes' mean and covariance (20k samples, loose tolerance)."""
    rng = np.random.default_rng(3)
    cov = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, -0.3], [0.0, -0.3, 0.5]])
    codes = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=5000)
    g = latent.fit_gaussian(codes)
    np.testing.assert_allclose(g.mean, codes.mean(0))
    np.testing.assert_allclose(g.cov, np.cov(codes, rowvar=False), atol=1e-4)
    s = latent.sample_gaussian(g, 20_000, seed=1)
    assert s.shape == (20_000, 3)
    np.testing.assert_allclose(s.mean(0), g.mean, atol=0.05)
    np.testing.assert_allclose(np.cov(s, rowvar=False), g.cov, atol=0.08)
    assert np.array_equal(s, latent.sample_gaussian(g, 20_000, seed=1))  # seeded


def test_gaussian_fit_survives_a_dead_unit_and_a_1d_code():
    """A constant code dimension or a 1-dim code still gives a valid (positive-definite) Gaussian."""
    codes = np.column_stack([np.random.default_rng(0).normal(size=200), np.zeros(200)])
    assert np.all(np.linalg.eigvalsh(latent.fit_gaussian(codes).cov) > 0)
    g1 = latent.fit_gaussian(np.random.default_rng(0).normal(size=(200, 1)))
    assert g1.cov.shape == (1, 1) and latent.sample_gaussian(g1, 5).shape == (5, 1)


def test_prior_samples_are_standard_normal():
    """sample_prior draws N(0, I): mean ~0, covariance ~I."""
    s = latent.sample_prior(4, 20_000, seed=0)
    np.testing.assert_allclose(s.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(s, rowvar=False), np.eye(4), atol=0.05)


def test_holes_measure_is_about_one_for_real_like_samples_and_large_for_far_ones():
    """Samples from the codes' own distribution land like held-out codes (ratio ~1); far-off samples do not."""
    rng = np.random.default_rng(4)
    train_codes, test_codes = rng.normal(size=(2000, 2)), rng.normal(size=(500, 2))
    alike = latent.holes(train_codes, test_codes, rng.normal(size=(500, 2)))
    assert 0.8 < alike.ratio < 1.25 and alike.share_in_holes < 0.1
    far = latent.holes(train_codes, test_codes, rng.normal(size=(500, 2)) * 0.3 + 6)
    assert far.ratio > 10 and far.share_in_holes > 0.9
    assert "far out" in latent.holes_sentence(far, "x") and "about where real images land" in \
        latent.holes_sentence(alike, "x")
    assert latent.compare_sentence(far, alike).startswith("The VAE's samples land closer")
    assert "equally far" in latent.compare_sentence(alike, alike)


def test_posterior_draws_and_active_units(vae_run, ae_run, digits):
    """A VAE's draws scatter around its mean codes; an AE's draws are its codes; active units count varying dims."""
    x = digits.x_test[:100]
    mu = analysis.encode(vae_run.model, x)
    draws = latent.posterior_draws(vae_run.model, x, seed=0)
    assert draws.shape == mu.shape and not np.allclose(draws, mu)
    np.testing.assert_allclose(latent.posterior_draws(ae_run.model, x), analysis.encode(ae_run.model, x))
    assert latent.active_units(np.column_stack([np.linspace(-1, 1, 100), np.full(100, 0.3)])) == 1


def test_encode_sets_keeps_labels_with_subsampled_training_codes(ae_run, digits):
    """encode_sets caps the training codes and keeps each code's label next to it."""
    cache = latent.encode_sets(ae_run, ae_run.model, digits.x_train, digits.x_test, digits.y_train, max_train=300)
    assert cache.train.shape == (300, 2) and cache.test.shape == (len(digits.x_test), 2)
    keep = analysis.subsample(len(digits.x_train), 300)
    np.testing.assert_array_equal(cache.train_labels, digits.y_train[keep].numpy())
    np.testing.assert_allclose(cache.train, analysis.encode(ae_run.model, digits.x_train[keep]), atol=1e-6)


def test_other_kind_swaps_only_the_model_type():
    """other_kind turns an AE spec into the same VAE spec and back."""
    spec = ArchSpec(64, (32, 16), 4, activation="tanh")
    vae = latent.other_kind(spec)
    assert vae.kind == "vae" and vae.widths == spec.widths and latent.other_kind(vae) == spec
    assert isinstance(Autoencoder(vae), Autoencoder)


# -- t-SNE and CSV --------------------------------------------------------------------------------
def test_tsne_plan_caps_with_a_message():
    """Asking for more than the cap (or than exists) uses fewer points and says why; otherwise no note."""
    assert latent.tsne_plan(500, 2000) == latent.TsnePlan(500, None)
    big = latent.tsne_plan(50_000, 2000)
    assert big.n == latent.TSNE_CAP and "cap" in big.note
    few = latent.tsne_plan(800, 300)
    assert few.n == 300 and "Only 300" in few.note


def test_tsne_embeds_a_subset_with_positions():
    """tsne returns (n, dims) points and the positions of the codes it used; too few points raise."""
    codes = np.random.default_rng(0).normal(size=(120, 6))
    points, idx = latent.tsne(codes, 2, limit=60)
    assert points.shape == (60, 2) and idx.shape == (60,) and len(set(idx)) == 60 and idx.max() < 120
    assert np.all(np.isfinite(points))
    with pytest.raises(ValueError):
        latent.tsne(codes[:5], 2)


def test_tsne_refuses_identical_or_nan_codes():
    """Identical codes (a dead encoder) or NaNs raise ValueError instead of crashing sklearn's native code."""
    with pytest.raises(ValueError, match="identical"):
        latent.tsne(np.zeros((100, 8)), 2)
    bad = np.random.default_rng(0).normal(size=(100, 8))
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        latent.tsne(bad, 2)


def test_holes_sentence_for_a_dead_encoder():
    """When every code is the same, the sentence says so instead of printing an infinite ratio."""
    same = np.zeros((50, 2))
    h = latent.holes(same, same[:10], np.ones((20, 2)))
    assert h.real_dist == 0 and "same code" in latent.holes_sentence(h, "x") and "inf" not in \
        latent.holes_sentence(h, "x")
    assert "cannot be compared" in latent.compare_sentence(h, h)


def test_codes_csv_round_trips():
    """The CSV has a header, one row per code, the class name, and the code values."""
    codes = np.array([[0.5, -1.25], [2.0, 3.0], [1e-7, 4.5]])
    text = latent.codes_csv(codes, np.array([1, 0, 1]), ("zero", "one"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["index", "label", "class", "z1", "z2"]
    assert rows[1] == ["0", "1", "one", "0.5", "-1.25"] and len(rows) == 4
    np.testing.assert_allclose(np.array([r[3:] for r in rows[1:]], dtype=float), codes, rtol=1e-6)
