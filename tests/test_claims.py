"""Teaching truth (issue 12): every sentence a lesson or a page prints agrees with the numbers it was computed from.

Each claim below pairs a phrase a verdict may print with a check on the numbers, written here independently of the
verdict's own code: wherever the phrase appears, the check must hold. The lesson demos and every lab's verdict run
on 3 seeds on Digits (the demos also on an MNIST subset when its files are present); the contradiction tests show
the checks can fail: a verdict set beside contradicting numbers is caught, and the verdict recomputed from those
numbers changes its words. `-s` prints the table claim | seeds tried | agreement.
Run: python -m pytest -s tests/test_claims.py
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from typing import Callable

import numpy as np
import pytest

from aelab import (analysis, anomaly, data, denoise, latent, layers, lesson_demos, linear, runs, signals, sweep,
                   sweep_text, vae)
from aelab.lessons import STEPS
from aelab.spec import ArchSpec, TrainConfig

SEEDS = (0, 1, 2)
C = 1.05  # the lessons' "clearly different" factor (lesson_demos.CLEAR), restated as the claims' definition
TABLE: dict[str, list[bool]] = defaultdict(list)  # claim -> agreement of every run in which it was printed


@dataclasses.dataclass(frozen=True)
class Claim:
    name: str  # as listed in the table
    said: Callable[[str], bool]  # is the claim in this text?
    holds: Callable  # do the numbers support it? holds(numbers), or holds(numbers, text) with reads_text
    reads_text: bool = False  # the check compares the printed text with what the numbers give


def phrase(name: str, text: str, holds: Callable[[object], bool]) -> Claim:
    return Claim(name, lambda t: text in t, holds)


def supported(c: Claim, text: str, nums) -> bool:
    return bool(c.holds(nums, text) if c.reads_text else c.holds(nums))


def violations(claims: list[Claim], text: str, nums) -> list[str]:
    """The claims printed in `text` that `nums` do not support."""
    return [c.name for c in claims if c.said(text) and not supported(c, text, nums)]


def record(claims: list[Claim], text: str, nums) -> list[str]:
    """Check and remember (for the table) every claim printed in `text`."""
    for c in claims:
        if c.said(text):
            TABLE[c.name].append(supported(c, text, nums))
    return violations(claims, text, nums)


def option_claim(step_key: str, reference: Callable[[dict], str | None]) -> Claim:
    """The option the outcome reports (Outcome.shows, carried in the numbers as '_shows') is the one the numbers
    support by the reference rule."""
    return Claim(f"{step_key}: reported option", lambda t: True, lambda v: v["_shows"] == reference(v))


def r(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf


# -- the lessons' claims -------------------------------------------------------------------------------------------
def _lr_ref(v):
    e = {k: v[f"lr_{k}"] for k in ("tiny", "middle", "huge")}
    ranked = sorted(e, key=e.get)
    return ranked[0] if e[ranked[1]] > C * e[ranked[0]] else None


def _best_lr(v) -> float:
    lrs = {"tiny": 1e-5, "middle": 3e-3, "huge": 1.0}  # the lesson's three learning rates (lesson_demos.HYPER_LRS)
    return lrs[min(lrs, key=lambda k: v["lr_" + k])]


def _loss_flip(v) -> bool:
    ks = ("mse", "bce", "l1")
    for i, a in enumerate(ks):
        for b in ks[i + 1:]:
            by_mse = -1 if v[b] > C * v[a] else 1 if v[a] > C * v[b] else 0
            by_mae = -1 if v[b + "_l1"] > C * v[a + "_l1"] else 1 if v[a + "_l1"] > C * v[b + "_l1"] else 0
            if by_mse * by_mae == -1:
                return True
    return False


def _loss_equal(v) -> bool:
    ks = ("mse", "bce", "l1")
    return all(max(v[k + s] for k in ks) < 1.1 * min(v[k + s] for k in ks) for s in ("", "_l1"))


def _tie_pairs(t: str) -> list[tuple[str, str]]:
    return re.findall(r"(MSE|BCE|L1) and (MSE|BCE|L1) tie", t)


def _beats(t: str) -> list[tuple[str, str]]:
    return re.findall(r"(MSE|BCE|L1) beats (MSE|BCE|L1)", t)


def _gap_label(t: str, which: str) -> str | None:
    m = re.search(rf"{which}[^(]*\([^)]*\) went [0-9.]+x → [0-9.]+x \((\w+)\)" if which == "ratio" else
                  r"absolute gap \(held-out − training\) (-?[0-9.]+) → (-?[0-9.]+) \((\w+)\)", t)
    return None if m is None else m.groups()[-1]


def _change(a, b):
    return "grew" if b >= 1.2 * a and b > 0 else "shrank" if b <= a / 1.2 else "same"


def _mem_ref(v):
    if v["test32"] > C * v["test2"]:
        return "worse"
    if v["test32"] < v["test2"] / C:
        return "better_ratio" if _change(v["gap2"], v["gap32"]) == "grew" else "better_same"
    return None


def _wide_ref(v):
    if v["wide_pass"] <= v["narrow_pass"]:
        return "less_noise"
    if v["wide_error"] < v["narrow_error"] / C:
        return "more_noise_better"
    if v["wide_error"] > C * v["narrow_error"]:
        return "more_noise_worse"
    return None


LESSON_CLAIMS: dict[str, list[Claim]] = {
    "what": [phrase("what: outputs became copies (error at least 3x lower)", "recognizable copies",
                    lambda v: v["before"] >= 3 * v["after"]),
             phrase("what: needs more training (under 3x lower)", "needs more training",
                    lambda v: v["before"] < 3 * v["after"]),
             option_claim("what", lambda v: "copy" if v["before"] >= 3 * v["after"] else None)],
    "parts": [phrase("parts: the narrowest layer is the code", "and it is the code",
                     lambda v: v["narrowest_index"] == v["code_index"]),
              phrase("parts: one Sequential gives exactly the same numbers", "exactly the same numbers",
                     lambda v: v["max_difference"] == 0),
              option_claim("parts", lambda v: "narrowest" if v["narrowest_index"] == v["code_index"] else None)],
    "flatten": [phrase("flatten: PyTorch stopped with an error", "PyTorch stopped", lambda v: v["failed"] == 1),
                phrase("flatten: ran without an error", "ran without an error", lambda v: v["failed"] == 0),
                option_claim("flatten", lambda v: "shape_error" if v["failed"] else "wrong_outputs")],
    "loss": [phrase("loss: 'depends on the yardstick' only when a clear difference flips", "depends on the yardstick",
                    _loss_flip),
             phrase("loss: 'not reversed' only when no clear difference flips", "is reversed by the other",
                    lambda v: not _loss_flip(v)),
             phrase("loss: all three within 10% under both", "all three lie within", _loss_equal),
             Claim("loss: every 'X wins over Y by Z but loses by the other' is a clear flip",
                   lambda t: "wins over" in t,
                   lambda v: all(v[(a + ("" if y == "MSE" else "_l1")).lower()] * C < v[(b + ("" if y == "MSE" else
                                 "_l1")).lower()] and v[(a + ("_l1" if y == "MSE" else "")).lower()] >
                                 C * v[(b + ("_l1" if y == "MSE" else "")).lower()]
                                 for a, b, y in re.findall(r"(MSE|BCE|L1) wins over (MSE|BCE|L1) by (MSE|mean absolute "
                                                           r"error)", v["_text"]))),
             Claim("loss: every 'X and Y tie' is within 5% under both", lambda t: bool(_tie_pairs(t)),
                   lambda v: all(max(v[a.lower() + s], v[b.lower() + s]) <= C * min(v[a.lower() + s], v[b.lower() + s])
                                 for a, b in _tie_pairs(v["_text"]) for s in ("", "_l1"))),
             Claim("loss: every 'X beats Y' holds by some yardstick and is reversed by none",
                   lambda t: bool(_beats(t)),
                   lambda v: all(any(v[b.lower() + s] > C * v[a.lower() + s] for s in ("", "_l1")) and
                                 not any(v[a.lower() + s] > C * v[b.lower() + s] for s in ("", "_l1"))
                                 for a, b in _beats(v["_text"]))),
             phrase("loss: the BCE floor is the BCE of a perfect copy", "a perfect copy of these images still scores",
                    lambda v: f"{v['bce_floor']:.3f}" in v["_text"] and v["bce_own"] >= v["bce_floor"] - 1e-6),
             option_claim("loss", lambda v: "all_equal" if _loss_equal(v) else "depends" if _loss_flip(v)
                          else "same_order")],
    "code_loss": [phrase("code_loss: reconstructions stayed about as bad as untrained", "stayed about as bad",
                         lambda v: abs(v["wrong"] - v["untrained"]) <= 0.1 * v["untrained"]),
                  phrase("code_loss: the decoder did not move", "moved by exactly 0",
                         lambda v: v["decoder_change"] == 0),
                  phrase("code_loss: the wrong loss did better", "wrong loss did better",
                         lambda v: v["wrong"] < v["right"] / C),
                  option_claim("code_loss", lambda v: "better" if v["wrong"] < v["right"] / C else "stays_bad"
                               if abs(v["wrong"] - v["untrained"]) <= 0.1 * v["untrained"] and
                               v["right"] < v["wrong"] / 3 else "slower")],
    "hyperparameters": [
        Claim("hyperparameters: 'the lowest is at' names the best learning rate",
              lambda t: "The lowest is at" in t, lambda v: f"The lowest is at {_best_lr(v):g}." in v["_text"]),
        phrase("hyperparameters: too small steps (lr 1e-5 clearly worse than the best)", "steps are too small",
               lambda v: v["lr_tiny"] > C * min(v[f"lr_{k}"] for k in ("tiny", "middle", "huge"))),
        phrase("hyperparameters: too large steps (lr 1 clearly worse than the best)", "steps are too large",
               lambda v: v["lr_huge"] > C * min(v[f"lr_{k}"] for k in ("tiny", "middle", "huge"))),
        phrase("hyperparameters: small batches get further in the same epochs", "Small batches make",
               lambda v: v["batch8"] < v["batch512"] / C),
        phrase("hyperparameters: early stopping would help (held-out error rose after its best epoch)",
               "early stopping would keep", lambda v: v["early_last"] > C * v["early_best"] and
               f"epoch {v['early_best_epoch']:.0f}" in v["_text"]),
        phrase("hyperparameters: more epochs did not hurt", "More epochs did not hurt",
               lambda v: v["early_last"] <= C * v["early_best"]),
        Claim("hyperparameters: 'best:' names the best activation", lambda t: "best: " in t,
              lambda v: f"best: {min(('relu', 'sigmoid', 'identity'), key=lambda a: v['act_' + a])}." in v["_text"]),
        option_claim("hyperparameters", _lr_ref)],
    "bottleneck": [phrase("bottleneck: the 2-number code leaves more error", "leaves",
                          lambda v: v["code2"] > C * v["code16"]),
                   phrase("bottleneck: the 2-number code did better", "code did better",
                          lambda v: v["code2"] < v["code16"] / C),
                   phrase("bottleneck: about equally good", "about equally good",
                          lambda v: max(v["code2"], v["code16"]) <= C * min(v["code2"], v["code16"])),
                   option_claim("bottleneck", lambda v: "worse" if v["code2"] > C * v["code16"] else
                                "sharper" if v["code2"] < v["code16"] / C else "same")],
    "memorize": [
        Claim("memorize: the ratio's label (grew/same/shrank) fits its numbers", lambda t: "The ratio" in t,
              lambda v: f"({_change(v['gap2'], v['gap32'])}); the absolute" in v["_text"]),
        Claim("memorize: the absolute gap's label fits its numbers", lambda t: "absolute gap" in t,
              lambda v: f"({_change(max(v['test2'] - v['train2'], 0), max(v['test32'] - v['train32'], 0))})."
              in v["_text"]),
        phrase("memorize: the wide code is worse on new images", "wide code is worse on new images",
               lambda v: v["test32"] > C * v["test2"]),
        phrase("memorize: the wide code is better on new images", "better on new images too",
               lambda v: v["test32"] < v["test2"] / C),
        phrase("memorize: fewer images fit as well yet new images worse", "memorization without ambiguity",
               lambda v: v["test32_all"] < v["test32"] / C and v["train32"] <= C * v["train32_all"]),
        option_claim("memorize", _mem_ref)],
    "too_wide": [phrase("too_wide: the wide code passes more of the noise", "times the noise share",
                        lambda v: v["wide_pass"] > v["narrow_pass"]),
                 phrase("too_wide: the wide output is closer to the clean digit", "times closer to the clean digit",
                        lambda v: v["wide_error"] < v["narrow_error"] / C),
                 phrase("too_wide: the wide output is farther from the clean digit", "farther from the clean digit",
                        lambda v: v["wide_error"] > C * v["narrow_error"]),
                 phrase("too_wide: the wide code copies clean digits better", "reconstructs better (",
                        lambda v: v["wide_clean"] < v["narrow_clean"]),
                 option_claim("too_wide", _wide_ref)],
    "classifier": [phrase("classifier: the output is one value per pixel", "one brightness per pixel",
                          lambda v: v["outputs"] == v["inputs"]),
                   option_claim("classifier", lambda v: "image" if v["outputs"] == v["inputs"] else None)],
    "labels": [phrase("labels: codes group images by digit (kNN over 2x chance)", "group images by digit",
                      lambda v: v["knn_code"] > 2 * v["chance"]),
               phrase("labels: codes carry hardly more than guessing", "hardly more class information",
                      lambda v: v["knn_code"] < 1.3 * v["chance"]),
               option_claim("labels", lambda v: "perfect" if v["knn_code"] >= 0.995 else "grouped"
                            if v["knn_code"] > 2 * v["chance"] else "chance" if v["knn_code"] < 1.3 * v["chance"]
                            else None)],
    "signals": [phrase("signals: the code keeps most of the variation", "never knew these were not pixels",
                       lambda v: v["kept"] > 0.5),
                option_claim("signals", lambda v: "any_vector" if v["kept"] > 0.5 else None)],
    "pca": [phrase("pca: the linear AE is within 10% of PCA", "of PCA.",
                   lambda v: abs(v["linear"] / v["pca"] - 1) <= 0.1),
            phrase("pca: the linear AE is not converged", "not converged", lambda v: v["linear"] > 1.1 * v["pca"]),
            phrase("pca: the nonlinear AE goes below PCA", "below PCA:", lambda v: v["nonlinear"] < v["pca"] / C),
            phrase("pca: the nonlinear AE stays above PCA", "above PCA here", lambda v: v["nonlinear"] > C * v["pca"]),
            option_claim("pca", lambda v: "same" if abs(v["linear"] / v["pca"] - 1) <= 0.1 else
                         "better" if v["linear"] < v["pca"] else "worse")],
    "denoise": [phrase("denoise: the denoising AE is closer to the clean digit", "denoising AE's output is",
                       lambda v: v["denoising"] < v["plain"] / C),
                phrase("denoise: the plain AE came closer", "plain AE came",
                       lambda v: v["plain"] < v["denoising"] / C),
                option_claim("denoise", lambda v: "denoiser" if v["denoising"] < v["plain"] / C else
                             "plain" if v["plain"] < v["denoising"] / C else "same")],
    "anomaly": [phrase("anomaly: unseen kinds come back clearly worse (1.2x)", "come back clearly worse",
                       lambda v: v["unseen"] >= 1.2 * v["seen"]),
                phrase("anomaly: unseen kinds came back better", "came back better",
                       lambda v: v["unseen"] <= v["seen"] / 1.2),
                option_claim("anomaly", lambda v: "larger" if v["unseen"] >= 1.2 * v["seen"] else
                             "smaller" if v["unseen"] <= v["seen"] / 1.2 else "same")],
    "generate": [phrase("generate: decoded images sit among real digits", "sit among real digits",
                        lambda v: 0.3 * v["real"] <= v["generated"] < (v["real"] + v["noise"]) / 2),
                 phrase("generate: decoded images are far from real digits", "far from real digits",
                        lambda v: v["generated"] >= (v["real"] + v["noise"]) / 2),
                 option_claim("generate", lambda v: "copy" if v["generated"] < 0.3 * v["real"] else "plausible"
                              if v["generated"] < (v["real"] + v["noise"]) / 2 else None)],
    "vae": [phrase("vae: N(0, 1) draws land among the VAE's codes, not the AE's", "land where the VAE's codes live",
                   lambda v: v["vae_ratio"] < v["ae_ratio"] and abs(v["ae_ratio"] - v["vae_ratio"]) >= 0.1 * min(
                       v["ae_ratio"], v["vae_ratio"])),
            phrase("vae: the working VAE uses its code", "Its price is reconstruction", lambda v: not v["vae_ignores"]),
            phrase("vae: at high β the VAE ignores its input (no active unit, or no better than the average image)",
                   "KL term wins outright",
                   lambda v: v["high_active"] == 0 or v["high_error"] >= 0.95 * v["high_baseline"]),
            phrase("vae: at high β it still uses its code", "it still uses its code",
                   lambda v: v["high_active"] > 0 and v["high_error"] < 0.95 * v["high_baseline"]),
            option_claim("vae", lambda v: None if v["vae_ignores"] else "same" if abs(v["ae_ratio"] - v["vae_ratio"])
                         < 0.1 * min(v["ae_ratio"], v["vae_ratio"]) else "vae" if v["vae_ratio"] < v["ae_ratio"]
                         else "ae")],
}


def lesson_nums(outcome) -> dict:
    """The outcome's numbers, with its text and reported option (some claims read them)."""
    return {**outcome.values, "_text": outcome.summary, "_shows": outcome.shows}


