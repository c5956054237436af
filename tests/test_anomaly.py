"""Tests of aelab.anomaly: AUC against sklearn and on a trivially separable case, confusion counts against a
hand computation, the lab run (partial results, stopping), settings checks, texts and figures.

Run: python -m pytest tests/test_anomaly.py
"""
import dataclasses
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from aelab import anomaly
from aelab.data import DataBundle

SMALL = anomaly.AnomalySettings(normal=(0, 1, 2, 4, 5, 6, 7, 8, 9), encoder=(64,), bottleneck=8, sizes=(2, 8),
                                epochs=6, n_train=500, lr=1e-2)


class FakeCtx:
    """A job context that records what was published and can stop after a given number of sweep rows."""

    def __init__(self, stop_after_rows: int | None = None):
        self.stop, self.published, self.labs, self.stop_after_rows = False, [], [], stop_after_rows

    def should_stop(self) -> bool:
        return self.stop

    def update(self, progress, history, state) -> None:
        pass

    def publish(self, **kw) -> None:
        self.published.append(kw)
        if self.stop_after_rows is not None and len(kw.get("rows", [])) >= self.stop_after_rows:
            self.stop = True

    def report(self, progress) -> None:
        self.labs.append(progress)


@pytest.fixture(scope="module")
def small(digits):
    """One small finished run on digits (normal: all but 3) shared by the read-only tests."""
    ctx = FakeCtx()
    return anomaly.run_lab(digits, SMALL, ctx), ctx


def two_blobs(n: int = 120, d: int = 16, seed: int = 0) -> DataBundle:
    """Class 0: near-black images (values in [0, 0.1]); class 1: near-white ones (values in [0.9, 1])."""
    g = torch.Generator().manual_seed(seed)

    def make(m):
        y = torch.arange(m) % 2  # (m,) alternating classes
        x = torch.rand(m, d, generator=g) * 0.1 + 0.9 * y[:, None].float()  # (m, d)
        return x, y

    (xtr, ytr), (xte, yte) = make(n), make(n // 2)
    return DataBundle("blobs", xtr, ytr, xte, yte, (4, 4), ("dark", "bright"))


# -- scores -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_sklearn_on_random_scores_with_ties(seed):
    """The rank-based AUC equals sklearn's roc_auc_score, also when many scores are tied."""
    rng = np.random.default_rng(seed)
    labels = rng.random(300) < 0.2
    scores = rng.random(300) + 0.3 * labels
    assert anomaly.auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    tied = np.round(scores, 1)  # about a dozen distinct values
    assert anomaly.auc(tied, labels) == pytest.approx(roc_auc_score(labels, tied), abs=1e-12)


def test_auc_of_perfect_reversed_and_constant_scores():
    """Perfect ranking gives 1, reversed gives 0, all-tied gives 0.5, a single class gives NaN."""
    labels = np.array([0, 0, 0, 1, 1], dtype=bool)
    assert anomaly.auc(np.array([1, 2, 3, 4, 5.0]), labels) == 1.0
    assert anomaly.auc(np.array([5, 4, 3, 2, 1.0]), labels) == 0.0
    assert anomaly.auc(np.ones(5), labels) == 0.5
    assert math.isnan(anomaly.auc(np.ones(5), np.zeros(5, dtype=bool)))


def test_confusion_counts_match_a_hand_computed_reference():
    """Threshold 0.3 on six scores: flagged 0.4, 0.35, 0.8, 0.7 -> TP 3, FP 1, TN 2, FN 0."""
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2])
    labels = np.array([0, 0, 1, 1, 1, 0], dtype=bool)
    c = anomaly.confusion(scores, labels, 0.3)
    assert (c.tp, c.fp, c.tn, c.fn) == (3, 1, 2, 0)
    assert c.precision == 0.75 and c.recall == 1.0 and c.false_positive_rate == pytest.approx(1 / 3)
    c = anomaly.confusion(scores, labels, 0.7)  # a score equal to the threshold is not flagged
    assert (c.tp, c.fp, c.tn, c.fn) == (1, 0, 3, 2)
    c = anomaly.confusion(scores, labels, 1.0)
    assert (c.tp, c.fp) == (0, 0) and math.isnan(c.precision) and c.recall == 0.0


