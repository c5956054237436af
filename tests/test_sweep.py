"""Tests of aelab.sweep, sweep_text and sweep_figures: size parsing, batched vs sequential training, measurements,
CSV, the computed explanation, figures.

Run: python -m pytest tests/test_sweep.py
"""
import dataclasses
import math
import time

import numpy as np
import pytest
import torch

from aelab import data, sweep, sweep_figures, sweep_text
from aelab.jobs import Job
from aelab.progress import LabProgress
from aelab.spec import SpecError

TINY = sweep.SweepConfig(sizes=(2, 8, 32), n_train=150, hidden=(32,), epochs=40, batch_size=32, lr=0.01, n_ood=100,
                         curve_points=10)


@pytest.fixture(scope="module")
def tiny(digits):
    """One small finished experiment shared by the read-only tests."""
    return sweep.run_sweep(digits, TINY)


def numbers(row: sweep.SizeResult) -> tuple:
    return (row.bottleneck, row.epochs, row.train_error, row.test_error, tuple(row.ood.items()),
            row.knn_accuracy, row.linear_accuracy)


# -- input -------------------------------------------------------------------------------------
def test_parse_sizes_sorts_and_accepts_common_separators():
    """Commas, semicolons and spaces all separate sizes, and the result is sorted ascending."""
    assert sweep.parse_sizes("8, 2;4 16") == (2, 4, 8, 16)
    assert sweep.parse_sizes(" 128 ") == (128,)


@pytest.mark.parametrize("text,needle", [
    ("", "empty"),
    (" , ", "empty"),
    ("2, x", "whole number"),
    ("2, 4.5", "whole number"),
    ("0, 4", "at least 1"),
    ("-3", "at least 1"),
    ("4, 8, 4", "appears more than once"),
    ("5000", "at most 2,048"),
    (", ".join(str(i) for i in range(1, 14)), "At most 12 sizes"),
])
def test_parse_sizes_rejects_bad_lists_with_a_reason(text, needle):
    """Empty, malformed, zero, duplicate, too large and too many sizes each raise a SpecError that says why."""
    with pytest.raises(SpecError, match=needle):
        sweep.parse_sizes(text)


def test_default_sizes_reach_the_input_width():
    """The default list always includes a size at or above the input width."""
    assert max(sweep.default_sizes(64)) >= 64
    assert sweep.default_sizes(784)[-1] == 784 and len(sweep.default_sizes(784)) == 8


def test_check_config_refuses_a_training_set_larger_than_the_data(digits):
    """Asking for more training images than the data set has is an error naming the available count."""
    check = sweep.check_config(dataclasses.replace(TINY, n_train=5000), digits)
    assert not check.ok and "1,438" in str(check.errors[0])
    assert sweep.check_config(TINY, digits).ok


# -- batched (aelab.stacked) against one model after another ------------------------------------
def test_batched_training_matches_training_each_model_with_fit(digits):
    """Reference: the stacked run gives the same curves and errors as train.fit run once per size."""
    cfg = dataclasses.replace(TINY, sizes=(2, 5, 9), n_train=100, hidden=(16,), epochs=4, n_ood=50)
    batched = sweep.run_sweep(digits, cfg, mode="batched")
    sequential = sweep.run_sweep(digits, cfg, mode="sequential")
    assert batched.mode == "batched" and sequential.mode == "sequential"
    for a, b in zip(batched.rows, sequential.rows):
        assert a.bottleneck == b.bottleneck
        assert a.train_error == pytest.approx(b.train_error, rel=1e-4)
        assert a.test_error == pytest.approx(b.test_error, rel=1e-4)
        assert a.history.train == pytest.approx(b.history.train, rel=1e-4)
        assert a.history.test == pytest.approx(b.history.test, rel=1e-4)


