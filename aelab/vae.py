"""Is a VAE using its code? Active units, the KL term per code dimension, and the average-image baseline.

A VAE whose KL term wins ignores its input ("posterior collapse"): its mean codes stop varying across images and
it outputs about the same picture for every input. These numbers say so, and `health_text` says it in words.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ACTIVE_THRESHOLD = 0.01  # a code unit is active when its mean code varies across inputs by more than this
IGNORES_INPUT = 0.05  # held-out error within 5% of always answering the average image: the input is ignored


def active_units(mean_codes: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
    """Code dimensions whose mean code varies across inputs (variance > threshold): (N, k) -> count.

    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders" (2016), Sec. 5.2: a unit is
    active when Cov_x(E_q[z_u | x]) > 0.01; inactive units ignore the input (posterior collapse).
    """
    return int(np.sum(np.var(np.asarray(mean_codes), axis=0) > threshold))


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> np.ndarray:
    """Mean over inputs of KL(N(mu_u, sigma_u^2) || N(0, 1)) for each code unit u, in nats: (N, k) -> (k,).

    Kingma & Welling (2014), Appendix B, per dimension: 1/2 (mu^2 + sigma^2 - 1 - log sigma^2); the sum over
    units is train.kl_to_standard_normal.
    """
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)  # (N, k)
    return kl.mean(dim=0).double().numpy()


@dataclass(frozen=True)
class Health:
    """How much a trained VAE uses its code, measured on held-out inputs."""

    code_size: int  # k, code numbers per input
    variances: tuple[float, ...]  # per code unit: variance across held-out inputs of its mean code
    kl: tuple[float, ...]  # per code unit: mean KL to N(0, 1) in nats (0 = the unit says nothing about the input)
    error: float  # held-out reconstruction error (MSE per feature), decoding the mean code
    baseline: float  # held-out error of always answering the average training image
    threshold: float = ACTIVE_THRESHOLD  # variance above which a unit counts as active

    @property
    def active(self) -> int:
        return int(sum(v > self.threshold for v in self.variances))

    @property
    def ignores_input(self) -> bool:
        """No active unit, or no better than answering the average image (within IGNORES_INPUT)."""
        return self.active == 0 or self.error >= self.baseline * (1 - IGNORES_INPUT)

    @property
    def gain(self) -> float:
        """How much of the average image's error the VAE removes (0 = none, 1 = all)."""
        return 1 - self.error / self.baseline if self.baseline > 0 else 0.0


@torch.no_grad()
def health(model, x_train: torch.Tensor, x_test: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> Health:
    """Measure a VAE (model.encode_stats gives mean and log-variance) on held-out inputs x_test."""
    model = model.cpu().eval()
    mu, logvar = model.encode_stats(x_test)  # (M, k) each
    out = model.decode(mu)  # (M, D): the reconstruction the page shows (no sampling)
    error = float(((out - x_test) ** 2).mean(dtype=torch.float64))
    average = x_train.mean(dim=0, keepdim=True)  # (1, D)
    baseline = float(((average - x_test) ** 2).mean(dtype=torch.float64))
    variances = mu.double().var(dim=0, unbiased=False).numpy()  # (k,)
    return Health(mu.shape[1], tuple(float(v) for v in variances), tuple(float(v) for v in kl_per_dimension(mu, logvar)),
                  error, baseline, threshold)


def health_text(h: Health, beta: float | None = None) -> list[str]:
    """What the numbers say about the VAE, one branch per outcome (collapsed, partly used, fully used)."""
    b = f" (β = {beta:g})" if beta is not None else ""
    kl_total = sum(h.kl)
    lines = [f"Active code units: **{h.active} of {h.code_size}** (a unit is active when its mean code varies across "
             f"held-out images by more than {h.threshold:g}). KL per unit: "
             + ", ".join(f"{v:.2f}" for v in h.kl) + f" nats (total {kl_total:.2f})."]
    if h.ignores_input:
        lines.append(f"This VAE{b} **ignores its input**: its held-out error is {h.error:.4f}, against {h.baseline:.4f} "
                     f"for always answering the average image ({h.gain:+.0%}). Its KL term won: the codes stay at "
                     "N(0, 1) whatever the image, so random draws and real images decode alike. Lower β, or train "
                     "longer, to give the code back a job.")
    elif h.active < h.code_size:
        lines.append(f"This VAE{b} uses {h.active} of its {h.code_size} code units: the others are switched off by the "
                     f"KL term. It still rebuilds images: held-out error {h.error:.4f}, against {h.baseline:.4f} for "
                     f"always answering the average image ({h.gain:.0%} of that error removed).")
    else:
        lines.append(f"This VAE{b} uses every code unit: held-out error {h.error:.4f}, against {h.baseline:.4f} for "
                     f"always answering the average image ({h.gain:.0%} of that error removed).")
    return lines
