"""Tests for aelab.kinds: every kind trains under the same budget, the verdict follows the numbers, bad settings get
messages. Run: python -m pytest -q tests/test_kinds.py
"""
from dataclasses import replace

import numpy as np
import pytest
import torch

from aelab import kinds, sparse
from aelab.model import Autoencoder
from aelab.spec import MAX_SPARSITY
from aelab.train import History, Progress

FAST = kinds.CompareSettings(budget="epochs", epochs=2, n_train=300)


def test_all_kinds_train_with_the_same_epochs_and_are_measured(digits):
    """Equal epochs: every kind does exactly that many, on the same data; specs are the ones described."""
    result = kinds.run(digits, FAST)
    assert result.status == "done" and [r.kind for r in result.results] == list(kinds.KINDS)
    for r in result.results:
        assert r.history.epoch_x[-1] == 2 and r.recon.shape == (kinds.N_EXAMPLES, 64)
        assert 0 <= r.measure.active <= 1 and 0 <= r.measure.probe <= 1 and r.measure.test_mse > 0
    assert result.get("conv").spec.is_conv and result.get("vae").spec.kind == "vae"
    assert result.get("sparse").spec.bottleneck == 256 > 64 and result.get("wide").spec == result.get("sparse").spec
    rows = kinds.table(result)
    assert [r["kind"] for r in rows] == list(kinds.KINDS.values())
    assert kinds.filters(result, "sparse")[1].startswith("Encoder") and kinds.filters(result, "dense") is not None


def test_seconds_budget_trains_each_kind_for_its_seconds(digits):
    """Equal seconds: the deadline ends each kind (status done, not 'stopped'), after at least the budget."""
    settings = replace(FAST, budget="seconds", seconds=0.6, kinds=("dense", "conv"))
    result = kinds.run(digits, settings)
    assert result.status == "done" and len(result.results) == 2
    assert all(r.seconds >= 0.6 and r.epochs > 0 for r in result.results)


def test_stop_ends_the_comparison_with_what_was_done(digits):
    """A learner's Stop ends the run as 'stopped'; kinds not reached are not in the result."""
    result = kinds.run(digits, FAST, Recorder(stop=True))
    assert result.status == "stopped" and result.results == []
    assert "nothing to compare" in kinds.verdict(result, 64)[0]


class Recorder:
    """A job context that records the typed progress and the fit updates (and can stop at once, or wait)."""

    def __init__(self, stop: bool = False):
        self.stop, self.labs, self.updates, self.waited = stop, [], [], 0.0

    def should_stop(self):
        return self.stop

    def update(self, progress, history, state):
        self.updates.append(progress)

    def publish(self, **kw):
        pass

    def report(self, lab):
        self.labs.append(lab)


def test_progress_is_typed_kind_by_kind_with_every_finished_curve(digits):
    """The comparison reports a LabProgress per kind ('Kind 2 of 2: VAE'), carrying the curves of the kinds that
    finished before it and its own; no free-form phase keys."""
    ctx = Recorder()
    kinds.run(digits, replace(FAST, kinds=("dense", "vae"), epochs=1, n_train=200), ctx)
    starts = [lab for lab in ctx.labs if lab.phase not in lab.histories]
    assert [(lab.label, sorted(lab.histories)) for lab in starts] == [("Kind 1 of 2: Dense AE", []),
                                                                      ("Kind 2 of 2: VAE", ["Dense AE"])]
    assert sorted(ctx.labs[-1].histories) == ["Dense AE", "VAE"]


def test_seconds_budget_counts_training_time_and_reports_its_share(digits, monkeypatch):
    """Under the time budget the fit stops once `seconds` of training passed, time spent waiting for a turn left
    out; the reported progress is that share of the seconds (step / total_steps), never above 1."""
    clock = [0.0]
    monkeypatch.setattr(kinds.time, "perf_counter", lambda: clock[0])
    ctx = Recorder()
    budget = kinds.TimeBudget(2.0, ctx, kinds.LabProgress("Dense AE", 1, 1), "Dense AE")
    assert not budget.should_stop()  # the clock starts at the first step
    clock[0], ctx.waited = 3.0, 2.0  # 3 s later, 2 of them spent waiting for a turn: 1 s of training
    assert budget.trained() == 1.0 and not budget.should_stop()
    budget.update(Progress(0, 50, 10_000, 1.0, 3.0), History(), None)
    assert ctx.updates[-1].total_steps == 100  # 50 steps in half the seconds: 100 when they are up
    clock[0] = 4.0
    assert budget.should_stop() and budget.out_of_time


