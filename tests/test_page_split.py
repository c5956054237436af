"""AppTest of pages/split.py (Encoder | Decoder): no model, a trained model, a VAE, a missing data set, a conv model,
weights as images (also live while the quick model and the pair train).

Run: python -m pytest -q tests/test_page_split.py
"""
from __future__ import annotations

import contextlib
import time

import pytest
from streamlit.testing.v1 import AppTest

from aelab import data, layers, runs
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig
from conftest import commit_prediction, wait_for_jobs

PAGE = "pages/split.py"
GAP_LABEL = "max |out − dec(enc(x))|"


@pytest.fixture(scope="module")
def trained(digits):
    """A small plain autoencoder trained for a few epochs on digits."""
    return runs.train_run(digits, ArchSpec(64, (32, 12), 3), TrainConfig(epochs=3, batch_size=64))


def page(app_path) -> AppTest:
    return AppTest.from_file(app_path(PAGE), default_timeout=60)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_without_a_model_offers_a_quick_one_and_uses_it(app_path):
    """No model: a notice and a train button, no exception; after the quick job the split view shows."""
    at = page(app_path)
    at.run()
    assert not at.exception
    assert any("No model trained" in i.value for i in at.info)
    assert not at.metric
    at.button(key="split_quick_train").click().run()
    assert not at.exception
    wait_for_jobs(90)
    at.run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Code width at the split"] == "3" and float(shown[GAP_LABEL]) < 1e-5
    assert at.session_state["aelab_run"].spec.describe() == "64-128-64-12-3-12-64-128-64"
    assert len(at.dataframe) >= 1


def test_with_a_trained_model_split_table_metrics_and_code(app_path, trained):
    """With a model: the slider defaults to the bottleneck, moving it changes sides, the gap stays ~0."""
    at = page(app_path)
    at.session_state["aelab_run"] = trained
    commit_prediction(at, "split")
    at.run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Encoder"] == "5 modules" and shown["Code width at the split"] == "3"
    assert float(shown[GAP_LABEL]) < 1e-5
    table = at.dataframe[0].value
    assert len(table) == 1 + len(trained.model.encoder) + len(trained.model.decoder)
    assert any("bottleneck" in note for note in table["note"])
    assert any("95%" in m.value for m in at.markdown)  # the per-layer summary is drawn
    assert any("SplitAutoencoder" in c.value for c in at.code)
    at.select_slider(key="split_at").set_value(2).run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Encoder"] == "2 modules" and shown["Code width at the split"] == "32"
    assert float(shown[GAP_LABEL]) < 1e-5
    assert any("network[:2], network[2:]" in c.value for c in at.code)


def test_layer_measurements_wait_for_a_prediction_then_say_what_was_measured(app_path, trained):
    """Section 2 asks where kNN reads the class best; after Commit it measures every layer, echoes the prediction
    against the measured place, and its sentence about decoder layers agrees with their kNN numbers (finding 7)."""
    at = page(app_path)
    at.session_state["aelab_run"] = trained
    at.run()
    assert "Commit your prediction to measure every layer." in [i.value for i in at.info]
    assert not any("kNN accuracy is" in m.value for m in at.markdown)
    at.radio(key="predict_split").set_value("decoder").run()
    at.button(key="predict_split_commit").click().run()
    assert not at.exception
    body = " ".join(m.value for m in at.markdown)
    assert "kNN accuracy is" in body
    echo = " ".join(e.value for e in [*at.success, *at.info])
    assert "You predicted **After the code: a decoder layer**" in echo
    assert "cannot recover what it dropped" not in body


def test_asymmetric_pair_trains_in_the_background(app_path, trained):
    """Training both asymmetric models ends in a comparison sentence with both losses."""
    at = page(app_path)
    at.session_state["aelab_run"] = trained
    at.run()
    at.text_input(key="cfg_split_epochs").set_value("2")
    at.text_input(key="cfg_split_n").set_value("300")
    at.text_input(key="cfg_split_deep").set_value("32, 12")
    at.run()
    at.button(key="split_pair_train").click().run()
    assert not at.exception
    wait_for_jobs(90)
    at.run()
    assert not at.exception
    assert any("held-out loss" in m.value and "parameters" in m.value for m in at.markdown)


def test_bad_pair_input_shows_a_message(app_path, trained):
    """A typo in the widths gives a message and disables training, without an exception."""
    at = page(app_path)
    at.session_state["aelab_run"] = trained
    at.run()
    at.text_input(key="cfg_split_deep").set_value("128, x").run()
    assert not at.exception
    assert any("whole number" in e.value for e in at.error)
    assert at.button(key="split_pair_train").disabled


def test_vae_model_is_explained_and_kept(app_path, digits):
    """A VAE: the page explains the sampling step, offers a quick model, and keeps the VAE as session model."""
    vae = runs.train_run(digits, ArchSpec(64, (16,), 2, kind="vae"), TrainConfig(epochs=1, batch_size=128, beta=1.0))
    at = page(app_path)
    at.session_state["aelab_run"] = vae
    at.run()
    assert not at.exception
    assert any("VAE" in i.value and "sampling" in i.value for i in at.info)
    at.button(key="split_quick_train").click().run()
    wait_for_jobs(90)
    at.run()
    assert not at.exception
    assert at.session_state["aelab_run"] is vae
    assert metrics(at)["Code width at the split"] == "3"