def check_outcome(key: str, outcome) -> list[str]:
    return record(LESSON_CLAIMS[key], outcome.summary, lesson_nums(outcome))


def test_every_step_has_claims_and_an_option_claim():
    """Every lesson's verdict is covered by the claims table, including the option it reports."""
    assert set(LESSON_CLAIMS) == {s.key for s in STEPS} == set(lesson_demos.VERDICTS)
    assert all(any(c.name.endswith("reported option") for c in cs) for cs in LESSON_CLAIMS.values())


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("step", STEPS, ids=[s.key for s in STEPS])
def test_lesson_verdicts_agree_with_their_numbers(digits, step, seed):
    """Each demo, on each seed: every claim its summary prints holds for the numbers it measured."""
    out = step.experiment(digits, seed=seed)
    assert check_outcome(step.key, out) == [], out.summary
    assert out.shows is None or out.shows in step.options


@pytest.fixture(scope="module")
def mnist_small(real_data_root, monkeypatch_module):
    """3,000 MNIST training and 1,000 test images (the demos' settings are for small data)."""
    monkeypatch_module.setenv("AELAB_DATA_DIR", str(real_data_root))
    full = data.load(data.MNIST, real_data_root)
    return data.DataBundle("mnist-3000", full.x_train[:3000], full.y_train[:3000], full.x_test[:1000],
                           full.y_test[:1000], full.image_shape, full.class_names)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS, ids=[s.key for s in STEPS])
