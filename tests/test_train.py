"""Tests for aelab.train: learning happens, seeds reproduce curves, divergence is caught, the VAE KL is right."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from aelab import runs
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import build_seeded, evaluate, fit, kl_to_standard_normal

SMALL = ArchSpec(64, (32,), 4)


def test_loss_decreases_on_digits(digits):
    """Ten epochs lower both the train and the held-out loss well below the untrained loss."""
    run = runs.train_run(digits, SMALL, TrainConfig(epochs=10, batch_size=64))
    h = run.history
    assert run.status == "done" and h.epoch_x == list(range(11))
    assert h.test[-1] < 0.6 * h.test[0]
    assert h.train[-1] < h.train[0]


def test_same_seed_same_curves_different_seed_different(digits):
    """Same seed + same settings = identical curves; another seed changes them."""
    cfg = TrainConfig(epochs=3, batch_size=64, n_train=300)
    a = runs.train_run(digits, SMALL, cfg).history
    b = runs.train_run(digits, SMALL, cfg).history
    c = runs.train_run(digits, SMALL, TrainConfig(epochs=3, batch_size=64, n_train=300, seed=1)).history
    assert a.train == b.train and a.test == b.test
    assert a.test != c.test


def test_vae_same_seed_same_curves(digits):
    """The VAE's sampling noise is seeded too, so its curves repeat exactly."""
    spec = ArchSpec(64, (32,), 2, kind="vae")
    cfg = TrainConfig(epochs=2, batch_size=64, n_train=200, beta=1.0)
    a, b = runs.train_run(digits, spec, cfg).history, runs.train_run(digits, spec, cfg).history
    assert a.train == b.train and a.terms["kl"] == b.terms["kl"]


def test_divergence_stops_and_keeps_finite_weights(digits):
    """A learning rate that blows up stops training by itself with finite weights and an explanation."""
    spec = ArchSpec(64, (64,), 8, output="none")  # lr=100 is past the UI's cap: fit itself must cope
    run = runs.train_run(digits, spec, TrainConfig(optimizer="sgd", lr=100.0, epochs=20, batch_size=16))
    assert run.status == "diverged"
    assert "learning rate" in run.message
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert math.isfinite(run.history.test[-1])


def test_targets_can_differ_from_inputs(digits):
    """fit trains towards target_train (denoising): the model learns the targets, not the inputs."""
    x = digits.x_train[:300]
    target = 1.0 - x  # an inverted image
    model = build_seeded(SMALL, 0)
    cfg = TrainConfig(epochs=15, batch_size=32)
    fit(model, x, x, cfg, target_train=target, target_test=target)
    to_target = evaluate(model, x, target, cfg)["loss"]
    to_input = evaluate(model, x, x, cfg)["loss"]
    assert to_target < to_input


def test_kl_matches_torch_distributions():
    """Our closed-form KL(N(mu, s^2) || N(0, 1)) equals torch.distributions.kl_divergence summed over dims."""
    torch.manual_seed(0)
    mu, logvar = torch.randn(16, 5), torch.randn(16, 5)
    ref = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(dim=1)
    assert torch.allclose(kl_to_standard_normal(mu, logvar), ref, atol=1e-5)


class _StopAfter:
    """A monitor that asks to stop after n checks and records updates."""

    def __init__(self, n):
        self.n, self.updates = n, 0

    def should_stop(self):
        self.n -= 1
        return self.n < 0

    def update(self, progress, history, state):
        self.updates += 1


def test_monitor_can_stop_and_sees_updates(digits):
    """A monitor's stop request ends fit early with status 'stopped' after progress was published."""
    mon = _StopAfter(5)
    res = fit(build_seeded(SMALL, 0), digits.x_train, digits.x_test, TrainConfig(epochs=50, batch_size=128), monitor=mon)
    assert res.status == "stopped" and mon.updates >= 1


@pytest.mark.parametrize("loss", ["mse", "bce", "l1"])
def test_every_loss_trains(digits, loss):
    """MSE, BCE and L1 all train without error and reduce the held-out loss."""
    run = runs.train_run(digits, SMALL, TrainConfig(loss=loss, epochs=3, batch_size=64))
    assert run.history.test[-1] < run.history.test[0]