# -- the experiment ----------------------------------------------------------------------------
def test_one_result_per_size_in_ascending_order(tiny):
    """Every requested size gets exactly one measured row, sorted, with finite numbers and its curves."""
    assert [r.bottleneck for r in tiny.rows] == [2, 8, 32]
    assert tiny.status == "done" and tiny.config.sizes == (2, 8, 32)
    for r in tiny.rows:
        assert r.epochs == 40 and math.isfinite(r.train_error) and math.isfinite(r.test_error)
        assert r.history.step_x[-1] == 40 and len(r.history.train) == 40
        assert r.history.epoch_x[0] == 0 and r.history.epoch_x[-1] == 40
        assert set(r.recon) == {"test", "train", "shuffled", "noise"}
        assert r.recon["test"].shape == tiny.originals["test"].shape


def test_train_error_decreases_with_bottleneck_size(tiny):
    """On a small fixed case, a wider code reaches a lower training error."""
    errors = [r.train_error for r in tiny.rows]
    assert errors[0] > errors[1] > errors[2]


def test_same_seed_gives_identical_results(digits, tiny):
    """Running the same experiment twice with the same seed gives exactly the same numbers and curves."""
    again = sweep.run_sweep(digits, TINY)
    assert [numbers(r) for r in again.rows] == [numbers(r) for r in tiny.rows]
    assert [r.history.test for r in again.rows] == [r.history.test for r in tiny.rows]
    other_seed = sweep.run_sweep(digits, dataclasses.replace(TINY, seed=1, epochs=2))
    assert numbers(other_seed.rows[0]) != numbers(tiny.rows[0])


def test_job_publishes_every_row_and_can_be_stopped(digits):
    """Inside a Job the rows arrive through publish and the typed progress ends measuring every model with every
    curve; Stop ends training early (while the training phase shows live curves) and still measures the models."""
    job = Job(lambda ctx: sweep.run_sweep(digits, dataclasses.replace(TINY, epochs=3), ctx=ctx), name="t-sweep")
    job.start().join(60)
    assert job.status == "done"
    assert [r.bottleneck for r in job.view().extra["rows"]] == [2, 8, 32]
    lab = job.view().lab
    assert lab.label == f"Step 2 of 2: {sweep.MEASURING} · 3 of 3" and list(lab.histories) == ["b=2", "b=8", "b=32"]
    long = dataclasses.replace(TINY, epochs=1000)
    job = Job(lambda ctx: sweep.run_sweep(digits, long, ctx=ctx), name="t-sweep-stop").start()
    deadline = time.time() + 30
    while not (job.view().lab and job.view().lab.histories) and time.time() < deadline:
        time.sleep(0.02)
    assert job.view().lab.phase == sweep.TRAINING and len(job.view().lab.histories) == 3
    job.stop()
    assert job.join(60)
    result = job.result
    assert result.status == "stopped" and "Stopped by you" in result.message
    assert len(result.rows) == 3 and 0 < result.rows[0].epochs < 1000


