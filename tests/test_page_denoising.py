"""AppTest of the Denoising page: a tiny run end to end, bad input that keeps earlier results, and results
that are still there when the learner comes back.

Run: python -m pytest tests/test_page_denoising.py
"""
import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from aelab import denoise, noise
from conftest import ROOT, commit_prediction, reveal_waits_for_a_prediction, wait_for_jobs

PAGE = str(ROOT / "pages" / "denoising.py")
TINY = denoise.DenoiseSettings(encoder=(32,), bottleneck=8, epochs=2, copies=1, n_train=200)


@pytest.fixture(scope="module")
def earlier(digits):
    """A finished comparison, as if the learner had run one before."""
    return denoise.run_lab(digits, TINY)


def page(result=None, predicted: bool = True) -> AppTest:
    """The page after its first run; with a stored result, a prediction is committed too (unless `predicted` is
    False), since the page reveals results only after one."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    if result is not None:
        at.session_state["dn_result"] = result
        if predicted:
            commit_prediction(at, "denoising")
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_page_opens_with_defaults_and_a_preview():
    """Defaults are filled in, the button is enabled, and no results are shown before a run."""
    at = page()
    assert at.selectbox(key="cfg_dn_noise").value == noise.GAUSSIAN
    assert at.text_input(key="cfg_dn_level").value == "0.3"
    assert not at.button(key="dn_run").disabled
    assert "Press **Train both models**" in texts(at.info)
    assert "dn_result" not in at.session_state


def test_tiny_run_trains_in_the_background_and_renders_the_measurements():
    """Predict, start a 2-epoch run, wait for the job thread, and see the echo of the prediction against what was
    measured and the computed sentences, with no exception."""
    at = page()
    at.text_input(key="cfg_dn_epochs").set_value("2")
    at.text_input(key="cfg_dn_n_train").set_value("200").run()
    at.radio(key="predict_denoising").set_value("plain").run()
    at.button(key="predict_denoising_commit").click().run()
    at.button(key="dn_run").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    result = at.session_state["dn_result"]
    assert isinstance(result, denoise.DenoiseResult) and result.status == "done"
    body = texts(at.markdown)
    assert "What was measured" in texts(at.header)
    assert f"{result.mean('denoiser'):.4f}" in body and f"{result.mean('noisy'):.4f}" in body
    assert "You predicted **The plain AE's" in texts(at.success) + texts(at.info)


def test_results_wait_for_a_prediction(earlier):
    """A finished result is not revealed until a prediction is committed; committing reveals it."""
    at = page(earlier, predicted=False)
    reveal_waits_for_a_prediction(at, "denoising", "denoiser")


@pytest.mark.parametrize("key,value,needle", [
    ("cfg_dn_level", "1.5", "at most 1"),
    ("cfg_dn_level", "-0.2", "above 0"),
    ("cfg_dn_level", "much", "must be a number"),
    ("cfg_dn_copies", "99", "at most 10"),
    ("cfg_dn_epochs", "0", "at least 1"),
])
def test_bad_input_shows_a_message_disables_training_and_keeps_results(earlier, key, value, needle):
    """A bad value gives a clear message and a disabled button, while the earlier results stay on screen."""
    at = page(earlier)
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert needle in texts(at.error)
    assert at.button(key="dn_run").disabled
    assert "What was measured" in texts(at.header)


def test_results_are_still_there_when_the_learner_comes_back(earlier):
    """A result stored in the session renders on a fresh visit, with its own settings in the caption."""
    at = page(earlier)
    assert "What was measured" in texts(at.header)
    assert "Gaussian noise at level 0.3" in texts(at.caption)


def test_switching_the_noise_type_keeps_the_page_working(earlier):
    """Every noise type previews without error."""
    at = page(earlier)
    for kind in noise.KINDS:
        at.selectbox(key="cfg_dn_noise").set_value(kind).run()
        assert not at.exception and not at.error


def test_a_stopped_run_is_shown_with_a_warning(earlier):
    """A partial result says so in a warning above the numbers."""
    stopped = dataclasses.replace(earlier, status="stopped", message="Stopped by you. The numbers below describe "
                                                                    "partly trained models.")
    at = page(stopped)
    assert "partly trained" in texts(at.warning)


# -- the convolutional layout (issue 14) ------------------------------------------------------------------------
def test_conv_layout_control_shows_channels_and_trains_conv_models():
    """Choosing the convolutional layout shows the channel box (the dense layout hides it); a tiny run trains two
    convolutional models and the results name their conv layers."""
    at = page()
    assert at.radio(key="cfg_dn_layout").value == "dense"
    assert not [t for t in at.text_input if t.key == "cfg_dn_channels"]
    at.radio(key="cfg_dn_layout").set_value("conv").run()
    assert at.text_input(key="cfg_dn_channels").value == "16, 32"
    typed = {"cfg_dn_channels": "4", "cfg_dn_epochs": "1", "cfg_dn_copies": "1", "cfg_dn_n_train": "200"}
    for key, value in typed.items():
        at.text_input(key=key).set_value(value)
    assert at.run().query_params["dn_layout"] == "conv" and at.query_params["dn_ch"] == "4"
    commit_prediction(at, "denoising")
    at.button(key="dn_run").click().run()
    wait_for_jobs()
    assert not at.run().run().exception
    result = at.session_state["dn_result"]
    assert result.settings.channels == (4,) and result.denoiser.spec.layout == "conv"
    assert "c4" in texts(at.caption)


@pytest.mark.parametrize("value,needle", [("200", "at most 128"), ("8, 8, 8, 8", "too many"), ("x", "whole number")])
def test_bad_channel_counts_give_a_message_and_keep_results(earlier, value, needle):
    """Channel counts over the limit, deeper than 8x8 images allow, or not numbers: a message, the button off, the
    earlier results kept."""
    at = page(earlier)
    at.radio(key="cfg_dn_layout").set_value("conv").run()
    at.text_input(key="cfg_dn_channels").set_value(value).run()
    assert not at.exception and needle in texts(at.error) and at.button(key="dn_run").disabled
    assert at.session_state["dn_result"] is earlier
