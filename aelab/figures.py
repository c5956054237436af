"""Plotly figures shared by the pages: loss curves, image grids, latent scatter (the sandglass is in diagram)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aelab.colors import EARLIER, NEUTRAL, PALETTE, SYMBOLS, SYMBOLS_3D

if TYPE_CHECKING:  # aelab.train imports torch; pages that only draw (Home) start faster without it
    from aelab.train import History

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))
# A horizontal legend under the chart, below its x-axis title: plotly grows the bottom margin to hold it (legends
# above the plot, or at a fraction of the plot's height below it, ran into the title or the axis title once the
# text grew in Classroom mode or the column narrowed).
LEGEND_BELOW = dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left")
DASHES = ["dash", "dot", "dashdot"]  # earlier runs' curves (their greys: colors.EARLIER)
GRAY = [list(stop) for stop in go.Heatmap(colorscale="gray").colorscale]  # plotly's "gray", spelled out (fast)


def fast(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts (each trace naming its "type"), made without plotly's checks of every property:
    ~10x faster to build (a latent scatter: 0.7 ms instead of 7 ms). The live view builds its figures again for every
    update it draws, and on a shared server those builds were most of the page runs' time. Write properties in full
    (title=dict(text=...), not plotly's shorthands, no named colour scales): tests/test_figures.py checks that plotly's
    checked construction of each builder's figure accepts it and changes nothing."""
    return go.Figure(dict(data=data, layout=layout), _validate=False)


def _text(text: str) -> dict:
    """A title as plotly stores it."""
    return dict(text=text)


def loss_axis(loss: str | None) -> str:
    """The y-axis title of a loss curve: the loss named (an axis without a name cannot be compared with another)."""
    from aelab.limits import LOSSES

    return f"{LOSSES[loss].split(' (')[0]} per feature" if loss in LOSSES else "loss per feature"  # "MSE per feature"


def log_ticks(values) -> dict:
    """Ticks for a log axis over `values`: 1, 2 and 5 of each decade when they span about one decade, each labelled
    with its value (`~g`: plotly's own labels of "D2" ticks read "2" and "5" for 0.2 and 0.5, in smaller type, when no
    power of ten is in view); powers of ten only when they span more (labels at every 2 and 5 of several decades
    crowd a small chart)."""
    v = np.array([np.nan if x is None else x for x in values], dtype=float)  # one pass in C, not per value in Python
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return {}
    return dict(dtick="D2", tickformat="~g") if math.log10(float(v.max() / v.min())) <= 1.5 else dict(dtick=1)


MAX_CURVE_POINTS = 1000  # points a drawn curve keeps at most: a chart is narrower than that in pixels


def thin(x: Sequence[float], y: Sequence[float], most: int = MAX_CURVE_POINTS) -> dict[str, list]:
    """x= and y= of a curve: every k-th point (and the last), so that at most `most` (+1) are drawn; the points kept are
    measured ones, none averaged. A 600-epoch Digits run logs 13,800 training points, a 600 KB figure that was
    serialized with every live redraw."""
    n = len(x)
    if n <= most:
        return {"x": list(x), "y": list(y)}
    k = math.ceil(n / most)
    keep = list(range(0, n, k))
    if keep[-1] != n - 1:
        keep.append(n - 1)
    return {"x": [x[i] for i in keep], "y": [y[i] for i in keep]}


def curve(x: Sequence[float], y: Sequence[float]) -> dict[str, np.ndarray]:
    """x= and y= of a drawn curve: `thin`'s points as float arrays. Plotly checks a list element by element in Python
    (a 600-epoch loss chart: ~10 ms of its ~11 ms to build, again for every update a live view draws) and an array in
    one step; it is sent as a typed array, as the images already are."""
    return {k: np.asarray(v, dtype=float) for k, v in thin(x, y).items()}