def test_model_on_a_missing_data_set_says_so(app_path, trained, tmp_path, monkeypatch):
    """A model trained on MNIST whose files are gone: a clear error naming the data set, no exception."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path))
    mnist_run = runs.Run(ArchSpec(784, (32,), 3), trained.cfg, "mnist", Autoencoder(ArchSpec(784, (32,), 3)),
                         trained.history, "done", "", 1.0)
    at = page(app_path)
    at.session_state["aelab_run"] = mnist_run
    at.run()
    assert not at.exception
    assert any("MNIST" in e.value and "not available" in e.value for e in at.error)
    assert at.button(key="split_quick_train")  # a way forward is offered


def test_pair_results_from_another_data_set_are_shown_on_their_own_data(app_path, digits, real_data_root,
                                                                         monkeypatch):
    """Pair results trained on digits stay drawable (on digits) after the session model moves to MNIST."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(real_data_root))
    mnist = data.load("mnist", real_data_root)
    mnist_run = runs.train_run(mnist, ArchSpec(784, (32,), 4), TrainConfig(epochs=1, batch_size=128, n_train=200))
    specs = layers.asymmetric_specs(64, 2, (16,), ())
    pair = {k: runs.train_run(digits, s, TrainConfig(epochs=1, batch_size=128, n_train=100)) for k, s in specs.items()}
    at = page(app_path)
    at.session_state["aelab_run"] = mnist_run
    at.session_state["split_pair_result"] = {"runs": pair, "message": ""}
    at.run()
    assert not at.exception
    assert metrics(at)["Code width at the split"] == "4"
    assert any("trained earlier on Digits" in c.value for c in at.caption)
    assert any("held-out loss" in m.value for m in at.markdown)


# -- conv models and weights as images (issue 14) -------------------------------------------------------------
def chart_titles(at: AppTest) -> list[str]:
    import json

    return [str(json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")) for c in at.get("plotly_chart")]


def test_conv_session_model_splits_anywhere_with_feature_map_shapes(app_path, digits):
    """A convolutional session model: the slider names feature maps C×H×W, a cut inside them hands over C*H*W
    numbers with the output unchanged, the table gives shapes, the code export has the convs, and its 3x3 filters
    are drawn as images with a caption."""
    conv = runs.train_run(digits, ArchSpec(64, (), 4, layout="conv", channels=(4, 8)), TrainConfig(epochs=1))
    at = page(app_path)
    at.session_state["aelab_run"] = conv
    at.run()
    assert not at.exception
    assert metrics(at)["Code width at the split"] == "4" and float(metrics(at)[GAP_LABEL]) < 1e-5
    assert any("4×4×4 = 64 wide" in o for o in at.select_slider(key="split_at").options)
    assert "output shape" in at.dataframe[0].value.columns
    assert any("nn.Conv2d(1, 4, 3, stride=2, padding=1)" in c.value for c in at.code)
    assert any(t.startswith("Weights as images") for t in chart_titles(at))
    assert any("3x3 filters" in c.value for c in at.caption)
    at.select_slider(key="split_at").set_value(3).run()  # after the first conv and its ReLU: a 4×4×4 feature map
    assert not at.exception
    assert metrics(at)["Code width at the split"] == "64" and float(metrics(at)[GAP_LABEL]) < 1e-5
    assert any("code = self.encoder(x)  # (B, 4, 4, 4)" in c.value for c in at.code)
    assert at.session_state["aelab_run"] is conv


def test_dense_session_model_weights_as_images_with_computed_captions(app_path, trained):
    """The session model's first and last layer as images, each with a caption computed from its weights."""
    at = page(app_path)
    at.session_state["aelab_run"] = trained
    at.run()
    assert not at.exception
    assert any(t.startswith("Weights as images") for t in chart_titles(at))
    captions = " ".join(c.value for c in at.caption)
    assert "Encoder (rows of the first Linear (32, 64)), all 32 shown" in captions
    assert "Decoder (columns of the last Linear (64, 32))" in captions


@contextlib.contextmanager
def paused_while_training(at: AppTest, button: str, job_key: str, timeout: float = 30.0):
    """Press `button`, pause its job once it has published weights and run the page again, which then draws the
    job in progress (AppTest fires no run_every fragment); the job is stopped at the end."""
    at.button(key=button).click().run()
    job = at.session_state["_aelab_jobs"][job_key]
    try:
        deadline = time.time() + timeout
        while job.view().state is None and time.time() < deadline:
            time.sleep(0.05)
        job.pause()
        at.run()
        assert not at.exception
        yield job
    finally:
        job.stop()
        wait_for_jobs(60)


def test_pair_weights_are_redrawn_while_it_trains(app_path, trained):
    """While the asymmetric pair trains, its live view draws the weights of the model in training, titled with it
    (the job is paused so the page's run sees it in progress)."""
    at = page(app_path)
    at.session_state["aelab_run"] = trained
    at.run()
    at.text_input(key="cfg_split_epochs").set_value("200").run()
    with paused_while_training(at, "split_pair_train", "split_pair"):
        assert f"Weights as images while training: {layers.DEEP_ENCODER}" in chart_titles(at)


def test_quick_model_weights_are_drawn_live(app_path):
    """The quick model's live view adds its weights as images while it trains (paused to look)."""
    at = page(app_path)
    at.run()
    with paused_while_training(at, "split_quick_train", "split_quick"):
        assert "Weights as images while training" in chart_titles(at)
