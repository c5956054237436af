"""The bottleneck experiment in words: sentences computed from its measured rows (never canned text)."""
from __future__ import annotations

import math

import numpy as np

from aelab.questions import QUESTIONS
from aelab.sweep import OOD_LABELS, SizeResult

TRENDS = QUESTIONS["bottleneck"].options  # answer key -> what the learner can predict about the held-out error


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


GROWS = 1.2  # a gap counts as grown (or shrunk) when it changed by this factor or more
MEMORIZED = 0.05  # training error below this share of the held-out error: the training images are memorized


def gap_change(a: float, b: float) -> str:
    """How a gap changed from a to b: "grew", "shrank" or "same" (by the factor GROWS)."""
    if b >= a * GROWS and b > 0:
        return "grew"
    if b <= a / GROWS:
        return "shrank"
    return "same"


def _gap_sentence(first: SizeResult, last: SizeResult, n_train: int | None) -> str:
    """Both measures of the train/test gap, and which one grows: the ratio (held-out ÷ training) can grow while
    the absolute gap (held-out − training) shrinks, and only the second says the model got worse on new images."""
    a0, a1 = first.test_error - first.train_error, last.test_error - last.train_error
    ratio, absolute = gap_change(first.gap, last.gap), gap_change(max(a0, 0.0), max(a1, 0.0))
    text = (f"The gap between held-out and training error, from b={first.bottleneck} to b={last.bottleneck}: as a "
            f"ratio (held-out ÷ training) {first.gap:.1f}× → {last.gap:.1f}× ({ratio}); in absolute terms "
            f"(held-out − training) {a0:.4f} → {a1:.4f} ({absolute}). ")
    more = f" with {n_train:,} training images" if n_train else ""
    smaller = (" To see memorization without ambiguity, " + ("shrink the training set (e.g. to 30 images) and "
               if not n_train or n_train > 50 else "") + "raise the epochs (e.g. 1000), then run again: the training "
               "error falls toward 0 while the held-out error stays high, and the page compares the two runs.")
    if ratio == "grew" and absolute == "grew":
        return text + ("Both grew: the wide codes fit their training images better than new ones by every measure. "
                       "That is memorization.")
    if ratio == "grew":
        return text + ("Only the ratio grew: the training error fell faster than the held-out error, yet the wide "
                       f"codes miss new images by {'less' if absolute == 'shrank' else 'about as much'} in absolute "
                       "terms. A growing ratio alone does not show that new images got worse." + smaller)
    if absolute == "grew":
        return text + ("The absolute gap grew while the ratio did not: the wide codes' training and held-out errors "
                       "both moved, the held-out one further. A mild sign of memorization.")
    return text + f"Neither grew: no sign of memorization{more} at these settings." + smaller


def _memorized_sentence(rows: list[SizeResult]) -> str | None:
    """Where the training images are rebuilt almost perfectly while new ones are not."""
    done = [r for r in rows if r.train_error < MEMORIZED * r.test_error]
    if not done:
        return None
    r = done[0]
    return (f"From b={r.bottleneck} on, training images come back almost perfectly (training error {r.train_error:.5f}, "
            f"{r.train_error / r.test_error:.1%} of the held-out error {r.test_error:.4f}): those models have "
            "memorized their training images.")


def compare_runs(before: list[SizeResult], n_before: int, after: list[SizeResult], n_after: int) -> str | None:
    """Two experiments with different training-set sizes, compared at the largest code size both trained: does the
    smaller set fit its images better and new images worse? None when they share no size or the sizes are equal."""
    before, after = _finite_rows(before), _finite_rows(after)
    common = sorted({r.bottleneck for r in before} & {r.bottleneck for r in after})
    if not common or n_before == n_after:
        return None
    b = common[-1]
    (small, n_small), (big, n_big) = sorted([(next(r for r in after if r.bottleneck == b), n_after),
                                             (next(r for r in before if r.bottleneck == b), n_before)],
                                            key=lambda p: p[1])
    text = (f"At b={b}, {n_big:,} → {n_small:,} training images: training error {big.train_error:.4f} → "
            f"{small.train_error:.4f}, held-out error {big.test_error:.4f} → {small.test_error:.4f}. ")
    test, train = gap_change(big.test_error, small.test_error), gap_change(big.train_error, small.train_error)
    if test == "grew" and train != "grew":
        return text + ("With fewer images the model fits the ones it has as well or better, and new images get "
                       "worse: memorization, without ambiguity.")
    if test == "grew":
        return text + ("With fewer images both errors rose: the smaller set is harder to learn from at these "
                       "settings (more epochs let the training error fall further).")
    if test == "shrank":
        return text + "The smaller set did better on new images here, the opposite of memorization: check the seed."
    return text + "The held-out error hardly changed with the training-set size at these settings."


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
                "memorizes\" is too simple: a wide code fits the images it saw relatively better (the ratio grows), "
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
    out.append(_gap_sentence(first, last, n_train))
    memorized = _memorized_sentence(rows)
    if memorized:
        out.append(memorized)
    out.append(_slogan_sentence(trend, best, gap_change(first.gap, last.gap) == "grew"))
    if first.ood:
        out.append(_ood_sentence(rows, next(iter(first.ood))))
    if all(math.isfinite(r.knn_accuracy) for r in rows):
        out.append(_probe_sentence(rows))
    return out
