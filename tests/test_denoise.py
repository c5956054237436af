"""Tests of aelab.denoise: the denoising AE beats the plain AE against clean targets, the measurements,
the computed explanation, settings parsing and the figures.

Run: python -m pytest tests/test_denoise.py
"""
import dataclasses

import numpy as np
import pytest
import torch

from aelab import denoise, noise
from aelab.train import History

SMALL = denoise.DenoiseSettings(noise=noise.SALT_PEPPER, level=0.3, encoder=(64,), bottleneck=16, epochs=15, copies=4,
                                n_train=600, batch_size=64, lr=1e-2)


@pytest.fixture(scope="module")
def small(digits):
    """One small finished comparison shared by the read-only tests."""
    return denoise.run_lab(digits, SMALL)


class FakeCtx:
    """A job context that records what was published and can ask to stop from the start."""

    def __init__(self, stop: bool = False):
        self.stop, self.published, self.labs = stop, [], []

    def should_stop(self) -> bool:
        return self.stop

    def update(self, progress, history, state) -> None:
        pass

    def publish(self, **kw) -> None:
        self.published.append(kw)

    def report(self, progress) -> None:
        self.labs.append(progress)


def test_denoising_ae_beats_plain_ae_and_noisy_input_against_clean_images(small):
    """On a small fixed digits case the denoiser's output is closer to the clean image than both alternatives."""
    d, p, n = small.mean("denoiser"), small.mean("plain"), small.mean("noisy")
    assert small.status == "done"
    assert d < 0.8 * p and d < 0.8 * n


def test_errors_are_per_image_against_the_clean_test_set(small, digits):
    """Every error array has one value per held-out image; noisy error equals a direct recomputation."""
    m = len(digits.x_test)
    assert all(v.shape == (m,) for v in small.errors.values())
    noisy = noise.corrupt(digits.x_test, SMALL.noise, SMALL.level, seed=SMALL.seed + denoise.TEST_NOISE)
    assert np.allclose(small.errors["noisy"], ((noisy - digits.x_test) ** 2).mean(dim=1).numpy())


def test_training_pairs_repeat_clean_targets_with_fresh_noise_per_copy(digits):
    """Inputs are noisy, targets are the clean images repeated, and copies of one image get different noise."""
    x = digits.x_train[:50]
    noisy, clean = denoise.training_pairs(x, dataclasses.replace(SMALL, copies=3))
    assert noisy.shape == clean.shape == (150, 64)
    assert torch.equal(clean[100:], x)
    assert not torch.equal(noisy[:50], noisy[50:100])
    assert float(noisy.min()) >= 0 and float(noisy.max()) <= 1


def test_level_sweep_covers_the_trained_level_and_zero_noise_is_exact(small):
    """The sweep includes 0 and the trained level; at level 0 the 'noisy' input is the clean image."""
    levels = [row["level"] for row in small.sweep]
    assert levels == sorted(set(denoise.SWEEP_LEVELS) | {SMALL.level})
    assert small.sweep[0]["noisy"] == 0.0
    at_trained = next(row for row in small.sweep if row["level"] == SMALL.level)
    assert at_trained["denoiser"] == pytest.approx(small.mean("denoiser"), rel=1e-5)


def test_summary_quotes_the_measured_numbers(small):
    """The headline sentence contains the measured errors and the ratio computed from them."""
    text = " ".join(denoise.summary(small))
    d, n = small.mean("denoiser"), small.mean("noisy")
    assert f"{d:.4f}" in text and f"{n:.4f}" in text and f"{n / d:.1f}x" in text


def test_summary_says_so_when_the_noisy_input_is_already_closest(small):
    """With mild noise (noisy error below both models) the text says the input itself is closest."""
    m = len(small.errors["noisy"])
    errors = {"noisy": np.full(m, 0.005), "plain": np.full(m, 0.02), "denoiser": np.full(m, 0.01),
              "plain_clean": np.full(m, 0.015)}
    text = " ".join(denoise.summary(dataclasses.replace(small, errors=errors)))
    assert "noisy input itself is closest" in text and "0.0050" in text and "0.0150" in text
    assert "costs more than this noise" in text
    errors["plain_clean"] = np.full(m, 0.001)  # the bottleneck is cheap: the denoiser is what falls short
    text = " ".join(denoise.summary(dataclasses.replace(small, errors=errors)))
    assert "not yet learned to undo this noise" in text and "0.0010" in text


def test_mean_ci_matches_a_hand_computation():
    """Mean and 1.96 standard errors of [1, 2, 3, 4]."""
    mean, half = denoise.mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and half == pytest.approx(1.96 * np.std([1, 2, 3, 4], ddof=1) / 2)


@pytest.mark.parametrize("field,value,needle", [
    ("level", "1.5", "at most 1"),
    ("level", "0", "above 0"),
    ("level", "lots", "must be a number"),
    ("copies", "0", "at least 1"),
    ("copies", "50", "at most 10"),
    ("bottleneck", "100", "at most 64"),
    ("hidden", "wide", "whole number"),
    ("n_train", "5", "at least 10"),
    ("epochs", "", "empty"),
])
def test_bad_settings_give_a_message_and_no_settings(digits, field, value, needle):
    """Each bad text input yields no settings and an error naming the fix."""
    texts = dict(kind=noise.GAUSSIAN, level="0.3", hidden="128", bottleneck="16", epochs="40", copies="4", n_train="")
    texts[field] = value
    settings, check = denoise.parse_settings(digits, **texts)
    assert settings is None and any(needle in str(e) for e in check.errors), check.errors


