"""AppTest of the Lessons page: commit-then-reveal for every step, locked answers, experiments, URL steps.

Run: python -m pytest tests/test_page_lessons.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from aelab.lessons import STEPS
from conftest import ROOT, wait_for_jobs


def page(query: dict | None = None, step: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "lessons.py"), default_timeout=60)
    if query:
        at.query_params.update(query)
    if step is not None:
        at.session_state["cfg_lessons_step"] = step
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def revealed(at: AppTest, step) -> bool:
    return step.reveal[:60] in texts(at.markdown) or f"lesson_run_{step.key}" in [b.key for b in at.button]


@pytest.mark.parametrize("number", range(1, len(STEPS) + 1), ids=[s.key for s in STEPS])
def test_commit_then_reveal(number):
    """Before committing nothing is revealed; after committing the reveal shows and the answer is locked and echoed."""
    step = STEPS[number - 1]
    at = page(step=number)
    assert step.title in texts(at.header)
    assert not revealed(at, step)
    assert at.button(key=f"lesson_commit_{step.key}").disabled  # nothing chosen yet
    wrong = (step.answer_index + 1) % len(step.choices)
    at.radio(key=f"lesson_q_{step.key}").set_value(wrong).run()
    assert not revealed(at, step)  # choosing alone reveals nothing
    at.button(key=f"lesson_commit_{step.key}").click().run()
    assert not at.exception and revealed(at, step)
    locked = at.radio(key=f"lesson_locked_{step.key}")
    assert locked.disabled and locked.value == wrong
    assert f"lesson_q_{step.key}" not in [r.key for r in at.radio]
    assert step.choices[wrong] in texts(at.warning) and step.choices[step.answer_index] in texts(at.warning)
    assert at.session_state["lessons_answers"] == {step.key: wrong}
    at.run()
    assert at.session_state["lessons_answers"] == {step.key: wrong}  # stays locked over reruns


def test_right_answer_is_confirmed_and_counted():
    """Committing the right answer shows a success message and the progress counts it."""
    step = STEPS[0]
    at = page()
    at.radio(key=f"lesson_q_{step.key}").set_value(step.answer_index).run()
    at.button(key=f"lesson_commit_{step.key}").click().run()
    assert "That's right" in texts(at.success) and step.choices[step.answer_index] in texts(at.success)
    assert "1 of 16 answered, 1 right" in at.get("progress")[0].proto.text


def test_experiment_runs_and_shows_the_measured_error():
    """On the flatten step, running the experiment shows PyTorch's real error text and the measured shapes."""
    number = [s.key for s in STEPS].index("flatten") + 1
    step = STEPS[number - 1]
    at = page(step=number)
    at.radio(key="lesson_q_flatten").set_value(step.answer_index).run()
    at.button(key="lesson_commit_flatten").click().run()
    at.button(key="lesson_run_flatten").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    assert not at.exception
    assert "mat1 and mat2 shapes cannot be multiplied" in texts(at.code)
    assert "(4, 1, 8, 8)" in texts(at.info)
    assert "Explore further" in texts(at.caption) or at.get("page_link")


def test_navigation_and_url_step():
    """Next/Previous move between steps and the step number is mirrored in the URL; a link opens a given step."""
    at = page()
    assert at.query_params["step"] == "1"
    at.button(key="lessons_next").click().run()
    assert at.session_state["cfg_lessons_step"] == 2 and at.query_params["step"] == "2"
    at.button(key="lessons_prev").click().run()
    assert at.session_state["cfg_lessons_step"] == 1
    linked = page({"step": "5"})
    assert STEPS[4].title in texts(linked.header)


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
    at.radio(key=f"lesson_q_{step.key}").set_value(0).run()
    at.button(key=f"lesson_commit_{step.key}").click().run()
    at.button(key="lessons_reset").click().run()
    assert at.session_state["lessons_answers"] == {} and not revealed(at, step)
    assert not at.radio(key=f"lesson_q_{step.key}").disabled