def test_default_threshold_flags_the_requested_share_of_training_images():
    """The 0.95 quantile of 1,000 training errors is exceeded by about 5% of them."""
    errors = np.random.default_rng(0).random(1000)
    thr = anomaly.default_threshold(errors, 0.95)
    assert abs(float((errors > thr).mean()) - 0.05) < 0.002


# -- the lab --------------------------------------------------------------------------------------------
def test_trivially_separable_case_gives_auc_near_one():
    """Trained on near-black images only, near-white ones get far larger errors: AUC ~1 at every code size."""
    settings = anomaly.AnomalySettings(normal=(0,), encoder=(16,), bottleneck=2, sizes=(1, 4), epochs=30,
                                       batch_size=16, lr=1e-2)
    res = anomaly.run_lab(two_blobs(), settings)
    assert res.status == "done" and res.main.auc > 0.99
    assert [r.bottleneck for r in res.rows] == [1, 2, 4] and all(r.auc > 0.99 for r in res.rows)
    assert res.main.anomaly_error > 10 * res.main.normal_error


def test_model_trains_on_normal_classes_only(digits):
    """split keeps only normal training images and marks exactly the other classes as anomalous."""
    x_normal, x_test, is_anomaly = anomaly.split(digits, (3,))
    assert len(x_normal) == int((digits.y_train == 3).sum())
    assert np.array_equal(is_anomaly, digits.y_test.numpy() != 3)
    assert x_test.shape == digits.x_test.shape


def test_run_publishes_each_code_size_as_it_finishes(small):
    """Rows arrive one by one (main model first) and the final rows cover every size, smallest first."""
    res, ctx = small
    row_lists = [p["rows"] for p in ctx.published if "rows" in p]
    assert [len(r) for r in row_lists] == [1, 2]
    assert row_lists[0][0].bottleneck == SMALL.bottleneck
    assert [r.bottleneck for r in res.rows] == [2, 8] and res.status == "done"
    assert res.rows[1].auc == res.main.auc


def test_progress_names_each_phase_and_carries_every_finished_curve(small):
    """The typed progress counts the models (main first) and, in each phase, holds the curves of the models before
    it plus the live curve of the one training; the last report holds both models' curves."""
    res, ctx = small
    phases = sorted({(lab.phase_index, lab.phase) for lab in ctx.labs})
    assert phases == [(1, "Code size 8 (main model)"), (2, "Code size 2")]
    assert all(lab.phase_total == 2 and lab.label.startswith(f"Model {lab.phase_index} of 2: ") for lab in ctx.labs)
    assert list(ctx.labs[-1].histories) == ["code size 8", "code size 2"]
    assert ctx.labs[-1].histories["code size 8"].test == res.main.history.test


def test_worst_images_are_the_largest_errors(small):
    """The shown worst images are the held-out images with the largest errors, in decreasing order."""
    res, _ = small
    errs = res.main.test_errors
    assert list(res.worst) == list(np.argsort(-errs)[:anomaly.N_WORST])
    assert res.worst_images.shape == res.worst_recon.shape == (anomaly.N_WORST, 64)


def test_stopping_during_the_sweep_keeps_the_measured_sizes(digits):
    """Stop after the main model: the result is 'stopped', keeps the main row and leaves out the interrupted size."""
    ctx = FakeCtx(stop_after_rows=1)
    res = anomaly.run_lab(digits, dataclasses.replace(SMALL, epochs=2), ctx)
    assert res.status == "stopped" and "comparison" in res.message and "left out" in res.message
    assert [(r.bottleneck, r.status) for r in res.rows] == [(8, "done")]


