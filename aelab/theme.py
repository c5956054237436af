"""How aelab looks on screen and on a projector: the page's CSS (Classroom mode's larger text, labels that never end
in "…", text only screen readers see), and `for_screen`, the one step every chart passes on its way to the page
(chart text >= 16 px, dark, and bigger markers in Classroom mode; never taller than a 1280x720 screen).
"""
from __future__ import annotations

import plotly.graph_objects as go

from aelab.colors import CODE, DEC, ENC, INK

SCREEN = (1280, 720)  # px: the smallest screen every page must fit (a common projector resolution)
MAX_FIGURE_HEIGHT = 560  # px: 720 less Streamlit's header (60 px) and room for a heading or caption above a figure
CLASSROOM_SCALE = 1.5  # figures are this much taller in Classroom mode (then capped at MAX_FIGURE_HEIGHT)
CHART_FONT = 16  # px: the smallest chart text in Classroom mode (ticks, legends, annotations, hover labels)
CHART_TITLE_FONT = 18  # px: chart titles in Classroom mode
TITLE_CHARS = 36  # Classroom mode wraps chart and x-axis titles longer than this: a half-width column at 1280x720
# holds about 36 characters of 18 px text (longer titles ran past the chart's edge and were cut)
TITLE_LINE = 24  # px: one line of a wrapped title
TITLE_PAD = 22  # px from the figure's top to a wrapped title's anchor: plotly draws a title of several lines,
# anchored at its top, about 18 px higher than the anchor (measured in Chromium: 8 px left its first line 10 px
# above the chart, cut off), so this leaves ~4 px above the first line
MARKER_SCALE = 1.5  # Classroom mode's markers are this much larger (points of a code scatter read at the back)
PAGE_FONT = 18  # px: the page's root font size in Classroom mode (Streamlit's default is 16; its sizes are in rem)
SR_ONLY = "aelab-sr-only"  # CSS class of text that only screen readers see (a chart's text summary)

# On every page: a button's label wraps rather than being cut to "Co…"; text for screen readers only is out of
# sight and out of the layout (its element container would otherwise add a gap of the page's flex layout).
BASE_CSS = f"""
button [class*="stMarkdownEllipsis"] {{ white-space: normal; overflow: visible; text-overflow: clip; }}
.{SR_ONLY} {{ position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0; }}
[data-testid="stElementContainer"]:has(.{SR_ONLY}) {{ position: absolute; width: 1px; height: 1px;
  overflow: hidden; clip-path: inset(50%); }}
"""
# Classroom mode: every size Streamlit gives in rem grows with the root font (text, widgets, spacing).
CLASSROOM_CSS = f"""
html {{ font-size: {PAGE_FONT}px; }}
"""


def icon_svg() -> str:
    """The browser tab's icon: a sandglass in the encoder, code and decoder colours, as SVG markup made here, so the
    icon needs no network (a Material icon is fetched from fonts.gstatic.com) and its colours are the palette's."""
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            f'<polygon points="1,2 13,11 13,21 1,30" fill="{ENC}"/>'
            f'<rect x="13" y="11" width="6" height="10" fill="{CODE}"/>'
            f'<polygon points="19,11 31,2 31,30 19,21" fill="{DEC}"/></svg>')


def png_config(name: str) -> dict:
    """Plotly config: the modebar camera saves the figure as a PNG with this file name."""
    return {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, "displaylogo": False}


def page_css(classroom: bool) -> str:
    """The style sheet a page carries: BASE_CSS, and CLASSROOM_CSS in Classroom mode."""
    return f"<style>{BASE_CSS}{CLASSROOM_CSS if classroom else ''}</style>"


def fit_height(base: int, classroom: bool) -> int:
    """A figure height in px: `base`, or CLASSROOM_SCALE times taller in Classroom mode but at most
    MAX_FIGURE_HEIGHT (for_screen caps every figure there in both modes)."""
    return int(min(round(base * CLASSROOM_SCALE), MAX_FIGURE_HEIGHT)) if classroom else int(base)


def for_screen(fig: go.Figure, classroom: bool) -> go.Figure:
    """The figure as a page shows it: at most MAX_FIGURE_HEIGHT tall and, in Classroom mode, with chart text of at
    least CHART_FONT px (titles CHART_TITLE_FONT) and markers MARKER_SCALE times larger.

    Returns `fig` itself when nothing changes, else a restyled copy (cached figures such as the sandglass are shared
    between sessions and must not change); the copy skips plotly's validation (4 ms instead of 11-22 ms).
    """
    height = fig.layout.height
    too_tall = height is not None and height > MAX_FIGURE_HEIGHT
    if not classroom and not too_tall:
        return fig
    out = go.Figure(fig.to_dict(), _validate=False)  # to_dict is a deep copy
    layout = out.layout
    if too_tall:
        layout.height = MAX_FIGURE_HEIGHT
    if classroom:
        _enlarge(out)
    return out


