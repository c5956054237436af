"""aelab.analysis: the one reconstruction error (per sample, per set, of a model) against torch's mse_loss,
and the plotting projection against scikit-learn's PCA.

Run: python -m pytest -q tests/test_analysis.py
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from aelab import analysis
from aelab.spec import ArchSpec
from aelab.train import build_seeded


def pair(n: int = 50, d: int = 20, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g), torch.rand(n, d, generator=g)


def test_per_sample_error_is_mse_loss_per_row():
    """Each entry equals torch's mse_loss of that row (reduction mean over the features)."""
    x, recon = pair()
    ref = F.mse_loss(recon, x, reduction="none").mean(dim=1)
    np.testing.assert_allclose(analysis.per_sample_error(x, recon), ref.numpy(), rtol=1e-6)


def test_mean_error_is_mse_loss_of_the_whole_set():
    """The set's error equals torch's mse_loss over every value (up to float32 rounding), and 0 for a copy."""
    x, recon = pair(n=300, d=64)
    assert analysis.mean_error(x, recon) == pytest.approx(float(F.mse_loss(recon.double(), x.double())), rel=1e-6)
    assert analysis.mean_error(x, x.clone()) == 0.0


def test_model_error_scores_the_output_against_the_target():
    """model_error(m, x) is mse_loss(m(x), x); with a target it compares the output with that target."""
    model = build_seeded(ArchSpec(20, (8,), 3), 0).eval()
    x, other = pair()
    with torch.no_grad():
        out = model(x)
    assert analysis.model_error(model, x) == pytest.approx(float(F.mse_loss(out, x)), rel=1e-6)
    assert analysis.model_error(model, x, other) == pytest.approx(float(F.mse_loss(out, other)), rel=1e-6)


def test_project_is_raw_when_it_fits_and_sklearn_pca_otherwise():
    """Codes of at most `dims` numbers are drawn as they are; wider ones as their top PCA scores (sklearn's)."""
    codes = np.random.default_rng(0).normal(size=(200, 6)) * np.linspace(4, 0.5, 6)
    raw, label = analysis.project(codes[:, :2], 3)
    assert raw is not None and label == "raw code" and raw.shape == (200, 2)
    points, label = analysis.project(codes, 2)
    ref = PCA(n_components=2, svd_solver="full").fit(codes)
    np.testing.assert_allclose(points, ref.transform(codes), atol=1e-8)
    assert label == f"PCA of the 6-dim code ({ref.explained_variance_ratio_.sum():.0%} of its variance)"