def test_lesson_verdicts_agree_on_mnist(mnist_small, step):
    """The same on an MNIST subset (seed 0), when the MNIST files are present."""
    out = step.experiment(mnist_small, seed=0)
    assert check_outcome(step.key, out) == [], out.summary


# -- the pages' verdicts: run each lab small, on 3 seeds ----------------------------------------------------------
@dataclasses.dataclass
class Explained:
    """A bottleneck experiment's rows and the text explain() wrote for them (some claims read the text)."""
    rows: list
    text: str = ""


def sweep_claims() -> list[Claim]:
    def ends(e):
        rows = sorted(e.rows, key=lambda x: x.bottleneck)
        return rows[0], rows[-1]

    def gaps(e):
        a, b = ends(e)
        return _change(a.gap, b.gap), _change(max(a.test_error - a.train_error, 0), max(b.test_error - b.train_error, 0))

    def trend(e):
        return sweep_text.classify_trend([x.test_error for x in sorted(e.rows, key=lambda x: x.bottleneck)])

    return [
        phrase("bottleneck page: training error fell", "Training error fell",
               lambda e: ends(e)[1].train_error < ends(e)[0].train_error),
        Claim("bottleneck page: the verdict names the measured trend", lambda t: "Verdict:" in t,
              lambda e: f'Verdict: "{sweep_text.TRENDS[trend(e)]}"' in e.text),
        Claim("bottleneck page: the ratio's label fits its numbers", lambda t: "as a ratio" in t,
              lambda e: f"({gaps(e)[0]}); in absolute" in e.text),
        Claim("bottleneck page: the absolute gap's label fits its numbers", lambda t: "in absolute terms" in t,
              lambda e: f"({gaps(e)[1]}). " in e.text),
        phrase("bottleneck page: 'that is memorization' only when ratio and absolute gap both grew", "Both grew",
               lambda e: gaps(e) == ("grew", "grew")),
        phrase("bottleneck page: 'only the ratio grew' only when the absolute gap did not", "Only the ratio grew",
               lambda e: gaps(e)[0] == "grew" and gaps(e)[1] != "grew"),
        phrase("bottleneck page: 'the slogan holds' only when held-out error rose again", "the slogan holds",
               lambda e: trend(e) == "rises"),
        phrase("bottleneck page: 'memorized' only where training error < 5% of held-out", "memorized their training",
               lambda e: any(x.train_error < 0.05 * x.test_error for x in e.rows)),
    ]


