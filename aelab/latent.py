"""The code space of a trained model: pick points in it, walk through it, decode it and sample from it.

Pure functions for the Latent space page: plotly selections -> data-set indices, slider directions,
lattices and straight lines through the code space, Gaussian and prior sampling, the "holes" measure,
t-SNE with a point cap, and the codes as CSV.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from aelab import analysis, pca
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig

MAX_POINTS = 2_000  # held-out points drawn in the scatter; larger sets are subsampled
TSNE_CAP = 1_000  # most points t-SNE may embed (measured on a busy 2-core machine: 8 s in 2-D, 15 s in 3-D)
TSNE_ITER = 500  # gradient steps (sklearn's minimum is 250; its default 1000 doubles the wait)
TSNE_MIN = 20  # fewest points t-SNE is run on (its perplexity needs a neighbourhood)
MAX_RAW_SLIDERS = 16  # codes up to this size get one slider per dimension
PCA_SLIDERS = 8  # larger codes get sliders along this many principal directions
QUICK_SPEC = ArchSpec(64, encoder=(64, 32), bottleneck=2)  # the page's quick model: a drawable 2-number code
QUICK_CFG = TrainConfig(epochs=40, batch_size=64, lr=3e-3)  # a few seconds on one CPU core, on 8x8 digits
HOLE_QUANTILE = 0.95  # a sample is "in a hole" when farther than 95% of held-out codes are


# -- clicks -> indices -------------------------------------------------------------------------
def _as_index(value) -> int | None:
    """One customdata entry as a whole number, or None if it is not one."""
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            return None
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number != int(number):
        return None
    return int(number)


def selected_indices(event, n: int | None = None) -> list[int]:
    """Data-set indices of the points in a plotly selection (st.plotly_chart's return value or its dict).

    Accepts {"selection": {"points": [...]}} or {"points": [...]}; each point carries its index in
    "customdata" (a number or a list whose first entry is the number). Malformed points, indices
    outside 0..n-1 and repeats are dropped; the order of the selection is kept.
    """
    if not isinstance(event, Mapping):
        return []
    selection = event.get("selection", event)
    points = selection.get("points") if isinstance(selection, Mapping) else None
    if not isinstance(points, Sequence) or isinstance(points, (str, bytes)):
        return []
    out: list[int] = []
    for point in points:
        if not isinstance(point, Mapping):
            continue
        idx = _as_index(point.get("customdata"))
        if idx is None or idx < 0 or (n is not None and idx >= n) or idx in out:
            continue
        out.append(idx)
    return out


# -- ranges and directions ---------------------------------------------------------------------
def code_bounds(codes: np.ndarray, margin: float = 0.05, quantile: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension (low, high) of the codes, widened by `margin` of the span; (N, k) -> (k,), (k,).

    `quantile` > 0 ignores that share of outliers at each end. A dimension that never varies (a
    dead unit) gets the range value +- 1 so sliders and lattices still have room to move.
    """
    codes = np.asarray(codes, dtype=np.float64)
    lo = np.quantile(codes, quantile, axis=0) if quantile > 0 else codes.min(axis=0)  # (k,)
    hi = np.quantile(codes, 1 - quantile, axis=0) if quantile > 0 else codes.max(axis=0)  # (k,)
    span = hi - lo
    dead = span <= 1e-9
    lo, hi = lo - margin * span, hi + margin * span
    lo[dead], hi[dead] = lo[dead] - 1.0, hi[dead] + 1.0
    return lo, hi


def principal_axes(codes: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (k,), the first m principal directions as orthonormal rows (m, k), their variance shares (m,)."""
    fitted = pca.fit(codes, min(m, len(codes)))
    return fitted.mean, fitted.components, fitted.explained[:fitted.k]


@dataclass(frozen=True, eq=False)
class Directions:
    """Axes the decode sliders move along: the raw code dimensions, or principal directions of the codes."""

    mean: np.ndarray  # (k,) origin of the slider coordinates (zeros for raw dimensions)
    basis: np.ndarray  # (m, k) orthonormal rows, one per slider
    names: tuple[str, ...]  # slider labels: "z1", "z2", ... or "PC1", "PC2", ...
    explained: np.ndarray | None = None  # (m,) variance share of each principal direction; None for raw dims

    @property
    def is_raw(self) -> bool:
        return self.explained is None

    def coords(self, z: np.ndarray) -> np.ndarray:
        """Slider coordinates of codes: (N, k) -> (N, m), or (k,) -> (m,)."""
        return (np.asarray(z, dtype=np.float64) - self.mean) @ self.basis.T

    def to_code(self, coords: np.ndarray, base: np.ndarray) -> np.ndarray:
        """The code at slider position `coords`, keeping what the sliders do not reach from `base`: (m,) -> (k,)."""
        base = np.asarray(base, dtype=np.float64)  # (k,)
        return base + (np.asarray(coords, dtype=np.float64) - self.coords(base)) @ self.basis


def slider_directions(codes: np.ndarray, max_raw: int = MAX_RAW_SLIDERS, n_pca: int = PCA_SLIDERS) -> Directions:
    """One slider per code dimension for codes up to `max_raw` dims, else the first `n_pca` principal directions."""
    k = np.asarray(codes).shape[1]
    if k <= max_raw:
        return Directions(np.zeros(k), np.eye(k), tuple(f"z{i + 1}" for i in range(k)))
    mean, axes, ratio = principal_axes(codes, n_pca)
    return Directions(mean, axes, tuple(f"PC{i + 1}" for i in range(len(axes))), ratio)


# -- lattices and lines ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Lattice:
    """A regular grid of codes, row by row (top row first), ready to decode into an image grid."""

    codes: np.ndarray  # (rows * cols, k) codes, row-major
    rows: int  # grid rows
    cols: int  # grid columns
    x_values: np.ndarray  # (cols,) coordinate along the horizontal direction
    y_values: np.ndarray  # (rows,) coordinate along the vertical direction (top row first)
    x_name: str  # what the horizontal direction is ("z1", "PC1", ...)
    y_name: str  # what the vertical direction is


def lattice_codes(codes: np.ndarray, rows: int, cols: int, pair: tuple[int, int] = (0, 1), span: float = 2.0,
                  quantile: float = 0.01) -> Lattice:
    """A rows x cols lattice over the code range (2-dim codes) or over two principal directions (more dims).

    2 dims: from the low to the high end of each dimension (ignoring `quantile` outliers at each end).
    k > 2: the mean code plus a*PC_i + b*PC_j with a, b from -span to +span standard deviations.
    1 dim: one line of rows*cols values over the range, read row by row.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if rows < 1 or cols < 1:
        raise ValueError("A lattice needs at least one row and one column.")
    k = codes.shape[1]
    if k == 1:
        lo, hi = code_bounds(codes, margin=0.0, quantile=quantile)
        line = np.linspace(lo[0], hi[0], rows * cols)  # (R*C,)
        grid = line.reshape(rows, cols)
        return Lattice(line[:, None], rows, cols, grid[0], grid[:, 0], "z1", "z1 (next row)")
    if k == 2:
        lo, hi = code_bounds(codes, margin=0.0, quantile=quantile)
        xs = np.linspace(lo[0], hi[0], cols)  # (C,)
        ys = np.linspace(hi[1], lo[1], rows)  # (R,) high values on top, as in the scatter
        gx, gy = np.meshgrid(xs, ys)  # (R, C) each
        return Lattice(np.stack([gx.ravel(), gy.ravel()], axis=1), rows, cols, xs, ys, "z1", "z2")
    i, j = pair
    if i == j or min(i, j) < 0 or max(i, j) >= k:
        raise ValueError(f"Pick two different directions between 1 and {k}.")
    mean, axes, _ = principal_axes(codes, max(i, j) + 1)
    if max(i, j) >= len(axes):
        raise ValueError(f"Only {len(axes)} principal directions exist for these codes.")
    sd = np.std((codes - mean) @ axes.T, axis=0)  # (m,) spread along each direction
    xs = np.linspace(-span * sd[i], span * sd[i], cols)  # (C,)
    ys = np.linspace(span * sd[j], -span * sd[j], rows)  # (R,)
    gx, gy = np.meshgrid(xs, ys)  # (R, C) each
    grid = mean + gx.ravel()[:, None] * axes[i] + gy.ravel()[:, None] * axes[j]  # (R*C, k)
    return Lattice(grid, rows, cols, xs, ys, f"PC{i + 1}", f"PC{j + 1}")


def lattice(model: Autoencoder, codes: np.ndarray, rows: int, cols: int, pair: tuple[int, int] = (0, 1),
            span: float = 2.0) -> tuple[Lattice, np.ndarray]:
    """The lattice and its decoded images: (rows*cols, k) codes -> (rows*cols, D) outputs."""
    lat = lattice_codes(codes, rows, cols, pair, span)
    return lat, analysis.decode(model, lat.codes.astype(np.float32)).numpy()


def interpolate(z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
    """`steps` evenly spaced codes on the straight line from z_a to z_b, both ends exact: (k,), (k,) -> (steps, k)."""
    if steps < 2:
        raise ValueError("An interpolation needs at least 2 steps (the two end points).")
    z_a, z_b = np.asarray(z_a, dtype=np.float64), np.asarray(z_b, dtype=np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]  # (steps, 1)
    line = (1 - t) * z_a + t * z_b  # (steps, k)
    line[0], line[-1] = z_a, z_b
    return line


# -- sampling ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Gaussian:
    """A multivariate normal fitted to codes."""

    mean: np.ndarray  # (k,) mean code
    cov: np.ndarray  # (k, k) covariance of the codes


def fit_gaussian(codes: np.ndarray) -> Gaussian:
    """Mean and covariance of the codes (with a tiny ridge so a dead unit cannot make it singular)."""
    codes = np.asarray(codes, dtype=np.float64)
    if len(codes) < 2:
        raise ValueError("Fitting a Gaussian needs at least 2 codes.")
    cov = np.atleast_2d(np.cov(codes, rowvar=False))  # (k, k)
    ridge = 1e-6 * max(float(np.trace(cov)) / len(cov), 1e-12)
    return Gaussian(codes.mean(axis=0), cov + ridge * np.eye(len(cov)))


def sample_gaussian(g: Gaussian, n: int, seed: int = 0) -> np.ndarray:
    """n codes drawn from the fitted Gaussian: -> (n, k)."""
    return np.random.default_rng(seed).multivariate_normal(g.mean, g.cov, size=n, method="eigh")


def sample_prior(k: int, n: int, seed: int = 0) -> np.ndarray:
    """n codes from the VAE prior N(0, I): -> (n, k)."""
    return np.random.default_rng(seed).standard_normal((n, k))


@dataclass(frozen=True)
class Holes:
    """How far sampled codes land from the training codes, against how far held-out codes land."""

    sample_dist: float  # median distance from a sampled code to its nearest training code
    real_dist: float  # median distance from a held-out code to its nearest training code
    threshold: float  # HOLE_QUANTILE of the held-out distances
    share_in_holes: float  # fraction of sampled codes farther than `threshold` from every training code
    n_reference: int  # training codes searched

    @property
    def ratio(self) -> float:
        """How many times farther than a real held-out image a typical sample lands (1 = no holes)."""
        return self.sample_dist / self.real_dist if self.real_dist > 0 else math.inf


def nearest_distances(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query to its nearest reference point: (R, k), (Q, k) -> (Q,)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1).fit(np.asarray(reference, dtype=np.float64))
    dist, _ = nn.kneighbors(np.asarray(queries, dtype=np.float64))  # (Q, 1)
    return dist[:, 0]


def holes(train_codes: np.ndarray, test_codes: np.ndarray, samples: np.ndarray, max_reference: int = 5_000,
          seed: int = 0) -> Holes:
    """The holes measure: nearest-training-code distances of samples vs of held-out codes.

    Both kinds of query are outside the reference set, so the two medians are comparable. A ratio
    near 1 means samples land where real images land; a large ratio means they fall into empty
    regions of the code space, where the decoder never learned what to draw.
    """
    ref_idx = analysis.subsample(len(train_codes), max_reference, seed)
    reference = np.asarray(train_codes)[ref_idx]  # (R, k)
    real = nearest_distances(reference, test_codes)  # (M,)
    fake = nearest_distances(reference, samples)  # (S,)
    threshold = float(np.quantile(real, HOLE_QUANTILE))
    return Holes(float(np.median(fake)), float(np.median(real)), threshold, float(np.mean(fake > threshold)),
                 len(reference))


def holes_sentence(h: Holes, sampler: str) -> str:
    """What the holes measure shows, in words built from its numbers."""
    if h.real_dist <= 1e-9:
        return ("Every image gets (almost) the same code, so held-out codes sit right on the training codes and "
                "there is no code space to sample from: the encoder ignores its input. Train longer, or lower "
                "the learning rate (or beta for a VAE).")
    verdict = ("about where real images land" if h.ratio < 1.25 else
               "noticeably farther out than real images" if h.ratio < 2 else "far out in empty regions")
    return (f"Codes drawn from {sampler} land a median {h.sample_dist:.3g} from the nearest training code, "
            f"{h.ratio:.2f}x the distance of a held-out image's code ({h.real_dist:.3g}): {verdict}. "
            f"{h.share_in_holes:.0%} of them are farther out than {HOLE_QUANTILE:.0%} of held-out codes "
            f"(expected: {1 - HOLE_QUANTILE:.0%} if there were no holes).")


def compare_sentence(ae: Holes, vae: Holes) -> str:
    """AE (fitted Gaussian) vs VAE (prior) samples, in words built from the measured ratios."""
    if not (math.isfinite(ae.ratio) and math.isfinite(vae.ratio)):
        return ("One of the two models gives every image the same code, so the two cannot be compared: "
                "retrain it (longer, or with a lower learning rate or beta).")
    numbers = (f"AE {ae.ratio:.2f}x vs VAE {vae.ratio:.2f}x the held-out distance; {ae.share_in_holes:.0%} vs "
               f"{vae.share_in_holes:.0%} of samples in holes")
    if abs(ae.ratio - vae.ratio) < 0.1 * min(ae.ratio, vae.ratio):
        return (f"Here both land about equally far from real codes ({numbers}): the KL term made no clear "
                "difference for this model — try a larger beta or more epochs.")
    better = "VAE" if vae.ratio < ae.ratio else "AE"
    return f"The {better}'s samples land closer to real codes ({numbers})."


def other_kind(spec: ArchSpec) -> ArchSpec:
    """The same architecture as the other model type: an AE becomes a VAE and a VAE an AE."""
    return replace(spec, kind="ae" if spec.kind == "vae" else "vae")


# -- t-SNE -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TsnePlan:
    n: int  # points t-SNE will embed
    note: str | None  # why fewer points than asked are used (None when all asked points are used)


def tsne_plan(requested: int, available: int, cap: int | None = None) -> TsnePlan:
    """How many points t-SNE gets: what was asked, capped by `cap` (default TSNE_CAP) and by the points available."""
    cap = TSNE_CAP if cap is None else cap
    n = max(min(requested, cap, available), 0)
    if requested > cap and available > cap:
        return TsnePlan(n, f"t-SNE on {requested:,} points would take too long here: it runs on a random "
                           f"{cap:,} of them (the cap).")
    if requested > available:
        return TsnePlan(n, f"Only {available:,} points are available, so t-SNE uses all of them.")
    return TsnePlan(n, None)


def tsne(codes: np.ndarray, dims: int = 2, limit: int = TSNE_CAP, seed: int = 0,
         max_iter: int = TSNE_ITER) -> tuple[np.ndarray, np.ndarray]:
    """t-SNE of up to `limit` codes: (N, k) -> ((n, dims) points, (n,) positions of the codes used)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    idx = analysis.subsample(len(codes), min(limit, TSNE_CAP), seed)
    if len(idx) < TSNE_MIN:
        raise ValueError(f"t-SNE needs at least {TSNE_MIN} points (got {len(idx)}).")
    x = np.asarray(codes, dtype=np.float64)[idx]  # (n, k)
    if not np.isfinite(x).all():
        raise ValueError("Some codes are NaN or infinite, so t-SNE cannot place them.")
    if np.ptp(x, axis=0).max() <= 1e-12 * max(1.0, float(np.abs(x).max())):
        # sklearn's PCA start divides by the spread of identical points: NaNs, then a crash in native code
        raise ValueError("All these codes are identical: there is nothing for t-SNE to lay out.")
    perplexity = min(30.0, (len(idx) - 1) / 3)
    emb = TSNE(n_components=dims, perplexity=perplexity, init="pca", random_state=seed,
                max_iter=max(max_iter, 250))
    with threadpool_limits(limits=1):  # on a busy shared CPU, OpenMP threads spin-wait: 1 thread is far faster
        points = emb.fit_transform(x)  # (n, k) -> (n, dims)
    return points, idx


# -- export ------------------------------------------------------------------------------------
def codes_csv(codes: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
              indices: np.ndarray | None = None) -> str:
    """The codes as CSV text: index, label, class name, z1..zk (one row per image)."""
    codes = np.asarray(codes)
    idx = np.arange(len(codes)) if indices is None else np.asarray(indices)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["index", "label", "class", *[f"z{i + 1}" for i in range(codes.shape[1])]])
    for i, y, z in zip(idx, np.asarray(labels), codes):
        name = class_names[int(y)] if 0 <= int(y) < len(class_names) else str(int(y))
        writer.writerow([int(i), int(y), name, *[f"{v:.6g}" for v in z]])
    return buf.getvalue()


@dataclass
class CodeCache:
    """Codes of one model, computed once and reused while the page reruns (sliders, clicks)."""

    owner: object  # the Run these codes belong to; compared with `is`
    test: np.ndarray  # (M, k) held-out codes (a VAE: the mean of q(z|x))
    train: np.ndarray  # (N', k) training codes (a subsample for very large sets)
    train_draws: np.ndarray  # (N', k) codes the decoder was trained on: VAE mu + sigma*eps, AE = train
    test_draws: np.ndarray  # (M, k) the same for the held-out set
    train_labels: np.ndarray | None = None  # (N',) class of each training code, when known
    extra: dict = field(default_factory=dict)  # derived results (t-SNE embeddings, ...) keyed by their settings


@torch.no_grad()
def posterior_draws(model: Autoencoder, x: torch.Tensor, seed: int = 0, chunk: int = 8192) -> np.ndarray:
    """What the decoder sees in training: a VAE's z = mu + sigma * eps, an AE's plain code: (N, D) -> (N, k)."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(x), chunk):
        mu, logvar = model.encode_stats(x[i:i + chunk])  # (B, k), (B, k) or None
        if logvar is not None:
            mu = mu + torch.randn(mu.shape, generator=g) * torch.exp(0.5 * logvar)  # reparameterization
        out.append(mu)
    return torch.cat(out).numpy()


def encode_sets(owner: object, model: Autoencoder, x_train: torch.Tensor, x_test: torch.Tensor,
                y_train: torch.Tensor | None = None, max_train: int = 20_000) -> CodeCache:
    """Held-out codes and (up to `max_train`) training codes of `model`, wrapped for reuse."""
    model = model.cpu().eval()
    keep = torch.as_tensor(analysis.subsample(len(x_train), max_train))  # (N',)
    x_sub = x_train[keep]  # (N', D)
    labels = None if y_train is None else y_train[keep].numpy()
    return CodeCache(owner, analysis.encode(model, x_test), analysis.encode(model, x_sub),
                     posterior_draws(model, x_sub, seed=1), posterior_draws(model, x_test, seed=2), labels)


def active_units(mean_codes: np.ndarray, threshold: float = 0.01) -> int:
    """VAE code dimensions whose mean code varies across images (variance > threshold).

    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders" (2016), Sec. 5.2: a unit is
    active when Cov_x(E_q[z_u | x]) > 0.01; inactive units ignore the input (posterior collapse).
    """
    return int(np.sum(np.var(np.asarray(mean_codes), axis=0) > threshold))
