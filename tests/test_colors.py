"""aelab/colors.py: the class palette and the encoder/code/decoder colours stay distinguishable under simulated
deuteranopia and protanopia (Machado et al. 2009, CIEDE2000), the simulation and the colour difference agree with
published reference values, and no page or lab hard-codes a colour of its own.

Run: python -m pytest -q tests/test_colors.py
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from aelab import colors

ROOT = Path(__file__).resolve().parents[1]

# Sharma, Wu & Dalal (2005), Table 1: pairs of CIELAB colours and their CIEDE2000 difference (pairs 1-3, 7, 17-20)
SHARMA = [((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
          ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
          ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
          ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
          ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
          ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
          ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
          ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535)]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA)
def test_ciede2000_matches_sharma_table(lab1, lab2, expected):
    """CIEDE2000 reproduces Sharma et al.'s test pairs to 4 decimals, in both argument orders."""
    assert colors.delta_e(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert colors.delta_e(lab2, lab1) == pytest.approx(expected, abs=1e-4)


# Machado, Oliveira & Fernandes (2009), severity 1.0, first column of each matrix (typed here from the paper, not
# read from aelab.colors): pure linear red as a dichromat sees it.
PUBLISHED_RED = {"protanopia": (0.152286, 0.114503, -0.003882), "deuteranopia": (0.367322, 0.280085, -0.011820)}


@pytest.mark.parametrize("vision", ["protanopia", "deuteranopia"])
def test_simulation_reproduces_machado_matrix(vision):
    """Linear pure red maps to the paper's first matrix column, and white and greys stay as they are (every row of
    the published matrices sums to 1)."""
    assert colors.simulate_linear((1.0, 0.0, 0.0), vision) == pytest.approx(PUBLISHED_RED[vision], abs=1e-6)
    for grey in ("#FFFFFF", "#808080", "#000000"):
        assert colors.simulate(grey, vision) == grey


# The same simulation in colorspacious 1.1.2 (cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": "deuteranomaly"
# or "protanomaly", "severity": 100}, "sRGB1"), which implements Machado et al. 2009 on linear sRGB), rounded to 8 bits.
COLORSPACIOUS = [("#CC3311", "deuteranopia", "#897900"), ("#009E73", "deuteranopia", "#8A8676"),
                 ("#0F6CBD", "protanopia", "#4272C0"), ("#CC3311", "protanopia", "#635706")]


@pytest.mark.parametrize("color, vision, expected", COLORSPACIOUS)
def test_simulation_matches_an_independent_implementation(color, vision, expected):
    """simulate() gives colorspacious's colour for the same input (within one 8-bit step per channel)."""
    got, want = colors.rgb(colors.simulate(color, vision)), colors.rgb(expected)
    assert max(abs(a - b) for a, b in zip(got, want)) <= 1 / 255 + 1e-9


@pytest.mark.parametrize("vision", colors.VISIONS)
def test_class_palette_is_distinguishable(vision):
    """Every pair of the ten class colours is at least ΔE00 10 apart in normal vision and under simulated
    deuteranopia and protanopia (the old Tableau palette fell to 1.4: digits 2 and 3 under deuteranopia)."""
    worst, i, j = colors.closest_pair(colors.PALETTE, vision)
    assert len(colors.PALETTE) == 10 and len(set(colors.PALETTE)) == 10
    assert worst >= colors.MIN_DELTA_E, f"{colors.PALETTE[i]} and {colors.PALETTE[j]}: ΔE00 {worst:.1f} ({vision})"


def test_the_check_catches_the_old_palette():
    """The same check fails the palette aelab had before (Tableau 10), so it can fail."""
    old = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D",
           "#BAB0AC"]
    assert colors.closest_pair(old, "deuteranopia")[0] < 2
    assert colors.closest_pair(["#4C78A8", "#E45756", "#54A24B"], "deuteranopia")[0] < 10  # old enc/code/dec


@pytest.mark.parametrize("vision", colors.VISIONS)
def test_encoder_code_decoder_are_distinguishable(vision):
    """The sandglass's encoder, code and decoder colours are at least ΔE00 10 apart in every vision."""
    assert colors.closest_pair([colors.ENC, colors.CODE, colors.DEC], vision)[0] >= colors.MIN_DELTA_E


def test_colours_stand_out_on_white():
    """Every class colour and the neutral grey have at least 3:1 contrast on the white chart background (WCAG 2.1
    1.4.11), and the contrast formula gives WCAG's 21:1 for black on white."""
    assert colors.contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    for c in [*colors.PALETTE, colors.NEUTRAL]:
        assert colors.contrast(c, "#FFFFFF") >= 3.0, c


def test_every_class_has_a_marker_symbol():
    """The ten classes have ten different 2-D marker symbols, so a class never rests on colour alone."""
    assert len(set(colors.SYMBOLS)) == len(colors.PALETTE)
    assert len(set(colors.SYMBOLS_3D)) == len(colors.SYMBOLS_3D)


_LITERAL = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})\b|rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)")
# chromatic colours allowed outside aelab/colors.py, with the reason
ALLOWED = {"aelab/inside.py": "the weights' diverging colour scale (ColorBrewer RdBu, colour-blind safe by design)"}


def _chromatic(match: re.Match) -> bool:
    if match.group(1):
        h = match.group(1)
        r, g, b = (h[i] * 2 for i in range(3)) if len(h) == 3 else (h[0:2], h[2:4], h[4:6])
        return len({r.lower(), g.lower(), b.lower()}) > 1
    return len({match.group(2), match.group(3), match.group(4)}) > 1


def test_one_palette_definition():
    """No page or library module writes a coloured (non-grey) colour literal: they take colours from aelab.colors,
    and Streamlit's own chart colours (.streamlit/config.toml chartCategoricalColors) are the same palette."""
    files = [*sorted((ROOT / "aelab").glob("*.py")), *sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]
    found = [f"{p.relative_to(ROOT)}:{n}: {m.group(0)}" for p in files if p.name != "colors.py"
             and str(p.relative_to(ROOT)) not in ALLOWED
             for n, line in enumerate(p.read_text().splitlines(), 1) for m in _LITERAL.finditer(line) if _chromatic(m)]
    assert not found, "use aelab.colors instead:\n" + "\n".join(found)
    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    assert theme["chartCategoricalColors"] == colors.PALETTE


def test_rgba_and_hex_round_trip():
    """rgba() keeps the colour's channels; to_hex(rgb(c)) gives c back."""
    assert colors.rgba("#CC3311", 0.1) == "rgba(204,51,17,0.1)"
    assert all(colors.to_hex(*colors.rgb(c)) == c for c in colors.PALETTE)


def test_palette_search_reports_its_own_minimum():
    """benchmarks/palette_search.py (smoke run on a coarse grid): it keeps the seed colours, adds distinct ones, and
    the smallest ΔE it reports is the one closest_pair measures on its palette."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import palette_search

    chosen, worst = palette_search.search(n=7, step=85, rounds=1)
    assert chosen[:5] == list(palette_search.SEED) and len(set(chosen)) == 7
    assert worst == pytest.approx(min(colors.closest_pair(chosen, v)[0] for v in colors.VISIONS), abs=0.05)
