"""Plotly figures shared by the pages: sandglass diagram, loss curves, image grids, latent scatter."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from aelab.spec import ArchSpec

if TYPE_CHECKING:  # aelab.train imports torch; pages that only draw (Home) start faster without it
    from aelab.train import History

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6",
           "#9D755D", "#BAB0AC"]
ENC, CODE, DEC = "#4C78A8", "#E45756", "#54A24B"
_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10))


def sandglass(spec: ArchSpec, height: int = 260) -> go.Figure:
    """The architecture as bars whose heights follow the layer widths (log scale): the sandglass.

    Shapes and labels go in with one update_layout call: plotly re-validates every annotation on each
    add_annotation, so adding them one by one cost 3x more (87 vs 26 ms of CPU for 9 layers).
    """
    widths = spec.widths
    n_enc = len(spec.encoder) + 1
    top = math.log2(max(widths) + 1)
    shapes, notes = [], []
    for i, w in enumerate(widths):
        h = 0.15 + 0.85 * math.log2(w + 1) / top
        role = "input" if i == 0 else "output" if i == len(widths) - 1 else \
            "code" if i == n_enc else "encoder" if i < n_enc else "decoder"
        color = {"code": CODE, "encoder": ENC, "input": ENC, "decoder": DEC, "output": DEC}[role]
        shapes.append(dict(type="rect", x0=i - 0.3, x1=i + 0.3, y0=-h, y1=h, fillcolor=color, opacity=0.85,
                           line_width=0))
        notes.append(dict(x=i, y=h + 0.12, text=str(w), showarrow=False, font_size=12))
        notes.append(dict(x=i, y=-h - 0.12, text=role, showarrow=False, font_size=10, font_color="#666"))
    notes += [dict(x=i + 0.5, y=0, text="→", showarrow=False, font_size=14, font_color="#999")
              for i in range(len(widths) - 1)]
    fig = go.Figure(go.Scatter(x=list(range(len(widths))), y=[0] * len(widths), mode="markers",
                               marker_opacity=0, hovertext=[f"layer {i}: {w} units" for i, w in enumerate(widths)],
                               hoverinfo="text", showlegend=False))
    fig.update_xaxes(visible=False, range=[-0.6, len(widths) - 0.4])
    fig.update_yaxes(visible=False, range=[-1.35, 1.35])
    kind = "VAE" if spec.kind == "vae" else "autoencoder"
    fig.update_layout(**_LAYOUT, height=height, shapes=shapes, annotations=notes,
                      title=f"{kind} {spec.describe()} · {spec.param_count:,} parameters")
    return fig


def loss_curves(history: History, title: str = "Loss", log_y: bool = True, total_epochs: int | None = None,
                height: int = 320) -> go.Figure:
    """Train loss (per logged window) and test loss (per epoch) against epochs."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=history.step_x, y=history.train, mode="lines", name="train",
                             line=dict(color=PALETTE[0], width=1.5)))
    fig.add_trace(go.Scatter(x=history.epoch_x, y=history.test, mode="lines+markers", name="test (held out)",
                             line=dict(color=PALETTE[1], width=2.5), marker_size=5))
    fig.update_layout(**_LAYOUT, height=height, title=title, legend=dict(orientation="h", y=1.02, x=1,
                                                                          xanchor="right", yanchor="bottom"))
    fig.update_xaxes(title="epoch", range=[0, total_epochs] if total_epochs else None)
    fig.update_yaxes(title="loss per feature", type="log" if log_y else "linear")
    return fig


def vae_terms(history: History, height: int = 280) -> go.Figure:
    """The VAE's two loss terms, plotted separately: reconstruction and KL (train and test)."""
    fig = go.Figure()
    for i, key in enumerate(("recon", "kl")):
        label = "reconstruction" if key == "recon" else "KL / D"
        fig.add_trace(go.Scatter(x=history.step_x, y=history.terms.get(key, []), mode="lines",
                                 name=f"{label} (train)", line=dict(color=PALETTE[2 + i], width=1.5)))
        fig.add_trace(go.Scatter(x=history.epoch_x, y=history.test_terms.get(key, []), mode="lines+markers",
                                 name=f"{label} (test)", line=dict(color=PALETTE[2 + i], dash="dash")))
    fig.update_layout(**_LAYOUT, height=height, title="VAE loss terms")
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title="per feature", type="log")
    return fig


