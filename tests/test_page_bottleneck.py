"""AppTest of the "Does a bigger bottleneck memorize?" page: a tiny sweep end to end, the commit question,
bad input that keeps earlier results, and results that stay when the learner comes back.

Run: python -m pytest tests/test_page_bottleneck.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from aelab import sweep, sweep_text
from conftest import ROOT, commit_prediction, reveal_waits_for_a_prediction, wait_for_jobs

PAGE = str(ROOT / "pages" / "bigger_bottleneck.py")
SMALL = sweep.SweepConfig(sizes=(2, 8), n_train=100, hidden=(16,), epochs=3, n_ood=50, curve_points=3)


@pytest.fixture(scope="module")
def earlier(digits):
    """A finished experiment, as if the learner had run one before."""
    return sweep.run_sweep(digits, SMALL)


def page(result=None, predicted: bool = True, **state) -> AppTest:
    """The page after its first run, optionally with a stored result (and, unless `predicted` is False, a committed
    prediction: the page reveals results only after one) and preset widget values."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    if result is not None:
        at.session_state["bn_result"] = result
        if predicted:
            commit_prediction(at, "bottleneck", "rises")
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_page_opens_with_defaults_and_asks_for_a_prediction_first():
    """Defaults are filled in, Run is enabled, Commit waits for a choice, and no results are shown yet."""
    at = page()
    assert at.text_input(key="cfg_bn_sizes").value == "2, 4, 8, 16, 32, 64, 128"
    assert at.text_input(key="cfg_bn_n_train").value == "500"
    assert "**Predict first.**" in at.radio(key="predict_bottleneck").label
    assert at.button(key="predict_bottleneck_commit").disabled and not at.button(key="bn_run").disabled
    assert "Press **Run experiment**" in texts(at.info)
    assert not at.get("download_button")


def test_tiny_sweep_runs_end_to_end_and_echoes_the_answer():
    """Commit, run a 2-model sweep in the background, then see the explanation, answer echo and CSV button."""
    at = page()
    at.text_input(key="cfg_bn_n_train").set_value("100")
    at.text_input(key="cfg_bn_hidden").set_value("16")
    at.text_input(key="cfg_bn_epochs").set_value("3")
    at.text_input(key="cfg_bn_sizes").set_value("8, 2").run()
    at.radio(key="predict_bottleneck").set_value("rises").run()
    at.button(key="predict_bottleneck_commit").click().run()
    assert "Your prediction (locked)" in texts(at.caption)
    at.button(key="bn_run").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    assert not at.exception
    result = at.session_state["bn_result"]
    assert [r.bottleneck for r in result.rows] == [2, 8] and result.status == "done"
    assert "You predicted **" + sweep_text.TRENDS["rises"] in texts(at.info) + texts(at.success)
    assert "b=2" in texts(at.markdown) and "Held-out error" in texts(at.markdown)
    assert at.get("download_button")[0].label == "Download the results (CSV)"
    assert "Trained and measured 2 models" in texts(at.success) + texts(at.caption)


@pytest.mark.parametrize("key,value,needle", [
    ("cfg_bn_sizes", "", "empty"),
    ("cfg_bn_sizes", "2, four", "whole number"),
    ("cfg_bn_sizes", "2, 2", "appears more than once"),
    ("cfg_bn_sizes", "0, 8", "at least 1"),
    ("cfg_bn_sizes", "99999", "at most 2,048"),
    ("cfg_bn_sizes", ", ".join(str(i) for i in range(1, 20)), "At most 12 sizes"),
    ("cfg_bn_n_train", "100000", "1,438"),
    ("cfg_bn_n_train", "1", "at least 2"),
    ("cfg_bn_epochs", "0", "at least 1"),
    ("cfg_bn_hidden", "wide", "whole number"),
    ("cfg_bn_lr", "5", "at most 1"),
])
def test_bad_input_explains_and_keeps_earlier_results(earlier, key, value, needle):
    """Each bad value shows a message, disables Run, and the previous experiment's results stay on the page."""
    at = page(earlier, **{key: value})
    assert needle in texts(at.error)
    assert at.button(key="bn_run").disabled
    assert [r.bottleneck for r in at.session_state["bn_result"].rows] == [2, 8]
    assert at.get("download_button") and "What was measured" in texts(at.header)


def test_results_stay_when_the_learner_comes_back(earlier):
    """A new visit to the page (same session state) shows the stored results without running anything."""
    at = page(earlier)
    assert "What was measured" in texts(at.header)
    assert "You predicted **" in texts(at.info) + texts(at.success)
    assert len(at.get("plotly_chart")) >= 6


def test_results_wait_for_a_prediction(earlier):
    """Without a committed prediction the finished results stay hidden; committing reveals them."""
    at = page(earlier, predicted=False)
    reveal_waits_for_a_prediction(at, "bottleneck", "levels")


def test_a_smaller_training_set_is_compared_with_the_previous_run(digits):
    """Two runs with different training-set sizes: the page compares them at the widest common code (finding 5)."""
    small = sweep.run_sweep(digits, SMALL.__class__(**{**SMALL.__dict__, "n_train": 30}))
    at = page(small)
    at.session_state["bn_previous"] = sweep.run_sweep(digits, SMALL)
    at.run()
    assert "Compared with your previous run:" in texts(at.markdown)
    assert "100 → 30 training images" in texts(at.markdown)


def test_missing_mnist_files_give_a_message_not_a_crash(tmp_path, monkeypatch):
    """Choosing MNIST without its files shows where to put them; Run stays disabled."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path))
    at = page()
    at.selectbox(key="cfg_bn_dataset").set_value("mnist").run()
    assert not at.exception
    assert "not on this machine" in texts(at.warning)
    assert at.button(key="bn_run").disabled


@pytest.mark.slow
def test_size_list_follows_the_data_set(real_data_root, monkeypatch):
    """Switching to MNIST extends the untouched default list with the input width (784)."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(real_data_root))
    at = page()
    at.selectbox(key="cfg_bn_dataset").set_value("mnist").run()
    assert not at.exception
    assert at.text_input(key="cfg_bn_sizes").value == "2, 4, 8, 16, 32, 64, 128, 784"



def test_progress_per_model_then_stop_keeps_the_partly_trained_models():
    """While running, a table shows each model's state; Stop ends the run and its partly trained models are shown."""
    at = page(**{"cfg_bn_n_train": "1000", "cfg_bn_hidden": "16", "cfg_bn_epochs": "1000", "cfg_bn_sizes": "2, 8"})
    commit_prediction(at, "bottleneck")
    at.button(key="bn_run").click().run()
    assert not at.exception
    states = list(at.dataframe[0].value["state"])
    assert len(states) == 2 and all(s.startswith("training: epoch") for s in states)
    at.button(key="bottleneck_stop").click().run()
    wait_for_jobs()
    at.run()
    assert not at.exception
    result = at.session_state["bn_result"]
    assert result.status == "stopped" and [r.bottleneck for r in result.rows] == [2, 8]
    assert "Stopped by you" in texts(at.warning)
