"""AppTest of the Share-to-class button on every experiment page: it appears only under a finished result, says where
to join before the session joined a class, and stores a Draft with the page's numbers (board_share.summarize of
that result), its question, the committed prediction and what the page revealed as measured.

Run: python -m pytest -q tests/test_page_share.py
"""
from __future__ import annotations

import os
import uuid

import pytest
from streamlit.testing.v1 import AppTest

from aelab import board_share, db, questions
from aelab.board import Board, Client
from conftest import ROOT, commit_prediction
from lab_results import lab_results, subject  # noqa: F401 - fixtures

LATENT_COMPARE_TAB = "⚖️ AE vs VAE"
PAGES = {  # kind -> (page file, the session state holding its finished result, its question, the share key)
    "bottleneck": ("bigger_bottleneck.py", lambda r: {"bn_result": r}, "bottleneck", "bn"),
    "denoising": ("denoising.py", lambda r: {"dn_result": r}, "denoising", "dn"),
    "anomaly": ("anomaly.py", lambda r: {"an_result": r}, "anomaly", "an"),
    "pca": ("pca.py", lambda r: {"pca_result": r}, "pca", "pca"),
    "split": ("split.py", lambda r: {"aelab_run": r.run, "split_pair_result": r.pair}, "split", "split"),
    "latent": ("latent.py", lambda r: {"aelab_run": r.base, "latent_other_run": {"base": r.base, "run": r.other},
                                       "cfg_latent_tab": LATENT_COMPARE_TAB}, "latent", "latent"),
    "signals": ("signals.py", lambda r: {"signals_result": r}, "signals", "sig"),
    "kinds": ("compare.py", lambda r: {"cmp_result": r}, None, "cmp"),
}


@pytest.fixture
def classroom():
    """A fresh class on the tests' board database: (board, teacher, membership of a student)."""
    b = Board(db.engine(os.environ["AELAB_DATABASE_URL"]))
    new = b.start_class(Client(f"t-{uuid.uuid4()}", "10.3.0.1"))
    return b, b.open_class(Client("t", "10.3.0.1"), new.teacher_key), b.join(Client(f"s-{uuid.uuid4()}", "10.3.0.2"),
                                                                              new.join_code, "Ann")


def page(kind: str, state: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / PAGES[kind][0]), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def button_keys(at: AppTest) -> list[str]:
    return [b.key for b in at.button]


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@pytest.mark.parametrize("kind", PAGES)
def test_no_share_button_before_a_finished_run(kind, classroom):
    """A joined student on a page with nothing finished yet gets no Share button."""
    _, _, member = classroom
    at = page(kind, {"board_member": member})
    assert f"{PAGES[kind][3]}_share_to_class" not in button_keys(at)


@pytest.mark.parametrize("kind", PAGES)
def test_a_finished_run_is_shared_with_the_pages_numbers_and_prediction(kind, classroom, lab_results, digits):  # noqa: F811
    """Under a revealed result: first a note on where to join; once joined, the button shares a Draft whose numbers
    are board_share.summarize's for that result, with the page's question, the committed prediction and the
    measured answer the page revealed; afterwards the button says it is shared."""
    b, teacher, member = classroom
    _, state_of, question, key = PAGES[kind]
    result = lab_results[kind]
    answer = list(questions.QUESTIONS[question].options)[-1] if question else None
    at = AppTest.from_file(str(ROOT / "pages" / PAGES[kind][0]), default_timeout=120)
    for k, v in state_of(result).items():
        at.session_state[k] = v
    if question:
        commit_prediction(at, question, answer)
    at.run()
    assert not at.exception, at.exception
    assert "join it on the **Class board** page first" in texts(at.caption)
    assert f"{key}_share_to_class" not in button_keys(at)

    at.session_state["board_member"] = member
    at.run()
    button = at.button(key=f"{key}_share_to_class")
    assert button.label == "📤 Share to class" and not button.disabled
    button.click().run()
    assert not at.exception, at.exception
    assert "Shared with your class." in texts(at.caption)
    assert at.button(key=f"{key}_share_to_class").disabled

    (shared,) = b.runs(teacher)
    got = shared.draft
    want = board_share.summarize(result, lambda name: digits)
    assert (got.kind, got.dataset, got.task, got.code_size, got.params, got.epochs) == (
        kind, want.dataset, want.task, want.code_size, want.params, want.epochs)
    assert got.train_error == pytest.approx(want.train_error) and got.test_error == pytest.approx(want.test_error)
    assert [(p.code_size, p.params, p.task) for p in got.points] == [(p.code_size, p.params, p.task)
                                                                      for p in want.points]
    assert shared.has_preview
    measured = at.session_state["_measured"].get(question) if question else None
    expected = board_share.asked(question, answer, measured)
    assert (got.question, got.prediction, got.measured) == (expected.question, expected.prediction, expected.measured)
    if question:
        assert got.question == question and got.prediction == answer


def test_a_page_whose_board_database_is_down_still_shows_its_results(monkeypatch, lab_results):  # noqa: F811
    """The class board's database does not answer: the page draws its results and says where to join, with no
    exception, and pages stop asking the database for a while (ui.BOARD_RETRY_S) instead of waiting on it again."""
    from aelab import ui

    monkeypatch.setenv("AELAB_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    monkeypatch.setattr(ui, "_board_down_until", [0.0])
    state = {"dn_result": lab_results["denoising"]}
    at = AppTest.from_file(str(ROOT / "pages" / PAGES["denoising"][0]), default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    commit_prediction(at, "denoising")
    at.run()
    assert not at.exception and "What was measured" in texts(at.header)
    assert "join it on the **Class board** page first" in texts(at.caption)
    assert ui._board_down_until[0] > 0
    again = page("denoising", {**state, "_predictions": {"denoising": "plain"}})
    assert "join it on the **Class board** page first" in texts(again.caption)
    assert "_board_looked_up" not in again.session_state  # skipped: looked up again once the pause is over
