"""A chart's text alternative for screen readers, read off the plotly figure itself: its title, its axes, and every
series with its size and its last and lowest values (plain Python, no numpy: the home page draws without it).
"""
from __future__ import annotations

import math
import re

MAX_SERIES = 10  # series described one by one; the rest are counted
MAX_BARS = 8  # bars named with their values per series
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # <b>, </b>, <br>, <sup>: tags, not a "<" in a name
_WORD = re.compile(r"\w")


def plain(text) -> str:
    """Plotly's rich text (<b>, <br>, <sup>) as plain words on one line."""
    return " ".join(_TAG.sub(" ", str(text or "")).split())


def _num(v: float) -> str:
    return f"{v:,.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3g}"


def _numbers(values) -> list[float]:
    """The finite numbers of a plotly data array (list, tuple or numpy array; None and text are left out)."""
    if values is None:
        return []
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _axis(layout, key: str) -> str:
    axis = layout[key] if key in layout else None
    if axis is None or axis.visible is False:
        return ""
    title = plain(axis.title.text) if axis.title is not None else ""
    return f"{title} (log scale)" if title and axis.type == "log" else title


def _series(trace) -> str | None:
    """One series in words, or None for a helper trace a reader need not hear about (invisible hover points)."""
    name = plain(trace.name) or trace.type
    marker = getattr(trace, "marker", None)
    if getattr(marker, "opacity", None) == 0 or trace.visible is False:
        return None
    if trace.type == "heatmap":
        rows = trace.z if trace.z is not None else []
        return f"{name}: {len(rows)} × {len(rows[0]) if len(rows) else 0} cells"
    if trace.type == "bar":
        xs, ys = list(trace.x if trace.x is not None else []), list(trace.y if trace.y is not None else [])
        if trace.orientation == "h":
            xs, ys = ys, xs
        pairs = [f"{plain(x)} {_num(float(y))}" for x, y in zip(xs, ys) if _numbers([y])][:MAX_BARS]
        more = f" and {len(xs) - MAX_BARS} more" if len(xs) > MAX_BARS else ""
        return f"{name}: " + ", ".join(pairs) + more if pairs else f"{name}: no bars"
    if trace.type == "histogram":
        return f"{name}: {len(_numbers(trace.x if trace.x is not None else trace.y))} values"
    if trace.type in ("scatter3d", "scattergl", "scatter") and "lines" not in (trace.mode or "lines"):
        return f"{name}: {len(trace.x) if trace.x is not None else 0} points"
    ys = _numbers(trace.y if getattr(trace, "y", None) is not None else [])
    if not ys:
        return f"{name}: no values yet"
    return f"{name}: {len(ys)} points, last {_num(ys[-1])}, lowest {_num(min(ys))}, highest {_num(max(ys))}"


def summary(fig) -> str:
    """What a sighted reader takes from the chart, in one or two sentences (title, axes, series)."""
    layout = fig.layout
    parts = [f"Chart: {plain(layout.title.text)}." if layout.title.text else "Chart."]
    axes = [(name, _axis(layout, k)) for name, k in (("x axis", "xaxis"), ("y axis", "yaxis"),
                                                        ("right y axis", "yaxis2"))]
    named = [f"{a}: {t}" for a, t in axes if t]
    ticks = [f"{a}: {', '.join(plain(t) for t in layout[k].ticktext)}"  # named rows and columns (an image grid)
             for a, k in (("rows", "yaxis"), ("columns", "xaxis")) if layout[k].ticktext]
    if named or ticks:
        words = "; ".join(named + ticks)
        parts.append(words[0].upper() + words[1:] + ".")
    series = [s for s in (_series(t) for t in fig.data) if s]
    seen, unique = set(), []
    for s in series:  # a legend group drawn in several panels is described once
        if s not in seen:
            seen.add(s)
            unique.append(s)
    if unique:
        more = f" And {len(unique) - MAX_SERIES} more series." if len(unique) > MAX_SERIES else ""
        parts.append("Series: " + "; ".join(unique[:MAX_SERIES]) + "." + more)
    elif layout.annotations:  # a drawing made of labels (the sandglass)
        words = [plain(a.text) for a in layout.annotations if _WORD.search(plain(a.text))]  # not the arrows
        parts.append("Labels: " + ", ".join(words[:24]) + ".")
    return " ".join(parts)
