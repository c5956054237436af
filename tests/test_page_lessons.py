"""AppTest of the Lessons page: predict -> run -> what this run shows and why, for every step; locked predictions,
experiments, link numbers that never change, the glossary.

Run: python -m pytest tests/test_page_lessons.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from aelab import glossary, questions
from aelab.lessons import STEPS
from conftest import ROOT, wait_for_jobs


def page(query: dict | None = None, link: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "lessons.py"), default_timeout=60)
    if query:
        at.query_params.update(query)
    if link is not None:
        at.session_state["cfg_lessons_step"] = link
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def revealed(at: AppTest, step) -> bool:
    """Anything of the explanation or the experiment on the page."""
    return (any(f"**Why.** {w}" in texts(at.markdown) for w in step.why.values())
            or f"lesson_run_{step.key}" in [b.key for b in at.button])


def qid(step) -> str:
    return questions.lesson_id(step.key)


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS, ids=[s.key for s in STEPS])
def test_predict_run_then_why(step):
    """Nothing before committing; after committing the experiment opens but no 'why'; after the run: what this run
    shows against the prediction, the measured summary, and the explanation of the outcome it measured."""
    at = page(link=step.link)
    assert step.title in texts(at.header)
    assert not revealed(at, step)
    assert at.button(key=f"predict_{qid(step)}_commit").disabled  # nothing chosen yet
    guess = list(step.options)[(list(step.options).index(step.expected) + 1) % len(step.options)]
    at.radio(key=f"predict_{qid(step)}").set_value(guess).run()
    assert not revealed(at, step)  # choosing alone reveals nothing
    at.button(key=f"predict_{qid(step)}_commit").click().run()
    assert not at.exception
    assert at.radio(key=f"predict_{qid(step)}_locked").disabled
    assert f"lesson_run_{step.key}" in [b.key for b in at.button]
    assert "**Why.**" not in texts(at.markdown)  # no explanation before the evidence
    at.button(key=f"lesson_run_{step.key}").click().run()
    wait_for_jobs()
    at.run()
    assert not at.exception
    outcome = at.session_state["lessons_results"][step.key]
    echo = texts(at.success) + texts(at.info)
    assert f"You predicted **{step.options[guess]}**" in echo
    assert outcome.summary in texts(at.info)
    if outcome.shows is not None:
        assert f"this run shows **{step.options[outcome.shows]}**" in echo
    if outcome.shows in step.why:
        assert f"**Why.** {step.why[outcome.shows]}" in texts(at.markdown)
    for other, why in step.why.items():
        if other != outcome.shows:
            assert f"**Why.** {why}" not in texts(at.markdown)  # only the explanation of what was measured


def test_a_prediction_that_matches_the_measurement_is_scored():
    """Predicting what the run measures shows a success and counts once in the session score; a new prediction hides
    the earlier run until the experiment runs again, and is scored by that run."""
    step = STEPS[0]
    at = page()
    at.radio(key=f"predict_{qid(step)}").set_value(step.expected).run()
    at.button(key=f"predict_{qid(step)}_commit").click().run()
    at.button(key=f"lesson_run_{step.key}").click().run()
    wait_for_jobs()
    at.run()
    assert at.session_state["lessons_results"][step.key].shows == step.expected
    assert f"You predicted **{step.options[step.expected]}**" in texts(at.success)
    assert "1 of 1" in texts(at.caption)  # "Your predictions this session: 1 of 1 matched ..."
    assert f"1 of {len(STEPS)} predicted" in at.get("progress")[0].proto.text
    at.button(key=f"lesson_run_{step.key}").click().run()  # the same prediction, run again: still one prediction
    wait_for_jobs()
    at.run()
    assert "1 of 1" in texts(at.caption)
    at.button(key=f"predict_{qid(step)}_again").click().run()  # a new prediction hides the old run until a new one
    assert "revealed before your new prediction" not in texts(at.info)
    at.radio(key=f"predict_{qid(step)}").set_value("label").run()
    at.button(key=f"predict_{qid(step)}_commit").click().run()
    assert "revealed before your new prediction" in texts(at.info)
    at.button(key=f"lesson_run_{step.key}").click().run()
    wait_for_jobs()
    at.run()
    assert "1 of 2" in texts(at.caption)  # the second prediction ("label") did not match the measured "copy"


def test_experiment_runs_and_shows_the_measured_error():
    """On the flatten step, running the experiment shows PyTorch's real error text and the measured shapes."""
    step = next(s for s in STEPS if s.key == "flatten")
    at = page(link=step.link)
    at.radio(key=f"predict_{qid(step)}").set_value("shape_error").run()
    at.button(key=f"predict_{qid(step)}_commit").click().run()
    at.button(key="lesson_run_flatten").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    assert not at.exception
    assert "mat1 and mat2 shapes cannot be multiplied" in texts(at.code)
    assert "(4, 1, 8, 8)" in texts(at.info)