def explained(rows, n_train: int) -> Explained:
    return Explained(list(rows), " ".join(sweep_text.explain(rows, n_train)))


def denoise_claims() -> list[Claim]:
    def means(res):
        return {k: res.mean(k) for k in ("noisy", "plain", "denoiser")}

    def clearly(res, a, b):
        d = res.errors[a] - res.errors[b]
        return d.mean() + 1.96 * d.std(ddof=1) / math.sqrt(len(d)) < 0

    def best_two(res):
        m = means(res)
        return sorted(m, key=m.get)[:2]

    return [
        phrase("denoising page: the denoiser is closest (clearly)", "the denoising AE's error is",
               lambda res: best_two(res)[0] == "denoiser" and clearly(res, *best_two(res))),
        phrase("denoising page: the noisy input is closest (clearly)", "noisy input itself is closest",
               lambda res: best_two(res)[0] == "noisy" and clearly(res, *best_two(res))),
        phrase("denoising page: the plain AE is closest (clearly)", "came closer to the clean images than the denoising",
               lambda res: best_two(res)[0] == "plain" and clearly(res, *best_two(res))),
        phrase("denoising page: no clear winner", "No clear winner", lambda res: not clearly(res, *best_two(res))),
        phrase("denoising page: the plain AE brings the image closer (>10%)", "never saw noise, yet",
               lambda res: means(res)["plain"] < 0.9 * means(res)["noisy"]),
        phrase("denoising page: the plain AE makes things worse", "makes things worse",
               lambda res: means(res)["plain"] >= means(res)["noisy"]),
    ]


