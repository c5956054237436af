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
from conftest import ROOT


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
    """from_sweep keeps every code size's errors as points with the page's prediction and measured answer."""
    cfg = sweep.SweepConfig(sizes=(2, 8), n_train=100, hidden=(16,), epochs=2, curve_points=2)
    result = sweep.run_sweep(digits, cfg)
    measured = sweep_text.measured_trend(result.rows)
    d = clean_draft(board_share.from_sweep(result, board_share.asked("bottleneck", "rises", measured)))
    got = [(p.code_size, p.train_error, p.test_error) for p in [Point(d.code_size, d.params, d.train_error,
                                                                        d.test_error), *d.points]]
    assert got == [(r.bottleneck, r.train_error, r.test_error) for r in result.rows]
    assert (d.question, d.prediction, d.measured) == ("bottleneck", "rises", measured)
    with pytest.raises(TypeError):
        board_share.summarize(object(), lambda name: digits)


@pytest.mark.parametrize("question, answer, measured, expected", [
    ("bottleneck", "rises", "levels", ("bottleneck", "rises", "levels")),
    ("bottleneck", "skipped", "levels", ("bottleneck", None, "levels")),  # classroom mode: the room answered aloud
    ("bottleneck", "not-an-answer", None, (None, None, None)),  # nothing left to say about the question
    ("signals", "flat-line", "equal", ("signals", "flat-line", "equal")),
    ("no_such_question", "rises", "rises", (None, None, None)),
    (None, None, None, (None, None, None)),
])
def test_asked_keeps_only_options_of_the_pages_question(question, answer, measured, expected):
    """A share carries the question only with an option key as prediction or measurement; skipped or foreign keys
    are dropped, and the keys pass the board's field check (a hyphen as in "flat-line" included)."""
    said = board_share.asked(question, answer, measured)
    assert (said.question, said.prediction, said.measured) == expected
    d = clean_draft(Draft(kind="signals", dataset="signals", summary="x", spec={}, settings={}, code_size=1, params=1,
                          epochs=1, train_error=None, test_error=None, seconds=0.0, question=said.question,
                          prediction=said.prediction, measured=said.measured))
    assert (d.question, d.prediction, d.measured) == expected