# -- settings --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("normal,needle", [
    ([], "Pick at least one class"),
    (list(range(10)), "Every class is marked normal"),
    ([0, 12], "'12' is not one of the normal classes"),
])
def test_bad_class_choices_are_refused_with_a_message(digits, normal, needle):
    """No class, every class, or an unknown class as 'normal' gives an error and no settings."""
    settings, check = anomaly.parse_settings(digits, normal, "128", "8", "60", "2, 8", "")
    assert settings is None and any(needle in str(e) for e in check.errors)


@pytest.mark.parametrize("field,value,needle", [
    ("sizes", "2, 4, 8, 16, 32, 48, 64", "At most 6"),
    ("sizes", "2, 100", "at most 64, the number of values in one input"),
    ("sizes", "two", "whole number"),
    ("bottleneck", "0", "at least 1"),
    ("epochs", "x", "whole number"),
    ("n_train", "5", "at least 10"),
])
def test_bad_text_inputs_are_refused_with_a_message(digits, field, value, needle):
    """Each bad text input yields no settings and an error saying what to change."""
    texts = dict(hidden="128", bottleneck="8", epochs="60", sizes="2, 4, 8, 16, 32", n_train="")
    texts[field] = value
    settings, check = anomaly.parse_settings(digits, [0, 1, 2, 4, 5, 6, 7, 8, 9], **texts)
    assert settings is None and any(needle in str(e) for e in check.errors), check.errors


def test_too_few_normal_training_images_is_refused(digits):
    """One normal class out of 30 training images leaves too few to train on: the message says so."""
    settings, check = anomaly.parse_settings(digits, [3], "128", "8", "60", "2, 8", "30")
    assert settings is None and any("training images belong to the normal classes" in str(e) for e in check.errors)


def test_default_inputs_parse_to_the_default_settings(digits):
    """The page's default inputs give the default settings, with the main size among the compared ones."""
    settings, check = anomaly.parse_settings(digits, [0, 1, 2, 4, 5, 6, 7, 8, 9], "128", "8", "60",
                                             "2, 4, 8, 16, 32", "")
    assert check.ok and settings == anomaly.AnomalySettings()
    assert dataclasses.replace(settings, sizes=(2, 32)).all_sizes == (2, 8, 32)


# -- texts and figures ----------------------------------------------------------------------------------
def rows(*triples):
    return [anomaly.SweepRow(b, auc, n, a, "done") for b, auc, n, a in triples]


def test_sweep_text_explains_an_interior_best_size_from_the_numbers():
    """Best AUC in the middle: the text names both ends' failure with their measured errors."""
    measured = rows((2, 0.90, 0.034, 0.070), (8, 0.96, 0.013, 0.034), (32, 0.85, 0.005, 0.008))
    text = " ".join(anomaly.sweep_text(measured))
    assert "0.850" in text and "0.960" in text and "code size 8" in text
    assert "0.0340" in text and "2.1x" in text and "0.0080" in text and "1.6x" in text


def test_sweep_text_makes_no_causal_claim_the_numbers_do_not_support():
    """If the largest code did not rebuild anomalies better, the text only reports its AUC and separation."""
    measured = rows((2, 0.90, 0.034, 0.070), (8, 0.96, 0.013, 0.034), (32, 0.93, 0.005, 0.050))
    text = " ".join(anomaly.sweep_text(measured))
    assert "roomy enough" not in text and "With 32 numbers the AUC is 0.930" in text and "10.0x" in text


def test_sweep_text_says_when_size_hardly_matters_or_is_missing():
    """A spread under 0.02 is called small; a single row asks for more sizes."""
    assert "hardly matters" in " ".join(anomaly.sweep_text(rows((2, 0.95, 0.02, 0.05), (8, 0.96, 0.01, 0.04))))
    assert "at least two" in anomaly.sweep_text(rows((8, 0.96, 0.01, 0.04)))[0]