def test_too_many_training_pairs_for_memory_are_refused_with_the_largest_size_that_fits(digits):
    """Copies of the whole set beyond the memory cap give an error naming how many images would fit."""
    big = dataclasses.replace(digits, x_train=torch.zeros(60_000, 784), y_train=torch.zeros(60_000, dtype=torch.long),
                              x_test=torch.zeros(10, 784), y_test=torch.zeros(10, dtype=torch.long), image_shape=(28, 28))
    check = denoise.check(dataclasses.replace(SMALL, n_train=None), big)
    fits = denoise.MAX_PAIR_BYTES // (2 * SMALL.copies * 784 * 4)
    assert any(f"at most {fits:,} training images" in str(e) for e in check.errors)
    assert denoise.check(dataclasses.replace(SMALL, n_train=fits), big).ok


def test_good_settings_parse_to_the_defaults(digits):
    """The page's default texts give exactly the default settings."""
    settings, check = denoise.parse_settings(digits, noise.GAUSSIAN, "0.3", "128", "16", "40", "4", "")
    assert check.ok and settings == denoise.DenoiseSettings()


def test_stopping_keeps_a_result_marked_as_partial(digits):
    """Stopped from the start: the result exists, is marked 'stopped' and says the models are partly trained;
    both phases were reported, the second with the first model's curve."""
    ctx = FakeCtx(stop=True)
    res = denoise.run_lab(digits, dataclasses.replace(SMALL, epochs=2), ctx)
    assert res.status == "stopped" and "partly trained" in res.message
    assert sorted({(lab.phase_index, lab.phase_total) for lab in ctx.labs}) == [(1, 2), (2, 2)]
    assert [lab.phase_index for lab in ctx.labs] == sorted(lab.phase_index for lab in ctx.labs)  # in order
    assert list(ctx.labs[-1].histories) == [denoise.ROWS["plain"], denoise.ROWS["denoiser"]]  # plus the live one


def test_figures_have_one_bar_per_row_and_one_line_per_series(small):
    """Error bars: 4 bars with error bars; level curve: 3 lines over the sweep levels; grid: 4 image rows."""
    bars = denoise.error_bars(small)
    assert len(bars.data) == 1 and len(bars.data[0].y) == 4 and bars.data[0].error_y.array is not None
    curve = denoise.level_curve(small)
    assert len(curve.data) == 3 and all(len(t.x) == len(small.sweep) for t in curve.data)
    grid = denoise.example_grid(small)
    assert grid.data[0].z.shape == (4 * 9 - 1, denoise.N_EXAMPLES * 9 - 1)


def test_example_indices_cycle_through_classes():
    """The shown examples are the first held-out image of each class in turn."""
    labels = torch.tensor([1, 1, 0, 2, 0, 2])
    assert denoise.example_indices(labels, 4) == [2, 0, 3, 4]


def test_histories_are_kept_for_both_models(small):
    """Both loss curves are stored, one test point per epoch plus the start."""
    for hist in (small.plain_history, small.denoiser_history):
        assert isinstance(hist, History) and hist.epoch_x == list(range(SMALL.epochs + 1))


# -- a convolutional pair (issue 14) ---------------------------------------------------------------------------
def test_conv_layout_trains_two_convolutional_models(digits):
    """With the conv layout both models are the same convolutional autoencoder; the lab measures them as before."""
    conv = dataclasses.replace(SMALL, encoder=(), layout="conv", channels=(4,), epochs=1, copies=1, n_train=200)
    assert denoise.check(conv, digits).ok
    result = denoise.run_lab(digits, conv)
    assert result.plain.spec == result.denoiser.spec == conv.spec(64) and conv.spec(64).describe() == "64-c4-16-c4-64"
    assert any(isinstance(m, torch.nn.Conv2d) for m in result.denoiser.encoder)
    assert np.isfinite(result.mean("denoiser")) and result.status == "done"


@pytest.mark.parametrize("channels,needle", [((129,), "at most 128"), ((4, 4, 4, 4), "too many")])
def test_conv_channel_counts_over_the_limits_are_refused(digits, channels, needle):
    """Channel counts over the limit or deeper than the image allows: a clear message, no settings."""
    check = denoise.check(dataclasses.replace(SMALL, layout="conv", channels=channels), digits)
    assert not check.ok and needle in " ".join(map(str, check.errors))


def test_conv_on_non_image_data_gets_a_clear_message(digits):
    """Samples that are not images: the lab says it needs images before anything else."""
    flat = dataclasses.replace(digits, image_shape=None)
    check = denoise.check(dataclasses.replace(SMALL, layout="conv"), flat)
    assert [e.field for e in check.errors] == ["dataset"] and "pick an image data set" in str(check.errors[0])