def anomaly_claims() -> list[Claim]:
    def ratio(res):
        det = res.main
        return np.median(det.test_errors[det.is_anomaly]) / np.median(det.test_errors[~det.is_anomaly])

    return [
        phrase("anomaly page: anomalies rebuilt worse (median 1.2x)", "rebuilds them from the parts it knows",
               lambda res: ratio(res) >= 1.2),
        phrase("anomaly page: anomalies rebuilt better", "rebuilt *better* than normal", lambda res: ratio(res) <= 1 / 1.2),
        phrase("anomaly page: AUC called good (0.9 to 0.97)", "(good)", lambda res: 0.9 <= res.main.auc < 0.97),
        phrase("anomaly page: AUC called close to perfect (>= 0.97)", "(close to perfect)",
               lambda res: res.main.auc >= 0.97),
        phrase("anomaly page: AUC called useful but far from perfect (0.7 to 0.9)", "(useful but far from perfect)",
               lambda res: 0.7 <= res.main.auc < 0.9),
    ]


def pca_claims() -> list[Claim]:
    def comp(res):
        return linear.compare(res)

    return [
        phrase("PCA page: linear AE arrived at PCA (within 5%)", "arrived at PCA's answer",
               lambda res: abs(comp(res).gap) <= 0.05),
        phrase("PCA page: linear AE not at PCA yet (over 5% above)", "has not reached PCA yet",
               lambda res: comp(res).gap > 0.05),
        phrase("PCA page: linear AE over 5% below PCA on held-out images", "below PCA on held-out images",
               lambda res: comp(res).gap < -0.05),
        phrase("PCA page: nonlinear AE below PCA (over 5%)", "keeps more of the data than any flat",
               lambda res: comp(res).nonlinear_gap < -0.05),
        phrase("PCA page: 'not PCA's axes' only when two decoder columns are not orthogonal (|cos| >= 0.05)",
               "at most the subspace, not the axes", lambda res: comp(res).column_cosine >= 0.05),
    ]