def loss_curves(history: History, title: str = "Loss", log_y: bool = True, total_epochs: int | None = None,
                height: int = 320, loss: str | None = None, floor: float | None = None,
                earlier: Sequence[tuple[str, History]] = ()) -> go.Figure:
    """Train loss (per logged window) and test loss (per epoch) against epochs. `loss` (a key of limits.LOSSES) names
    the y axis; `floor` draws the lowest value that loss can reach on these data (analysis.bce_floor for BCE);
    `earlier`: (name, history) of earlier runs, drawn behind as thin grey test curves to compare before and after a
    change (the x axis reaches the longest of them)."""
    data = [dict(type="scatter", **curve(h.epoch_x, h.test), mode="lines", name=name,
                 line=dict(color=EARLIER[i % len(EARLIER)], width=1.5, dash=DASHES[i % len(DASHES)]))
            for i, (name, h) in enumerate(earlier)]
    data.append(dict(type="scatter", **curve(history.step_x, history.train), mode="lines", name="train",
                     line=dict(color=PALETTE[0], width=1.5)))
    data.append(dict(type="scatter", **curve(history.epoch_x, history.test), mode="lines+markers",
                     name="test (held out)", line=dict(color=PALETTE[1], width=2.5), marker=dict(size=5)))
    notes = []
    if floor is not None:  # labelled on its line, not in the legend: a third legend entry wrapped the legend into
        # three rows on a projector and left the plot ~30 px (Chromium, Build & Train's 418-px column, Classroom mode)
        right = total_epochs or (history.epoch_x[-1] if history.epoch_x else 1)
        name = f"floor: a perfect copy ({floor:.3f})"
        data.append(dict(type="scatter", x=[0, right], y=[floor, floor], mode="lines", name=name, showlegend=False,
                         line=dict(color=NEUTRAL, dash="dash")))
        # above the line at its left end, where a loss curve starts high (no curve goes below the floor); on a
        # light ground, so the text stays legible where a short chart's curve passes behind it
        if floor > 0 or not log_y:  # a log axis has no 0 to put it at (nor its line)
            notes.append(dict(text=name, xref="paper", x=0, xanchor="left", yref="y", yanchor="bottom",
                              showarrow=False, y=math.log10(floor) if log_y else floor, bgcolor="rgba(255,255,255,0.8)"))
    right = max([total_epochs or 0, *(h.epoch_x[-1] for _, h in earlier if h.epoch_x)])
    values = [*history.train, *history.test, *(floor is not None and [floor] or [])]
    return fast(data, dict(**_LAYOUT, height=height, title=_text(title), legend=LEGEND_BELOW,
                           **(dict(annotations=notes) if notes else {}),
                           xaxis=dict(title=_text("epoch"), **(dict(range=[0, right]) if total_epochs else {})),
                           yaxis=dict(title=_text(loss_axis(loss)), type="log" if log_y else "linear",
                                      **(log_ticks(values) if log_y else {}))))


def run_curves(histories: Mapping[str, History], title: str = "Loss of each model: held out (solid), training (dotted)",
               total_epochs: int | None = None, height: int = 320, train: bool = True,
               colors: Mapping[str, str] | None = None, levels: Mapping[str, float] | None = None,
               loss: str | None = None) -> go.Figure:
    """Several models' loss curves on one log axis, one color per model: the held-out loss per epoch (solid) and,
    with `train`, the training loss (dotted, same legend entry); `levels` adds dashed horizontal reference lines;
    `loss` names the y axis (loss_axis)."""
    colors = colors or {}
    fig = go.Figure()
    for i, (name, h) in enumerate(histories.items()):
        color = colors.get(name, PALETTE[i % len(PALETTE)])
        fig.add_trace(go.Scatter(**curve(h.epoch_x, h.test), mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=color, width=2.5), marker_size=4))
        if train:
            fig.add_trace(go.Scatter(**curve(h.step_x, h.train), mode="lines", name=f"{name} (training)", legendgroup=name,
                                     showlegend=False, line=dict(color=color, width=1, dash="dot")))
    right = total_epochs or max((h.epoch_x[-1] for h in histories.values() if h.epoch_x), default=1)
    for name, level in (levels or {}).items():
        fig.add_trace(go.Scatter(x=[0, right], y=[level, level], mode="lines", name=name,
                                 line=dict(color=colors.get(name, NEUTRAL), dash="dash")))
    fig.update_layout(**_LAYOUT, height=height, title=title, legend=LEGEND_BELOW)
    fig.update_xaxes(title="epoch", range=[0, total_epochs] if total_epochs else None)
    values = [y for h in histories.values() for y in (*h.test, *(h.train if train else ()))]
    fig.update_yaxes(title=loss_axis(loss), type="log", **log_ticks([*values, *(levels or {}).values()]))
    return fig


