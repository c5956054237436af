"""The sandglass diagram: an architecture's layer widths drawn as bars, narrowing to the code.

Kept apart from aelab.figures so the home page draws it without importing numpy (start-up time).
"""
from __future__ import annotations

import functools
import math

import plotly.graph_objects as go

from aelab import conv
from aelab.colors import CODE, DEC, ENC, NEUTRAL
from aelab.spec import ArchSpec


@functools.lru_cache(maxsize=256)
def sandglass(spec: ArchSpec, height: int = 260) -> go.Figure:
    """The architecture as bars whose heights follow the layer widths (log scale): the sandglass.

    Cached per (spec, height): Build & Train redraws it on every run, and building it was 8% of the server's
    time with 30 students (load test). The figure is shared, so callers must not modify it. It is built
    from one nested dict (no magic underscores such as font_size, which plotly parses key by key) and has
    no plotly template (its axes are hidden; copying a template cost 15-70 ms).
    """
    widths = spec.widths
    texts, convs = _conv_labels(spec) if spec.is_conv else ([str(w) for w in widths], set())
    n_enc = code_index(spec)
    top = math.log2(max(widths) + 1)
    shapes, notes = [], []
    for i, w in enumerate(widths):
        h = 0.15 + 0.85 * math.log2(w + 1) / top
        role = "input" if i == 0 else "output" if i == len(widths) - 1 else \
            "code" if i == n_enc else "encoder" if i < n_enc else "decoder"
        color = {"code": CODE, "encoder": ENC, "input": ENC, "decoder": DEC, "output": DEC}[role]
        if i in convs:  # a conv layer's feature maps: a lighter bar named by what made it
            role = "conv" if i < n_enc else "conv⁻¹"
        shapes.append(dict(type="rect", x0=i - 0.3, x1=i + 0.3, y0=-h, y1=h, fillcolor=color,
                           opacity=0.55 if i in convs else 0.85, line=dict(width=0)))
        notes.append(dict(x=i, y=h + 0.12, text=texts[i], showarrow=False, font=dict(size=12 if not convs else 10)))
        notes.append(dict(x=i, y=-h - 0.12, text=role, showarrow=False, font=dict(size=10, color=NEUTRAL)))
    notes += [dict(x=i + 0.5, y=0, text="→", showarrow=False, font=dict(size=14, color=NEUTRAL))
              for i in range(len(widths) - 1)]
    kind = ("convolutional " if spec.is_conv else "") + ("VAE" if spec.kind == "vae" else "autoencoder")
    hover = [f"layer {i}: {t} = {w:,} values" if i in convs or (convs and i in (0, len(widths) - 1))
             else f"layer {i}: {w} units" for i, (t, w) in enumerate(zip(texts, widths))]
    points = dict(type="scatter", x=list(range(len(widths))), y=[0] * len(widths), mode="markers",
                  marker=dict(opacity=0), hovertext=hover,
                  hoverinfo="text", showlegend=False)
    layout = dict(margin=dict(l=10, r=10, t=40, b=10), height=height, shapes=shapes, annotations=notes,
                  title=dict(text=f"{kind} {spec.describe()} · {spec.param_count:,} parameters"),
                  xaxis=dict(visible=False, range=[-0.6, len(widths) - 0.4]),
                  yaxis=dict(visible=False, range=[-1.35, 1.35]))
    return go.Figure(dict(data=[points], layout=layout))


def code_index(spec: ArchSpec) -> int:
    """Position of the code in spec.widths (the input is 0)."""
    return len(spec.encoder) + 1 + (len(spec.channels) if spec.is_conv else 0)


def shape_sentence(spec: ArchSpec) -> str:
    """What the widths of this architecture actually do, computed from them: a sandglass only when every encoder
    layer is narrower than the one before it and every decoder layer wider than the one before it."""
    widths, k = spec.widths, code_index(spec)
    run = " → ".join(f"{w:,}" for w in widths)
    widen = [i for i in range(1, k + 1) if widths[i] >= widths[i - 1]]  # encoder layers not narrower than before
    narrow = [i for i in range(k + 1, len(widths)) if widths[i] <= widths[i - 1]]  # decoder layers not wider
    if not widen and not narrow:
        return (f"Drawn layer by layer, the widths ({run}) shrink to the {widths[k]:,}-number code and grow again: "
                "a sandglass.")
    parts = [f"encoder layer {i} ({widths[i]:,}) is {'wider than' if widths[i] > widths[i - 1] else 'as wide as'} the "
             f"one before it ({widths[i - 1]:,})" for i in widen]
    parts += [f"decoder layer {i} ({widths[i]:,}) is {'narrower than' if widths[i] < widths[i - 1] else 'as wide as'} "
              f"the one before it ({widths[i - 1]:,})" for i in narrow]
    return (f"Drawn layer by layer, the widths run {run}. Not a clean sandglass: " + "; ".join(parts) +
            f". The code ({widths[k]:,} numbers) is still the narrowest point." if widths[k] == min(widths) else
            f"Drawn layer by layer, the widths run {run}. Not a sandglass: " + "; ".join(parts) + ".")


def _conv_labels(spec: ArchSpec) -> tuple[list[str], set[int]]:
    """A conv spec's bar labels (channels×height×width for the image and every feature map) and the bars made by
    a conv or transposed conv. The decoder's first map is made by a Linear layer (then reshaped), so it is not one."""
    maps = [f"{c}×{h}×{w}" for c, h, w in conv.shapes(spec.input_dim, spec.channels)]  # image first
    dense = [str(w) for w in (*spec.encoder, spec.bottleneck, *spec.decoder_widths)]
    texts = [*maps, *dense, *maps[::-1]]
    n = len(spec.channels)
    return texts, {*range(1, n + 1), *range(len(texts) - n, len(texts) - 1)}
