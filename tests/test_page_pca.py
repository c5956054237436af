"""AppTest of the 'PCA = linear AE' page: a tiny run in the background, its results, bad input, stale results.

Run: python -m pytest tests/test_page_pca.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, wait_for_jobs


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "pca.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@pytest.fixture(scope="module")
def trained() -> AppTest:
    """The page after pressing Train with 6 epochs and waiting for the job."""
    at = page()
    at.text_input(key="cfg_pca_epochs").set_value("6")
    at.radio(key="predict_pca").set_value("below").run()
    at.button(key="predict_pca_commit").click().run()
    at.button(key="pca_train_btn").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    return at


def test_page_starts_with_instructions_and_no_results():
    """Before training the page explains what to do and Train is enabled with the defaults."""
    at = page()
    assert "Press **Train**" in texts(at.info)
    assert not at.button(key="pca_train_btn").disabled
    assert "PCA" in at.title[0].value


def test_training_shows_numbers_and_measured_explanation(trained):
    """After the job: three metrics, the explanation quoting the measured numbers, the result in the session."""
    at = trained
    result = at.session_state["pca_result"]
    assert result.status == "done" and result.cfg.epochs == 6
    assert [m.label for m in at.metric] == ["PCA error (held out)", "Linear AE error", "Nonlinear AE error"]
    assert at.metric[0].value == f"{result.pca_test:.5f}"
    body = texts(at.markdown)
    assert "After 6 epochs the linear AE's held-out error is" in body
    assert f"{result.linear.test_loss:.5f}" in body
    assert "Trained both autoencoders for 6 epochs" in texts(at.success)
    assert "sum of the red bars" in texts(at.caption)
    assert "You predicted **Clearly below PCA's" in texts(at.success) + texts(at.info)


def test_intro_gives_no_answer_before_the_prediction():
    """The intro asks; it neither says the linear AE reaches PCA nor that the nonlinear one goes below it (finding 6)."""
    intro = texts(page().markdown)
    assert "keeps exactly what" not in intro and "go below" not in intro and "fall onto" not in intro


def test_changed_settings_keep_old_results_and_say_so(trained):
    """Moving k after training keeps the results on screen and notes which k they belong to."""
    at = trained
    at.slider(key="cfg_pca_k").set_value(4).run()
    assert not at.exception
    assert "These results are for k = 8" in texts(at.caption)
    assert at.session_state["pca_result"].cfg.k == 8


@pytest.mark.parametrize("key,value,needle", [
    ("cfg_pca_epochs", "0", "at least 1"),
    ("cfg_pca_epochs", "ten", "whole number"),
    ("cfg_pca_lr", "0", "above 0"),
    ("cfg_pca_lr", "fast", "must be a number"),
    ("cfg_pca_hidden", "-3", "at least 1"),
    ("cfg_pca_seed", "🙂", "whole number"),
])
def test_bad_input_gives_a_message_and_disables_train(key, value, needle):
    """Each bad value gets a clear message, no exception, and Train is disabled."""
    at = page()
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert needle in texts(at.error)
    assert at.button(key="pca_train_btn").disabled