class Prepared(go.Figure):
    """A figure already in the form st.plotly_chart sends: plotly's dict (to_dict), made once.

    st.plotly_chart asks every figure for `to_dict()`, a deep copy of its arrays encoded as base64, on every page
    run; with 30 students, that and the text summaries were about 30% of the page runs' GIL time (py-spy).
    A Prepared figure answers with the dict it made once, so the page receives the very same specification. Not a
    copy: st.plotly_chart only reads it (to JSON, and its layout's width and height), and copying Build & Train's
    five was 1.3 of the 1.6 ms they still cost a page run (tests/test_theme.py sends one five times, both modes,
    and compares it with the figure drawn afresh each time). It is nothing but that answer: go.Figure's __init__ is
    not run, and it is only ever handed to st.plotly_chart (ui.chart).
    """

    def __init__(self, fig: go.Figure):  # noqa: D107 - deliberately not go.Figure.__init__ (see above)
        self._aelab_spec = fig.to_dict()

    def to_dict(self) -> dict:
        return self._aelab_spec


def wrap(text: str, width: int = TITLE_CHARS) -> str:
    """Plotly rich text broken into lines (<br>) of at most `width` visible characters, at spaces; a word longer
    than that keeps a line to itself, and breaks the text already has stay."""
    from aelab.alt_text import plain

    lines = []
    for part in str(text).split("<br>"):
        line = ""
        for word in part.split(" "):
            if line and len(plain(f"{line} {word}")) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return "<br>".join(lines)


def _bigger(font, size: int) -> None:
    """Raise a font's size to at least `size` (a larger size a figure chose stays); ink it dark unless the figure
    chose a colour."""
    font.size = max(font.size or 0, size)
    if font.color is None:
        font.color = INK


def _enlarge(fig: go.Figure) -> None:
    layout = fig.layout
    for font in (layout.font, layout.legend.font, layout.legend.title.font, layout.hoverlabel.font):
        _bigger(font, CHART_FONT)
    _bigger(layout.title.font, CHART_TITLE_FONT)
    if layout.title.text:
        layout.title.text = wrap(layout.title.text)
        lines = layout.title.text.count("<br>") + 1
        if lines > 1:  # from the top down: the lines, then room for the plot's highest tick label
            layout.title.update(yref="container", y=1, yanchor="top", pad_t=TITLE_PAD)
            layout.margin.t = max(layout.margin.t or 0, 8 + TITLE_LINE * lines + 16)
    for note in layout.annotations:  # subplot titles, labels, the sandglass's widths and roles
        _bigger(note.font, CHART_FONT)
    axes = {k: layout[k] for k in layout if k.startswith(("xaxis", "yaxis"))}  # every 2-D axis, also subplots'
    axes |= {f"{k}.{a}": layout[k][a] for k in layout if k.startswith("scene") for a in ("xaxis", "yaxis", "zaxis")}
    for key, axis in (axes or {"xaxis": layout.xaxis, "yaxis": layout.yaxis}).items():
        _bigger(axis.tickfont, CHART_FONT)
        _bigger(axis.title.font, CHART_FONT)
        if key.startswith("xaxis") and axis.title.text:
            axis.title.text = wrap(axis.title.text)  # horizontal: it must fit the chart's width
        elif key.startswith("yaxis") and axis.title.text:
            # vertical: it must fit the plot's height, about the figure's less 150 px, at about 9 px a character
            axis.title.text = wrap(axis.title.text, max(12, ((layout.height or 450) - 150) // 9))
        if axis.type == "log" and not axis.tickformat and not axis.ticktext:
            axis.tickformat = "~g"  # plotly draws a log axis's in-between labels (2, 3, 5) at 3/4 of the tick font
            # unless the labels have a format of their own
    for trace in fig.data:
        marker = getattr(trace, "marker", None)
        size = getattr(marker, "size", None)  # bars' and heatmaps' markers have no size
        if isinstance(size, (int, float)):
            marker.size = size * MARKER_SCALE
        if getattr(trace, "textfont", None) is not None and getattr(trace, "text", None) is not None:
            _bigger(trace.textfont, CHART_FONT)
