"""The bottleneck experiment in words: sentences computed from its measured rows (never canned text)."""
from __future__ import annotations

import math

import numpy as np

from aelab.sweep import OOD_LABELS, SizeResult

TRENDS = {  # answer key -> what the learner can predict about the held-out (test) error as the code grows
    "falls": "It keeps falling: a bigger code is better on new images too",
    "levels": "It falls, then levels off",
    "rises": "It falls, then rises again: the big codes memorize and get worse on new images",
    "flat": "The code size makes little difference",
}


def _finite_rows(rows: list[SizeResult]) -> list[SizeResult]:
    ok = [r for r in rows if math.isfinite(r.train_error) and math.isfinite(r.test_error) and r.train_error > 0]
    return sorted(ok, key=lambda r: r.bottleneck)


def classify_trend(errors: list[float], tol: float = 0.05) -> str:
    """Shape of an error curve over growing sizes: a key of TRENDS."""
    lo, hi = min(errors), max(errors)
    if hi <= lo * 1.1:
        return "flat"
    best = errors.index(lo)
    if best < len(errors) - 1 and errors[-1] > lo * (1 + tol):
        return "rises"
    near = [i for i, e in enumerate(errors) if e <= errors[-1] * (1 + tol)]
    return "levels" if near and near[0] < len(errors) - 1 else "falls"


def measured_trend(rows: list[SizeResult]) -> str | None:
    rows = _finite_rows(rows)
    return classify_trend([r.test_error for r in rows]) if len(rows) >= 2 else None


def _change(a: float, b: float) -> str:
    if b <= 0 or a <= 0:
        return f"from {a:.4f} to {b:.4f}"
    ratio = a / b
    if ratio >= 1.05:
        return f"from {a:.4f} to {b:.4f} ({ratio:.1f}× lower)"
    if ratio <= 1 / 1.05:
        return f"from {a:.4f} to {b:.4f} ({1 / ratio:.1f}× higher)"
    return f"from {a:.4f} to {b:.4f} (about the same)"


def _gap_sentence(first: SizeResult, last: SizeResult, biggest: SizeResult, n_train: int | None) -> str:
    text = (f"The gap (test ÷ train error) went from {first.gap:.1f}× at b={first.bottleneck} to "
            f"{last.gap:.1f}× at b={last.bottleneck}")
    if biggest is not last:
        text += f" (largest: {biggest.gap:.1f}× at b={biggest.bottleneck})"
    if biggest.gap >= 2 and biggest.gap >= 1.5 * first.gap:
        return text + (": the wide codes are far better on images they trained on than on new ones. "
                       "That is memorization.")
    if biggest.gap >= 1.2 * first.gap:
        return text + ": a mild sign of memorization."
    more = f" with {n_train:,} training images" if n_train else ""
    return text + (f": no real sign of memorization{more} at these settings. Try a smaller training set or "
                   "more epochs.")


def _ood_sentence(rows: list[SizeResult], key: str) -> str:
    """What the never-seen inputs show: does a wide code reproduce them, and does it still flag them?"""
    first, last = rows[0], rows[-1]
    label = OOD_LABELS.get(key, key)
    o0, o1 = first.ood[key], last.ood[key]
    r0, r1 = o0 / first.test_error, o1 / last.test_error  # how many times worse than normal test images
    text = f"On {label}, which no model ever saw, the error went {_change(o0, o1)}. "
    if o1 < o0 / 1.1:
        text += "The wider codes reproduce even inputs unlike their training data better: they copy more. "
    elif o1 > o0 * 1.1:
        text += "The wider codes did not learn to copy such inputs: they still fail on them. "
    else:
        text += "Code size hardly changed how badly they are reproduced. "
    ratios = f"{r0:.1f}× the error of normal test images at b={first.bottleneck} and {r1:.1f}× at b={last.bottleneck}"
    if r1 < r0 / 1.1:
        return text + f"As an alarm for unusual inputs, the wide codes are weaker: unusual inputs scored {ratios}."
    if r1 > r0 * 1.1:
        return text + (f"Measured against normal test images, though, unusual inputs stand out MORE at the wide "
                       f"codes ({ratios}): as an alarm for unusual inputs, they did not get worse here.")
    return text + f"Unusual inputs stand out about equally at every size ({ratios})."


def _probe_sentence(rows: list[SizeResult]) -> str:
    """Are wider codes more useful as features, or only better for reconstruction?"""
    accs = [r.knn_accuracy for r in rows]
    best = rows[int(np.argmax(accs))]
    first, last = rows[0], rows[-1]
    plateau = next(r for r in rows if r.knn_accuracy >= best.knn_accuracy - 0.02)
    text = (f"Are the codes useful? A 5-nearest-neighbour classifier on the codes scored {first.knn_accuracy:.0%} "
            f"at b={first.bottleneck}, {best.knn_accuracy:.0%} at best (b={best.bottleneck}) and "
            f"{last.knn_accuracy:.0%} at b={last.bottleneck}.")
    if best.knn_accuracy - last.knn_accuracy > 0.02:
        return text + (" The most useful code for telling classes apart is not the widest one: extra code "
                       "numbers bought sharper reconstructions, not better features.")
    if plateau is not last:
        return text + (f" From b={plateau.bottleneck} on it stayed within 2 points of its best, while the test "
                       f"error still went {_change(plateau.test_error, last.test_error)}: wider codes reconstruct "
                       "better without telling classes apart any better.")
    return text + " Here wider codes kept getting more useful, up to the largest size."


def _slogan_sentence(trend: str, best: SizeResult, gap_grew: bool) -> str:
    """Does "a bigger bottleneck memorizes" hold for these numbers, and in which sense?"""
    if trend == "rises":
        return f"So here the slogan holds: past b={best.bottleneck}, a bigger code made new images worse."
    if trend == "flat":
        return "The code size made little difference at these settings, so they cannot test the slogan."
    if gap_grew:
        return ("Yet the bigger codes did not get worse on new images. The slogan \"a bigger bottleneck "
                "memorizes\" is too simple: a wide code fits the images it saw much better (the gap grows), "
                "while its error on new images still falls or levels off instead of rising.")
    return "Here the bigger codes were simply better, on seen and new images alike."


def explain(rows: list[SizeResult], n_train: int | None = None) -> list[str]:
    """Markdown sentences stating what THESE measurements show (computed, never canned)."""
    rows = _finite_rows(rows)
    if len(rows) < 2:
        return ["Run at least two bottleneck sizes to compare them."]
    first, last = rows[0], rows[-1]
    best = min(rows, key=lambda r: r.test_error)
    trend = classify_trend([r.test_error for r in rows])
    out = [f"Training error fell {_change(first.train_error, last.train_error)} as the code grew from "
           f"b={first.bottleneck} to b={last.bottleneck}." if last.train_error < first.train_error else
           f"Training error did not fall with the code size ({_change(first.train_error, last.train_error)}): "
           "the models may need more epochs.",
           f"Held-out error went {_change(first.test_error, last.test_error)}; the best was "
           f"{best.test_error:.4f} at b={best.bottleneck}. Verdict: \"{TRENDS[trend]}\"."]
    out.append(_gap_sentence(first, last, max(rows, key=lambda r: r.gap), n_train))
    out.append(_slogan_sentence(trend, best, first.gap < max(r.gap for r in rows) / 1.2))
    if first.ood:
        out.append(_ood_sentence(rows, next(iter(first.ood))))
    if all(math.isfinite(r.knn_accuracy) for r in rows):
        out.append(_probe_sentence(rows))
    return out
