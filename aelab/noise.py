"""Ways to corrupt data for the denoising lab: Gaussian noise, salt-and-pepper, masking.

Every function takes a level and a seed (or a torch.Generator) and returns a new tensor whose
values stay in [0, 1], like the clean data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from aelab.fields import check
from aelab.limits import MAX_NOISE_LEVEL as MAX_LEVEL  # noqa: F401 - re-exported
from aelab.limits import NOISE_KINDS
from aelab.settings import DENOISING


def generator(seed: int | torch.Generator) -> torch.Generator:
    """A CPU generator: the one given (so repeated calls draw fresh noise) or a new one from an int."""
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(int(seed))


def gaussian(x: torch.Tensor, std: float, seed: int | torch.Generator = 0) -> torch.Tensor:
    """x + N(0, std^2) per value, clipped back into [0, 1]."""
    g = generator(seed)
    noise = torch.randn(x.shape, generator=g, dtype=x.dtype) * std  # (N, D)
    return (x + noise.to(x.device)).clamp_(0.0, 1.0)


def salt_and_pepper(x: torch.Tensor, fraction: float, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Each value is, with probability `fraction`, replaced by 0 or 1 (a fair coin picks which)."""
    g = generator(seed)
    hit = torch.rand(x.shape, generator=g) < fraction  # (N, D) bool: which pixels are corrupted
    white = (torch.rand(x.shape, generator=g) < 0.5).to(x.dtype)  # (N, D) 0 = pepper, 1 = salt
    return torch.where(hit.to(x.device), white.to(x.device), x)


def mask(x: torch.Tensor, fraction: float, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Each value is, with probability `fraction`, set to 0 (a missing pixel)."""
    g = generator(seed)
    hit = torch.rand(x.shape, generator=g) < fraction  # (N, D) bool
    return x.masked_fill(hit.to(x.device), 0.0)


@dataclass(frozen=True)
class Kind:
    """One way to corrupt data: what the learner reads about it, and the function that does it."""

    label: str  # shown in the noise picker
    level_meaning: str  # what the level number means for this kind
    apply: Callable[..., torch.Tensor]  # (x, level, seed) -> corrupted x in [0, 1]


GAUSSIAN, SALT_PEPPER, MASK = "gaussian", "salt_pepper", "mask"  # keys (pages, URLs and settings name them)
KIND_TABLE = {
    GAUSSIAN: Kind(label=NOISE_KINDS[GAUSSIAN], level_meaning="the standard deviation of the added noise",
                   apply=gaussian),
    SALT_PEPPER: Kind(label=NOISE_KINDS[SALT_PEPPER], level_meaning="the fraction of pixels replaced by 0 or 1",
                      apply=salt_and_pepper),
    MASK: Kind(label=NOISE_KINDS[MASK], level_meaning="the fraction of pixels set to 0", apply=mask),
}
KINDS = {key: kind.label for key, kind in KIND_TABLE.items()}  # key -> label shown to the learner
LEVEL_MEANING = {key: kind.level_meaning for key, kind in KIND_TABLE.items()}  # key -> what its level means


def check_level(kind: str, level: float) -> None:
    """Raise SpecError with a learner-facing message if `kind` or `level` cannot be used (the page's fields)."""
    check(DENOISING["cfg_dn_noise"], kind)
    check(DENOISING["cfg_dn_level"], level)


def corrupt(x: torch.Tensor, kind: str, level: float, seed: int | torch.Generator = 0) -> torch.Tensor:
    """Apply one kind of noise at `level`; the result stays in [0, 1]."""
    check_level(kind, level)
    return KIND_TABLE[kind].apply(x, level, seed)
