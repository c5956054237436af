"""See inside the network while it learns: its weights as images, and trails of code points across updates.

Both work from what a live job already publishes (a state dict, the codes of a fixed set of points), so a page
redraws them twice a second without touching the training thread.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from aelab import analysis, conv, figures

MAX_FILTERS = 64  # filters shown per side, strongest first (784-128: half of them; all of 64-128's first 64)
NEAR_ZERO = 0.1  # a filter whose norm is under this fraction of the largest one counts as "near zero"
SMOOTH, NOISY = 0.5, 0.85  # roughness below SMOOTH reads as strokes/blobs, above NOISY as noise (1 = pure noise)
TRAIL_LENGTH = 6  # code positions kept per point (the current one and five before it)
TRAIL_POINTS = 150  # fixed held-out points whose trails are drawn


# -- weights as images -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterSet:
    """One layer's filters as flat images, strongest first."""

    name: str  # "encoder" or "decoder"
    what: str  # where they come from, e.g. "rows of the first Linear (128, 784)"
    images: np.ndarray  # (n, h*w) float32, ordered by norm, largest first
    units: np.ndarray  # (n,) the unit (row / column / channel) each image belongs to
    norms: np.ndarray  # (n,) L2 norm of each image, descending
    shape: tuple[int, int]  # (h, w) of one image
    mask: np.ndarray | None  # (h*w,) bool: the pixels the roughness is measured on (None = all)
    total: int = 0  # filters the layer has (the images are the strongest MAX_FILTERS of them)

    @property
    def near_zero(self) -> int:
        """How many filters have a norm under NEAR_ZERO times the largest norm."""
        return int((self.norms < NEAR_ZERO * self.norms.max()).sum()) if len(self.norms) and self.norms.max() > 0 \
            else len(self.norms)

    def roughness(self) -> np.ndarray:
        """(n,) each filter's roughness: see `roughness`."""
        return roughness(self.images, self.shape, self.mask)


