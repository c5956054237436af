"""Draw your own input: the canvas's bitmap, preprocessed exactly as the data set was, then measured by a model.

MNIST (LeCun et al., the MNIST database page): each digit's bounding box was fitted into 20x20 pixels keeping its
aspect ratio (anti-aliased), then placed in 28x28 so that its centre of mass sits at the centre. Digits (UCI
"optdigits", shipped with scikit-learn): 32x32 bitmaps, size-normalized, counted in 4x4 blocks to 8x8 values
0..16. The canvas sends its ink as a GRID x GRID bitmap, a multiple of both image sides.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from aelab import analysis, figures, latent
from aelab.model import Autoencoder

GRID = 112  # side of the bitmap the canvas sends: 4 x 28 (MNIST) and 14 x 8 (Digits)
CANVAS_PX = 280  # side of the canvas on the page, in CSS pixels
BRUSH_PX = 20  # brush diameter on the canvas (a digit drawn ~220 px tall gets strokes like MNIST's)
INK_MIN = 1 / 255  # a bitmap pixel with any ink belongs to the bounding box (MNIST's box holds its grey fringe)
SOLID = 0.5  # ... and one with at least this much is solid ink
MIN_INK_PIXELS = 4  # fewer solid bitmap pixels than this is an empty drawing (a stray click)
MNIST_BOX, MNIST_SIDE = 20, 28  # the bounding box is fitted into 20x20 inside a 28x28 field
MNIST_CENTRE = 14.0  # where MNIST's centres of mass sit (measured on its test images: 13.99, 14.00)
DIGITS_BITMAP, DIGITS_BLOCK = 32, 4  # Digits: a 32x32 bitmap counted in 4x4 blocks -> 8x8 values 0..16
REFERENCE_POINTS = 2000  # held-out codes drawn around the learner's code


class DrawingError(ValueError):
    """The drawing cannot be used; the message says what to do."""


def decode(payload) -> np.ndarray:
    """The canvas's state value -> (GRID, GRID) ink in [0, 1]. Raises DrawingError for anything malformed.

    The canvas sends {"size": GRID, "ink": base64 of GRID*GRID bytes (ink 0..255, row by row), "strokes": n}.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("ink"), str):
        raise DrawingError("Nothing drawn yet: draw a digit (or anything) on the canvas.")
    if not payload["ink"]:
        raise DrawingError("The canvas is empty: draw something first (a digit works best).")
    if payload.get("size") != GRID or len(payload["ink"]) > 4 * GRID * GRID:
        raise DrawingError("The canvas sent a bitmap of an unexpected size; press Clear and draw again.")
    try:
        raw = base64.b64decode(payload["ink"], validate=True)
    except (ValueError, TypeError):
        raise DrawingError("The canvas sent a damaged bitmap; press Clear and draw again.") from None
    if len(raw) != GRID * GRID:
        raise DrawingError("The canvas sent a bitmap of an unexpected size; press Clear and draw again.")
    return np.frombuffer(raw, dtype=np.uint8).reshape(GRID, GRID).astype(np.float32) / 255.0  # (GRID*GRID,) -> 2D


def encode(ink: np.ndarray) -> dict:
    """The inverse of `decode` (what the canvas sends), for tests and benchmarks: (GRID, GRID) in [0, 1] -> dict."""
    data = np.clip(np.round(np.asarray(ink) * 255), 0, 255).astype(np.uint8).tobytes()
    return {"size": GRID, "ink": base64.b64encode(data).decode("ascii"), "strokes": 1}