def vae_terms(history: History, height: int = 280) -> go.Figure:
    """The VAE's two loss terms, plotted separately: reconstruction and KL (train and test)."""
    fig = go.Figure()
    for i, key in enumerate(("recon", "kl")):
        label = "reconstruction" if key == "recon" else "KL / D"
        fig.add_trace(go.Scatter(**curve(history.step_x, history.terms.get(key, [])), mode="lines",
                                 name=f"{label} (train)", line=dict(color=PALETTE[2 + i], width=1.5)))
        fig.add_trace(go.Scatter(**curve(history.epoch_x, history.test_terms.get(key, [])), mode="lines+markers",
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
    y = dict(autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False, constrain="domain",
             tickvals=[i * (h + 1) + h / 2 for i in range(r)] if row_labels else [], ticktext=row_labels or [])
    x = dict(showgrid=False, zeroline=False, side="bottom", constrain="domain",  # labels hug the images
             tickvals=[j * (w + 1) + w / 2 for j in range(c)] if col_labels else [], ticktext=col_labels or [])
    return fast([dict(type="heatmap", z=big, colorscale=GRAY, zmin=0, zmax=1, showscale=False,
                      hovertemplate="%{z:.2f}<extra></extra>")],
                dict(margin=dict(l=10, r=10, t=40, b=40 if col_labels else 10), title=_text(title),
                     height=height or grid_height(r), plot_bgcolor="white", xaxis=x, yaxis=y))


def grid_height(rows: int) -> int:
    """image_grid's height in px when none is given: 70 px a row, plus room for the title."""
    return max(160, 80 + 70 * rows)


def class_marker(c, three_d: bool = False) -> dict:
    """Class c's marker colour and symbol (aelab.colors): the symbol tells the classes apart without colour too."""
    symbols = SYMBOLS_3D if three_d else SYMBOLS
    return dict(color=PALETTE[int(c) % len(PALETTE)], symbol=symbols[int(c) % len(symbols)])


def latent_scatter(points: np.ndarray, labels: np.ndarray, class_names, title: str = "Latent space",
                   axis_title: str = "z", indices: np.ndarray | None = None, height: int = 420,
                   marker_size: int | None = None, ring: int | None = None) -> go.Figure:
    """2D or 3D scatter of codes colored by class; hover shows the class and data-set index.

    `customdata` carries the data-set index of every point, so a click selection maps back to it. `ring`: the
    data-set index of a point to ring (the selected image), if it is among the points.
    """
    points = np.asarray(points)
    dims = points.shape[1]
    fig = fast(*latent_parts(points, labels, class_names, title, axis_title, indices, height, marker_size))
    if ring is not None and dims >= 2:
        idx = np.arange(len(points)) if indices is None else np.asarray(indices)
        where = np.flatnonzero(idx == ring)
        if len(where):
            mark_point(fig, points[where[0]], int(ring))
    return fig


def latent_parts(points: np.ndarray, labels: np.ndarray, class_names, title: str, axis_title: str = "z",
                 indices: np.ndarray | None = None, height: int = 420,
                 marker_size: int | None = None) -> tuple[list[dict], dict]:
    """latent_scatter's traces and layout, as plain dicts for `fast` (inside.trails_figure adds its lines to them)."""
    dims = points.shape[1]
    idx = np.arange(len(points)) if indices is None else np.asarray(indices)
    data = []
    for c in np.unique(labels):
        m = labels == c
        name = str(class_names[int(c)]) if int(c) < len(class_names) else str(c)
        trace = dict(mode="markers", name=name, customdata=idx[m],
                     hovertemplate=f"class {name}<br>index %{{customdata}}<extra></extra>")
        if dims >= 3:
            trace |= dict(type="scatter3d", x=points[m, 0], y=points[m, 1], z=points[m, 2],
                          marker=dict(size=marker_size or 3, opacity=0.8, **class_marker(c, True)))
        elif dims == 2:
            trace |= dict(type="scatter", x=points[m, 0], y=points[m, 1],
                          marker=dict(size=marker_size or 6, opacity=0.75, **class_marker(c)))
        else:  # a 1-dim code: a strip plot, jittered by class
            trace |= dict(type="scatter", x=points[m, 0], y=np.full(m.sum(), int(c)) + np.linspace(-0.3, 0.3, m.sum()),
                          marker=dict(size=marker_size or 5, opacity=0.75, **class_marker(c)))
        data.append(trace)
    layout = dict(**_LAYOUT, height=height, title=_text(title), legend=dict(title=_text("class")), uirevision="keep")
    if dims >= 3:
        layout["scene"] = {f"{a}axis": dict(title=_text(f"{axis_title}{i}")) for i, a in enumerate("xyz", 1)}
    else:
        layout["xaxis"] = dict(title=_text(f"{axis_title}1"))
        layout["yaxis"] = dict(title=_text(f"{axis_title}2" if dims == 2 else "class (jittered)"))
    return data, layout


def mark_point(fig: go.Figure, point: np.ndarray, index: int) -> go.Figure:
    """Ring one point of a 2D or 3D scatter (the selected image, `index` in its hover text)."""
    style = dict(mode="markers", name=f"#{index}", customdata=[index], showlegend=False,
                 hovertemplate="selected · index %{customdata}<extra></extra>")
    ring = dict(size=16, color="rgba(0,0,0,0)", line=dict(color="black", width=3))
    if len(point) >= 3:
        fig.add_trace(go.Scatter3d(x=[point[0]], y=[point[1]], z=[point[2]], marker=dict(ring, size=8), **style))
    elif len(point) == 2:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], marker=ring, **style))
    return fig