def test_flatten_comes_right_after_the_first_mention_of_784_inputs():
    """The beginner's order: the step that introduces 784 inputs is followed by the flatten pitfall."""
    keys = [s.key for s in STEPS]
    first = next(i for i, s in enumerate(STEPS) if "784 inputs" in s.intro)
    assert keys[first + 1] == "flatten"


def test_navigation_follows_the_order_and_links_keep_their_numbers():
    """Next/Previous walk the beginner's order; the URL holds the step's fixed link number, so ?step=11 opens the
    flatten pitfall as it did before the order changed."""
    at = page()
    assert at.query_params["step"] == "1"
    at.button(key="lessons_next").click().run()
    assert at.session_state["cfg_lessons_step"] == STEPS[1].link and at.query_params["step"] == str(STEPS[1].link)
    at.button(key="lessons_next").click().run()
    assert at.session_state["cfg_lessons_step"] == STEPS[2].link
    at.button(key="lessons_prev").click().run()
    assert at.session_state["cfg_lessons_step"] == STEPS[1].link
    linked = page({"step": "11"})
    assert "Pitfall: forgetting to flatten" in texts(linked.header)
    assert "Step 3 of" in texts(linked.caption)


@pytest.mark.parametrize("raw", ["abc", "0", "99", "-2", "٥"])
def test_tampered_step_in_url_falls_back_to_the_first_step(raw):
    """A bad step number in the link opens step 1 with a note instead of crashing."""
    at = page({"step": raw})
    assert STEPS[0].title in texts(at.header)
    assert "lesson step" in texts(at.warning)


def test_clear_answers_unlocks_the_questions():
    """'Clear my answers' unlocks a committed question for the next learner."""
    step = STEPS[0]
    at = page()
    at.radio(key=f"predict_{qid(step)}").set_value("label").run()
    at.button(key=f"predict_{qid(step)}_commit").click().run()
    at.button(key="lessons_reset").click().run()
    assert not revealed(at, step)
    assert not at.radio(key=f"predict_{qid(step)}").disabled


def test_classroom_mode_lets_the_teacher_skip_the_prediction():
    """In classroom mode a Skip button opens the experiment without a prediction; outside it there is none."""
    step = STEPS[0]
    at = page()
    assert f"predict_{qid(step)}_skip" not in [b.key for b in at.button]
    at.session_state["cfg_classroom"] = True
    at.run()
    at.button(key=f"predict_{qid(step)}_skip").click().run()
    assert f"lesson_run_{step.key}" in [b.key for b in at.button]
    assert "Skipped in classroom mode" in texts(at.caption)


def test_glossary_is_on_the_page():
    """The Lessons page lists every glossary term, and a step shows its own terms next to it."""
    at = page()
    body = texts(at.markdown)
    for term in glossary.TERMS.values():
        assert term.name in body
