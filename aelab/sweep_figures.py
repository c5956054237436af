"""The bottleneck experiment drawn: plotly figures of its measured rows, and the tables shown beside them."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aelab import figures
from aelab.figures import LEGEND_BELOW, PALETTE, image_grid
from aelab.progress import LabProgress
from aelab.sweep import MEASURING, OOD_LABELS, SizeResult, run_name


_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10), legend=LEGEND_BELOW)


@dataclass(frozen=True)
class _Line:
    """One line of a chart against the code size."""

    name: str  # legend entry
    value: Callable[[SizeResult], float]  # the row's number to plot
    style: dict  # plotly line style (color, width, dash)
    right: bool = False  # on the second (right) y axis
    label: Callable[[SizeResult], str] | None = None  # a text beside each point


def _size_chart(rows: list[SizeResult], lines: list[_Line], title: str, height: int, left: dict,
                right: dict | None = None) -> go.Figure:
    """Lines against the bottleneck size on a log x axis; `left` / `right` style the two y axes."""
    rows = sorted(rows, key=lambda r: r.bottleneck)
    b = [r.bottleneck for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": right is not None}]])
    for line in lines:
        text = dict(text=[line.label(r) for r in rows], textposition="top center") if line.label else {}
        fig.add_trace(go.Scatter(x=b, y=[line.value(r) for r in rows], mode="lines+markers" + ("+text" if text else ""),
                                 name=line.name, line=line.style, **text), secondary_y=line.right)
    fig.update_xaxes(type="log", tickvals=b, ticktext=[str(s) for s in b], title="bottleneck size (log)")
    fig.update_yaxes(**left, secondary_y=False)
    if right is not None:
        fig.update_yaxes(**right, secondary_y=True, showgrid=False)
    fig.update_layout(**_LAYOUT, height=height, title=title)
    return fig


def error_figure(rows: list[SizeResult], height: int = 380) -> go.Figure:
    """Train and test error against the bottleneck (log x, log y), with the test/train gap on the right axis."""
    return _size_chart(rows, [
        _Line("train error", lambda r: r.train_error, dict(color=PALETTE[0], width=2.5)),
        _Line("test error", lambda r: r.test_error, dict(color=PALETTE[1], width=2.5)),
        _Line("gap (test ÷ train)", lambda r: r.gap, dict(color=PALETTE[3], dash="dot"), right=True,
              label=lambda r: f"{r.gap:.1f}×"),
    ], "Train vs test error", height, left=dict(type="log", title="mean squared error per pixel"),
        right=dict(title="gap (×)", rangemode="tozero"))


def curves_figure(rows: list[SizeResult], height: int = 380) -> go.Figure:
    """Every model's loss curves overlaid: held out solid, training dotted, one color per bottleneck size."""
    return figures.run_curves({run_name(r.bottleneck): r.history for r in sorted(rows, key=lambda r: r.bottleneck)
                               if r.history is not None}, height=height, loss="mse")


def recon_figure(originals: np.ndarray, rows: list[SizeResult], key: str, shape: tuple[int, int],
                 title: str, row_labels: list[str] | None = None) -> go.Figure | None:
    """Images (rows) through every model (columns), the original first. None without images."""
    rows = [r for r in sorted(rows, key=lambda r: r.bottleneck) if r.recon is not None and key in r.recon]
    if shape is None or not rows or originals is None or len(originals) == 0:
        return None
    grid = [np.stack([originals[i], *[r.recon[key][i] for r in rows]]) for i in range(len(originals))]  # (C, D)
    cols = ["original", *[f"b={r.bottleneck}" for r in rows]]
    return image_grid(grid, shape, row_labels=row_labels, col_labels=cols, title=title,
                      height=max(160, 70 + 55 * len(grid)))


def ood_figure(rows: list[SizeResult], height: int = 360) -> go.Figure:
    """Error on held-out images and on each never-seen kind of input, against the bottleneck."""
    keys = list(rows[0].ood) if rows else []
    return _size_chart(rows, [
        _Line("test images (same kind as training)", lambda r: r.test_error, dict(color=PALETTE[1], width=2.5)),
        *[_Line(OOD_LABELS.get(key, key), lambda r, key=key: r.ood.get(key, math.nan),
                dict(color=PALETTE[(4 + i) % len(PALETTE)])) for i, key in enumerate(keys)],
    ], "Does it just copy anything? Error on inputs it never learned", height,
        left=dict(type="log", title="mean squared error per pixel"))


def probe_figure(rows: list[SizeResult], height: int = 360) -> go.Figure:
    """Probe accuracy on the codes (left axis) next to the test reconstruction error (right axis)."""
    return _size_chart(rows, [
        _Line("kNN accuracy", lambda r: r.knn_accuracy, dict(color=PALETTE[2], width=2.5)),
        _Line("linear probe accuracy", lambda r: r.linear_accuracy, dict(color=PALETTE[6], width=2)),
        _Line("test error", lambda r: r.test_error, dict(color=PALETTE[1], dash="dash"), right=True),
    ], "Are the codes useful? Probe accuracy vs reconstruction error", height,
        left=dict(title="class accuracy from the code", tickformat=".0%", range=[0, 1.02]),
        right=dict(title="test error", type="log"))


def progress_table(sizes: list[int], lab: LabProgress | None, rows: list[SizeResult], epochs: int) -> list[dict]:
    """Per-model progress for the page, from the job's typed progress: state, latest train and test loss,
    measured errors once done."""
    done = {r.bottleneck: r for r in rows}
    measuring = lab is not None and lab.phase == MEASURING
    table = []
    for s in sizes:
        h, r = (lab.histories.get(run_name(s)) if lab is not None else None), done.get(s)
        if r is not None:
            state = "measured ✓"
        elif measuring:
            state = "trained, measuring…"
        else:
            state = f"training: epoch {h.step_x[-1] if h and h.step_x else 0:g} of {epochs}"
        table.append({"bottleneck": s, "state": state,
                      "train loss": r.train_error if r else (h.train[-1] if h and h.train else None),
                      "test loss": r.test_error if r else (h.test[-1] if h and h.test else None)})
    return table


def results_table(rows: list[SizeResult], ood_key: str | None = None) -> list[dict]:
    """Rows as plain dicts for st.dataframe, in the CSV's units."""
    label = OOD_LABELS.get(ood_key, "out of distribution") if ood_key else "out of distribution"
    return [{"bottleneck": r.bottleneck, "train error": r.train_error, "test error": r.test_error,
             "gap (test ÷ train)": r.gap, f"error on {label}": r.ood_error, "kNN accuracy": r.knn_accuracy,
             "linear probe accuracy": r.linear_accuracy, "ready after (s)": r.seconds, "epochs": r.epochs}
            for r in sorted(rows, key=lambda r: r.bottleneck)]
