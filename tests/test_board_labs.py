"""Every page's finished result as a class-board Draft (aelab.board_share): each model's parameter count is its
trainable parameters and its errors are the mean squared error on the lab's own training subset and the whole test
set (what it is fed and what it is scored against computed here by hand), so points from every page mean the same on
the board; the task, the page's question with its answers, the settings and a preview within 20 KB come along.

Run: python -m pytest -q tests/test_board_labs.py
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from aelab import board_share, denoise, noise, png, signals
from aelab.board_fields import PREVIEW_MAX, TASKS, Point, clean_draft
from lab_results import SIGNALS, lab_results, subject  # noqa: F401 - fixtures

KINDS = ("bottleneck", "denoising", "anomaly", "pca", "split", "latent", "signals", "kinds")


def mse(model, x: torch.Tensor, target: torch.Tensor) -> float:
    """The reference: one mean over every value of (output - target)^2, eval mode."""
    model.eval()
    with torch.no_grad():
        return float(((model(x).double() - target.double()) ** 2).mean())


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def expected(kind: str, result, digits) -> list[tuple]:
    """(model, fed for training error, target, fed for test error, target, task) of every model the Draft lists."""
    if kind == "denoising":
        s = result.settings
        sub = digits.subset(s.n_train, seed=s.seed)
        noisy_train = noise.corrupt(sub.x_train, s.noise, s.level, seed=s.seed)
        noisy_test = noise.corrupt(sub.x_test, s.noise, s.level, seed=s.seed + denoise.TEST_NOISE)
        return [(result.denoiser, noisy_train, sub.x_train, noisy_test, sub.x_test, "denoise"),
                (result.plain, sub.x_train, sub.x_train, sub.x_test, sub.x_test, "reconstruct")]
    if kind == "anomaly":
        s = result.settings
        sub = digits.subset(s.n_train, seed=s.seed)
        keep, normal_test = [torch.isin(y, torch.tensor(s.normal)) for y in (sub.y_train, sub.y_test)]
        x, t = sub.x_train[keep], sub.x_test[normal_test]
        return [(result.main.model, x, x, t, t, "normal_only")]
    if kind == "signals":
        sigset = signals.make_signals(SIGNALS)
        b = sigset.bundle
        normal = b.x_test[b.y_test == 0]
        return [(result.run.model, b.x_train, b.x_train, normal, normal, "normal_only")]
    if kind == "pca":
        sub = digits.subset(result.cfg.n_train, seed=result.cfg.seed)
        models = [result.linear.model, result.nonlinear.model]
    elif kind == "kinds":
        sub = digits.subset(result.settings.n_train, seed=result.settings.seed)
        models = [r.model for r in result.results]
    else:  # Runs: each on the subset runs.train_run trained it on
        trained = {"split": lambda: [result.run, *result.pair["runs"].values()],
                   "latent": lambda: sorted(result.parts(), key=lambda r: r.spec.kind != "ae")}[kind]()
        return [(r.model, *(2 * [digits.subset(r.cfg.n_train, seed=r.cfg.seed).x_train]),
                 digits.x_test, digits.x_test, "reconstruct") for r in trained]
    return [(m, sub.x_train, sub.x_train, sub.x_test, sub.x_test, "reconstruct") for m in models]


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "bottleneck"])
def test_every_model_of_a_lab_is_measured_alike(kind, lab_results, digits):  # noqa: F811
    """Each model's parameters are its trainable parameters and its errors the MSE on the lab's training subset and
    whole test set (clean targets; a denoiser fed noisy inputs, a detector normal data only), in the page's order."""
    result = lab_results[kind]
    d = clean_draft(board_share.summarize(result, lambda name: digits))
    models = [Point(d.code_size, d.params, d.train_error, d.test_error, d.summary, d.task), *d.points]
    refs = expected(kind, result, digits)
    if kind == "anomaly":  # the other code sizes have no model to measure: see the next test
        models = models[:1]
    assert d.kind == kind and len(models) == len(refs)
    for p, (model, x_train, train_target, x_test, test_target, task) in zip(models, refs):
        assert (p.params, p.code_size, p.task) == (trainable(model), model.spec.bottleneck, task)
        assert p.train_error == pytest.approx(mse(model, x_train, train_target), rel=1e-5)
        assert p.test_error == pytest.approx(mse(model, x_test, test_target), rel=1e-5)
        assert p.task in TASKS and model.spec.describe() in p.summary
    assert d.seconds > 0 and d.epochs >= 1 and "n_train" in d.settings and "epochs" in d.settings


