"""The colours every page draws with (class palette, marker symbols, encoder/code/decoder), and how we know that
learners with red-green colour blindness can tell them apart: Machado et al. (2009) simulation, CIEDE2000 distances.

Plain Python (no numpy): the home page's sandglass uses these colours and starts without numpy.
"""
from __future__ import annotations

import itertools
import math

# Ten class colours (blue, orange, teal, red, magenta, wine, purple, indigo, sky, pine), found by
# benchmarks/palette_search.py: every pair stays at least CIEDE2000 ΔE 12.5 apart in normal vision and under
# simulated deuteranopia and protanopia, and every colour has at least 3:1 contrast on the white chart background
# (WCAG 2.1, 1.4.11 non-text contrast). tests/test_colors.py checks both. The first two are training and held out.
PALETTE = ["#0077BB", "#E8702A", "#009988", "#CC3311", "#EE3377", "#990022", "#772277", "#3311DD", "#3399EE",
           "#006655"]
# One marker symbol per class as well, so the class never rests on colour alone (plotly symbol names; the 3D
# scatter knows only a few, see SYMBOLS_3D).
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "triangle-down", "star", "pentagon",
           "hexagon"]
SYMBOLS_3D = ["circle", "square", "diamond", "cross", "x", "circle-open", "square-open", "diamond-open"]
ENC, CODE, DEC = PALETTE[0], PALETTE[3], PALETTE[2]  # encoder (blue), code (red), decoder (teal) on every page
NEUTRAL = "#666666"  # reference lines and annotations that are no class (5.7:1 on white)
EARLIER = ["#7f7f7f", "#a6a6a6", "#c7c7c7"]  # earlier runs' curves behind the current one: darker = more recent
INK = "#222222"  # chart text in Classroom mode (Streamlit's chart theme draws ticks in light grey; 15.9:1 on white)

# Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for Simulation of Color Vision
# Deficiency", IEEE TVCG 15(6), 1291-1298: the matrices for severity 1.0 (the full dichromacy), as published with
# the paper. They act on linear RGB (sRGB with its gamma removed), one row per output channel.
MACHADO = {
    "protanopia": ((0.152286, 1.052583, -0.204868),
                   (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968),
                     (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
}
VISIONS = ("normal", "deuteranopia", "protanopia")
MIN_DELTA_E = 10.0  # CIEDE2000 units: the smallest difference between two classes we accept, in every vision


def rgb(color: str) -> tuple[float, float, float]:
    """'#RRGGBB' -> (r, g, b) in [0, 1] (gamma-encoded sRGB)."""
    h = color.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"not a #RRGGBB colour: {color!r}")
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))


def rgba(color: str, alpha: float) -> str:
    """'#RRGGBB' with an opacity, as plotly's 'rgba(r,g,b,a)' (for fills under a line of the same colour)."""
    r, g, b = (round(v * 255) for v in rgb(color))
    return f"rgba({r},{g},{b},{alpha:g})"


def to_hex(r: float, g: float, b: float) -> str:
    """(r, g, b) in [0, 1] (clipped) -> '#RRGGBB'."""
    return "#" + "".join(f"{round(min(max(v, 0.0), 1.0) * 255):02X}" for v in (r, g, b))


def linear(v: float) -> float:
    """sRGB gamma-encoded value -> linear light (IEC 61966-2-1)."""
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def encoded(v: float) -> float:
    """Linear light -> sRGB gamma-encoded value (IEC 61966-2-1)."""
    return 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055


def simulate_linear(lin: tuple[float, float, float], vision: str) -> tuple[float, float, float]:
    """A colour in linear RGB as a dichromat sees it (Machado et al. 2009), unclipped; "normal" returns it."""
    if vision == "normal":
        return tuple(lin)
    m = MACHADO[vision]
    return tuple(sum(m[i][j] * lin[j] for j in range(3)) for i in range(3))


def simulate(color: str, vision: str) -> str:
    """'#RRGGBB' as it looks under `vision` ("normal", "deuteranopia", "protanopia"), as '#RRGGBB'."""
    lin = simulate_linear(tuple(linear(v) for v in rgb(color)), vision)
    return to_hex(*(encoded(min(max(v, 0.0), 1.0)) for v in lin))


def luminance(color: str) -> float:
    """Relative luminance (WCAG 2.1), 0 for black to 1 for white."""
    r, g, b = (linear(v) for v in rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours, 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


_WHITE = (0.95047, 1.0, 1.08883)  # D65 reference white, the white point of sRGB


def lab(color: str) -> tuple[float, float, float]:
    """'#RRGGBB' -> CIELAB (L*, a*, b*) under D65 (sRGB -> XYZ with the IEC 61966-2-1 matrix)."""
    r, g, b = (linear(v) for v in rgb(color))
    xyz = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b,
           0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
           0.0193339 * r + 0.1191920 * g + 0.9503041 * b)
    f = [t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
         for t in (c / w for c, w in zip(xyz, _WHITE))]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def delta_e(lab1: tuple[float, float, float], lab2: tuple[float, float, float]) -> float:
    """CIEDE2000 colour difference (kL = kC = kH = 1), as written out step by step in Sharma, Wu & Dalal (2005),
    "The CIEDE2000 color-difference formula: implementation notes", Color Res. Appl. 30(1), eqs. (1)-(23)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else h2p - h1p - 360 * ((h2p - h1p) > 180) + 360 * ((h2p - h1p) < -180)
    dhp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh) / 2)
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(hbp - 30)) + 0.24 * math.cos(math.radians(2 * hbp))
         + 0.32 * math.cos(math.radians(3 * hbp + 6)) - 0.20 * math.cos(math.radians(4 * hbp - 63)))
    d_theta = 30 * math.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cbp ** 7 / (cbp ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / math.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp / sh) ** 2 + rt * (dcp / sc) * (dhp / sh))


def closest_pair(colors, vision: str = "normal") -> tuple[float, int, int]:
    """The smallest CIEDE2000 difference between two of `colors` as seen under `vision`, and which pair (i, j)."""
    labs = [lab(simulate(c, vision)) for c in colors]
    return min((delta_e(labs[i], labs[j]), i, j) for i, j in itertools.combinations(range(len(labs)), 2))
