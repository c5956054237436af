"""Principal component analysis, written once: the code views, slider axes and lattices, the per-layer
statistics, the PCA lab and its lesson all call this module (numpy only, no torch)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT_VIEW_WIDTH = 64  # a 2-D view of data up to this wide is exact; wider data use randomized SVD

# How PCA is computed here, and why (the one place that says it):
# - From the eigendecomposition of X^T X (d x d), or, for the variances alone when there are fewer points
#   than features, of X X^T (N x N): both hold the same nonzero eigenvalues, and either is cheaper than an
#   SVD of X itself (a 60,000 x 784 training set, a 1,000 x 4,096 layer).
# - Eigenvalues in float64. `fit` also forms X^T X in float64: the PCA lab compares a network's error with
#   PCA's to a fraction of a percent, and PCA's training error is the sum of the dropped eigenvalues, small
#   ones included, which float32 products would lose below ~1e-7 of the largest. `variances` takes the
#   product in the caller's precision: the layer statistics pass float32 activations, where "how many
#   directions hold 95%" needs no more, and the N x N product of a 4,096-wide layer takes half the time.
# - A 2-D view of data wider than EXACT_VIEW_WIDTH uses randomized SVD (Halko, Martinsson & Tropp 2011,
#   "Finding structure with randomness", Alg. 4.4 with power iterations): a picture needs only the top two
#   directions, which it finds without solving the whole d x d problem.
# - Variances divide by N, not N - 1: then PCA's training MSE per feature is exactly sum(dropped) / d.
# - Signs: each direction is flipped so that its largest-magnitude entry is positive (scikit-learn's
#   convention), so the same data always give the same picture, never its mirror image.


@dataclass(frozen=True, eq=False)
class Pca:
    """A fitted PCA: the mean, the top-k directions and the variance along every direction."""

    mean: np.ndarray  # (d,) float64 mean of the fitted rows, subtracted before projecting
    components: np.ndarray  # (k, d) top-k principal directions as orthonormal rows, largest variance first
    eigenvalues: np.ndarray  # (d,) variance along every principal direction (covariance / N), largest first

    @property
    def k(self) -> int:
        return self.components.shape[0]

    @property
    def explained(self) -> np.ndarray:
        """(d,) share of the total variance along each direction (all 0 for constant data)."""
        total = float(self.eigenvalues.sum())
        return self.eigenvalues / total if total > 0 else np.zeros_like(self.eigenvalues)

    def scores(self, x) -> np.ndarray:
        """Coordinates along the k directions: (N, d) -> (N, k), float64."""
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.components.T

    def reconstruct(self, x) -> np.ndarray:
        """Project onto the k-dimensional subspace and back: x_hat = mean + (x - mean) V^T V, (N, d) -> (N, d)."""
        return self.scores(x) @ self.components + self.mean


def _signs(vectors: np.ndarray) -> np.ndarray:
    """(m, d) rows -> (m,) +-1: the sign that makes each row's largest-magnitude entry positive."""
    if vectors.size == 0:
        return np.ones(len(vectors))
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])  # (m,)
    return np.where(signs == 0, 1.0, signs)


def fit(x, k: int) -> Pca:
    """The top-k principal directions of the rows of x (N, d), in float64 (k is capped at d)."""
    xs = np.asarray(x, dtype=np.float64)  # (N, d)
    mean = xs.mean(axis=0)  # (d,)
    centered = xs - mean  # (N, d)
    cov = centered.T @ centered / max(len(xs), 1)  # (d, d)
    evals, evecs = np.linalg.eigh(cov)  # ascending
    evals, evecs = evals[::-1].clip(min=0.0), evecs[:, ::-1]  # largest first; tiny negatives are rounding
    top = evecs[:, :min(k, xs.shape[1])].T  # (k, d)
    return Pca(mean, top * _signs(top)[:, None], evals.copy())


def variances(xc: np.ndarray, gram: np.ndarray | None = None) -> np.ndarray:
    """Variances along the principal directions of centered (N, d) data, largest first: (d,), 0 past the rank.

    Uses the smaller of X^T X and the Gram matrix X X^T (pass `gram` if you have it).
    """
    n, d = xc.shape
    if d <= n:
        small = xc.T @ xc  # (d, d)
    else:
        small = gram if gram is not None else xc @ xc.T  # (N, N)
    ev = np.linalg.eigvalsh(np.asarray(small, dtype=np.float64))[::-1] / max(n, 1)
    return np.pad(np.clip(ev, 0.0, None)[:d], (0, max(d - len(ev), 0)))


def view(xc: np.ndarray, k: int = 2, seed: int = 0) -> np.ndarray:
    """Centered (N, d) -> (N, min(d, k)) float32 scores for a picture (randomized above EXACT_VIEW_WIDTH)."""
    n, d = xc.shape
    k = min(d, k)
    if d <= EXACT_VIEW_WIDTH:
        scores = fit(xc, k).scores(xc)  # (N, k)
    else:
        from sklearn.utils.extmath import randomized_svd

        u, s, vt = randomized_svd(xc, k, n_iter=4, random_state=seed, flip_sign=False)
        scores = u * s * _signs(vt)  # (N, k), signs by the same rule as `fit`
    return scores.astype(np.float32)