def layers_claims() -> list[Claim]:
    def split(v):
        views, b = v
        code = next(x.stats for x in views if x.stats.point == b)
        after = [x.stats.knn for x in views if x.stats.point > b]
        before = [x.stats.knn for x in views if x.stats.point < b]
        return code.knn, max(before), max(after) if after else None

    return [
        phrase("Encoder | Decoder: decoder layers above the code -> accessibility, not new information",
               "points above the code's", lambda v: split(v)[2] is not None and split(v)[2] - split(v)[0] > 0.02),
        phrase("Encoder | Decoder: decoder layers all below the code", "All below the code's",
               lambda v: split(v)[2] is not None and split(v)[0] - split(v)[2] > 0.02),
        phrase("Encoder | Decoder: wider encoder layers separate classes better than the code",
               "not the most class-separable one", lambda v: split(v)[1] - split(v)[0] > 0.02),
        phrase("Encoder | Decoder: never 'cannot recover what it dropped' (kNN rises after the code on Digits)",
               "cannot recover what it dropped", lambda v: False),
    ]


def latent_claims() -> list[Claim]:
    return [
        phrase("Latent space: the VAE's samples land closer (over 10%)", "The VAE's samples land closer",
               lambda h: h[1].ratio < h[0].ratio and h[0].ratio - h[1].ratio >= 0.1 * h[1].ratio),
        phrase("Latent space: the AE's samples land closer (over 10%)", "The AE's samples land closer",
               lambda h: h[0].ratio < h[1].ratio and h[1].ratio - h[0].ratio >= 0.1 * h[0].ratio),
        phrase("Latent space: both land about equally far (within 10%)", "about equally far",
               lambda h: abs(h[0].ratio - h[1].ratio) < 0.1 * min(h[0].ratio, h[1].ratio)),
    ]


def vae_claims() -> list[Claim]:
    return [
        phrase("VAE health: 'ignores its input' only with no active unit or no gain over the average image",
               "ignores its input**", lambda h: h.active == 0 or h.error >= 0.95 * h.baseline),
        phrase("VAE health: 'uses every code unit' only when all are active", "uses every code unit",
               lambda h: h.active == h.code_size and h.error < 0.95 * h.baseline),
        Claim("VAE health: the active count is the units with variance above the threshold",
              lambda t: "Active code units" in t,
              lambda h, t: f"**{sum(v > vae.ACTIVE_THRESHOLD for v in h.variances)} of {h.code_size}**" in t, True),
    ]


def signals_claims() -> list[Claim]:
    return [
        Claim("Not only images: the hardest kind named has the lowest AUC", lambda t: "glitches the hardest" in t,
              lambda d, t: f"{min(d.auc_by_kind, key=d.auc_by_kind.get)} glitches the hardest" in t, True),
        phrase("Not only images: 'equally easy' only within 0.01", "about equally easy",
               lambda d: max(d.auc_by_kind.values()) - min(d.auc_by_kind.values()) < 0.01),
        phrase("Not only images: glitches rank above normal ones (AUC >= 0.5)", "rank above normal",
               lambda d: d.auc >= 0.5),
    ]


TINY_SWEEP = dict(sizes=(2, 8, 32), n_train=100, hidden=(32,), epochs=30, n_ood=100, curve_points=3)


def lab_verdicts(digits, seed: int, small: bool) -> dict:
    """Every lab run once, small (seconds) or with its page's defaults: {lab: (numbers, text)}."""
    out = {}
    cfg = sweep.SweepConfig(seed=seed, **TINY_SWEEP) if small else sweep.SweepConfig(seed=seed)
    e = explained(sweep.run_sweep(digits, cfg).rows, cfg.n_train)
    out["sweep"] = (e, e.text)
    dn = denoise.run_lab(digits, denoise.DenoiseSettings(encoder=(32,), bottleneck=8, epochs=4, copies=1, n_train=400,
                                                         seed=seed) if small else denoise.DenoiseSettings(seed=seed))
    out["denoise"] = (dn, " ".join(denoise.summary(dn)))
    an = anomaly.run_lab(digits, anomaly.AnomalySettings(epochs=6, n_train=600, sizes=(2, 8), seed=seed) if small
                         else anomaly.AnomalySettings(seed=seed))
    out["anomaly"] = (an, anomaly.histogram_text(an) + " " + anomaly.auc_text(an.main.auc))
    pc = linear.run_lab(digits, linear.PcaLabConfig(k=4, epochs=15, n_train=600, seed=seed) if small
                        else linear.PcaLabConfig(seed=seed))
    out["pca"] = (pc, " ".join(linear.explain(pc, linear.compare(pc))))
    spec, tcfg = ((ArchSpec(64, (32, 16), 4), TrainConfig(epochs=8, batch_size=64, seed=seed)) if small else
                  (layers.QUICK_SPEC, dataclasses.replace(layers.QUICK_CFG, seed=seed)))
    x, y = layers.held_out(digits, limit=400 if small else layers.STATS_POINTS, seed=seed)
    views, b = layers.model_views(runs.train_run(digits, spec, tcfg).model, x, y)
    out["layers"] = ((views, b), layers.describe_views(views, b))
    epochs = (6, 20) if small else (latent.QUICK_CFG.epochs,) * 2
    ae = runs.train_run(digits, latent.QUICK_SPEC, dataclasses.replace(latent.QUICK_CFG, epochs=epochs[0], seed=seed))
    va = runs.train_run(digits, latent.other_kind(latent.QUICK_SPEC),
                        dataclasses.replace(latent.QUICK_CFG, epochs=epochs[1], beta=0.2 if small else 0.1, seed=seed))
    holes = tuple(latent.sample_holes(latent.encode_run(r, digits), "prior" if r.spec.kind == "vae" else "fitted",
                                      seed) for r in (ae, va))
    out["latent"] = (holes, latent.compare_sentence(*holes))
    health = vae.health(va.model, digits.x_train, digits.x_test)
    out["vae"] = (health, " ".join(vae.health_text(health)))
    sig = signals.make_signals(signals.SignalConfig(n_train=600, n_test=200, seed=seed) if small else
                               signals.SignalConfig(seed=seed))
    sr = runs.train_run(sig.bundle, signals.signal_spec(sig.bundle.input_dim),
                        dataclasses.replace(signals.DEFAULT_TRAIN, epochs=5 if small else signals.DEFAULT_TRAIN.epochs,
                                            seed=seed))
    def max_scores(x):
        return signals.scores(x, analysis.reconstruct(sr.model, x), "max")

    det = signals.detect(max_scores(sig.bundle.x_test), sig.bundle.y_test.numpy(), sig.kind_of(),
                         max_scores(sig.bundle.x_train))
    out["signals"] = (det, " ".join(signals.explain_detection(det, "max")))
    return out