def _bbox(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels with ink >= INK_MIN, bottom/right exclusive."""
    on = ink >= INK_MIN
    if (ink >= SOLID).sum() < MIN_INK_PIXELS:
        raise DrawingError("The canvas is empty: draw something first (a digit works best).")
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _fit(ink: np.ndarray, box: int) -> np.ndarray:
    """Crop to the ink's bounding box and resize so that its longer side is `box` pixels (aspect kept).

    Shrinking averages the source pixels each target pixel covers (area interpolation: anti-aliased, and exact
    when a source block maps onto one pixel); a drawing smaller than the box is enlarged bilinearly."""
    top, bottom, left, right = _bbox(ink)
    crop = torch.from_numpy(np.ascontiguousarray(ink[top:bottom, left:right]))[None, None]  # (h, w) -> (1, 1, h, w)
    h, w = crop.shape[2:]
    scale = box / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size[0] <= h and size[1] <= w:
        return F.interpolate(crop, size=size, mode="area")[0, 0].numpy()
    return F.interpolate(crop, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


def _place(img: np.ndarray, side: int, top: int, left: int) -> np.ndarray:
    """`img` pasted into a zero side x side field at (top, left); what falls outside is cut off."""
    out = np.zeros((side, side), np.float32)
    h, w = img.shape
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, side), min(left + w, side)
    if t1 > t0 and l1 > l0:
        out[t0:t1, l0:l1] = img[t0 - top:t1 - top, l0 - left:l1 - left]
    return out


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink -> (784,) in [0, 1] as MNIST was made: bounding box into 20x20 (aspect kept, anti-aliased),
    centre of mass moved to the centre of 28x28 (to the nearest pixel), darkest pixel scaled to 1."""
    img = np.clip(_fit(ink, MNIST_BOX), 0, None)  # longer side 20
    h, w = img.shape
    mass = img.sum()
    cy = (img.sum(axis=1) * np.arange(h)).sum() / mass  # centre of mass in the fitted image
    cx = (img.sum(axis=0) * np.arange(w)).sum() / mass
    out = _place(img, MNIST_SIDE, int(round(MNIST_CENTRE - cy)), int(round(MNIST_CENTRE - cx)))
    return (out / out.max()).reshape(-1)  # (28, 28) -> (784,)


def to_digits(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink -> (64,) in [0, 1] as the Digits were made: bounding box fitted into 32x32 (aspect kept) and
    centred, then the ink in each 4x4 block added up and rounded to 0..16, divided by 16.

    The original bitmaps were black and white, so a block's count was its number of inked pixels; an anti-aliased
    canvas adds up each pixel's share of ink, which is the same count for solid strokes."""
    img = np.clip(_fit(ink, DIGITS_BITMAP), 0, 1)
    h, w = img.shape
    bitmap = _place(img, DIGITS_BITMAP, (DIGITS_BITMAP - h) // 2, (DIGITS_BITMAP - w) // 2)  # centred by its box
    n = DIGITS_BITMAP // DIGITS_BLOCK
    counts = bitmap.reshape(n, DIGITS_BLOCK, n, DIGITS_BLOCK).sum(axis=(1, 3))  # (32, 32) -> (8, 4, 8, 4) -> (8, 8)
    return (np.round(counts) / DIGITS_BLOCK ** 2).reshape(-1)  # (8, 8) -> (64,)


PREPROCESS = {784: to_mnist, 64: to_digits}  # input_dim -> how a drawing becomes one sample


def preprocess(ink: np.ndarray, input_dim: int) -> np.ndarray:
    """A drawing as one sample of a data set with `input_dim` pixels; DrawingError for non-image data."""
    if input_dim not in PREPROCESS:
        raise DrawingError(f"This model reads {input_dim} numbers per sample, not an 8x8 or 28x28 image, so a "
                           "drawing cannot be fed to it. Train a model on Digits, MNIST or Fashion-MNIST.")
    return PREPROCESS[input_dim](ink).astype(np.float32)


def upsample(image: np.ndarray, side: int, mode: str = "nearest") -> np.ndarray:
    """A data-set image (side*side,) drawn on the canvas's bitmap: (GRID, GRID), each pixel a GRID/side block
    ("nearest") or smoothly interpolated ("bilinear"). Used to test that preprocessing gives the image back."""
    img = torch.as_tensor(np.asarray(image, np.float32).reshape(1, 1, side, side))  # (side*side,) -> (1, 1, s, s)
    kw = {} if mode == "nearest" else {"align_corners": False}
    return F.interpolate(img, size=(GRID, GRID), mode=mode, **kw)[0, 0].clamp(0, 1).numpy()


def random_test_index(n: int) -> int:
    """A random held-out index (0..n-1), for 'Try a test image instead'."""
    return int(np.random.default_rng().integers(n))


def test_image_ink(bundle, i: int) -> tuple[np.ndarray, str]:
    """Held-out image `i` of a DataBundle drawn on the canvas's grid, (GRID, GRID), and how to name it: the same path
    a drawing takes, so its preprocessing gives it (nearly) back."""
    ink = upsample(bundle.x_test[i].numpy(), bundle.image_shape[0], "bilinear")
    return ink, (f"held-out image #{i} ({bundle.class_names[int(bundle.y_test[i])]}), drawn on the canvas's grid and "
                 "put through the same preprocessing")


# -- what the model makes of it ------------------------------------------------------------------
@dataclass(eq=False)
class Reference:
    """A model's held-out errors and code positions, computed once per model (the drawing is placed among them)."""

    owner: object  # the Run this belongs to (compared with `is`)
    errors: np.ndarray  # (M,) per-image MSE of every held-out image
    points: np.ndarray  # (n, d) projected codes of up to REFERENCE_POINTS held-out images
    labels: np.ndarray  # (n,) their classes
    indices: np.ndarray  # (n,) their held-out indices
    mean: np.ndarray  # (k,) centre of the projection
    basis: np.ndarray  # (d, k) orthonormal rows (the identity for codes of up to 3 numbers)
    how: str  # "raw code" or "PCA of the k-dim code (..% of its variance)"

    def project(self, codes: np.ndarray) -> np.ndarray:
        """(N, k) -> (N, d), exactly as the held-out points were projected."""
        return (np.asarray(codes, np.float64) - self.mean) @ self.basis.T


def reference(owner: object, model: Autoencoder, x_test: torch.Tensor, y_test: torch.Tensor,
              dims: int = 2) -> Reference:
    """Held-out errors and projected codes of `model` (PCA to `dims` when the code is longer)."""
    errors = analysis.per_sample_error(x_test, analysis.reconstruct(model, x_test))
    sub = analysis.subsample(len(x_test), REFERENCE_POINTS)
    codes = analysis.encode(model, x_test[sub])  # (n, k)
    k = codes.shape[1]
    if k <= dims:
        mean, basis, how = np.zeros(k), np.eye(k), "raw code"
    else:
        mean, basis, ratio = latent.principal_axes(codes, dims)
        how = f"PCA of the {k}-dim code ({ratio.sum():.0%} of its variance)"
    ref = Reference(owner, errors, np.empty(0), y_test[sub].numpy(), sub, mean, basis, how)
    ref.points = ref.project(codes)
    return ref


@dataclass(frozen=True)
class Verdict:
    """The drawing as the model sees it."""

    image: np.ndarray  # (D,) the preprocessed drawing
    recon: np.ndarray  # (D,) its reconstruction
    point: np.ndarray  # (d,) its projected code
    error: float  # its reconstruction MSE per pixel
    percentile: float  # share of held-out images (0..100) whose error is lower (shown rounded down: 99.7 -> 99%)
    nearest_class: str  # class of the held-out image whose code is nearest
    sentence: str  # what the numbers say


@torch.no_grad()
def judge(ink: np.ndarray, model: Autoencoder, ref: Reference, class_names) -> Verdict:
    """Preprocess the drawing, reconstruct and encode it, and rank its error among the held-out images."""
    image = preprocess(ink, model.spec.input_dim)  # (D,)
    x = torch.from_numpy(image)[None]  # (D,) -> (1, D)
    recon = analysis.reconstruct(model, x)  # (1, D)
    error = float(analysis.per_sample_error(x, recon)[0])
    point = ref.project(analysis.encode(model, x))[0]  # (d,)
    pct = float((ref.errors < error).mean() * 100)
    nearest = int(np.argmin(((ref.points - point) ** 2).sum(axis=1)))
    label = ref.labels[nearest]
    name = str(class_names[int(label)]) if int(label) < len(class_names) else str(label)
    return Verdict(image, recon[0].numpy(), point, error, pct, name, sentence(pct, error, ref.errors, name))


def sentence(pct: float, error: float, errors: np.ndarray, nearest: str) -> str:
    """What the percentile means, chosen by the numbers (thresholds: the 50th, 90th and 99th percentile)."""
    median, worst = float(np.median(errors)), float(errors.max())
    where = f" Its code lies nearest the code of a test '{nearest}'."
    if error > worst:
        return (f"Its reconstruction error, {error:.4f}, is higher than every test image's (the worst was "
                f"{worst:.4f}): to this model it is unlike anything it learned, and an anomaly detector would flag "
                f"it." + where)
    base = f"Its reconstruction error, {error:.4f}, is higher than {int(pct)}% of the test images' errors"
    if pct >= 99:
        return f"{base}: more unusual than {int(pct)}% of test images, so it would be flagged as an anomaly at " \
               "any usual threshold." + where
    if pct >= 90:
        return f"{base}: unusual (among the top {max(100 - pct, 1):.0f}% of errors), yet some test images are " \
               "reconstructed worse." + where
    if pct >= 50:
        return f"{base}: an ordinary input for this model, a little harder than the typical test image " \
               f"(median {median:.4f})." + where
    return f"{base}: easier than most test images (median {median:.4f}), the kind of shape this model " \
           "learned to rebuild." + where


# -- figures ---------------------------------------------------------------------------------------
def images_figure(v: Verdict, shape: tuple[int, int], height: int = 230) -> go.Figure:
    """The drawing as the model gets it (after preprocessing) and its reconstruction."""
    return figures.image_grid([np.stack([v.image, v.recon])], shape, col_labels=["your input", "reconstruction"],
                              title="", height=height)


def code_figure(ref: Reference, v: Verdict, class_names, height: int = 420) -> go.Figure:
    """The held-out codes colored by class, and the drawing's code as a black star (a diamond in 3D)."""
    fig = figures.latent_scatter(ref.points, ref.labels, class_names, title=f"Your drawing in the code space: "
                                 f"{ref.how}", indices=ref.indices, height=height)
    point = np.atleast_1d(v.point)
    common = dict(mode="markers", name="your drawing", hovertemplate="your drawing<extra></extra>")
    if len(point) >= 3:  # a 3D view: a black diamond (3D markers have no star)
        fig.add_trace(go.Scatter3d(x=[point[0]], y=[point[1]], z=[point[2]], **common,
                                   marker=dict(symbol="diamond", size=9, color="#000")))
        return fig
    y = point[1] if len(point) > 1 else -1.0  # a 1-number code: below the class strips
    fig.add_trace(go.Scatter(x=[point[0]], y=[y], **common,
                             marker=dict(symbol="star", size=18, color="#000", line=dict(color="#fff", width=1))))
    return fig


def error_figure(ref: Reference, v: Verdict, height: int = 260) -> go.Figure:
    """Histogram of the held-out images' reconstruction errors, with the drawing's error marked."""
    fig = go.Figure(go.Histogram(x=ref.errors, nbinsx=50, marker_color=figures.PALETTE[0], name="test images",
                                 hovertemplate="error %{x}<br>%{y} images<extra></extra>"))
    fig.add_vline(x=v.error, line=dict(color="#000", width=3, dash="dash"))
    fig.add_annotation(x=v.error, y=1, yref="paper", text=f"yours: more unusual than {int(v.percentile)}%",
                       showarrow=False, yanchor="bottom", xanchor="left" if v.percentile < 70 else "right")
    top = max(float(ref.errors.max()), v.error) * 1.05
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=height, showlegend=False,
                      title="Reconstruction errors of the test images")
    fig.update_xaxes(title="mean squared error per pixel", range=[0, top])
    fig.update_yaxes(title="test images")
    return fig
