"""The sandglass diagram: an architecture's layer widths drawn as bars, narrowing to the code.

Kept apart from aelab.figures so the home page draws it without importing numpy (start-up time).
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

from aelab.spec import ArchSpec

ENC, CODE, DEC = "#4C78A8", "#E45756", "#54A24B"  # encoder, code and decoder colors on every page


def sandglass(spec: ArchSpec, height: int = 260) -> go.Figure:
    """The architecture as bars whose heights follow the layer widths (log scale): the sandglass.

    Shapes and labels go in with one update_layout call: plotly re-validates every annotation on each
    add_annotation, so adding them one by one cost 3x more (87 vs 26 ms of CPU for 9 layers). No plotly
    template: its axes are hidden, and copying one cost 40-70 ms on the first drawing of a fresh server.
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
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=height, shapes=shapes, annotations=notes,
                      title=f"{kind} {spec.describe()} · {spec.param_count:,} parameters")
    return fig
