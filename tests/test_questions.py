"""The predict-first questions (aelab/questions.py) and the glossary (aelab/glossary.py): well formed, every page
that asks one exists and asks it, every lesson question is found by id, every term a lesson names is defined.

Run: python -m pytest tests/test_questions.py
"""
import pytest

from aelab import glossary, questions
from aelab.lessons import STEPS
from conftest import ROOT

EXPERIMENT_PAGES = ["bigger_bottleneck", "denoising", "anomaly", "pca", "split", "latent", "signals"]


@pytest.mark.parametrize("q", list(questions.QUESTIONS.values()), ids=list(questions.QUESTIONS))
def test_each_question_is_well_formed_and_asked_by_its_page(q):
    """At least 3 distinct options; the page exists and calls ui.predict_first with this id."""
    assert len(q.options) >= 3 and len(set(q.options.values())) == len(q.options)
    page = (ROOT / q.page).read_text(encoding="utf-8")
    assert f'"{q.id}"' in page and "ui.predict_first(QUESTION)" in page


def test_every_experiment_page_asks_first():
    """Each experiment page has a predict-first question and waits for it before its reveal."""
    asked = {q.page for q in questions.QUESTIONS.values()}
    for name in EXPERIMENT_PAGES:
        source = (ROOT / "pages" / f"{name}.py").read_text(encoding="utf-8")
        assert f"pages/{name}.py" in asked and "ui.await_prediction(QUESTION" in source and "ui.reveal(" in source


def test_lesson_questions_are_found_by_id():
    """'lesson_<key>' finds each lesson's question and options; unknown ids give None."""
    for step in STEPS:
        q = questions.find(questions.lesson_id(step.key))
        assert q.text == step.question and q.options == step.options
    assert questions.find("lesson_nope") is None and questions.find("nope") is None


def test_glossary_defines_every_term_named_and_the_issue_list():
    """The glossary holds the issue's terms, and every term a lesson names."""
    needed = {"knn", "linear_probe", "tsne", "roc", "auc", "principal_angles", "beta", "log_variance", "active_units",
              "held_out"}
    assert needed <= set(glossary.TERMS)
    assert all(t in glossary.TERMS for s in STEPS for t in s.terms)
    assert glossary.tip("knn").startswith("**kNN") and "- **" in glossary.markdown(["auc", "roc"])
