"""aelab/theme.py and aelab/alt_text.py, and ui.chart that joins them: Classroom mode's chart sizes, figures that fit
a 1280x720 screen, the page's style sheet and tab icon, and the text summary every chart carries for screen readers.

Run: python -m pytest -q tests/test_theme.py
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots
from streamlit.testing.v1 import AppTest

from aelab import alt_text, colors, diagram, figures, theme, ui
from aelab.spec import ArchSpec
from aelab.train import History

HISTORY = History(step_x=[0.5, 1.0, 1.5, 2.0], train=[0.1, 0.05, 0.04, 0.03], epoch_x=[1, 2], test=[0.06, 0.045])


def fonts(fig: go.Figure) -> dict[str, float | None]:
    """Every font size a figure sets explicitly, by where it is."""
    layout = fig.layout
    out = {"font": layout.font.size, "title": layout.title.font.size, "legend": layout.legend.font.size}
    for key in layout:
        if key.startswith(("xaxis", "yaxis")):
            out[f"{key} ticks"], out[f"{key} title"] = layout[key].tickfont.size, layout[key].title.font.size
        if key.startswith("scene"):
            for a in ("xaxis", "yaxis", "zaxis"):
                out[f"{key}.{a} ticks"] = layout[key][a].tickfont.size
    out |= {f"note {i}": note.font.size for i, note in enumerate(layout.annotations)}
    return out


def panel_figure() -> go.Figure:
    fig = make_subplots(rows=2, cols=1, subplot_titles=["top", "bottom"])
    fig.add_trace(go.Scatter(y=[1, 2], mode="markers", marker_size=6), row=1, col=1)
    fig.add_trace(go.Bar(x=["a", "b"], y=[1, 2], text=["1", "2"]), row=2, col=1)
    fig.update_annotations(font_size=11)
    return fig


@pytest.mark.parametrize("make", [
    lambda: figures.loss_curves(HISTORY), panel_figure,
    lambda: figures.latent_scatter(np.random.default_rng(0).random((30, 3)), np.arange(30) % 3, "abc"),
    lambda: diagram.sandglass(ArchSpec(input_dim=64, encoder=(32, 8), bottleneck=2))])
def test_classroom_chart_text_is_large(make):
    """In Classroom mode every chart text a figure sets is at least CHART_FONT px (titles CHART_TITLE_FONT), markers
    grow by MARKER_SCALE, and the original figure is left as it was (cached figures are shared)."""
    fig = make()
    before = fig.to_json()
    big = theme.for_screen(fig, classroom=True)
    sizes = fonts(big)
    assert all(size is not None and size >= theme.CHART_FONT for size in sizes.values()), sizes
    assert big.layout.title.font.size >= theme.CHART_TITLE_FONT
    for old, new in zip(fig.data, big.data):
        size = getattr(getattr(old, "marker", None), "size", None)
        if isinstance(size, (int, float)):
            assert new.marker.size == pytest.approx(size * theme.MARKER_SCALE)
    assert fig.to_json() == before


def test_classroom_titles_wrap_and_log_labels_stay_large():
    """In Classroom mode a long chart title wraps (lines of at most TITLE_CHARS characters, the top margin grown to
    hold them), a long x-axis title wraps too, a log axis gets a tick format (plotly draws the in-between labels of
    an unformatted log axis at 3/4 size), and the text is inked dark unless a figure chose a colour."""
    h = History(step_x=[0.5, 1.0], train=[0.1, 0.05], epoch_x=[1.0], test=[0.06])
    fig = figures.run_curves({"a": h}, title="Loss of each model: held out (solid), training (dotted)")
    fig.update_xaxes(title="principal direction (largest variance first) of the held-out codes")
    big = theme.for_screen(fig, classroom=True)
    lines = big.layout.title.text.split("<br>")
    assert len(lines) == 2 and all(len(line) <= theme.TITLE_CHARS for line in lines)
    assert " ".join(lines) == fig.layout.title.text and big.layout.margin.t >= theme.TITLE_LINE * 2
    assert all(len(line) <= theme.TITLE_CHARS for line in big.layout.xaxis.title.text.split("<br>"))
    assert big.layout.yaxis.type == "log" and big.layout.yaxis.tickformat
    assert big.layout.font.color == colors.INK and big.layout.xaxis.tickfont.color == colors.INK
    assert theme.wrap("a<br>b c", 3) == "a<br>b c" and theme.wrap("<b>bold</b> words", 4) == "<b>bold</b><br>words"


def test_figures_fit_the_screen():
    """A figure taller than MAX_FIGURE_HEIGHT is shown at that height in both modes (the 3D code view was 840 px);
    one that fits is passed through unchanged outside Classroom mode; fit_height scales and caps."""
    tall = figures.latent_scatter(np.zeros((4, 3)), np.arange(4), "abcd", height=840)
    assert theme.for_screen(tall, classroom=False).layout.height == theme.MAX_FIGURE_HEIGHT
    assert theme.for_screen(tall, classroom=True).layout.height == theme.MAX_FIGURE_HEIGHT
    small = figures.loss_curves(HISTORY, height=320)
    assert theme.for_screen(small, classroom=False) is small
    assert theme.MAX_FIGURE_HEIGHT + 60 <= theme.SCREEN[1]  # below Streamlit's 60 px header
    assert theme.fit_height(300, False) == 300 and theme.fit_height(300, True) == 450
    assert theme.fit_height(560, True) == theme.MAX_FIGURE_HEIGHT


def test_page_css_and_icon():
    """The style sheet has Classroom mode's root font only in Classroom mode and always the screen-reader class;
    the tab icon is well-formed SVG in the encoder, code and decoder colours."""
    assert f"font-size: {theme.PAGE_FONT}px" in theme.page_css(True)
    assert f"font-size: {theme.PAGE_FONT}px" not in theme.page_css(False)
    assert all(f".{theme.SR_ONLY}" in theme.page_css(c) for c in (True, False))
    svg = ET.fromstring(theme.icon_svg())
    assert svg.tag.endswith("svg") and {e.get("fill") for e in svg} == {colors.ENC, colors.CODE, colors.DEC}


def test_summary_reads_the_figure():
    """A loss chart's summary names its title, axes and series with their last and lowest values, taken from the
    history it was drawn from."""
    text = alt_text.summary(figures.loss_curves(HISTORY, title="Loss (lower is better)"))
    assert text.startswith("Chart: Loss (lower is better).")
    assert "X axis: epoch; y axis: loss per feature (log scale)." in text
    assert "train: 4 points, last 0.03, lowest 0.03, highest 0.1" in text
    assert "test (held out): 2 points, last 0.045, lowest 0.045, highest 0.06" in text


def test_summary_of_other_kinds():
    """Bars are read out with their values, a scatter counts its points per class, an image grid names its rows,
    the sandglass lists its labels; rich text is flattened and NaN values are left out."""
    bars = go.Figure(go.Bar(x=["plain AE", "denoising AE"], y=[0.031, 0.012], name="error"),
                     layout=dict(title="<b>Error</b><br>on clean images"))
    assert alt_text.summary(bars) == "Chart: Error on clean images. Series: error: plain AE 0.031, denoising AE 0.012."
    scatter = figures.latent_scatter(np.zeros((6, 2)), np.array([0, 0, 0, 1, 1, 2]), ["zero", "one", "two"])
    assert "zero: 3 points; one: 2 points; two: 1 points" in alt_text.summary(scatter)
    grid = figures.image_grid([np.zeros((3, 4)), np.ones((3, 4))], (2, 2), row_labels=["input", "output"])
    assert "Rows: input, output." in alt_text.summary(grid)
    glass = alt_text.summary(diagram.sandglass(ArchSpec(input_dim=64, encoder=(32,), bottleneck=2)))
    assert "Labels: 64, input, 32, encoder, 2, code, 32, decoder, 64, output." in glass and "→" not in glass
    gaps = go.Figure(go.Scatter(y=[1.0, float("nan"), 0.5], name="loss"))
    assert "loss: 2 points, last 0.5, lowest 0.5, highest 1" in alt_text.summary(gaps)


CHART_SCRIPT = """
import plotly.graph_objects as go
import streamlit as st
from aelab import ui
st.session_state.setdefault(ui.CLASSROOM_KEY, False)
ui.chart(go.Figure(go.Scatter(y=[3, 1, 2], name="x < 1 & <b>y</b>"), layout=dict(title="t", height=900)), "c")
ui.chart(go.Figure(go.Bar(y=[1])), "d", summary="my own words")
ui.chart(go.Figure(go.Bar(y=[1])), "e", summary="")
"""


def test_chart_draws_the_figure_and_its_summary():
    """ui.chart shows the figure capped at MAX_FIGURE_HEIGHT, then its summary as escaped screen-reader-only HTML (a
    caller's own words when given, none for ""); Classroom mode enlarges the chart's text."""
    at = AppTest.from_string(CHART_SCRIPT, default_timeout=30).run()
    assert not at.exception
    charts = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    htmls = [el.proto.body for el in at.get("html")]
    assert len(charts) == 3 and len(htmls) == 2
    assert charts[0]["layout"]["height"] == theme.MAX_FIGURE_HEIGHT
    assert f'class="{theme.SR_ONLY}"' in htmls[0] and "x &lt; 1 &amp; y: 3 points" in htmls[0]
    assert "<b>" not in htmls[0] and "my own words" in htmls[1]
    at.session_state[ui_key()] = True
    at.run()
    big = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert big["layout"]["font"]["size"] == theme.CHART_FONT


def ui_key() -> str:
    from aelab import ui

    return ui.CLASSROOM_KEY


def test_pages_draw_charts_through_ui_chart():
    """No page calls st.plotly_chart itself: every chart goes through ui.chart, so Classroom mode's sizes, the
    1280x720 cap and the screen-reader summary apply to all of them (ui.chart's own call is aelab's only one)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def calls(path: Path) -> list[str]:
        lines = path.read_text().splitlines()
        return [f"{path.name}:{n}" for n, line in enumerate(lines, 1) if "plotly_chart(" in line]

    assert [c for p in sorted((root / "pages").glob("*.py")) for c in calls(p)] == []
    assert len(calls(root / "aelab" / "ui.py")) == 1


FROZEN_SCRIPT = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from aelab import diagram, figures, ui
from aelab.spec import ArchSpec
from aelab.train import History

st.session_state.setdefault(ui.CLASSROOM_KEY, False)
st.session_state.setdefault("to_dict_calls", 0)
if "pairs" not in st.session_state:
    class Counted(go.Figure):  # counts the conversions ui.chart asks of a frozen figure
        def to_dict(self):
            st.session_state["to_dict_calls"] += 1
            return super().to_dict()

    rng = np.random.default_rng(0)
    made = [figures.loss_curves(History(step_x=list(np.arange(1, 301) / 3), train=list(rng.random(300)),
                                        epoch_x=list(range(1, 101)), test=list(rng.random(100))), title="Loss"),
            figures.latent_scatter(rng.random((50, 3)), np.arange(50) % 3, "abc", height=900),
            figures.image_grid([rng.random((4, 64)), rng.random((4, 64))], (8, 8), row_labels=["in", "out"]),
            diagram.sandglass(ArchSpec(input_dim=64, encoder=(32, 8), bottleneck=2))]
    st.session_state["pairs"] = [(fig, ui.frozen(Counted(fig))) for fig in made]
for i, (plain, frozen) in enumerate(st.session_state["pairs"]):
    ui.chart(plain, f"plain{i}")
    ui.chart(frozen, f"frozen{i}")
"""


def test_a_frozen_figure_is_sent_exactly_as_drawn_afresh_and_converted_once_per_display_mode():
    """ui.chart sends a frozen figure (ui.frozen: ui.kept's figures, the sandglass) as the same specification and
    screen-reader summary as the figure drawn as usual, in both display modes (capped heights and Classroom sizes
    included), and asks it for plotly's dict once per mode instead of on every page run."""
    at = AppTest.from_string(FROZEN_SCRIPT, default_timeout=30).run()

    def sent():
        specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
        texts = [el.proto.body for el in at.get("html")]
        return specs[0::2], specs[1::2], texts[0::2], texts[1::2]

    n = 4
    for run, classroom, calls in ((1, False, n), (2, False, n), (3, True, 2 * n), (4, True, 2 * n), (5, False, 2 * n)):
        if run > 1:
            at.session_state[ui_key()] = classroom
            at.run()
        assert not at.exception
        plain, frozen, plain_text, frozen_text = sent()
        assert len(plain) == n and plain == frozen and plain_text == frozen_text, run
        assert at.session_state["to_dict_calls"] == calls, run
        assert (plain[0]["layout"].get("font", {}).get("size") == theme.CHART_FONT) == classroom
        assert plain[1]["layout"]["height"] == theme.MAX_FIGURE_HEIGHT


SANDGLASS_SCRIPT = """
import streamlit as st
from aelab import diagram, ui
from aelab.spec import ArchSpec

st.session_state.setdefault(ui.CLASSROOM_KEY, False)
for spec in (ArchSpec(input_dim=64, encoder=(32, 8), bottleneck=2), ArchSpec(input_dim=784, encoder=(128,), bottleneck=3)):
    ui.chart(diagram.sandglass(spec, height=230), f"fresh{spec.bottleneck}")
    ui.chart(ui.sandglass(spec, 230), f"kept{spec.bottleneck}")
"""


def test_the_sandglass_is_built_once_per_network_and_height_and_sent_as_drawn_afresh():
    """ui.sandglass (Build & Train draws it on every page run, an edit made while training included) gives the same
    frozen figure for the same network and height, another for another network or height, and the page receives
    exactly what a sandglass drawn afresh sends, on every run."""
    a, b = ArchSpec(input_dim=64, encoder=(32, 8), bottleneck=2), ArchSpec(input_dim=64, encoder=(32,), bottleneck=2)
    assert ui.sandglass(a, 230) is ui.sandglass(ArchSpec(input_dim=64, encoder=(32, 8), bottleneck=2), 230)
    assert ui.sandglass(a, 230) is not ui.sandglass(b, 230) and ui.sandglass(a, 230) is not ui.sandglass(a, 260)
    at = AppTest.from_string(SANDGLASS_SCRIPT, default_timeout=30)
    for _ in range(3):
        at.run()
        assert not at.exception
        specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
        assert len(specs) == 4 and specs[0] == specs[1] and specs[2] == specs[3] and specs[0] != specs[2]
