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
from aelab.fields import Check
from aelab.limits import SAMPLE_ROW
from aelab.limits import TSNE_MIN  # noqa: F401 - re-exported: fewest points t-SNE is run on
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig, check_model
from aelab.vae import ACTIVE_THRESHOLD, active_units  # noqa: F401 - active_units re-exported

MAX_POINTS = 2_000  # held-out points drawn in the scatter; larger sets are subsampled
TSNE_CAP = 1_000  # most points t-SNE may embed (measured on a busy 2-core machine: 8 s in 2-D, 15 s in 3-D)
TSNE_ITER = 500  # gradient steps (sklearn's minimum is 250; its default 1000 doubles the wait)
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


SAME_SAMPLES = 0.1  # sample-distance ratios within 10% of each other count as the same


def compare_answer(ae: Holes, vae: Holes) -> str | None:
    """Whose samples land closer to real codes: "vae", "ae" or "same" (the Latent page question's options); None when
    a model gives every image the same code (nothing to compare)."""
    if not (math.isfinite(ae.ratio) and math.isfinite(vae.ratio)):
        return None
    if abs(ae.ratio - vae.ratio) < SAME_SAMPLES * min(ae.ratio, vae.ratio):
        return "same"
    return "vae" if vae.ratio < ae.ratio else "ae"


def compare_sentence(ae: Holes, vae: Holes, vae_ignores_input: bool = False) -> str:
    """AE (fitted Gaussian) vs VAE (prior) samples, in words built from the measured ratios; `vae_ignores_input`
    (vae.Health.ignores_input) adds why a collapsed VAE's samples land well."""
    answer = compare_answer(ae, vae)
    if answer is None:
        return ("One of the two models gives every image the same code, so the two cannot be compared: "
                "retrain it (longer, or with a lower learning rate or beta).")
    numbers = (f"AE {ae.ratio:.2f}x vs VAE {vae.ratio:.2f}x the held-out distance; {ae.share_in_holes:.0%} vs "
               f"{vae.share_in_holes:.0%} of samples in holes")
    if answer == "same":
        text = (f"Here both land about equally far from real codes ({numbers}): the KL term made no clear "
                "difference for this model — try a larger beta or more epochs.")
    else:
        text = f"The {'VAE' if answer == 'vae' else 'AE'}'s samples land closer to real codes ({numbers})."
    if vae_ignores_input:
        text += (" But this VAE ignores its input (see its health below): its codes are N(0, I) noise whatever the "
                 "image, so samples land among them without meaning anything.")
    return text


def other_kind(spec: ArchSpec) -> ArchSpec:
    """The same architecture as the other model type: an AE becomes a VAE and a VAE an AE (a VAE's code stays free
    of an activation: a sparse AE's ReLU code is left out of its twin)."""
    if spec.kind == "vae":
        return replace(spec, kind="ae")
    return replace(spec, kind="vae", code_activation="identity")


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


# -- what the Latent space page shows --------------------------------------------------------------
KIND_NAME = {"ae": "autoencoder", "vae": "VAE"}
TEXT = {  # the page's fixed explanations (definitions; every measured statement is built from its numbers below)
    "intro": "Every image becomes a short list of numbers, its **code**. Here you can see where the codes land, "
             "decode any point you like, walk between two images, and draw new codes at random to generate images "
             "— and see why that works better with a variational autoencoder.",
    "nan": "This model's codes contain NaN or infinite values, so there is no code space to explore. Retrain it on "
           "Build & Train with a lower learning rate.",
    "raw sliders": "One slider per code number. They start at the selected image's code; move them and the decoder "
                   "draws the code you set.",
    "line grid": "A 1-number code is a line: the grid reads it row by row, from its low end to its high end.",
    "plane grid": "The lattice spans the code range (1% of outliers ignored at each end), high z2 on top.",
    "ae samples": "The decoder only ever saw the training codes. Where a sample falls between them, in a 'hole', "
                  "nothing told the decoder what to draw, so samples there can look like nothing in the data set.",
    "compare": "The autoencoder's samples come from a Gaussian fitted to its codes; the VAE's from N(0, I), the "
               "distribution its KL term pulls its codes towards. Distances are measured against the codes each "
               "decoder was trained on.",
}


def subsample_text(n: int, shown: int) -> str:
    """Why the chart shows fewer points than the held-out set has."""
    return (f"The held-out set has {n:,} images: the chart shows a fixed random {shown:,} of them so it stays quick "
            "(the CSV below has all of them).")