def roughness(images: np.ndarray, shape: tuple[int, int], mask: np.ndarray | None = None) -> np.ndarray:
    """Mean squared difference of neighbouring pixels over twice the pixel variance, per image: (n, h*w) -> (n,).

    For independent noise E[(a - b)^2] = 2 Var, so noise scores 1 whatever its scale; smooth strokes and blobs
    score near 0; a checkerboard up to 2. With a mask, only pairs of pixels both inside it count (the encoder's
    weights on pixels the data never inks get no gradient and keep their random start).
    """
    h, w = shape
    img = images.reshape(len(images), h, w)  # (n, h*w) -> (n, h, w)
    m = np.ones((h, w), bool) if mask is None else np.asarray(mask, bool).reshape(h, w)
    diffs, counts = np.zeros(len(images)), 0
    for a, b, ma in ((img[:, :, 1:], img[:, :, :-1], m[:, 1:] & m[:, :-1]),
                     (img[:, 1:, :], img[:, :-1, :], m[1:, :] & m[:-1, :])):
        diffs += ((a - b) ** 2)[:, ma].sum(axis=1)
        counts += int(ma.sum())
    var = img[:, m].var(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (diffs / max(counts, 1)) / (2 * var)
    return np.where(var > 0, out, 0.0)


def pixel_mask(x_train: torch.Tensor) -> np.ndarray:
    """(D,) True for pixels that carry some ink somewhere in the training set."""
    return (x_train.amax(dim=0) > 0).numpy()


def _weights(state: dict, side: str) -> list[torch.Tensor]:
    return [v for k, v in state.items() if k.startswith(f"{side}.") and k.endswith(".weight")]


def filter_sets(state: dict, input_dim: int, mask: np.ndarray | None = None,
                max_filters: int = MAX_FILTERS) -> tuple[FilterSet, FilterSet]:
    """The first encoder layer's and the last decoder layer's filters as images, from a state dict.

    Dense: the rows of the first Linear weight (H, D) and the columns of the last one (D, H), each reshaped to
    the image (8x8 or 28x28; other data as a 1-pixel-high strip). Conv: the first Conv2d's filters (C, 1, 3, 3)
    and the last ConvTranspose2d's (C, 1, 3, 3), as 3x3 images.
    """
    first, last = _weights(state, "encoder")[0], _weights(state, "decoder")[-1]
    if first.dim() == 4:  # conv: (C, 1, 3, 3) and ConvTranspose2d's (C_in, 1, 3, 3)
        enc = first.reshape(first.shape[0], -1)  # (C, 1, 3, 3) -> (C, 9)
        dec = last.reshape(last.shape[0], -1)
        shape, what, mask = tuple(first.shape[2:]), ("filters of the first conv", "filters of the last transposed "
                                                                                 "conv"), None
    else:
        enc, dec = first, last.T  # (H, D), and (D, H) -> (H, D)
        side = conv.image_side(input_dim)
        shape = (side, side) if side else (1, input_dim)
        what = (f"rows of the first Linear {tuple(first.shape)}", f"columns of the last Linear {tuple(last.shape)}")
    return (_ordered("encoder", what[0], enc, shape, mask, max_filters),
            _ordered("decoder", what[1], dec, shape, None, max_filters))


def _ordered(name: str, what: str, w: torch.Tensor, shape, mask, max_filters: int) -> FilterSet:
    images = w.detach().float().cpu().numpy()  # (n, h*w)
    norms = np.linalg.norm(images, axis=1)
    order = np.argsort(-norms, kind="stable")[:max_filters]
    return FilterSet(name, what, images[order], order, norms[order], tuple(shape), mask, len(images))


def describe(fs: FilterSet, total: int | None = None, reference: float | None = None) -> str:
    """A sentence about one set of filters, computed from them: how many are near zero, how smooth they are.

    `reference` is the median roughness of the data's own images (data_roughness): 8x8 digits score about 0.48,
    MNIST digits 0.22, so "smooth" is judged against the images rather than a fixed number when it is given.
    """
    n = len(fs.norms)
    total = total or fs.total or n
    shown = f"the {n} strongest of {total} shown" if total > n else f"all {n} shown"
    zero = fs.near_zero
    zero_text = ("none is near zero" if zero == 0 else f"{zero} {'is' if zero == 1 else 'are'} near zero "
                 f"(norm under {NEAR_ZERO:.0%} of the largest: units the {fs.name} barely uses)")
    if zero == n:
        return f"{fs.name.capitalize()} ({fs.what}), {shown}: every filter is near zero, so there is nothing to see."
    rough = float(np.median(fs.roughness()[fs.norms >= NEAR_ZERO * fs.norms.max()]))
    where = " on the pixels the data uses" if fs.mask is not None and not fs.mask.all() else ""
    smooth, noisy = (SMOOTH, NOISY) if reference is None else (reference + 0.25 * (1 - reference),
                                                               reference + 0.75 * (1 - reference))
    scale = "1 = pixel-to-pixel noise, 0 = smooth" + ("" if reference is None else f", the images {reference:.2f}")
    if fs.shape[0] * fs.shape[1] <= 9:
        look = "3x3 filters are too small to call strokes; compare their patterns (edges, dots, flat)"
    elif rough <= smooth:
        look = "they look like smooth strokes and blobs" + ("" if reference is None else ", as smooth as the images")
    elif rough < noisy:
        look = "they are partly smooth, partly noise: structure is emerging"
    else:
        look = "they still look like noise, as the random starting weights do"
    return (f"{fs.name.capitalize()} ({fs.what}), {shown}: {zero_text}. Median roughness{where} {rough:.2f} "
            f"({scale}): {look}.")


def data_roughness(x: torch.Tensor, shape: tuple[int, int], limit: int = 1000) -> float:
    """Median roughness of up to `limit` of the data's own images (the reference for `describe`)."""
    sub = analysis.subsample(len(x), limit)
    return float(np.median(roughness(x[sub].numpy(), shape)))


def weights_figure(enc: FilterSet, dec: FilterSet, cols: int | None = None, height: int | None = None) -> go.Figure:
    """Both filter sets as one heatmap: encoder filters on top, decoder filters below, strongest first.

    Each set is divided by the 99.5th percentile of its absolute weights, so strong and weak filters of a set
    compare honestly (a near-zero filter looks blank); red is positive, blue negative, the gaps grey. Values go
    out as int8 levels (-127..127), which keeps the figure small enough to redraw twice a second.
    """
    h, w = enc.shape
    cols = cols or max(1, min(16, int(np.ceil(np.sqrt(max(len(enc.images), len(dec.images)) * 2)))))
    blocks, ticks, labels = [], [], []
    row = 0
    for fs in (enc, dec):
        n = len(fs.images)
        rows = int(np.ceil(n / cols))
        scale = float(np.quantile(np.abs(fs.images), 0.995)) or 1.0
        padded = np.full((rows * cols, h * w), np.nan, np.float32)
        padded[:n] = np.clip(fs.images / scale, -1, 1)
        block = figures.tile(padded.reshape(rows, cols, h * w), (h, w))  # (rows*(h+1)-1, cols*(w+1)-1)
        ticks.append(row + block.shape[0] / 2)
        labels.append(fs.name)
        blocks += [block, np.full((max(2, h // 2), block.shape[1]), np.nan, np.float32)]
        row += block.shape[0] + blocks[-1].shape[0]
    z = np.vstack(blocks[:-1])
    # int8 levels, -128 for the gaps: a quarter of float32's bytes on the wire (169 kB instead of 750 kB for 784-128)
    q = np.where(np.isnan(z), GAP, np.round(np.nan_to_num(z) * 127)).astype(np.int8)
    layout = dict(margin=dict(l=10, r=10, t=40, b=10), height=height or int(min(900, max(220, 3 * z.shape[0] + 60))),
                  title=dict(text="Weights as images (red +, blue −), strongest first"), plot_bgcolor="white",
                  xaxis=dict(showgrid=False, zeroline=False, showticklabels=False),
                  yaxis=dict(autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False,
                             tickvals=ticks, ticktext=labels), uirevision="weights")
    trace = dict(type="heatmap", z=q, colorscale=_SCALE, zmin=GAP, zmax=127, showscale=False, hoverinfo="skip")
    return figures.fast([trace], layout)


def weights_view(state: dict, input_dim: int, mask: np.ndarray | None = None, reference: float | None = None,
                 max_filters: int = MAX_FILTERS, title: str = "", height: int | None = None
                 ) -> tuple[go.Figure, list[str]]:
    """What a page draws of a state dict (a finished model's, or a live job's latest copy): both filter sets as one
    figure (weights_figure, `height` as there) and a caption per set computed from them (describe; `mask` and
    `reference` as there)."""
    enc, dec = filter_sets(state, input_dim, mask, max_filters)
    fig = weights_figure(enc, dec, height=height)
    if title:
        fig.layout.title.text = title
    return fig, [describe(fs, reference=reference) for fs in (enc, dec)]


GAP = -128  # the int8 value of the gaps between filters
_STEP = 0.5 / 255  # half a level on the colorscale's 0..1 axis (which spans GAP..127)
_SCALE = [[0, "#e8e8e8"], [_STEP, "#e8e8e8"], [_STEP, "#2166ac"], [0.25, "#92c5de"], [128 / 255, "#ffffff"],
          [0.75, "#f4a582"], [1, "#b2182b"]]  # gaps light grey; -1 blue, 0 white, +1 red (ColorBrewer RdBu)


# -- code trails -------------------------------------------------------------------------------------
class CodeTrails:
    """The last few code positions of a fixed set of points, one per live update (a ring buffer of arrays)."""

    def __init__(self, indices: np.ndarray, labels: np.ndarray, length: int = TRAIL_LENGTH):
        self.indices = np.asarray(indices)  # (n,) data-set index of each tracked point
        self.labels = np.asarray(labels)  # (n,) its class
        self.frames: deque[np.ndarray] = deque(maxlen=length)  # each (n, k), oldest first
        self.last_key: object = None  # the update the newest frame came from (e.g. a job's version)

    def push(self, codes: np.ndarray, key: object = None) -> bool:
        """Add the codes of one update, (n, k); an update with the same key as the last is ignored. True if added."""
        codes = np.asarray(codes, dtype=np.float32)
        if key is not None and key == self.last_key:
            return False
        if self.frames and self.frames[-1].shape != codes.shape:
            self.frames.clear()  # another model: the old positions mean nothing in its code space
        self.frames.append(codes)
        self.last_key = key
        return True

    def positions(self, dims: int) -> tuple[np.ndarray, str]:
        """(T, n, dims) positions, oldest first, and how they were projected.

        A code of up to `dims` numbers is drawn raw; a longer one by PCA fitted on all kept frames together, so
        every frame shares one basis (each redraw may still flip an axis, as the live code scatter does).
        """
        stack = np.stack(list(self.frames))  # (T, n, k)
        t, n, k = stack.shape
        if k <= dims:
            return stack, "raw code"
        flat, how = analysis.project(stack.reshape(t * n, k), dims)  # (T*n, k) -> (T*n, dims), one PCA basis
        return flat.reshape(t, n, dims), how


def trail_points(labels: torch.Tensor, limit: int = TRAIL_POINTS) -> np.ndarray:
    """Fixed held-out indices to track (the same ones on every update)."""
    return analysis.subsample(len(labels), limit, seed=1)


def trails_figure(trails: CodeTrails, class_names, dims: int = 2, height: int = 480,
                  title: str = "Code space with trails") -> go.Figure:
    """The tracked points where they are now (colored by class) and where they were (grey lines, older = fainter)."""
    pos, how = trails.positions(dims)  # (T, n, d)
    d = pos.shape[2]
    data, layout = figures.latent_parts(pos[-1], trails.labels, class_names, title=f"{title}: {how}",
                                        indices=trails.indices, height=height)
    t = len(pos) if d >= 2 else 1  # a 1-number code is drawn as a strip jittered by class: no room for trails
    for age in range(1, t):  # the segment from frame t-1-age to t-age; age 1 is the newest
        a, b = pos[t - 1 - age], pos[t - age]  # (n, d) each
        seg = np.stack([a, b, np.full_like(a, np.nan)], axis=1).reshape(-1, d)  # (3n, d): a, b, gap per point
        opacity = 0.7 * (1 - (age - 1) / max(t - 1, 1))
        trace = dict(mode="lines", line=dict(color=f"rgba(90,90,90,{opacity:.2f})", width=2), hoverinfo="skip",
                     showlegend=False, connectgaps=False, x=seg[:, 0], y=seg[:, 1])
        data.append(trace | (dict(type="scatter3d", z=seg[:, 2]) if d >= 3 else dict(type="scatter")))
    return figures.fast(data, layout)
