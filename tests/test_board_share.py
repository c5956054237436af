"""What a page shares and what the board computes from it: the PNG writer (checked by decoding with Pillow), previews
within 20 KB, a Run's and a sweep's Draft (errors equal sweep.mean_error, the reference), and the board's
verdicts (class medians through sweep_text.explain, budgets, predicted vs measured) against hand-computed numbers.

Run: python -m pytest -q tests/test_board_share.py
"""
from __future__ import annotations

import io

import numpy as np
import pytest

from aelab import board_figures as bf
from aelab import analysis, board_share, png, sweep, sweep_text
from aelab.board import SharedRun
from aelab.board_fields import PREVIEW_MAX, Draft, Point, clean_draft


def test_png_writer_round_trips_through_pillow():
    """png.gray writes pixels that Pillow decodes to the same 8-bit values (NaN gaps become white)."""
    from PIL import Image

    img = np.random.default_rng(0).random((13, 29)).astype(np.float32)
    img[3, 4] = np.nan
    blob = png.gray(img)
    decoded = np.asarray(Image.open(io.BytesIO(blob)))
    expected = np.round(np.clip(np.nan_to_num(img, nan=1.0), 0, 1) * 255).astype(np.uint8)
    assert decoded.shape == (13, 29) and np.array_equal(decoded, expected)
    assert png.check(blob) == (29, 13)


@pytest.mark.parametrize("blob, problem", [(b"GIF89a", "not a PNG"), (png.SIGNATURE, "must end"),
                                           (png.gray(np.zeros((2, 2)))[:-3], "cut off"),
                                           (png.gray(np.zeros((2, 2))) + b"extra", "cut off|nothing after")])
def test_png_check_refuses_what_is_not_a_whole_png(blob, problem):
    """Truncated, foreign or padded bytes are refused."""
    with pytest.raises(ValueError, match=problem):
        png.check(blob)


def test_png_check_refuses_damaged_chunks_and_huge_sides():
    """A flipped byte fails the CRC; a header claiming 5000 pixels is refused before anything is decoded."""
    blob = bytearray(png.gray(np.zeros((4, 4))))
    blob[-20] ^= 0xFF
    with pytest.raises(ValueError, match="CRC"):
        png.check(bytes(blob))
    with pytest.raises(ValueError, match="at most"):
        png.check(png.gray(np.zeros((1, 5000))))


def test_previews_fit_in_20_kb_even_for_large_grids():
    """A 13 x 8 grid of noisy 28x28 images (far above 20 KB as is) is shrunk until it fits."""
    rows = [np.random.default_rng(i).random((8, 784)) for i in range(13)]
    blob = board_share.preview_png(rows, (28, 28))
    assert blob is not None and len(blob) <= PREVIEW_MAX and png.check(blob)
    assert len(png.gray(np.random.default_rng(0).random((13 * 29, 8 * 29)))) > PREVIEW_MAX


@pytest.fixture(scope="module")
def tiny_run(digits):
    from aelab.runs import train_run
    from aelab.spec import ArchSpec, TrainConfig

    return train_run(digits, ArchSpec(64, (16,), 3), TrainConfig(epochs=2, n_train=200, seed=1))


def test_a_run_is_shared_with_errors_measured_like_the_bottleneck_lab(tiny_run, digits):
    """from_run's train/test errors equal sweep.mean_error on the run's own subset and the whole test set; the
    spec, settings and preview survive the board's checks; no weights unless asked."""
    d = clean_draft(board_share.from_run(tiny_run, digits))
    sub = digits.subset(200, seed=1)
    assert d.train_error == pytest.approx(analysis.model_error(tiny_run.model, sub.x_train), rel=1e-6)
    assert d.test_error == pytest.approx(analysis.model_error(tiny_run.model, digits.x_test), rel=1e-6)
    assert (d.kind, d.dataset, d.code_size, d.params, d.epochs) == ("train", "digits", 3, tiny_run.spec.param_count, 2)
    assert d.spec["encoder"] == [16] and d.settings["n_train"] == 200 and d.checkpoint is None
    assert d.preview is not None and png.check(d.preview) == (10 * 9 - 1, 2 * 9 - 1)  # 10 images, input + output
    assert board_share.from_run(tiny_run, digits, weights=True).checkpoint is not None


def test_a_sweep_is_shared_with_every_size_and_its_answer(digits):
    """from_sweep keeps every code size's errors as points, the prediction and the trend its numbers show."""
    cfg = sweep.SweepConfig(sizes=(2, 8), n_train=100, hidden=(16,), epochs=2, curve_points=2)
    result = sweep.run_sweep(digits, cfg)
    d = clean_draft(board_share.from_sweep(result, prediction="rises"))
    got = [(p.code_size, p.train_error, p.test_error) for p in [Point(d.code_size, d.params, d.train_error,
                                                                        d.test_error), *d.points]]
    assert got == [(r.bottleneck, r.train_error, r.test_error) for r in result.rows]
    assert (d.question, d.prediction, d.measured) == ("bigger_bottleneck", "rises", sweep_text.measured_trend(result.rows))
    assert board_share.from_sweep(result, prediction="not-an-answer").prediction is None
    with pytest.raises(TypeError):
        board_share.summarize(object(), lambda name: digits)


