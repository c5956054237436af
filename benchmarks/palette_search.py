"""How aelab's class palette (aelab/colors.py PALETTE) was found: five seed colours from Paul Tol's "vibrant" scheme
(its orange darkened to 3:1 on white), then five more picked from an sRGB grid by a greedy max-min rule and improved
by swaps, maximizing the smallest CIEDE2000 difference between two colours over normal vision and simulated
deuteranopia and protanopia (aelab.colors), among strong colours (chroma >= 30, L* >= 30, >= 3:1 on white).

Run: python benchmarks/palette_search.py [--step 17] [--rounds 3]   (prints the palette and its smallest ΔE)
"""
from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aelab import colors  # noqa: E402

# blue, orange, teal, red, magenta: Tol's vibrant scheme (https://personal.sron.nl/~pault/), orange EE7733 -> E8702A
SEED = ("#0077BB", "#E8702A", "#009988", "#CC3311", "#EE3377")
MIN_LIGHTNESS = 30.0  # L*: darker colours all read as black in small markers, whatever their hue
MIN_CHROMA = 30.0  # C*ab: greys and muddy colours are left out (they look alike on a washed-out projector)


def candidates(step: int, min_contrast: float = 3.0) -> list[str]:
    """sRGB grid colours (every `step` of 0-255 per channel) with at least `min_contrast` against white, and at
    least MIN_LIGHTNESS and MIN_CHROMA."""
    levels = sorted({*range(0, 256, step), 255})
    grid = (colors.to_hex(r / 255, g / 255, b / 255) for r, g, b in itertools.product(levels, repeat=3))
    return [c for c in grid if colors.contrast(c, "#FFFFFF") >= min_contrast and colors.lab(c)[0] >= MIN_LIGHTNESS
            and math.hypot(*colors.lab(c)[1:]) >= MIN_CHROMA]


def search(n: int = 10, step: int = 17, rounds: int = 3, seed: tuple[str, ...] = SEED) -> tuple[list[str], float]:
    """`seed` plus colours up to n, maximizing the smallest pairwise ΔE over colors.VISIONS; returns the palette and
    that smallest ΔE. Only the added colours move in the swaps."""
    pool = candidates(step)
    labs = {c: [colors.lab(colors.simulate(c, v)) for v in colors.VISIONS] for c in [*pool, *seed]}

    def gap(a: str, b: str) -> float:
        return min(colors.delta_e(x, y) for x, y in zip(labs[a], labs[b]))

    chosen = list(seed)
    while len(chosen) < n:  # greedy: the candidate farthest from everything chosen so far
        chosen.append(max(pool, key=lambda c: min(gap(c, s) for s in chosen)))
    for _ in range(rounds):  # swaps: move each added colour to where it is farthest from the others
        for i in range(len(seed), n):
            others = chosen[:i] + chosen[i + 1:]
            chosen[i] = max([chosen[i], *pool], key=lambda c: min(gap(c, s) for s in others))
    return chosen, min(gap(a, b) for a, b in itertools.combinations(chosen, 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--step", type=int, default=17)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    chosen, worst = search(args.n, args.step, args.rounds)
    print("palette:", ", ".join(f'"{c}"' for c in chosen))
    print(f"smallest CIEDE2000 difference over {', '.join(colors.VISIONS)}: {worst:.2f}")


if __name__ == "__main__":
    main()