# -- out of distribution -----------------------------------------------------------------------
def test_ood_sets_are_deterministic_and_keep_pixel_histograms(digits):
    """Shuffled images hold the same pixel values as real ones, noise lies in [0, 1], and the seed fixes both."""
    a = sweep.ood_sets(digits, None, 50, seed=3)
    b = sweep.ood_sets(digits, None, 50, seed=3)
    assert list(a) == ["shuffled", "noise"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["noise"].shape == (50, 64) and 0 <= float(a["noise"].min()) and float(a["noise"].max()) <= 1
    sorted_shuffled = torch.sort(a["shuffled"], dim=1).values
    originals = torch.sort(digits.x_test, dim=1).values
    assert all(any(torch.equal(row, o) for o in originals) for row in sorted_shuffled[:5])
    assert not torch.equal(a["shuffled"], sweep.ood_sets(digits, None, 50, seed=4)["shuffled"])


def test_ood_uses_the_other_data_set_first_when_shapes_match(digits):
    """An other data set of the same width comes first (the headline OOD number); one of another width is skipped."""
    other = dataclasses.replace(digits, name=data.FASHION)
    assert list(sweep.ood_sets(digits, other, 20, 0)) == [data.FASHION, "shuffled", "noise"]
    wide = dataclasses.replace(digits, x_train=torch.rand(30, 784), x_test=torch.rand(30, 784), name=data.FASHION)
    assert list(sweep.ood_sets(digits, wide, 20, 0)) == ["shuffled", "noise"]


def test_noise_is_reconstructed_worse_than_real_test_images(tiny):
    """The OOD measure separates: uniform noise has a higher error than held-out digits for every model."""
    for r in tiny.rows:
        assert r.ood["noise"] > 2 * r.test_error
        assert r.ood_error == r.ood["shuffled"]


# -- probe -------------------------------------------------------------------------------------
def test_probe_scores_informative_codes_high_and_random_codes_low():
    """Codes that encode the class score near 100%; codes unrelated to it score near chance."""
    rng = np.random.default_rng(0)
    y_train, y_test = rng.integers(0, 10, 300), rng.integers(0, 10, 200)
    good = lambda y: np.eye(10)[y] + 0.05 * rng.standard_normal((len(y), 10))  # noqa: E731
    knn, lin = sweep.probe_scores(good(y_train), y_train, good(y_test), y_test)
    assert knn > 0.95 and lin > 0.95
    knn, lin = sweep.probe_scores(rng.standard_normal((300, 10)), y_train, rng.standard_normal((200, 10)), y_test)
    assert knn < 0.3 and lin < 0.3


# -- CSV, trend, explanation -------------------------------------------------------------------
def test_csv_round_trip_keeps_every_number(tiny):
    """to_csv then from_csv gives back the same rows (numbers exactly), with the issue's columns."""
    text = sweep.to_csv(tiny.rows)
    header = text.splitlines()[0].split(",")
    assert header[:8] == ["bottleneck", "train_error", "test_error", "gap", "ood_error", "probe_accuracy",
                          "linear_probe_accuracy", "seconds"]
    back = sweep.from_csv(text)
    assert back == tiny.rows
    assert [r.gap for r in back] == [r.gap for r in tiny.rows]


def test_csv_without_the_columns_is_refused():
    """A CSV from elsewhere gets a message naming the missing columns."""
    with pytest.raises(SpecError, match="lacks the column"):
        sweep.from_csv("a,b\n1,2\n")


@pytest.mark.parametrize("errors,trend", [
    ([0.05, 0.03, 0.02, 0.01], "falls"),
    ([0.05, 0.02, 0.0101, 0.01], "levels"),
    ([0.05, 0.02, 0.01, 0.015], "rises"),
    ([0.0100, 0.0102, 0.0101], "flat"),
])
def test_classify_trend(errors, trend):
    """The test-error curve shape is read correctly: falls, levels off, rises again, or flat."""
    assert sweep_text.classify_trend(errors) == trend


def _row(b, train, test, ood, knn):
    return sweep.SizeResult(b, 10, train, test, {"shuffled": ood}, knn, knn, 1.0)


def test_explanation_is_computed_from_the_numbers():
    """The text quotes the measured values and changes its verdict when the numbers change."""
    memorizing = [_row(2, 0.040, 0.045, 0.20, 0.6), _row(16, 0.010, 0.020, 0.18, 0.9),
                  _row(128, 0.002, 0.018, 0.15, 0.85)]
    text = " ".join(sweep_text.explain(memorizing, 300))
    assert "0.0400" in text and "0.0020" in text and "memorization" in text.lower()
    assert "too simple" in text and "9.0×" in text
    assert "not the widest" in text
    overfitting = [_row(2, 0.040, 0.045, 0.20, 0.6), _row(16, 0.010, 0.020, 0.18, 0.9),
                   _row(128, 0.001, 0.030, 0.15, 0.85)]
    assert "slogan holds" in " ".join(sweep_text.explain(overfitting))
    assert sweep_text.explain(memorizing[:1]) == ["Run at least two bottleneck sizes to compare them."]


def test_explanation_of_a_real_run_mentions_its_sizes(tiny):
    """On a real run every sentence is generated and the sizes that were run appear."""
    lines = sweep_text.explain(tiny.rows, TINY.n_train)
    assert len(lines) == 6 and "b=2" in lines[0] and "b=32" in lines[0]


# -- figures and tables ------------------------------------------------------------------------
def test_error_figure_has_train_test_and_gap_on_a_log_axis(tiny):
    """Three traces (train, test, gap); x is the bottleneck on a log axis."""
    fig = sweep_figures.error_figure(tiny.rows)
    assert [t.name for t in fig.data] == ["train error", "test error", "gap (test ÷ train)"]
    assert fig.layout.xaxis.type == "log" and list(fig.data[0].x) == [2, 8, 32]


def test_curves_figure_overlays_held_out_solid_and_training_dotted(tiny):
    """Two traces per model, the same color for a model's pair, dotted for the training loss, one legend entry."""
    fig = sweep_figures.curves_figure(tiny.rows)
    assert len(fig.data) == 6
    for test, train in zip(fig.data[::2], fig.data[1::2]):
        assert train.line.color == test.line.color and train.line.dash == "dot" and test.line.dash is None
        assert list(test.y) == tiny.rows[fig.data.index(test) // 2].history.test and train.showlegend is False
    assert len({t.line.color for t in fig.data}) == 3 and [t.name for t in fig.data[::2]] == ["b=2", "b=8", "b=32"]


def test_recon_figure_puts_originals_first_and_one_column_per_model(tiny):
    """The grid has one row per image and 1 + K columns (original, then each model)."""
    fig = sweep_figures.recon_figure(tiny.originals["test"], tiny.rows, "test", (8, 8), "t")
    n = len(tiny.originals["test"])
    assert fig.data[0].z.shape == (n * 9 - 1, 4 * 9 - 1)
    assert list(fig.layout.xaxis.ticktext) == ["original", "b=2", "b=8", "b=32"]
    assert sweep_figures.recon_figure(tiny.originals["test"], sweep.from_csv(sweep.to_csv(tiny.rows)), "test",
                              (8, 8), "t") is None


def test_ood_and_probe_figures(tiny):
    """OOD figure: test error plus one line per OOD set; probe figure: two accuracies and the test error."""
    assert len(sweep_figures.ood_figure(tiny.rows).data) == 1 + len(tiny.ood_keys)
    fig = sweep_figures.probe_figure(tiny.rows)
    assert [t.name for t in fig.data] == ["kNN accuracy", "linear probe accuracy", "test error"]
    assert fig.layout.xaxis.type == "log"


def test_progress_table_shows_each_models_state(tiny):
    """Rows already measured say so; the rest show their training epoch or that they are being measured."""
    hists = {sweep.run_name(r.bottleneck): r.history for r in tiny.rows}
    measuring = LabProgress(sweep.MEASURING, 2, 2, unit="Step", item_index=1, item_total=3, histories=hists)
    table = sweep_figures.progress_table([2, 8, 32], measuring, tiny.rows[:1], 40)
    assert [t["state"] for t in table] == ["measured ✓", "trained, measuring…", "trained, measuring…"]
    training = LabProgress(sweep.TRAINING, 1, 2, unit="Step", histories=hists)
    table = sweep_figures.progress_table([2, 8, 32], training, [], 40)
    assert table[0]["state"] == "training: epoch 40 of 40" and table[0]["train loss"] == hists["b=2"].train[-1]
    assert sweep_figures.progress_table([2], None, [], 40)[0]["state"] == "training: epoch 0 of 40"
    assert len(sweep_figures.results_table(tiny.rows, "shuffled")) == 3
