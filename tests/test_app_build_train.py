"""AppTest of app.py and the Build & Train page: train from the UI, bad input, stop, and coming back.

Run: python -m pytest tests/test_app_build_train.py
"""
import time

import pytest
from conftest import ROOT, set_field, wait_for_jobs
from streamlit.testing.v1 import AppTest

from aelab.settings import BUILD_TRAIN


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "build_train.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_home_page_renders_with_navigation():
    """app.py routes to the home page, which explains autoencoders and shows no exception."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert "aelab" in at.title[0].value
    assert "No model trained yet" in texts(at.sidebar.caption)


def test_train_from_the_page_shows_results_and_stores_the_model():
    """Pressing Train trains in the background; after it ends the results show and the model is in the session."""
    at = page()
    assert "Press **Train**" in texts(at.info)
    set_field(at, "cfg_epochs", "3")
    at.text_input(key="cfg_seed").set_value("7")
    at.button(key="train_btn").click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    assert not at.exception
    assert "Finished 3 epochs." in texts(at.success)
    run = at.session_state["aelab_run"]
    assert run.epochs_done == 3 and run.cfg.seed == 7 and run.spec.describe() == "64-48-24-8-24-48-64"
    assert "Showing the session model" in texts(at.caption)


CONV = {"cfg_layout": "conv"}  # the channel box shows in the convolutional layout


@pytest.mark.parametrize("before,key,value,needle", [
    ({}, "cfg_enc_0", "abc", "must be a whole number"),
    ({}, "cfg_enc_1", "", "is empty"),
    ({}, "cfg_enc_0", "100000", "at most"),
    ({}, "cfg_seed", "🙂", "whole number"),
    ({}, "cfg_seed", str(2**70), "at most 2,147,483,647"),  # spec.SEED_MAX, the range checkpoints are held to too
    (CONV, "cfg_channels", "16, 500", "at most 128"),  # limits.MAX_CHANNELS
    (CONV, "cfg_channels", "8, 8, 8, 8", "too many"),  # an 8x8 image halves 3 times
    (CONV, "cfg_channels", "", "empty"),
    (CONV, "cfg_channels", "16, x", "whole number"),
])
def test_bad_input_gives_a_message_and_disables_train(before, key, value, needle):
    """Each bad value gets a clear message next to the controls, no exception, and Train is disabled (sliders and
    number inputs cannot hold a bad value; a link's is refused by tests/test_url_*.py)."""
    at = page()
    for k, v in before.items():
        set_field(at, k, v)
    at.run()
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert needle in texts(at.error)
    assert at.button(key="train_btn").disabled


def test_bce_without_sigmoid_and_huge_networks_are_explained():
    """BCE with a linear output and a >20M-parameter network are refused with reasons."""
    at = page()
    at.selectbox(key="cfg_output").set_value("none")
    at.selectbox(key="cfg_loss").set_value("bce").run()
    assert "Sigmoid" in texts(at.error)
    at.selectbox(key="cfg_output").set_value("sigmoid")
    at.text_input(key="cfg_enc_0").set_value("16000")
    at.text_input(key="cfg_enc_1").set_value("16000").run()
    assert "parameters" in texts(at.error) and at.button(key="train_btn").disabled


def test_bad_input_after_training_keeps_the_model():
    """A trained model survives later bad input untouched."""
    at = page()
    set_field(at, "cfg_epochs", "2")
    at.button(key="train_btn").click().run()
    wait_for_jobs()
    at.run()
    run = at.session_state["aelab_run"]
    at.text_input(key="cfg_enc_0").set_value("-1").run()
    assert not at.exception and at.session_state["aelab_run"] is run


def test_stop_keeps_model_and_train_is_blocked_while_running():
    """While training, Train is disabled and changed settings are flagged; Stop ends it and keeps the model."""
    at = page()
    set_field(at, "cfg_epochs", "1000")
    set_field(at, "cfg_batch", "8")
    at.button(key="train_btn").click().run()
    assert at.button(key="train_btn").disabled
    set_field(at, "cfg_lr", "0.005").run()
    assert "apply the next time" in texts(at.info)
    time.sleep(0.5)
    at.button(key="train_stop").click().run()
    wait_for_jobs()
    at.run()
    assert not at.exception
    run = at.session_state["aelab_run"]
    assert run.status == "stopped" and run.history.test
    assert "Stopped by you" in texts(at.info)


def test_vae_trains_from_the_page():
    """Switching the model type to VAE trains one and records both loss terms."""
    at = page()
    at.radio(key="cfg_kind").set_value("vae").run()
    at.text_input(key="cfg_beta").set_value("0.5")
    set_field(at, "cfg_epochs", "2")
    at.button(key="train_btn").click().run()
    wait_for_jobs()
    at.run()
    run = at.session_state["aelab_run"]
    assert not at.exception and run.spec.kind == "vae" and run.cfg.beta == 0.5
    assert set(run.history.terms) == {"recon", "kl"}


def test_presets_and_layer_buttons():
    """Applying a preset fills the widths; + and - add and remove encoder layers."""
    at = page()
    at.selectbox(key="cfg_preset").set_value("Tiny 2D")
    at.button(key="apply_preset").click().run()
    assert at.session_state["cfg_enc_n"] == 1 and at.select_slider(key="cfg_bottleneck").value == 2
    at.button(key="enc_add").click().run()
    assert at.session_state["cfg_enc_n"] == 2 and at.text_input(key="cfg_enc_1").value == "32"
    at.button(key="enc_remove").click().run()
    assert at.session_state["cfg_enc_n"] == 1 and not at.exception


def test_leaving_and_returning_shows_the_same_run():
    """Through app.py's navigation: train, visit Home, come back: the same run and settings are shown."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/build_train.py").run()
    set_field(at, "cfg_epochs", "2")
    at.text_input(key="cfg_seed").set_value("5")
    at.button(key="train_btn").click().run()
    wait_for_jobs()
    at.run()
    run = at.session_state["aelab_run"]
    at.switch_page("pages/home.py").run()
    assert "your session's model" in texts(at.caption)
    assert "Session model" in texts(at.sidebar.caption)
    at.switch_page("pages/build_train.py").run()
    assert not at.exception
    assert at.session_state["aelab_run"] is run
    assert at.text_input(key="cfg_seed").value == "5"
    assert "Showing the session model" in texts(at.caption)


HARNESS = """
import sys
sys.path.insert(0, {root!r})
import streamlit as st
from aelab import ui
ui.keep_widget_state()
nav = st.navigation([st.Page("one.py", default=True), st.Page("two.py")])
nav.run()
"""


def test_widget_values_survive_page_switch(tmp_path):
    """app.py's keep_widget_state keeps a cfg_* widget's value while another page is open."""
    (tmp_path / "main.py").write_text(HARNESS.format(root=str(ROOT)))
    (tmp_path / "one.py").write_text("import streamlit as st\nst.text_input('Seed', key='cfg_seed')\n"
                                     "st.text_input('Scratch', key='scratch')\n")
    (tmp_path / "two.py").write_text("import streamlit as st\nst.write('page two')\n")
    at = AppTest.from_file(str(tmp_path / "main.py"), default_timeout=30)
    at.run()
    at.text_input(key="cfg_seed").set_value("5")
    at.text_input(key="scratch").set_value("x").run()
    at.switch_page("two.py").run()
    at.switch_page("one.py").run()
    assert not at.exception
    assert at.text_input(key="cfg_seed").value == "5"  # kept
    assert at.text_input(key="scratch").value == ""  # only cfg_* keys are kept


def test_shared_link_opens_build_train_with_its_settings_in_classroom_mode():
    """A teacher's link (query string) sets the page's widgets; classroom mode folds advanced controls away."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"code": "7", "epochs": "5", "act": "tanh", "classroom": "1"})
    at.run()
    at.switch_page("pages/build_train.py").run()
    assert not at.exception
    assert at.select_slider(key="cfg_bottleneck").value == 7
    assert at.number_input(key="cfg_epochs").value == 5
    assert at.selectbox(key="cfg_activation").value == "tanh"
    assert at.session_state["cfg_classroom"] is True
    assert "Advanced settings" in [e.label for e in at.expander]


def test_tampered_link_falls_back_with_a_note():
    """Bad query values fall back to the defaults and the page says which were ignored."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"code": "-3", "epochs": "lots", "act": "<script>"})
    at.run()
    at.switch_page("pages/build_train.py").run()
    assert not at.exception
    assert at.select_slider(key="cfg_bottleneck").value == 8  # the Digits defaults
    assert at.number_input(key="cfg_epochs").value == BUILD_TRAIN["cfg_epochs"].default_for("digits")
    assert "ignored" in texts(at.warning).lower() or "ignored" in texts(at.caption).lower()


def charts(at: AppTest) -> list[str]:
    """The keys of the Plotly charts on the page (AppTest shows charts as unknown elements)."""
    return [c.proto.id for c in at.get("plotly_chart")]


def test_first_live_drawing_shows_curves_and_images_and_the_code_space_one_update_later():
    """Train press: loss curve and reconstructions in the first drawing, the code space from the next update on."""
    import torch

    torch.optim.Adam(torch.nn.Linear(1, 1).parameters())  # what the app's background warm-up does first
    at = page()
    set_field(at, "cfg_epochs", "1000")  # still training while the test looks
    at.button(key="train_btn").click().run()
    assert not at.exception
    first = charts(at)
    assert "Code space: drawing with the next update…" in texts(at.caption)
    assert any("loss_chart" in c for c in first) and any("recon_grid" in c for c in first)
    assert not any("latent_chart" in c for c in first)
    at.run()  # the next update of the live view
    assert not at.exception and at.session_state["_aelab_jobs"]["train"].alive
    assert any("latent_chart" in c for c in charts(at))
    assert "Code space: drawing with the next update…" not in texts(at.caption)
    at.button(key="train_stop").click().run()
    wait_for_jobs()


def test_a_status_change_without_new_weights_adds_no_code_trail_frame():
    """The code space's trails get one frame per weights snapshot. On a shared server a job's status changes at every
    turn (queued <-> running) without new weights: a redraw then must not add a repeated frame (it shortened the
    visible trail and cost an encoding and a new figure on every redraw of a job waiting for its turn)."""
    at = page()
    set_field(at, "cfg_epochs", "1000")
    at.button(key="train_btn").click().run()
    at.run()  # the code space is drawn from the second live update on
    job = at.session_state["_aelab_jobs"]["train"]
    at.button(key="train_pause").click().run()
    deadline = time.monotonic() + 20
    while job.status != "paused" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "paused"
    at.run()  # draws the last snapshot before the pause
    trails = at.session_state["_code_trails"]
    frames, version, step = len(trails.frames), job.view().version, job.view().progress.step
    assert frames >= 1
    for status in ("queued", "paused"):  # what a turn's end and start do to the job: its version counts up
        job._set_status(status)
        at.run()
        assert not at.exception
    assert job.view().version > version and job.view().progress.step == step
    assert len(at.session_state["_code_trails"].frames) == frames
    at.button(key="train_stop").click().run()
    wait_for_jobs()