def test_anomaly_shares_every_code_size_it_compared(lab_results, digits):  # noqa: F811
    """The detector's other code sizes come along with their normal held-out error and parameter count (their
    models are not kept, so no training error)."""
    result = lab_results["anomaly"]
    d = board_share.summarize(result, lambda name: digits)
    rows = {r.bottleneck: r for r in result.rows}
    assert d.code_size == result.settings.bottleneck and len(d.points) == len(rows) - 1
    for p in d.points:
        spec = result.settings.spec(64, p.code_size)
        assert (p.params, p.train_error, p.test_error) == (spec.param_count, None, rows[p.code_size].normal_error)


@pytest.mark.parametrize("kind", KINDS)
def test_a_lab_share_passes_the_board_checks_with_a_small_preview(kind, lab_results, digits):  # noqa: F811
    """Every page's Draft passes the board's field limits; its preview is a PNG of at most 20 KB whose size fits the
    rows it shows (signals: strips of channels x time steps)."""
    result = lab_results[kind]
    d = clean_draft(board_share.summarize(result, lambda name: digits))
    assert d.preview is not None and len(d.preview) <= PREVIEW_MAX
    width, height = png.check(d.preview)
    rows = {"bottleneck": 3, "denoising": 4, "anomaly": 2, "pca": 4, "split": 4, "latent": 3, "signals": 2,
            "kinds": 1 + len(getattr(result, "results", []))}[kind]
    cell = (SIGNALS.channels if kind == "signals" else 8) + 1
    assert height == rows * cell - 1 and width > 0
    assert d.checkpoint is None  # weights travel only with a Build & Train run


def test_the_page_question_and_its_answers_travel_with_the_share(lab_results, digits):  # noqa: F811
    """The committed prediction and the measured answer of the page's question are kept; a skipped one is not."""
    said = board_share.asked("denoising", "plain", "denoiser")
    d = board_share.summarize(lab_results["denoising"], lambda name: digits, said)
    assert (d.question, d.prediction, d.measured) == ("denoising", "plain", "denoiser")
    d = board_share.summarize(lab_results["denoising"], lambda name: digits, board_share.asked("denoising", "skipped",
                                                                                              None))
    assert (d.question, d.prediction, d.measured) == (None, None, None)


def test_a_composite_result_is_the_same_while_its_parts_are(lab_results, subject):  # noqa: F811
    """board_share.same: a Twins / Layers built again from the same objects is the same result (the Share button
    keeps its id); another part makes it a new one."""
    twins = lab_results["latent"]
    assert board_share.same(board_share.Twins(twins.base, twins.other), twins)
    assert not board_share.same(board_share.Twins(twins.base, subject), twins)
    layers = lab_results["split"]
    assert board_share.same(board_share.Layers(layers.run, layers.pair), layers)
    assert not board_share.same(board_share.Layers(layers.run, None), layers)
    assert not board_share.same(twins, layers) and board_share.same(twins, twins)


def test_an_uploaded_table_is_not_shared(lab_results):  # noqa: F811
    """A model of the learner's own CSV stays private: only the built-in signals can be shared."""
    lab = lab_results["signals"]
    with pytest.raises(TypeError, match="uploaded table"):
        board_share.from_signals(signals.LabRun(lab.run, object()))


def test_the_denoising_preview_shows_the_lab_s_own_examples(lab_results, digits):  # noqa: F811
    """The denoising preview's rows are the lab's own examples: clean, noisy, plain output, denoiser output."""
    result = lab_results["denoising"]
    d = board_share.summarize(result, lambda name: digits)
    img = np.asarray(Image.open(io.BytesIO(d.preview)), dtype=np.float32) / 255  # (4*9-1, n*9-1)
    first = img[:8, :8]  # the first clean example
    assert np.allclose(first, result.examples["clean"][0].reshape(8, 8), atol=1 / 255)