def tile(images: np.ndarray, shape: tuple[int, int], gap: int = 1) -> np.ndarray:
    """(R, C, H*W) images -> one (R*(H+gap), C*(W+gap)) array with NaN gaps."""
    r, c, _ = images.shape
    h, w = shape
    out = np.full((r * (h + gap) - gap, c * (w + gap) - gap), np.nan, dtype=np.float32)
    for i in range(r):
        for j in range(c):
            out[i * (h + gap):i * (h + gap) + h, j * (w + gap):j * (w + gap) + w] = images[i, j].reshape(h, w)
    return out


def image_grid(rows: list, shape: tuple[int, int], row_labels: list[str] | None = None,
               col_labels: list[str] | None = None, title: str = "", height: int | None = None) -> go.Figure:
    """Rows of flattened images (each (C, H*W), values in [0, 1]) drawn as one grayscale picture."""
    arr = np.stack([np.asarray(r, dtype=np.float32) for r in rows])  # (R, C, H*W)
    r, c, _ = arr.shape
    h, w = shape
    big = tile(np.clip(arr, 0, 1), shape)
    fig = go.Figure(go.Heatmap(z=big, colorscale="gray", zmin=0, zmax=1, showscale=False,
                               hovertemplate="%{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False,
                     tickvals=[i * (h + 1) + h / 2 for i in range(r)] if row_labels else [],
                     ticktext=row_labels or [])
    fig.update_xaxes(showgrid=False, zeroline=False, side="top",
                     tickvals=[j * (w + 1) + w / 2 for j in range(c)] if col_labels else [],
                     ticktext=col_labels or [])
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=10, r=10, t=70 if col_labels else 40, b=10)},
                      title=title, height=height or max(160, 80 + 70 * r), plot_bgcolor="white")
    return fig


def latent_scatter(points: np.ndarray, labels: np.ndarray, class_names, title: str = "Latent space",
                   axis_title: str = "z", indices: np.ndarray | None = None, height: int = 420,
                   marker_size: int | None = None) -> go.Figure:
    """2D or 3D scatter of codes colored by class; hover shows the class and data-set index.

    `customdata` carries the data-set index of every point, so a click selection maps back to it.
    """
    points = np.asarray(points)
    dims = points.shape[1]
    idx = np.arange(len(points)) if indices is None else np.asarray(indices)
    fig = go.Figure()
    for c in np.unique(labels):
        m = labels == c
        name = str(class_names[int(c)]) if int(c) < len(class_names) else str(c)
        common = dict(mode="markers", name=name, customdata=idx[m],
                      hovertemplate=f"class {name}<br>index %{{customdata}}<extra></extra>")
        color = PALETTE[int(c) % len(PALETTE)]
        if dims >= 3:
            fig.add_trace(go.Scatter3d(x=points[m, 0], y=points[m, 1], z=points[m, 2],
                                       marker=dict(size=marker_size or 3, color=color, opacity=0.8), **common))
        elif dims == 2:
            fig.add_trace(go.Scatter(x=points[m, 0], y=points[m, 1],
                                     marker=dict(size=marker_size or 6, color=color, opacity=0.75), **common))
        else:  # a 1-dim code: a strip plot, jittered by class
            fig.add_trace(go.Scatter(x=points[m, 0], y=np.full(m.sum(), int(c)) + np.linspace(-0.3, 0.3, m.sum()),
                                     marker=dict(size=marker_size or 5, color=color, opacity=0.75), **common))
    fig.update_layout(**_LAYOUT, height=height, title=title, legend_title="class")
    if dims >= 3:
        fig.update_layout(scene=dict(xaxis_title=f"{axis_title}1", yaxis_title=f"{axis_title}2",
                                     zaxis_title=f"{axis_title}3"), uirevision="keep")
    else:
        fig.update_layout(uirevision="keep")
        fig.update_xaxes(title=f"{axis_title}1")
        fig.update_yaxes(title=f"{axis_title}2" if dims == 2 else "class (jittered)")
    return fig