RUNS = [(seed, True) for seed in SEEDS] + [(0, False)]  # 3 seeds with small settings, then the pages' defaults


@pytest.fixture(scope="module")
def lab_runs(digits):
    """Every lab on each of RUNS: {lab: [(run label, numbers, text)]}; the first entry is seed 0, small."""
    out = defaultdict(list)
    for seed, small in RUNS:
        for lab, (nums, text) in lab_verdicts(digits, seed, small).items():
            out[lab].append((f"seed {seed}" + (", small" if small else ", page defaults"), nums, text))
    return out


PAGE_CLAIMS = {"sweep": sweep_claims(), "denoise": denoise_claims(), "anomaly": anomaly_claims(), "pca": pca_claims(),
               "layers": layers_claims(), "latent": latent_claims(), "vae": vae_claims(), "signals": signals_claims()}


@pytest.mark.slow
@pytest.mark.parametrize("lab", list(PAGE_CLAIMS))
def test_page_verdicts_agree_with_their_numbers(lab_runs, lab):
    """Each lab's verdict, on 3 seeds with small settings and once with its page's defaults: every claim it prints
    holds for the numbers it was computed from."""
    for seed, nums, text in lab_runs[lab]:
        assert record(PAGE_CLAIMS[lab], text, nums) == [], (seed, text)


# -- a verdict beside contradicting numbers is caught; recomputed from them, its words change ----------------------
def _swap(v: dict, a: str, b: str) -> dict:
    return {**v, a: v[b], b: v[a]}


CONTRADICT = {  # step -> numbers that contradict what seed 0 measured (and what its summary says)
    "what": lambda v: {**v, "after": v["before"]},
    "parts": lambda v: {**v, "narrowest_index": v["code_index"] - 1, "max_difference": 0.5},
    "flatten": lambda v: {**v, "failed": 0.0},
    "loss": lambda v: {**v, "bce": v["mse"] / 1.3, "bce_l1": v["mse_l1"] * 1.3},
    "code_loss": lambda v: {**v, "wrong": v["right"] / 2, "decoder_change": 0.1},
    "hyperparameters": lambda v: _swap(_swap(v, "lr_tiny", "lr_middle"), "early_best", "early_last"),
    "bottleneck": lambda v: _swap(v, "code2", "code16"),
    "memorize": lambda v: {**_swap(v, "test2", "test32"), "test32_all": v["test32"] * 2},
    "too_wide": lambda v: _swap(_swap(v, "wide_pass", "narrow_pass"), "wide_error", "narrow_error"),
    "classifier": lambda v: {**v, "outputs": v["classes"]},
    "labels": lambda v: {**v, "knn_code": v["chance"]},
    "signals": lambda v: {**v, "kept": 0.1, "error": v["baseline"] * 0.9},
    "pca": lambda v: {**v, "linear": v["pca"] * 2, "nonlinear": v["pca"] * 2},
    "denoise": lambda v: _swap(v, "plain", "denoising"),
    "anomaly": lambda v: _swap(v, "seen", "unseen"),
    "generate": lambda v: {**v, "generated": v["noise"]},
    "vae": lambda v: {**_swap(v, "ae_ratio", "vae_ratio"), "high_active": 2.0, "high_error": v["high_baseline"] / 2,
                      "high_ignores": 0.0},
}


@pytest.fixture(scope="module")
def seed0(digits):
    return {s.key: s.experiment(digits, seed=0) for s in STEPS}


