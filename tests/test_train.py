"""Tests for aelab.train: learning happens, seeds reproduce curves, divergence is caught, the VAE KL is right."""
import math
import time

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


# -- continuing a run (issue 16: play, step, epoch, continue) ----------------------------------------------
def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_continuing_gives_the_same_weights_as_one_run(digits, kind):
    """4 epochs, then 3 steps, then the rest to 10 epochs equals 10 epochs at once: same weights, same test curve."""
    spec = ArchSpec(64, (32,), 4, kind=kind)
    cfg = TrainConfig(epochs=10, batch_size=64, n_train=300, seed=3)
    x = digits.x_train[:300]
    whole = build_seeded(spec, 3)
    one = fit(whole, x, digits.x_test, cfg)
    part = build_seeded(spec, 3)
    a = fit(part, x, digits.x_test, TrainConfig(epochs=4, batch_size=64, n_train=300, seed=3))
    b = fit(part, x, digits.x_test, cfg, resume=a.cursor, history=a.history, max_steps=3)
    assert b.cursor.epoch == 4 and b.cursor.offset == 3 * 64 and b.message == "Trained 3 more steps."
    c = fit(part, x, digits.x_test, cfg, resume=b.cursor, history=b.history)
    assert c.status == "done" and c.cursor.epoch == 10 and c.cursor.step == one.cursor.step
    for p, q in zip(_weights(whole), _weights(part)):
        assert torch.equal(p, q)
    assert c.history.epoch_x == one.history.epoch_x and c.history.test == pytest.approx(one.history.test, rel=1e-6)


def test_a_cursor_can_be_continued_twice_alike(digits):
    """Continuing from the same cursor twice gives the same weights: the cursor's optimizer state is not consumed."""
    x = digits.x_train[:200]
    cfg = TrainConfig(epochs=2, batch_size=50)
    model = build_seeded(SMALL, 0)
    first = fit(model, x, digits.x_test, cfg)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    runs_ = []
    for _ in range(2):
        model.load_state_dict(state)
        fit(model, x, digits.x_test, TrainConfig(epochs=3, batch_size=50), resume=first.cursor, history=first.history)
        runs_.append(_weights(model))
    assert all(torch.equal(p, q) for p, q in zip(*runs_))


def test_one_step_adds_one_training_point_and_no_test_point(digits):
    """A single step (max_steps=1) inside an epoch logs exactly one training-loss point and keeps the test curve."""
    x = digits.x_train[:640]
    model = build_seeded(SMALL, 0)
    a = fit(model, x, digits.x_test, TrainConfig(epochs=1, batch_size=64))
    b = fit(model, x, digits.x_test, TrainConfig(epochs=1000, batch_size=64), resume=a.cursor, history=a.history,
            max_steps=1)
    assert len(b.history.train) == len(a.history.train) + 1 and b.history.test == a.history.test
    assert b.history.step_x[-1] == pytest.approx(1 + 64 / 640) and b.cursor.step == a.cursor.step + 1


def test_a_learning_rate_changed_between_calls_applies(digits):
    """Continuing with another learning rate uses it (the optimizer's saved rate does not win)."""
    x = digits.x_train[:200]
    model = build_seeded(SMALL, 0)
    a = fit(model, x, digits.x_test, TrainConfig(epochs=1, batch_size=50))
    b = fit(model, x, digits.x_test, TrainConfig(epochs=2, batch_size=50, lr=0.01), resume=a.cursor, history=a.history)
    assert b.cursor.optimizer["param_groups"][0]["lr"] == 0.01


def test_pace_slows_steps_and_rests_in_the_monitor(digits):
    """With a pace, fit spends the time between steps in the monitor's rest; samples/s leaves that time out."""
    rests = []

    class Resting:
        def should_stop(self):
            return False

        def update(self, progress, history, state):
            self.progress = progress

        def rest(self, seconds):
            rests.append(seconds)
            time.sleep(seconds)

    mon = Resting()
    res = fit(build_seeded(SMALL, 0), digits.x_train[:64], digits.x_test, TrainConfig(epochs=1, batch_size=16),
              monitor=mon, pace=0.05)
    assert len(rests) == 4 and res.seconds >= 4 * 0.04
    assert mon.progress.samples_per_s > 64 / res.seconds  # resting is not training time


def test_thin_halves_the_training_curve_and_keeps_its_terms_paired():
    """History.thin averages neighbouring training points (at the later x) and its loss terms alike."""
    from aelab.train import History

    h = History(step_x=[0.5, 1.0, 1.5, 2.0, 2.5], train=[4.0, 2.0, 1.0, 3.0, 5.0], epoch_x=[0, 1, 2], test=[1, 1, 1],
                terms={"recon": [1.0, 3.0, 5.0, 7.0, 9.0]})
    h.thin()
    assert h.step_x == [1.0, 2.0, 2.5] and h.train == [3.0, 2.0, 5.0] and h.terms["recon"] == [2.0, 6.0, 9.0]
    assert h.epoch_x == [0, 1, 2]


def test_a_long_run_keeps_its_history_within_the_checkpoint_limit(digits, monkeypatch):
    """Once the training curve passes MAX_HISTORY_POINTS it is thinned, so the run still exports."""
    from aelab import train

    monkeypatch.setattr(train, "MAX_HISTORY_POINTS", 30)
    res = fit(build_seeded(SMALL, 0), digits.x_train[:320], digits.x_test, TrainConfig(epochs=6, batch_size=16))
    assert 15 <= len(res.history.train) <= 30 and res.history.step_x == sorted(res.history.step_x)
    assert res.history.step_x[-1] == 6.0
