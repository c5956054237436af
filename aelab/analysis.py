"""Measurements on a trained model: codes, reconstructions, per-sample errors, projections, probes."""
from __future__ import annotations

import numpy as np
import torch

from aelab import pca
from aelab.model import Autoencoder


@torch.no_grad()
def encode(model: Autoencoder, x: torch.Tensor, chunk: int = 8192) -> np.ndarray:
    """Codes of x: (N, D) -> (N, k) numpy (a VAE gives its mean code)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.encode(x[i:i + chunk].to(device)).cpu() for i in range(0, len(x), chunk)]).numpy()


@torch.no_grad()
def reconstruct(model: Autoencoder, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Reconstructions of x: (N, D) -> (N, D) on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(x[i:i + chunk].to(device)).cpu() for i in range(0, len(x), chunk)])


@torch.no_grad()
def decode(model: Autoencoder, z: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Decode codes: (N, k) -> (N, D) on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    return model.decode(torch.as_tensor(np.asarray(z), dtype=torch.float32, device=device)).cpu()


# Reconstruction error, written once: every page, lab and lesson measures "how far is the output from the
# target" with these, as the mean squared difference per feature (the number the MSE training loss reports).
def per_sample_error(x: torch.Tensor, recon: torch.Tensor) -> np.ndarray:
    """Mean squared error of each sample over its features: (N, D), (N, D) -> (N,) float32."""
    return ((x - recon) ** 2).mean(dim=1).numpy()


def mean_error(x: torch.Tensor, recon: torch.Tensor) -> float:
    """Mean squared error per feature over a whole set: the mean of the per-sample errors, summed in float64."""
    return float(per_sample_error(x, recon).mean(dtype=np.float64))


def model_error(model: Autoencoder, x: torch.Tensor, target: torch.Tensor | None = None) -> float:
    """mean_error of the model's output for x against `target` (default: x itself), in eval mode."""
    return mean_error(x if target is None else target, reconstruct(model, x))


def bce_floor(x: torch.Tensor) -> float:
    """The binary cross-entropy of a perfect copy (output = x), per feature: the lowest BCE any model can reach on x.

    BCE(x, x) = -(x log x + (1 - x) log(1 - x)), the entropy of a pixel read as a coin with P(on) = x: 0 for black
    and white pixels, up to log 2 = 0.693 for a 0.5 grey. Digits has 17 grey levels, so its floor is far above 0.
    """
    x = x.double().clamp(0, 1)
    return float(torch.nn.functional.binary_cross_entropy(x, x))  # torch clamps its logs at -100: 0 log 0 = 0


def project(codes: np.ndarray, dims: int) -> tuple[np.ndarray, str]:
    """Codes ready to plot in `dims` (2 or 3) dimensions: raw when they fit, PCA otherwise."""
    k = codes.shape[1]
    if k <= dims:
        return codes, "raw code"
    fitted = pca.fit(codes, dims)
    share = fitted.explained[:dims].sum()
    return fitted.scores(codes), f"PCA of the {k}-dim code ({share:.0%} of its variance)"


def subsample(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Up to `limit` fixed indices out of n (all of them, in order, when n <= limit)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def knn_accuracy(train_codes: np.ndarray, train_y: np.ndarray, test_codes: np.ndarray, test_y: np.ndarray,
                 k: int = 5) -> float:
    """Share of test codes whose k nearest training codes vote for the right class (a label-free-feature probe)."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=min(k, len(train_codes)))
    clf.fit(train_codes, train_y)
    return float(clf.score(test_codes, test_y))
