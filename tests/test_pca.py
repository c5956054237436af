"""aelab.pca, the one PCA of aelab: fit, variances and the 2-D view against numpy's SVD and scikit-learn's PCA.

Run: python -m pytest -q tests/test_pca.py
"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from aelab import pca


@pytest.fixture(autouse=True)
def one_blas_thread():
    """numpy references with one BLAS thread (spinning BLAS threads crawl on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def decaying(n: int, d: int, seed: int = 0) -> np.ndarray:
    """(n, d) Gaussian data with a shifted mean and clearly separated variances along random directions."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # a random rotation
    return (rng.normal(size=(n, d)) * np.linspace(3, 0.1, d)) @ q.T + rng.normal(size=d)


def cross(a: float, b: float, c: float, pad: int = 0) -> np.ndarray:
    """6 points at +-a, +-b, +-c on three axes (mean 0): variances (over N = 6) a^2/3, b^2/3, c^2/3."""
    x = np.zeros((6, 3 + pad))
    x[0, 0], x[1, 0], x[2, 1], x[3, 1], x[4, 2], x[5, 2] = a, -a, b, -b, c, -c
    return x


@pytest.mark.parametrize("shape,k", [((300, 12), 4), ((50, 30), 10), ((200, 5), 5)])
def test_fit_matches_sklearn_pca(shape, k):
    """Mean, directions (signs included), variances and scores equal scikit-learn's full-SVD PCA."""
    x = decaying(*shape)
    ref = PCA(n_components=k, svd_solver="full").fit(x)
    got = pca.fit(x, k)
    n = shape[0]
    np.testing.assert_allclose(got.mean, ref.mean_, atol=1e-12)
    np.testing.assert_allclose(got.components, ref.components_, atol=1e-8)
    np.testing.assert_allclose(got.eigenvalues[:k], ref.explained_variance_ * (n - 1) / n, rtol=1e-9)
    np.testing.assert_allclose(got.explained[:k], ref.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(got.scores(x), ref.transform(x), atol=1e-8)
    np.testing.assert_allclose(got.reconstruct(x), ref.inverse_transform(ref.transform(x)), atol=1e-8)


def test_fit_eigenvalues_are_the_squared_singular_values_over_n():
    """All d eigenvalues are numpy's singular values of the centered data, squared, over N; 0 past the rank."""
    x = decaying(20, 30, seed=3)  # rank 19 after centering
    s = np.linalg.svd(x - x.mean(0), compute_uv=False)
    got = pca.fit(x, 3).eigenvalues
    assert got.shape == (30,) and np.all(np.diff(got) <= 1e-12)
    np.testing.assert_allclose(got[:19], s[:19] ** 2 / 20, rtol=1e-8)
    assert np.allclose(got[19:], 0, atol=1e-10)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_training_error_is_the_dropped_variance(k):
    """Eckart-Young: PCA's training MSE per feature is the sum of the dropped eigenvalues / d (float64 kept)."""
    x = decaying(400, 16, seed=1).astype(np.float32)
    p = pca.fit(x, k)
    measured = float(((p.reconstruct(x) - x.astype(np.float64)) ** 2).mean())
    assert measured == pytest.approx(p.eigenvalues[k:].sum() / 16, rel=1e-9)


def test_signs_make_the_largest_entry_positive_and_repeat():
    """Each direction's largest-magnitude entry is positive, and negating the data does not mirror the axes."""
    x = decaying(100, 6, seed=2)
    p = pca.fit(x, 6)
    assert np.all(p.components[np.arange(6), np.abs(p.components).argmax(axis=1)] > 0)
    np.testing.assert_allclose(pca.fit(-x, 6).components, p.components, atol=1e-10)


@pytest.mark.parametrize("pad", [0, 7])  # 6 points in 3 dims (X^T X path), in 10 dims (Gram path)
def test_variances_hand_computed(pad):
    """Variances 9/3, 1/3, 0.25/3 for the cross, then zeros up to the width, on both paths."""
    ev = pca.variances(cross(3.0, 1.0, 0.5, pad))
    assert ev.shape == (3 + pad,)
    np.testing.assert_allclose(ev[:3], [9 / 3, 1 / 3, 0.25 / 3], rtol=1e-6)
    assert np.allclose(ev[3:], 0, atol=1e-9)


@pytest.mark.parametrize("shape", [(300, 20), (40, 120)])
def test_variances_match_fit_and_numpy_covariance(shape):
    """Both paths (d x d, N x N Gram) give np.cov's eigenvalues (bias=True) and fit's, with or without a given Gram."""
    x = decaying(*shape, seed=4)
    xc = x - x.mean(0)
    ref = np.sort(np.linalg.eigvalsh(np.cov(x.T, bias=True)))[::-1]
    k = min(shape) - 1
    for ev in (pca.variances(xc), pca.variances(xc, xc @ xc.T), pca.fit(x, 1).eigenvalues):
        np.testing.assert_allclose(ev[:k], ref[:k], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("d", [10, 300])  # exact eigendecomposition / randomized SVD
def test_view_matches_svd_with_the_same_signs(d):
    """The 2-D view equals numpy's top-2 SVD scores, with fit's sign rule, on data with clear leading directions."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, d)) * np.r_[10.0, 5.0, np.full(d - 2, 0.3)]
    xc = (x - x.mean(0)).astype(np.float32)
    u, s, vt = np.linalg.svd(xc.astype(np.float64), full_matrices=False)
    signs = np.sign(vt[np.arange(2), np.abs(vt[:2]).argmax(axis=1)])
    ref = u[:, :2] * s[:2] * signs
    got = pca.view(xc)
    assert got.dtype == np.float32 and got.shape == (400, 2)
    for j in range(2):
        assert np.abs(got[:, j] - ref[:, j]).max() < 1e-2 * s[j]


def test_view_of_a_one_wide_layer_and_of_constant_data():
    """A 1-wide input gives one column; constant data give zero scores and zero variances, no NaN."""
    assert pca.view(np.arange(5, dtype=np.float32)[:, None] - 2).shape == (5, 1)
    flat = np.zeros((8, 4))
    assert np.all(pca.view(flat) == 0) and np.all(pca.variances(flat) == 0)
    assert np.all(pca.fit(flat + 1, 2).explained == 0)