def lattice_text(span: float, across: str, down: str) -> str:
    """Where a lattice over two principal directions lies."""
    return (f"The lattice starts at the mean code and moves ±{span:g} standard deviations along {across} (across) "
            f"and {down} (down); all other directions stay at the mean.")


def twin_text(run) -> str:
    """What the AE-vs-VAE tab will train: the other model type with the session model's layers."""
    target = other_kind(run.spec)
    return (f"To compare, train a **{KIND_NAME[target.kind]}** with the same layers ({target.describe()}) on the same "
            "data and settings. It runs in the background; the comparison appears when it is done.")


def model_caption(run, label: str) -> str:
    """Which model the page explores."""
    return (f"Session model: {KIND_NAME.get(run.spec.kind, run.spec.kind)} {run.spec.describe()} on {label}, "
            f"{run.epochs_done} epochs, a {run.spec.bottleneck}-number code.")


def side_caption(side: Side, mean_codes: np.ndarray, is_vae: bool) -> str:
    """One side of the AE-vs-VAE comparison in numbers: samples in holes (and a VAE's active code numbers)."""
    return (f"{side.holes.share_in_holes:.0%} of samples in holes" + (
        f" · {active_units(mean_codes)} of {mean_codes.shape[1]} code numbers active" if is_vae else ""))


def pca_sliders_text(dirs: Directions, k: int) -> str:
    """What the sliders move along when the code has too many numbers for one slider each."""
    return (f"The code has {k} numbers, too many for a slider each: the sliders move along the code's first "
            f"{len(dirs.names)} principal directions ({float(dirs.explained.sum()):.0%} of its variance), starting at "
            "the selected image's code.")


def walk_text(path: Walk) -> str:
    """What the two rows of an interpolation show, and where the decoded image jumps most."""
    return (f"Top: decoding evenly spaced codes on the straight line between the two codes (so its ends are the two "
            f"reconstructions). Bottom: blending the two pictures directly. The decoded image changes most between "
            f"steps {path.biggest_step + 1} and {path.biggest_step + 2} ({path.jump_ratio:.1f}x the average step).")


def active_text(mean_codes: np.ndarray) -> str:
    """How many of a VAE's code numbers carry information (active_units), in words."""
    active, k = active_units(mean_codes), mean_codes.shape[1]
    return ("For a VAE the 'training codes' are draws z = μ + σ·ε: those are what its decoder learned from. "
            f"{active} of its {k} code numbers carry information about the image (their mean varies across images "
            f"by more than {ACTIVE_THRESHOLD:g})" + ("; the others are ignored by the encoder." if active < k else ".")
            + (" With none active, every code decodes to about the same average image, however well the samples "
               "land." if active == 0 else ""))


def view_options(k: int) -> list[str]:
    """The code views offered for a k-number code (settings.LATENT_VIEWS lists them all)."""
    if k == 1:
        return ["strip (1-number code)"]
    if k == 2:
        return ["raw 2D"]
    if k == 3:
        return ["raw 3D", "PCA 2D", "t-SNE 2D"]
    return ["PCA 2D", "PCA 3D", "t-SNE 2D", "t-SNE 3D"]


def view_points(codes: np.ndarray, view: str) -> tuple[np.ndarray, str, str]:
    """Codes as a raw or PCA view draws them: (points (N, k) or (N, dims), axis name, chart title)."""
    if view.startswith("PCA") or view.startswith("t-SNE"):  # t-SNE falls back to PCA when it cannot run
        points, label = analysis.project(codes, 3 if "3D" in view else 2)
        return points, "PC", f"Held-out codes: {label}"
    return codes, "z", f"Held-out codes ({codes.shape[1]}-number code)"


@dataclass(frozen=True, eq=False)
class PointView:
    """One held-out image as the page shows it."""

    images: np.ndarray  # (2, D): the image and its reconstruction
    error: float  # its reconstruction error (mean squared error per value)
    code: dict  # table columns: code dims, their values and, for a VAE, the spread sigma of each