def test_epochs_budget_checks_the_compute_of_every_kind_together(digits, monkeypatch):
    """The compute budget sums every chosen kind's parameters (same epochs each); the time budget is bounded by its
    seconds instead."""
    settings = replace(FAST, kinds=("dense", "conv"), epochs=10, n_train=300)
    params = settings.params(64)
    assert params == settings.spec("dense", 64).param_count + settings.spec("conv", 64).param_count
    monkeypatch.setenv("AELAB_MAX_COMPUTE", str(params * 300 * 10 - 1))
    errors = kinds.check(settings, digits).errors
    assert len(errors) == 1 and f"{params:,} parameters × 300 training images × 10 epochs" in str(errors[0])
    monkeypatch.setenv("AELAB_MAX_COMPUTE", str(params * 300 * 10))
    assert kinds.check(settings, digits).ok
    assert kinds.check(replace(settings, budget="seconds"), digits).ok


def _kind(kind: str, mse: float, epochs=10.0, seconds=1.0, **m) -> kinds.KindResult:
    spec = FAST.spec(kind, 64)
    base = dict(test_mse=mse, active=0.7, pass_through=0.4, probe=0.95, code_size=spec.bottleneck, zeros=True)
    return kinds.KindResult(kind, spec, Autoencoder(spec), History(), seconds, epochs,
                            sparse.CodeMeasure(**{**base, **m}), np.zeros((1, 64)))


def _result(*rs, budget="epochs") -> kinds.CompareResult:
    return kinds.CompareResult(replace(FAST, budget=budget), "digits", (8, 8), 0.48, np.ones(64, bool), list(rs),
                               np.zeros((1, 64)), ["0"], "done", "ok", 1.0)


@pytest.mark.parametrize("dense,conv,needle", [(0.02, 0.01, "convolutional AE reconstructs better"),
                                               (0.01, 0.02, "dense AE reconstructs better"),
                                               (0.010, 0.0101, "about equally well")])
def test_verdict_dense_vs_conv(dense, conv, needle):
    """Which of dense and conv is better (or neither, within 5%) is said from the errors."""
    text = " ".join(kinds.verdict(_result(_kind("dense", dense), _kind("conv", conv)), 64))
    assert needle in text and "Lowest held-out error" in text


@pytest.mark.parametrize("vae,needle", [(0.03, "worse than the dense AE"), (0.005, "VAE reconstructs better"),
                                        (0.0101, "about as well")])
def test_verdict_vae(vae, needle):
    """The VAE's error against the dense AE's picks the sentence."""
    assert needle in " ".join(kinds.verdict(_result(_kind("dense", 0.01), _kind("vae", vae)), 64))


def test_verdict_budget_and_wide_code_lines():
    """Seconds: the epochs each kind reached; a wide code beating the bottleneck gets its caveat; sparse vs wide."""
    text = " ".join(kinds.verdict(_result(_kind("dense", 0.01, epochs=200), _kind("conv", 0.01, epochs=50),
                                          _kind("sparse", 0.003, active=0.1, pass_through=0.3),
                                          _kind("wide", 0.001), budget="seconds"), 64))
    assert "cheaper model sees the data more often" in text
    assert "a low error alone does not show" in text and "made the code sparse" in text


def test_bad_settings_get_messages(digits):
    """Non-image data, no kinds, a huge sparsity, too many channels and a bad number are messages, not crashes."""
    signals = replace(digits, name="signals", image_shape=None)
    assert "needs images" in str(kinds.check(FAST, signals).errors[0])
    assert kinds.check(replace(FAST, kinds=()), digits).errors
    assert any("too large" in str(e) for e in kinds.check(replace(FAST, sparsity=MAX_SPARSITY * 5), digits).errors)
    _, check = kinds.parse_settings(digits, {"cfg_cmp_kinds": "conv", "cfg_cmp_budget": "epochs",
                                             "cfg_cmp_epochs": "2", "cfg_cmp_channels": "8, 8, 8, 8"})
    assert any("too many" in str(e) for e in check.errors)
    settings, check = kinds.parse_settings(digits, {"cfg_cmp_kinds": "dense", "cfg_cmp_seconds": "fast"})
    assert settings is None and "Seconds per kind" in str(check.errors[0])
    settings, check = kinds.parse_settings(digits, {"cfg_cmp_kinds": "vae, dense", "cfg_cmp_seconds": "2",
                                                    "cfg_cmp_channels": "16", "cfg_cmp_hidden": "64"})
    assert check.ok and settings.kinds == ("dense", "vae") and settings.hidden == 64
    _, check = kinds.parse_settings(digits, {"cfg_cmp_bottleneck": "65"})  # wider than the 64 pixels
    assert "at most 64" in str(check.errors[0])


def test_default_time_budget_on_all_of_mnist_is_allowed(digits):
    """The default comparison on MNIST's 60,000 training images passes the check: under the time budget no kind is
    charged for the 1,000-epoch ceiling a deadline ends (the sparse 784-1024 model alone would need 9.6e13)."""
    x = torch.zeros(1, 784).expand(60_000, 784)  # (60000, 784) without the memory: only its size is read
    mnist = replace(digits, name="mnist", x_train=x, x_test=x[:10], image_shape=(28, 28))
    assert kinds.check(kinds.CompareSettings(), mnist).ok
    assert not kinds.check(kinds.CompareSettings(budget="epochs", epochs=1000), mnist).ok