def shared(i: int, name: str, code_size: int, train: float, test: float, params: int = 1000, **kw) -> SharedRun:
    d = Draft(kind="train", dataset=kw.pop("dataset", "digits"), summary=f"64-{code_size}-64", spec={},
              settings=kw.pop("settings", {"n_train": 500, "epochs": 30}), code_size=code_size, params=params,
              epochs=30, train_error=train, test_error=test, seconds=2.0, **kw)
    return SharedRun(i, 0.0, i, name, d, False, False)


def test_the_class_sweep_verdict_is_sweep_explain_on_the_class_medians():
    """Per code size the median of the students' errors; the verdict's sentences are sweep_text.explain's on them."""
    runs = [shared(1, "a", 2, 0.04, 0.05), shared(2, "b", 2, 0.02, 0.03), shared(3, "c", 2, 0.03, 0.04),
            shared(4, "d", 32, 0.002, 0.02), shared(5, "e", 32, 0.004, 0.03)]
    rows = bf.size_rows(bf.points(runs, "digits"))
    assert [(r.bottleneck, r.train_error, r.test_error) for r in rows] == [(2, 0.03, 0.04), (32, 0.003, 0.025)]
    lines = bf.sweep_verdict(runs, "digits")
    assert lines[0].startswith("5 models from 5 students at 2 code sizes (2, 32)")
    assert lines[1:] == sweep_text.explain(rows, 500)


def test_the_sweep_verdict_says_what_is_missing_or_mixed():
    """One code size only: it asks for more sizes. Different settings: it says so, naming them."""
    one = bf.sweep_verdict([shared(1, "a", 4, 0.01, 0.02), shared(2, "b", 4, 0.01, 0.03)], "digits")
    assert "Every run so far used b=4" in one[1]
    mixed = bf.sweep_verdict([shared(1, "a", 2, 0.03, 0.04, settings={"n_train": 100, "epochs": 30}),
                              shared(2, "b", 16, 0.01, 0.03, settings={"n_train": None, "epochs": 50})], "digits")
    assert "training-set sizes 100, all" in mixed[1] and "epochs 30, 50" in mixed[1]
    from aelab.catalog import DATASETS

    assert bf.sweep_verdict([], "digits") == [f"No finished run on {DATASETS['digits']} with measured errors yet."]


def test_best_test_error_per_parameter_budget():
    """Each budget's best model is the one with the lowest test error among models in that range."""
    runs = [shared(1, "a", 2, 0.03, 0.05, params=900), shared(2, "b", 3, 0.03, 0.04, params=950),
            shared(3, "c", 8, 0.01, 0.02, params=50_000), shared(4, "d", 64, 0.001, 0.03, params=2_000_000)]
    table = bf.budget_table(bf.points(runs, "digits"))
    assert [(r["parameters"], r["models"], r["best test error"], r["by"]) for r in table] == [
        ("up to 1k", 2, 0.04, "b"), ("10k to 100k", 1, 0.02, "c"), ("over 1M", 1, 0.03, "d")]
    text = bf.budget_verdict(bf.points(runs, "digits"))
    assert "Best test error 0.0200 with 50,000 parameters" in text and "did worse (0.0300)" in text


def test_predicted_vs_measured_counts():
    """Counts per answer, and how many measured what they predicted."""
    q = "bigger_bottleneck"
    runs = [shared(1, "a", 2, 0.1, 0.1, question=q, prediction="rises", measured="levels"),
            shared(2, "b", 2, 0.1, 0.1, question=q, prediction="levels", measured="levels"),
            shared(3, "c", 2, 0.1, 0.1, question=q, prediction="rises", measured=None),
            shared(4, "d", 2, 0.1, 0.1)]
    (a,) = bf.answers(runs)
    assert a.predicted == {"rises": 2, "levels": 1} and a.measured == {"levels": 2}
    assert (a.right, a.committed) == (1, 2)
    text = bf.answers_verdict(a)
    assert "1 of 2 who committed an answer measured what they predicted" in text
    assert f'3 predictions; most often "{sweep_text.TRENDS["rises"]}" (2).' in text
    runs.append(shared(5, "e", 2, 0.1, 0.1, question=q, prediction="levels", measured="falls"))
    assert f'most often "{sweep_text.TRENDS["rises"]}" and "{sweep_text.TRENDS["levels"]}" (2 each)' in \
        bf.answers_verdict(bf.answers(runs)[0])
    fig = bf.answers_figure(a)
    assert list(fig.data[0].x) == [0, 1, 2, 0] and list(fig.data[1].x) == [0, 2, 0, 0]  # falls, levels, rises, flat