def shared(i: int, name: str, code_size: int, train: float, test: float, params: int = 1000, **kw) -> SharedRun:
    d = Draft(kind=kw.pop("kind", "train"), dataset=kw.pop("dataset", "digits"), summary=f"64-{code_size}-64", spec={},
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
    q = "bottleneck"
    runs = [shared(1, "a", 2, 0.1, 0.1, question=q, prediction="rises", measured="levels"),
            shared(2, "b", 2, 0.1, 0.1, question=q, prediction="levels", measured="levels"),
            shared(3, "c", 2, 0.1, 0.1, question=q, prediction="rises", measured=None),
            shared(4, "d", 2, 0.1, 0.1)]
    (a,) = [a for a in bf.answers(runs) if a.shared]
    assert a.predicted == {"rises": 2, "levels": 1} and a.measured == {"levels": 2}
    assert (a.right, a.committed) == (1, 2)
    text = bf.answers_verdict(a)
    assert "1 of 2 who committed an answer measured what they predicted" in text
    assert f'Predicted: most often "{sweep_text.TRENDS["rises"]}" (2).' in text
    runs.append(shared(5, "e", 2, 0.1, 0.1, question=q, prediction="levels", measured="falls"))
    assert f'most often "{sweep_text.TRENDS["rises"]}" and "{sweep_text.TRENDS["levels"]}" (2 each)' in \
        bf.answers_verdict(bf.answers(runs)[0])
    fig = bf.answers_figure(a)
    assert list(fig.data[0].x) == [0, 1, 2, 0] and list(fig.data[1].x) == [0, 2, 0, 0]  # falls, levels, rises, flat


def answer(i: int, question: str, prediction: str | None, measured: str | None, kind: str = "denoising") -> SharedRun:
    return shared(i, f"s{i}", 8, 0.01, 0.02, question=question, prediction=prediction, measured=measured,
                  kind=kind)


def test_every_page_question_has_a_section_in_its_order():
    """answers() lists every question of aelab/questions.py in its order (unanswered ones with zero runs), then an id
    only old runs carry; the note names the pages nobody answered yet."""
    from aelab import questions

    runs = [answer(1, "denoising", "plain", "denoiser"), answer(2, "retired_question", "a", "b")]
    found = bf.answers(runs)
    assert [a.question for a in found] == [*questions.QUESTIONS, "retired_question"]
    assert [a.shared for a in found if a.question in ("denoising", "retired_question")] == [1, 1]
    assert all(a.shared == 0 for a in found if a.question not in ("denoising", "retired_question"))
    by_id = {a.question: a for a in found}
    assert "*" not in by_id["bottleneck"].text and by_id["bottleneck"].options == questions.QUESTIONS["bottleneck"].options
    note = bf.unanswered_text(found)
    assert note.startswith("No shared run answers the question of Bigger bottleneck, Anomaly, PCA, Encoder | Decoder, "
                           "Latent space, Not only images yet")
    assert bf.unanswered_text([a for a in found if a.shared]) == ""
    assert bf.answers_verdict(by_id["pca"]) == "No shared run answers this yet."


@pytest.mark.parametrize("pairs, needles", [
    ([("plain", "plain"), ("plain", "plain"), ("plain", "plain")],
     ['Predicted: all 3: "The plain', 'Measured: all 3: "The plain', "most common prediction is what its runs",
      "All 3 who committed an answer measured what they predicted."]),
    ([("plain", "denoiser"), ("plain", "denoiser")],
     ['Most predicted "The plain', 'but the runs measured "The denoising', "None of the 2 who committed"]),
    ([("plain", "plain"), ("plain", "denoiser"), ("denoiser", "denoiser"), ("denoiser", None)],
     ["Predicted: most often \"The plain AE's (trained clean in, clean out)\" and \"The denoising", "(2 each)",
      "1 run did not settle it clearly.", "share only \"The denoising", "2 of 3 who committed"]),
    ([("noisy", "plain")],
     ["1 run shared.", "Predicted: \"Neither", "but the runs measured \"The plain",
      "The one run with both a prediction and a measurement measured something else."]),
    ([(None, "plain"), (None, None)],
     ["2 runs shared.", "None carried a prediction", 'Measured: "The plain', "1 run did not settle"]),
])
def test_the_predicted_vs_measured_sentences_follow_the_counts(pairs, needles):
    """Each outcome gets its sentence: unanimous, split, a majority against the measurement, an overlap, no
    predictions, unsettled runs; and everyone / nobody / some measured what they predicted."""
    runs = [answer(i, "denoising", p, m) for i, (p, m) in enumerate(pairs)]
    (a,) = [a for a in bf.answers(runs) if a.shared]
    text = bf.answers_verdict(a)
    for needle in needles:
        assert needle in text, (needle, text)


def lab_run(i: int, name: str, kind: str, points: list[Point], task: str = "reconstruct", **kw) -> SharedRun:
    """A shared run of a lab page: its first point is the main model, the others ride along."""
    main, *rest = points
    d = Draft(kind=kind, dataset="digits", summary=main.summary, spec={}, settings=kw.pop("settings", {}),
              code_size=main.code_size, params=main.params, epochs=10, train_error=main.train_error,
              test_error=main.test_error, seconds=1.0, points=tuple(rest), task=task, **kw)
    return SharedRun(i, 0.0, i, name, d, False, False)


def test_budgets_and_the_sweep_take_every_lab_s_reconstruction_models_and_leave_other_tasks_out():
    """Models from Build & Train, Denoising's plain AE, PCA and Kinds share one budget chart and sweep, each with its
    own parameter count and architecture; the denoiser and an anomaly detector, whose errors measure another task,
    are left out with a sentence saying which and why."""
    runs = [shared(1, "ann", 8, 0.010, 0.020, params=2_000),
            lab_run(2, "bob", "denoising", [Point(8, 1_500, 0.030, 0.001, "denoising AE 64-8-64", "denoise"),
                                            Point(8, 1_500, 0.015, 0.025, "plain AE 64-8-64")], task="denoise"),
            lab_run(3, "cy", "pca", [Point(4, 584, 0.03, 0.035, "linear AE 64-4-64"),
                                     Point(4, 17_000, 0.02, 0.030, "nonlinear AE 64-128-4-128-64")]),
            lab_run(4, "di", "kinds", [Point(8, 30_000, 0.005, 0.012, "dense AE 64-128-8-128-64"),
                                       Point(256, 33_000, 0.0001, 0.0002, "wide AE 64-256-64")]),
            lab_run(5, "ed", "anomaly", [Point(8, 1_500, 0.002, 0.0001, "detector 64-8-64", "normal_only")],
                    task="normal_only")]
    pts = bf.points(runs, "digits")
    assert sorted((p.page, p.summary, p.params) for p in pts) == sorted([
        ("train", "64-8-64", 2_000), ("denoising", "plain AE 64-8-64", 1_500), ("pca", "linear AE 64-4-64", 584),
        ("pca", "nonlinear AE 64-128-4-128-64", 17_000), ("kinds", "dense AE 64-128-8-128-64", 30_000),
        ("kinds", "wide AE 64-256-64", 33_000)])
    table = {r["parameters"]: r for r in bf.budget_table(pts)}
    assert (table["up to 1k"]["architecture"], table["1k to 10k"]["by"]) == ("linear AE 64-4-64", "ann")
    assert table["10k to 100k"]["architecture"] == "wide AE 64-256-64"  # the copying wide code: best test error
    note = bf.left_out(runs, "digits")
    assert note.startswith("Left out of the sweep and the budgets: 2 models from Anomaly, Denoising")
    assert "1 on noisy inputs against the clean images" in note and "1 on normal data only" in note
    assert bf.left_out(runs[:1], "digits") == ""
    verdict = " ".join(bf.sweep_verdict(runs, "digits"))
    assert verdict.startswith("6 models from 4 students at 3 code sizes (4, 8, 256)")
    assert "pages Build & Train, Denoising, Kinds side by side, PCA (each with its own layers)" in verdict


def test_the_table_names_pages_tasks_and_answers_in_words():
    """The runs table shows the page's name, what the errors measure and the question's options as text."""
    from aelab import questions

    runs = [lab_run(1, "ann", "signals", [Point(8, 4_000, 0.01, 0.02, "1024-8-1024", "normal_only")],
                    task="normal_only", question="signals", prediction="flat-line", measured="equal")]
    (row,) = bf.runs_table(runs)
    q = questions.QUESTIONS["signals"]
    assert (row["page"], row["errors on"], row["predicted"], row["measured"], row["models"]) == (
        "Not only images", "normal data only (trained without the anomalies)", q.options["flat-line"],
        q.options["equal"], 1)
    assert bf.spotlight_line(runs[0]) == (f"Not only images: 1024-8-1024 on {bf.dataset_name('digits')}; errors on "
                                          "normal data only (trained without the anomalies)")


def test_every_question_is_named_by_the_page_that_shares_its_answers():
    """Each page's question id is also the Draft.kind its page shares under, so the board names the page of every
    question (board_fields.PAGES) and the runs that answer it come from that page."""
    from aelab import questions
    from aelab.board_fields import PAGES

    for qid, q in questions.QUESTIONS.items():
        assert qid in PAGES and PAGES[qid] != qid, qid
        assert q.page.startswith("pages/") and (ROOT / q.page).read_text().count("question=QUESTION") == 1, qid