@pytest.mark.parametrize("key", [s.key for s in STEPS])
def test_a_lesson_verdict_beside_contradicting_numbers_is_caught(seed0, key):
    """Seed 0's summary checked against numbers that contradict it fails the claims; the verdict recomputed from
    those numbers passes them and says something else."""
    out = seed0[key]
    bad = CONTRADICT[key](out.values)
    bad_nums = {**bad, "_text": out.summary, "_shows": out.shows}
    assert violations(LESSON_CLAIMS[key], out.summary, bad_nums), key  # the old words do not fit the new numbers
    text, shows = lesson_demos.VERDICTS[key](bad)
    assert violations(LESSON_CLAIMS[key], text, {**bad, "_text": text, "_shows": shows}) == []
    assert text != out.summary


def _scaled(res, key, factor):
    return dataclasses.replace(res, errors={**res.errors, key: res.errors[key] * factor})


def _page_contradictions(lab_runs):
    """(lab, verdict(numbers) -> text, numbers measured on seed 0, contradicting numbers)."""
    e = lab_runs["sweep"][0][1]
    bad_rows = [dataclasses.replace(x, train_error=x.test_error * (0.9 if i == 0 else 0.01))
                for i, x in enumerate(sorted(e.rows, key=lambda x: x.bottleneck))]
    dn = lab_runs["denoise"][0][1]
    best = min(("noisy", "plain", "denoiser"), key=dn.mean)
    an = lab_runs["anomaly"][0][1]
    flipped = dataclasses.replace(an.main, is_anomaly=~an.main.is_anomaly)
    pc = lab_runs["pca"][0][1]
    worse_pca = dataclasses.replace(pc, pca_test=pc.pca_test / 3)
    views, b = lab_runs["layers"][0][1]
    code_knn = next(v.stats.knn for v in views if v.stats.point == b)
    boosted = [dataclasses.replace(v, stats=dataclasses.replace(v.stats, knn=min(1.0, code_knn + 0.1)))
               if v.stats.point > b else v for v in views]
    ae_h, vae_h = lab_runs["latent"][0][1]
    h = lab_runs["vae"][0][1]
    flipped_h = (dataclasses.replace(h, variances=tuple(1.0 for _ in h.variances), error=h.baseline / 2)
                 if h.ignores_input else dataclasses.replace(h, variances=tuple(0.0 for _ in h.variances),
                                                              error=h.baseline))
    det = lab_runs["signals"][0][1]
    worst = min(det.auc_by_kind, key=det.auc_by_kind.get)
    best_kind = max(det.auc_by_kind, key=det.auc_by_kind.get)
    swapped = dataclasses.replace(det, auc_by_kind={**det.auc_by_kind, worst: det.auc_by_kind[best_kind],
                                                    best_kind: det.auc_by_kind[worst]})

    return [
        ("sweep", lambda ex: " ".join(sweep_text.explain(ex.rows, TINY_SWEEP["n_train"])), e, Explained(bad_rows)),
        ("denoise", lambda res: " ".join(denoise.summary(res)), dn, _scaled(dn, best, 3.0)),
        ("anomaly", lambda res: anomaly.histogram_text(res) + " " + anomaly.auc_text(res.main.auc), an,
         dataclasses.replace(an, main=flipped)),
        ("pca", lambda res: " ".join(linear.explain(res, linear.compare(res))), pc, worse_pca),
        ("layers", lambda v: layers.describe_views(*v), (views, b), (boosted, b)),
        ("latent", lambda hs: latent.compare_sentence(*hs), (ae_h, vae_h),
         (vae_h, ae_h) if abs(ae_h.ratio - vae_h.ratio) >= 0.1 * min(ae_h.ratio, vae_h.ratio) else
         (dataclasses.replace(ae_h, sample_dist=ae_h.sample_dist * 3), vae_h)),
        ("vae", lambda hh: " ".join(vae.health_text(hh)), h, flipped_h),
        ("signals", lambda d: " ".join(signals.explain_detection(d, "max")), det, swapped),
    ]


@pytest.mark.slow
def test_a_page_verdict_beside_contradicting_numbers_is_caught(lab_runs):
    """For every page verdict: its seed-0 text checked against contradicting numbers fails the claims; recomputed from
    those numbers it passes them and its words change."""
    for lab, verdict, good, bad in _page_contradictions(lab_runs):
        claims = PAGE_CLAIMS[lab]
        text = verdict(good)
        assert violations(claims, text, good) == [], lab
        if lab == "sweep":
            bad.text = text  # the claims that read the text see the old words beside the new numbers
        assert violations(claims, text, bad), lab
        new = verdict(bad)
        if lab == "sweep":
            bad.text = new
        assert violations(claims, new, bad) == [], (lab, new)
        assert new != text, lab


# -- the table for the closing note -----------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def print_table():
    """After the module: claim | seeds tried | agreement (every run in which the claim was printed)."""
    yield
    if not TABLE:
        return
    width = max(len(k) for k in TABLE)
    print(f"\n\n{'claim':<{width}} | seeds tried | agreement")
    for name in sorted(TABLE):
        runs_ = TABLE[name]
        print(f"{name:<{width}} | {len(runs_):>11} | {sum(runs_)}/{len(runs_)}")
