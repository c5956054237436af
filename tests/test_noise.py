"""Tests of aelab.noise: values stay in [0, 1], each kind changes about the requested share or scale,
seeds make noise repeatable, and bad levels give learner-facing messages.

Run: python -m pytest tests/test_noise.py
"""
import math

import pytest
import torch

from aelab import noise
from aelab.spec import SpecError

N, D = 200, 784


def grey(value: float = 0.5) -> torch.Tensor:
    return torch.full((N, D), value)


@pytest.mark.parametrize("kind", list(noise.KINDS))
@pytest.mark.parametrize("level", [0.05, 0.5, 1.0])
def test_every_kind_keeps_values_in_unit_interval(kind, level):
    """Random images, all-black and all-white images all stay within [0, 1] after corruption."""
    for x in (torch.rand(N, D, generator=torch.Generator().manual_seed(3)), grey(0.0), grey(1.0)):
        out = noise.corrupt(x, kind, level, seed=1)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("level", [0.1, 0.3, 0.7])
def test_salt_and_pepper_replaces_the_requested_fraction_with_black_or_white(level):
    """On mid-grey images about `level` of the pixels change, each to 0 or 1, about half of each."""
    out = noise.salt_and_pepper(grey(), level, seed=0)
    changed = out != 0.5
    assert abs(float(changed.float().mean()) - level) < 0.01
    assert bool(((out[changed] == 0) | (out[changed] == 1)).all())
    assert abs(float((out[changed] == 1).float().mean()) - 0.5) < 0.03


@pytest.mark.parametrize("level", [0.1, 0.5, 0.9])
def test_mask_zeroes_the_requested_fraction(level):
    """On white images about `level` of the pixels become 0 and the rest are untouched."""
    out = noise.mask(grey(1.0), level, seed=0)
    assert abs(float((out == 0).float().mean()) - level) < 0.01
    assert bool(((out == 0) | (out == 1)).all())


@pytest.mark.parametrize("std", [0.05, 0.1])
def test_gaussian_noise_has_the_requested_scale(std):
    """On mid-grey images (where clipping is rare) the added noise has mean ~0 and standard deviation ~std."""
    diff = noise.gaussian(grey(), std, seed=0) - 0.5
    assert abs(float(diff.mean())) < 0.002
    assert abs(float(diff.std()) - std) / std < 0.03


def test_clipping_keeps_strong_gaussian_noise_in_range_and_biases_towards_the_middle():
    """With std 1 on black images about half the values are clipped to 0 (noise below 0)."""
    out = noise.gaussian(grey(0.0), 1.0, seed=0)
    assert abs(float((out == 0).float().mean()) - 0.5) < 0.01


@pytest.mark.parametrize("kind", list(noise.KINDS))
def test_same_seed_same_noise_and_a_generator_draws_fresh_noise(kind):
    """An int seed repeats the noise exactly; a shared Generator gives a new pattern on each call."""
    x = torch.rand(20, 64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(noise.corrupt(x, kind, 0.3, seed=7), noise.corrupt(x, kind, 0.3, seed=7))
    assert not torch.equal(noise.corrupt(x, kind, 0.3, seed=7), noise.corrupt(x, kind, 0.3, seed=8))
    g = torch.Generator().manual_seed(5)
    assert not torch.equal(noise.corrupt(x, kind, 0.3, seed=g), noise.corrupt(x, kind, 0.3, seed=g))


@pytest.mark.parametrize("kind", list(noise.KINDS))
def test_the_clean_input_is_not_modified(kind):
    """Corruption returns a new tensor and leaves the caller's data alone."""
    x = torch.rand(10, 64, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    noise.corrupt(x, kind, 0.5, seed=0)
    assert torch.equal(x, before)


@pytest.mark.parametrize("level", [0.0, -0.1, 1.5, math.nan, math.inf])
def test_out_of_range_levels_raise_a_message_that_says_the_range(level):
    """Levels outside (0, 1] are refused with a message naming the allowed range and the level field."""
    with pytest.raises(SpecError, match="above 0 and at most 1") as err:
        noise.corrupt(torch.zeros(2, 4), noise.GAUSSIAN, level)
    assert err.value.field == "level"


def test_unknown_kind_is_refused_with_the_known_ones_listed():
    """An unknown noise type names the valid choices."""
    with pytest.raises(SpecError, match="gaussian, salt_pepper, mask"):
        noise.check_level("speckle", 0.2)