@torch.no_grad()
def point_view(model: Autoencoder, x: torch.Tensor) -> PointView:
    """The image x (1, D), its reconstruction, its error and its code values."""
    recon = analysis.reconstruct(model, x)  # (1, D)
    mu, logvar = model.encode_stats(x)  # (1, k) each; logvar is None for a plain autoencoder
    table = {"code dim": [f"z{i + 1}" for i in range(mu.shape[1])], "value": mu[0].numpy().round(4)}
    if logvar is not None:
        table["spread σ (VAE)"] = logvar[0].mul(0.5).exp().numpy().round(4)  # sigma = exp(log(sigma^2) / 2)
    return PointView(np.stack([x[0].numpy(), recon[0].numpy()]), float(analysis.per_sample_error(x, recon)[0]), table)


def slider_range(dirs: Directions, base: np.ndarray, train_codes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Where the decode sliders start (at `base`) and their (low, high) ends: the training codes' range plus 15%,
    widened to include the start: (m,) each."""
    start = dirs.coords(base)  # (m,)
    lo, hi = code_bounds(dirs.coords(train_codes), margin=0.15)
    return start, np.minimum(lo, start), np.maximum(hi, start)


def decode_one(model: Autoencoder, z: np.ndarray) -> np.ndarray:
    """One code (k,) -> its decoded output (D,)."""
    return analysis.decode(model, np.asarray(z, dtype=np.float32)[None, :])[0].numpy()  # (1, k) -> (D,)


def rows_of(images: np.ndarray, per_row: int) -> list[np.ndarray]:
    """(N, D) images as grid rows of `per_row` each (a lattice, a sample grid)."""
    return [images[i:i + per_row] for i in range(0, len(images), per_row)]


@dataclass(frozen=True, eq=False)
class Walk:
    """A straight line between two codes, decoded, beside the straight line between the two pictures."""

    through_code: np.ndarray  # (steps, D) decoded codes on the line
    cross_fade: np.ndarray  # (steps, D) the same blend of the two pictures in pixel space
    t: np.ndarray  # (steps,) position on the line, 0 to 1
    biggest_step: int  # i: the decoded image changes most between steps i + 1 and i + 2 (1-based)
    jump_ratio: float  # that change against the average step's


def walk(model: Autoencoder, codes: np.ndarray, images: torch.Tensor, a: int, b: int, steps: int) -> Walk:
    """Interpolate from held-out image a to b through the code space and, for comparison, in pixel space."""
    through_code = analysis.decode(model, interpolate(codes[a], codes[b], steps).astype(np.float32)).numpy()
    t = np.linspace(0, 1, steps)[:, None]  # (steps, 1)
    cross_fade = (1 - t) * images[a].numpy() + t * images[b].numpy()  # (steps, D)
    jumps = np.linalg.norm(np.diff(through_code, axis=0), axis=1)  # (steps-1,) image change per step
    return Walk(through_code, cross_fade, t[:, 0], int(jumps.argmax()), float(jumps.max() / max(jumps.mean(), 1e-12)))


def draw_samples(cache: CodeCache, sampler: str, n: int, seed: int) -> np.ndarray:
    """n codes from a Gaussian fitted to the training codes ("fitted") or from the prior N(0, I) ("prior")."""
    if sampler == "prior":
        return sample_prior(cache.train.shape[1], n, seed)
    return sample_gaussian(fit_gaussian(cache.train), n, seed)


def sample_holes(cache: CodeCache, sampler: str, seed: int) -> Holes:
    """The holes measure of 500 samples, against the codes the decoder was trained on (a VAE: draws from q(z|x))."""
    return holes(cache.train_draws, cache.test_draws, draw_samples(cache, sampler, 500, seed + 1))


def sample_images(model: Autoencoder, cache: CodeCache, sampler: str, n: int, seed: int) -> list[np.ndarray]:
    """n sampled codes decoded, as grid rows of SAMPLE_ROW images."""
    return rows_of(analysis.decode(model, draw_samples(cache, sampler, n, seed).astype(np.float32)).numpy(),
                   SAMPLE_ROW)


def overlay_points(cache: CodeCache, samples: np.ndarray,
                   limit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
    """Training codes (up to `limit`, default MAX_POINTS) with their labels, and sampled codes, in one 2-D view
    (raw for 2-number codes, else the training codes' first two principal directions): (N, 2), (N,), (S, 2), axis
    name; None for a 1-number code."""
    k = cache.train.shape[1]
    if k == 1:
        return None
    shown = analysis.subsample(len(cache.train), MAX_POINTS if limit is None else limit)
    labels = cache.train_labels[shown] if cache.train_labels is not None else np.zeros(len(shown), dtype=int)
    if k == 2:
        return cache.train[shown], labels, samples, "z"
    mean, axes, _ = principal_axes(cache.train, 2)
    return (cache.train[shown] - mean) @ axes.T, labels, (samples - mean) @ axes.T, "PC"  # (N, k) -> (N, 2)


def held_out_recon(run) -> float:
    """A run's last held-out reconstruction loss (a VAE's total loss also holds its KL term: take the recon part)."""
    recon = run.history.test_terms.get("recon")
    return recon[-1] if recon else run.test_loss


def tsne_view(cache: CodeCache, shown: np.ndarray, dims: int, requested: int) -> tuple[np.ndarray, np.ndarray, str]:
    """t-SNE of up to `requested` of the shown codes (capped, see tsne_plan), computed once per setting and kept in
    the cache: (points, their held-out indices, a note on the cap or ""). ValueError when t-SNE cannot run."""
    plan = tsne_plan(requested, len(shown))
    key = ("tsne", plan.n, dims, len(shown))
    if key not in cache.extra:
        cache.extra[key] = tsne(cache.test[shown], dims, limit=plan.n)
    points, idx = cache.extra[key]
    return points, shown[idx], plan.note or ""


@dataclass(frozen=True, eq=False)
class CodeView:
    """The held-out codes as a view draws them."""

    points: np.ndarray  # (n, dims) the points drawn
    indices: np.ndarray  # (n,) their held-out indices
    axis: str  # axis name: "z", "PC" or "t-SNE "
    title: str  # chart title
    note: str = ""  # why t-SNE uses fewer points than asked ("" when it uses them all)
    error: str = ""  # why t-SNE did not run, so the view shows PCA ("" when it ran)


def code_view(cache: CodeCache, shown: np.ndarray, view: str, tsne_points: int | None = None,
              refused: str = "") -> CodeView:
    """The shown codes (held-out indices) as `view` draws them. t-SNE runs on up to `tsne_points` of them (capped,
    cached); when it cannot (`refused` says why the requested size was refused, or t-SNE raised) the view falls
    back to PCA and `error` says so."""
    points, axis, title = view_points(cache.test[shown], view)
    pca = CodeView(points, shown, axis, title)
    if not view.startswith("t-SNE"):
        return pca
    if refused or tsne_points is None:
        return replace(pca, error=f"{refused} Showing PCA meanwhile.")
    try:
        embedded, idx, note = tsne_view(cache, shown, 3 if "3D" in view else 2, tsne_points)
    except ValueError as err:
        return replace(pca, error=f"{err} Showing PCA instead.")
    return CodeView(embedded, idx, "t-SNE ", f"Held-out codes: t-SNE of {len(idx):,} of them", note)


def encode_run(run, bundle) -> CodeCache:
    """A run's codes: of the held-out images, and of the training images it was trained on (its n_train subset)."""
    train = bundle.subset(run.cfg.n_train, seed=run.cfg.seed)
    return encode_sets(run, run.model, train.x_train, bundle.x_test, train.y_train)


def walk_title(bundle, a: int, b: int) -> str:
    """'**#3** (class 3) → **#9** (class 9)'."""
    names, y = bundle.class_names, bundle.y_test
    return f"**#{a}** (class {names[int(y[a])]}) → **#{b}** (class {names[int(y[b])]})"


def holes_metrics(h: Holes) -> list[tuple[str, str, str]]:
    """The holes measure as metrics: (label, value, help) each."""
    return [("Sample → nearest training code", f"{h.sample_dist:.3g}", "Median over 500 sampled codes."),
            ("Held-out image → nearest training code", f"{h.real_dist:.3g}", "Median over the held-out set."),
            ("Samples in holes", f"{h.share_in_holes:.0%}",
             f"Farther from every training code than {HOLE_QUANTILE:.0%} of held-out codes are.")]


def decoded_with(model: Autoencoder, z: np.ndarray, x_test: torch.Tensor, idx: int | None) -> tuple[np.ndarray, list]:
    """The code z decoded, beside held-out image idx (when one is selected): (n, D) images and their labels."""
    images, labels = [decode_one(model, z)], ["decoded from the sliders"]
    if idx is not None:
        images, labels = [*images, x_test[idx].numpy()], [*labels, f"image #{idx}"]
    return np.stack(images), labels


def code_text(z: np.ndarray, most: int = 16) -> str:
    """'Code: (0.12, -1.30, …)': the first `most` numbers of a code."""
    return "Code: (" + ", ".join(f"{v:.2f}" for v in z[:most]) + (", …)" if len(z) > most else ")")


def finite(cache: CodeCache) -> bool:
    """Every code is a finite number (a diverged model's are not)."""
    return bool(np.isfinite(cache.test).all() and np.isfinite(cache.train).all())


def valid_index(idx: int | None, n: int) -> int | None:
    """idx when it is an index of n items, else None (a selection left over from another model)."""
    return idx if idx is not None and 0 <= idx < n else None


def tsne_help() -> str:
    return f"t-SNE takes seconds per few hundred points; at most {TSNE_CAP:,} are used."


def codes_download(cache: CodeCache, bundle, dataset: str) -> dict:
    """The held-out codes as a CSV download: st.download_button's label, data, file name, type and help."""
    n, k = cache.test.shape
    return dict(label="⬇️ Codes with labels (CSV)", data=codes_csv(cache.test, bundle.y_test.numpy(), bundle.class_names),
                file_name=f"codes_{dataset}_k{k}.csv", mime="text/csv",
                help=f"All {n:,} held-out images: index, label, class and the {k} code numbers.")


def twin_of(entry: dict | None, run):
    """The trained twin stored for this very session model (the other model type), or None."""
    ok = entry and entry.get("base") is run and entry["run"].spec.kind != run.spec.kind
    return entry["run"] if ok else None


def twin_defaults(run) -> dict:
    """The twin's epochs and beta start at the session model's (a new VAE at the page's default beta)."""
    from aelab.settings import LATENT

    to_vae = run.spec.kind != "vae"
    return {"latent_other_epochs": run.cfg.epochs,
            "latent_other_beta": LATENT["latent_other_beta"].default if to_vae else run.cfg.beta}


def side_title(run) -> str:
    return (f"**{'VAE' if run.spec.kind == 'vae' else 'Autoencoder'}** · held-out reconstruction loss "
            f"{held_out_recon(run):.4f}")


def click_text(picked: list[int], three_d: bool) -> str:
    """How to pick an image in the code scatter (and which one is shown when several are selected)."""
    several = f"{len(picked)} points selected; showing the first one, #{picked[0]}. " if len(picked) > 1 else ""
    return (several + "Click a point to look at that image" + (" (in 3D views clicks may not register: type its "
            "index below)" if three_d else "") + ". Every figure's camera button (top right) saves it as a PNG.")


@dataclass(frozen=True, eq=False)
class Side:
    """One model of the AE-vs-VAE comparison, ready to draw."""

    points: np.ndarray  # (n, 2) its held-out codes in 2-D (raw, or PCA of longer codes)
    view: str  # what the 2-D view is ("raw code", "PCA of the 8-dim code (...)")
    axis: str  # axis name: "z" for raw codes, "PC" for principal components
    shown: np.ndarray  # (n,) the held-out indices drawn
    sampler: str  # "prior" (a VAE) or "fitted" (an AE)
    samples: list[np.ndarray]  # decoded samples, as grid rows
    holes: Holes  # the holes measure of its samples


def comparison_side(run, cache: CodeCache, seed: int, n_samples: int = 16) -> Side:
    """A model's code space, samples from its natural sampler (VAE: the prior, AE: a fitted Gaussian), and holes."""
    sampler = "prior" if run.spec.kind == "vae" else "fitted"
    shown = analysis.subsample(len(cache.test), MAX_POINTS)
    points, view = analysis.project(cache.test[shown], 2)
    return Side(points, view, "z" if view == "raw code" else "PC", shown, sampler, sample_images(run.model, cache, sampler, n_samples, seed),
                sample_holes(cache, sampler, seed))


def is_twin(other, base) -> bool:
    """`other` is a finished Run of the other model type of `base`, on the same data (AE vs VAE)."""
    return getattr(other, "spec", None) == other_kind(base.spec) and getattr(other, "dataset", None) == base.dataset


def other_setup(run, epochs: int, beta: float, n_available: int) -> tuple[ArchSpec, TrainConfig, Check]:
    """The other model type with the session model's layers and settings, for `epochs` (and `beta`, a VAE's),
    with every message about it."""
    spec = other_kind(run.spec)
    vae = spec.kind == "vae"  # a VAE's KL term already pulls its code to 0: no sparsity penalty on top
    cfg = replace(run.cfg, epochs=epochs, beta=beta if vae else run.cfg.beta, sparsity=0.0 if vae else run.cfg.sparsity)
    return spec, cfg, Check(errors=check_model(spec, cfg, n_available).errors)