def test_texts_quote_the_measured_numbers(small):
    """Histogram, threshold, AUC and worst-image texts contain the numbers they describe."""
    res, _ = small
    det = res.main
    assert f"{np.median(det.test_errors[det.is_anomaly]):.4f}" in anomaly.histogram_text(res)
    c = anomaly.confusion(det.test_errors, det.is_anomaly, res.default_threshold)
    assert f"{c.tp} of the {c.tp + c.fn} anomalies" in anomaly.threshold_text(c, res.default_threshold)
    assert f"{det.auc:.3f}" in anomaly.auc_text(det.auc)
    assert f"of the {anomaly.N_WORST} worst" in anomaly.worst_text(res)
    assert f"{res.default_threshold:.4f}" in anomaly.threshold_origin_text(res)


def test_figures_show_both_groups_the_roc_and_every_size(small):
    """Histogram: 2 traces; ROC: diagonal, curve (0,0)->(1,1) and threshold marker; AUC chart: a point per size."""
    res, _ = small
    hist = anomaly.histogram(res, res.default_threshold)
    assert len(hist.data) == 2 and {t.type for t in hist.data} == {"histogram"}
    roc = anomaly.roc_figure(res, res.default_threshold)
    assert len(roc.data) == 3 and roc.data[1].x[0] == 0 and roc.data[1].y[-1] == 1
    assert list(anomaly.auc_figure(res.rows, 8).data[0].x) == [2, 8]
    assert len(anomaly.sweep_errors_figure(res.rows).data) == 2
    assert anomaly.worst_grid(res).data[0].z.shape == (2 * 9 - 1, anomaly.N_WORST * 9 - 1)


# -- a convolutional detector (issue 14) ------------------------------------------------------------------------
CONV = dataclasses.replace(SMALL, encoder=(), layout="conv", channels=(4, 8), sizes=(2,), epochs=1, n_train=300)


def test_conv_layout_trains_convolutional_detectors(digits):
    """With the conv layout every detector is a convolutional autoencoder of its code size, and the lab measures it."""
    assert anomaly.check(CONV, digits).ok
    result = anomaly.run_lab(digits, CONV)
    assert result.main.model.spec == CONV.spec(64) and result.main.model.spec.channels == (4, 8)
    assert any(isinstance(m, torch.nn.Conv2d) for m in result.main.model.encoder)
    assert [r.bottleneck for r in result.rows] == [2, 8] and 0 <= result.main.auc <= 1
    assert CONV.spec(64).describe() == "64-c4-c8-8-c8-c4-64"


def test_conv_on_non_image_data_gets_a_clear_message():
    """Conv layout on samples that are not one of the known images: refused, naming the dense layout as the fix."""
    blobs = two_blobs(d=10)
    errors = anomaly.check(dataclasses.replace(CONV, normal=(0,), bottleneck=2, n_train=None), blobs).errors
    assert [e.field for e in errors] == ["layout"] and "Choose the dense layout" in str(errors[0])


@pytest.mark.parametrize("channels,needle", [((500,), "at most 128"), ((4, 4, 4, 4), "too many"),
                                             ((), "list of conv channels is empty")])
def test_conv_channel_counts_over_the_limits_are_refused(digits, channels, needle):
    """Too many channels, more conv layers than an 8x8 image allows, or none: a message that says what to change."""
    check = anomaly.check(dataclasses.replace(CONV, channels=channels), digits)
    assert not check.ok and needle in " ".join(map(str, check.errors))


def test_conv_compute_budget_counts_every_conv_detector(digits, monkeypatch):
    """The compute check sums the conv detectors' parameters (one model per code size)."""
    params = sum(CONV.spec(64, b).param_count for b in CONV.all_sizes)
    monkeypatch.setenv("AELAB_MAX_COMPUTE", "1000")
    errors = anomaly.check(CONV, digits).errors
    assert len(errors) == 1 and f"{params:,} parameters" in str(errors[0])
