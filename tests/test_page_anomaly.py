"""AppTest of the Anomaly detection page: a tiny run end to end, the threshold slider and its counts, bad class
choices and inputs that keep earlier results, and results that stay when the learner comes back.

Run: python -m pytest tests/test_page_anomaly.py
"""
import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from aelab import anomaly
from conftest import ROOT, commit_prediction, reveal_waits_for_a_prediction, wait_for_jobs

PAGE = str(ROOT / "pages" / "anomaly.py")
TINY = anomaly.AnomalySettings(encoder=(32,), bottleneck=8, sizes=(2, 8), epochs=3, n_train=400, lr=1e-2)


@pytest.fixture(scope="module")
def earlier(digits):
    """A finished run, as if the learner had trained one before."""
    return anomaly.run_lab(digits, TINY)


def page(result=None, predicted: bool = True) -> AppTest:
    """The page after its first run; with a stored result, a committed prediction too (the reveal waits for one)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    if result is not None:
        at.session_state["an_result"] = result
        if predicted:
            commit_prediction(at, "anomaly")
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_page_opens_with_all_but_one_digit_as_normal():
    """The default normal classes are every digit but 3, the button is enabled, and nothing is measured yet."""
    at = page()
    assert at.multiselect(key="cfg_an_normal").value == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert not at.button(key="an_run").disabled
    assert "Press **Train on the normal classes**" in texts(at.info)


def test_tiny_run_trains_in_the_background_and_renders_every_section():
    """Start a 2-epoch run with two code sizes, wait for the job thread, and see counts, AUC and sweep text."""
    at = page()
    at.text_input(key="cfg_an_epochs").set_value("2")
    at.text_input(key="cfg_an_n_train").set_value("400")
    at.text_input(key="cfg_an_sizes").set_value("2, 8").run()
    at.radio(key="predict_anomaly").set_value("larger").run()
    at.button(key="predict_anomaly_commit").click().run()
    at.button(key="an_run").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    result = at.session_state["an_result"]
    assert isinstance(result, anomaly.AnomalyResult) and [r.bottleneck for r in result.rows] == [2, 8]
    body = texts(at.markdown)
    assert f"AUC = {result.main.auc:.3f}" in body and "The AUC ranges from" in body
    m = metrics(at)
    assert int(m["Caught (TP)"]) + int(m["Missed (FN)"]) == int(result.main.is_anomaly.sum())
    assert "You predicted **Clearly larger" in texts(at.success) + texts(at.info)


def test_results_wait_for_a_prediction(earlier):
    """A finished run is not revealed until a prediction is committed."""
    at = page(earlier, predicted=False)
    reveal_waits_for_a_prediction(at, "anomaly", "same")


def test_threshold_slider_changes_the_confusion_counts(earlier):
    """At threshold 0 every image is flagged: TP = all anomalies, FP = all normal images, TN = FN = 0."""
    at = page(earlier)
    det = earlier.main
    at.slider(key=f"cfg_an_threshold_{earlier.token}").set_value(0.0).run()
    assert not at.exception
    m = metrics(at)
    assert (int(m["Caught (TP)"]), int(m["False alarms (FP)"])) == (int(det.is_anomaly.sum()),
                                                                    int((~det.is_anomaly).sum()))
    assert (int(m["Passed (TN)"]), int(m["Missed (FN)"])) == (0, 0)


@pytest.mark.parametrize("normal,needle", [
    ([], "Pick at least one class"),
    (list(range(10)), "Every class is marked normal"),
])
def test_no_or_all_normal_classes_give_a_message_and_keep_results(earlier, normal, needle):
    """Choosing no class or every class explains why, disables training, and keeps the earlier results."""
    at = page(earlier)
    at.multiselect(key="cfg_an_normal").set_value(normal).run()
    assert not at.exception
    assert needle in texts(at.error)
    assert at.button(key="an_run").disabled
    assert "What was measured" in texts(at.header)


@pytest.mark.parametrize("key,value,needle", [
    ("cfg_an_sizes", "2, 4, 8, 16, 32, 48, 64", "At most 6"),
    ("cfg_an_sizes", "2, 500", "at most 64, the number of values in one input"),
    ("cfg_an_bottleneck", "eight", "whole number"),
])
def test_bad_text_input_shows_a_message(earlier, key, value, needle):
    """A bad size list or code size gives a clear message and no crash."""
    at = page(earlier)
    at.text_input(key=key).set_value(value).run()
    assert not at.exception and needle in texts(at.error)
    assert at.button(key="an_run").disabled


def test_results_are_still_there_when_the_learner_comes_back(earlier):
    """A stored result renders on a fresh visit with all four sections."""
    at = page(earlier)
    subheaders = texts(at.subheader)
    for needle in ("different errors", "threshold", "worst-reconstructed", "code size"):
        assert needle in subheaders


def test_a_stopped_run_is_shown_with_a_warning(earlier):
    """A partial result says so in a warning."""
    at = page(dataclasses.replace(earlier, status="stopped", message="Stopped during the code-size comparison."))
    assert "Stopped during" in texts(at.warning)


# -- the convolutional layout (issue 14) ------------------------------------------------------------------------
def test_conv_layout_control_trains_conv_detectors():
    """The layout radio and, for conv, the channel box: a tiny run trains convolutional detectors and says so."""
    at = page()
    at.radio(key="cfg_an_layout").set_value("conv").run()
    typed = {"cfg_an_channels": "4, 8", "cfg_an_hidden": "", "cfg_an_epochs": "1", "cfg_an_n_train": "300",
             "cfg_an_sizes": "2"}
    for key, value in typed.items():
        at.text_input(key=key).set_value(value)
    commit_prediction(at, "anomaly")
    at.run().button(key="an_run").click().run()
    wait_for_jobs()
    assert not at.run().run().exception
    result = at.session_state["an_result"]
    assert result.main.model.spec.channels == (4, 8) and "64-c4-c8-8-c8-c4-64" in texts(at.caption)


def test_bad_channel_counts_give_a_message_and_keep_results(earlier):
    """Channel counts over the limit: a message, the button off, the earlier results kept."""
    at = page(earlier)
    at.radio(key="cfg_an_layout").set_value("conv").run()
    at.text_input(key="cfg_an_channels").set_value("16, 999").run()
    assert not at.exception and "at most 128" in texts(at.error) and at.button(key="an_run").disabled
    assert at.session_state["an_result"] is earlier