def add_samples(fig: go.Figure, points: np.ndarray, name: str = "samples") -> go.Figure:
    """Sampled codes (S, 2) as black crosses on top of a 2D code scatter."""
    fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=name,
                             marker=dict(symbol="x", size=8, color="black")))
    return fig


def samples_overlay(real: np.ndarray, labels: np.ndarray, samples: np.ndarray, axis_title: str, class_names,
                    height: int = 400) -> go.Figure:
    """Training codes (N, 2) colored by class with sampled codes (S, 2) as crosses on top."""
    fig = latent_scatter(real, labels, class_names, title="Training codes and samples (×)", axis_title=axis_title,
                         height=height, marker_size=4)
    return add_samples(fig, samples)


def with_height(fig: go.Figure, height: int) -> go.Figure:
    """A copy of the figure at another height (the stored one keeps its own)."""
    copy = go.Figure(fig)
    copy.update_layout(height=height)
    return copy


def warm_up() -> set[str]:
    """Build and serialize throwaway figures of every kind the pages use, once per process, in the background.

    A process's first figure with numpy data, subplots, WebGL or 3D traces costs plotly 0.3-0.4 s of one-off
    work (validators, templates, abstract-class caches); the first visit to a page would otherwise pay it.
    """
    a = np.zeros(4, dtype=np.float32)  # (4,)
    fig = make_subplots(rows=2, cols=2, subplot_titles=["a", "b", "c", "d"], horizontal_spacing=0.03,
                        vertical_spacing=0.1)
    fig.add_trace(go.Scattergl(x=a, y=a, mode="markers", marker=dict(size=4, color="#000", opacity=0.7),
                               hovertemplate="x<extra>y</extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=a, y=a, mode="lines+markers", customdata=np.arange(4)), row=1, col=2)
    fig.add_trace(go.Bar(x=["a", "b", "c", "d"], y=a, text=a, marker_color=["#000"] * 4), row=2, col=1)
    fig.add_trace(go.Heatmap(z=np.zeros((2, 2), dtype=np.float32), colorscale="gray", showscale=False), row=2, col=2)
    fig.add_trace(go.Histogram(x=a), row=2, col=2)
    fig.update_xaxes(showticklabels=False, showline=True, mirror=True, linecolor="#000", row=1, col=1)
    fig.update_yaxes(type="log", row=2, col=1)
    fig.update_annotations(font_size=11)
    fig.update_layout(**_LAYOUT, height=300, title="t", legend_title="c",
                      shapes=[dict(type="line", x0=0, x1=1, y0=0, y1=1)])
    space = go.Figure(go.Scatter3d(x=a, y=a, z=a, mode="markers", marker=dict(size=3, color="#000")))
    space.update_layout(**_LAYOUT, scene=dict(xaxis_title="z1"), uirevision="keep")
    fig.to_json(), space.to_json()
    return {type(t).__name__ for t in (*fig.data, *space.data)}  # the trace types now warm
