"""Tests for aelab.kinds: every kind trains under the same budget, the verdict follows the numbers, bad settings get
messages. Run: python -m pytest -q tests/test_kinds.py
"""
from dataclasses import replace

import numpy as np
import pytest

from aelab import kinds, sparse
from aelab.model import Autoencoder
from aelab.spec import MAX_SPARSITY
from aelab.train import History

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
    class Stopped:
        def should_stop(self):
            return True

        def update(self, *a):
            pass

        def publish(self, **kw):
            pass

    result = kinds.run(digits, FAST, Stopped())
    assert result.status == "stopped" and result.results == []
    assert "nothing to compare" in kinds.verdict(result, 64)[0]


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
    _, check = kinds.parse_settings(digits, ["conv"], "epochs", "2", "8", "64", "8, 8, 8, 8", "", "0.1", "0.1")
    assert any("too many" in str(e) for e in check.errors)
    settings, check = kinds.parse_settings(digits, ["dense"], "seconds", "fast", "8", "64", "16", "", "0.1", "0.1")
    assert settings is None and "Seconds per kind" in str(check.errors[0])
    settings, check = kinds.parse_settings(digits, ["dense", "vae"], "seconds", "2", "8", "64", "16", "", "0.1", "0.1")
    assert check.ok and settings.kinds == ("dense", "vae")
