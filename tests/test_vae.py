"""The VAE collapse detector (aelab/vae.py): active units, KL per code unit against torch.distributions, the
average-image baseline, and sentences that follow the numbers; measured on a working and a collapsed VAE.

Run: python -m pytest tests/test_vae.py
"""
import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from aelab import runs, vae
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import kl_to_standard_normal


def test_kl_per_dimension_matches_torch_distributions():
    """Per unit, the mean of KL(N(mu, sigma^2) || N(0, 1)) equals torch's; summed over units it is the training KL."""
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(50, 3, generator=g), torch.randn(50, 3, generator=g)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).mean(dim=0)  # (3,)
    assert np.allclose(vae.kl_per_dimension(mu, logvar), ref.double().numpy(), atol=1e-6)
    assert np.isclose(vae.kl_per_dimension(mu, logvar).sum(), float(kl_to_standard_normal(mu, logvar).mean()),
                      atol=1e-5)


def test_active_units_count_variance_above_the_threshold():
    """A unit whose mean code varies (variance 0.33) is active; one that is constant (0) is not."""
    codes = np.column_stack([np.linspace(-1, 1, 100), np.full(100, 0.3)])
    assert vae.active_units(codes) == 1 and vae.active_units(codes, threshold=1.0) == 0


@pytest.fixture(scope="module")
def pair(digits):
    """A VAE at beta 0.2 (uses its code) and at beta 2 (ignores its input), 20 epochs on Digits."""
    spec = ArchSpec(64, (64,), 2, kind="vae")
    return {beta: runs.train_run(digits, spec, TrainConfig(epochs=20, batch_size=64, beta=beta)) for beta in (0.2, 2.0)}


def test_a_working_vae_and_a_collapsed_one_are_told_apart(digits, pair):
    """At beta 0.2 both units are active and the error is well below the average image's; at beta 2 no unit is
    active, the error is no better than the average image's, and the sentence says the VAE ignores its input."""
    good = vae.health(pair[0.2].model, digits.x_train, digits.x_test)
    bad = vae.health(pair[2.0].model, digits.x_train, digits.x_test)
    assert good.active == 2 and good.error < 0.8 * good.baseline and not good.ignores_input
    assert bad.active == 0 and bad.error >= 0.95 * bad.baseline and bad.ignores_input
    assert sum(bad.kl) < 0.1 < sum(good.kl)
    average = digits.x_train.mean(dim=0, keepdim=True)
    assert bad.baseline == pytest.approx(float(((average - digits.x_test) ** 2).mean()), rel=1e-6)
    assert "ignores its input" in " ".join(vae.health_text(bad, 2.0))
    assert "uses every code unit" in " ".join(vae.health_text(good, 0.2))


def test_health_text_follows_the_numbers():
    """A unit switched off gives the partial sentence; the counts quoted are the measured ones."""
    h = vae.Health(3, (1.0, 0.5, 0.001), (1.2, 0.8, 0.0), 0.03, 0.07)
    text = " ".join(vae.health_text(h))
    assert h.active == 2 and "**2 of 3**" in text and "uses 2 of its 3 code units" in text
    assert "0.0300" in text and "0.0700" in text
