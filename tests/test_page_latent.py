"""AppTest of pages/latent.py (Latent space): no model, an AE run, a VAE run, odd code sizes, bad input, conv and sparse
session models.

Run: python -m pytest -q tests/test_page_latent.py
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from aelab import latent, runs
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT, commit_prediction, wait_for_jobs

PAGE = str(ROOT / "pages" / "latent.py")
TABS = ("🗺️ Code space", "🎚️ Decode & grid", "↔️ Interpolate", "🎲 Generate", "⚖️ AE vs VAE")
RATIO = "Sample distance ÷ held-out distance"


@pytest.fixture(scope="module")
def ae_run(digits):
    """A small plain autoencoder with a 2-number code."""
    return runs.train_run(digits, ArchSpec(64, (32,), 2), TrainConfig(epochs=5, batch_size=64))


@pytest.fixture(scope="module")
def vae_run(digits):
    """A small VAE with a 2-number code."""
    return runs.train_run(digits, ArchSpec(64, (32,), 2, kind="vae"), TrainConfig(epochs=5, batch_size=64, beta=0.1))


CODE, DECODE, INTERPOLATE, GENERATE, COMPARE = range(5)  # the page's tabs, in order


def page(run=None, tab: int = CODE) -> AppTest:
    """The page with `run` as the session model, `tab` open (only the open tab's content runs)."""
    at = AppTest.from_file(PAGE, default_timeout=90)
    if run is not None:
        at.session_state["aelab_run"] = run
    at.session_state["cfg_latent_tab"] = TABS[tab]
    at.run()
    assert not at.exception
    return at


def open_tab(at: AppTest, tab: int) -> AppTest:
    at.session_state["cfg_latent_tab"] = TABS[tab]
    return at.run()


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def click_point(at: AppTest, *indices: int) -> AppTest:
    """What st.plotly_chart stores when points are clicked: customdata holds the held-out index."""
    at.session_state["latent_scatter"] = {"selection": {"points": [{"customdata": i} for i in indices],
                                                        "point_indices": list(indices), "box": [], "lasso": []}}
    return at.run()


def test_without_a_model_quick_trains_a_2d_autoencoder(monkeypatch):
    """No model: a notice and a quick-train button; after the background job the explorer shows its 2-D code."""
    monkeypatch.setattr(latent, "QUICK_CFG", replace(latent.QUICK_CFG, epochs=3))  # the flow, not the full run
    at = page()
    assert "No model trained" in texts(at.info) and not at.tabs
    at.button(key="latent_quick_train").click().run()
    assert not at.exception
    wait_for_jobs(90)
    at.run()
    run = at.session_state["aelab_run"]
    assert run.spec == latent.QUICK_SPEC and run.epochs_done == 3 and run.dataset == "digits"
    at.run()
    assert not at.exception and len(at.tabs) == 5
    assert "a 2-number code" in texts(at.caption)


def test_clicking_a_point_shows_it_and_moves_the_sliders(ae_run):
    """A click selects that image: its details show and the decode sliders start at its code."""
    at = click_point(page(ae_run), 7, 12)
    assert not at.exception
    assert at.session_state["latent_selected"] == 7
    assert "**Image #7**" in texts(at.markdown) and "2 points selected" in texts(at.caption)
    code = at.session_state["latent_codes"]["main"].test[7]
    open_tab(at, DECODE)
    assert [s.label for s in at.slider][:2] == ["z1", "z2"]
    assert at.slider(key="latent_slider_0").value == pytest.approx(code[0])
    assert at.slider(key="latent_slider_1").value == pytest.approx(code[1])
    at.slider(key="latent_slider_0").set_value(float(code[0]) + 0.5).run()
    assert not at.exception
    assert f"Code: ({code[0] + 0.5:.2f}, {code[1]:.2f})" in texts(at.caption)
    click_point(open_tab(at, CODE), 7, 12)  # the same selection again does not move the sliders back,
    open_tab(at, DECODE)  # and the closed tab kept their values
    assert at.slider(key="latent_slider_0").value == pytest.approx(code[0] + 0.5)


def test_typed_index_is_validated(ae_run):
    """A typed index selects that image; words or out-of-range numbers give a message instead."""
    at = page(ae_run)
    for raw, needle in (("abc", "whole number"), ("100000", "at most 358"), ("-3", "at least 0")):
        at.text_input(key="latent_index_text").set_value(raw)
        at.button(key="latent_show_index").click().run()
        assert not at.exception and needle in texts(at.error)
    at.text_input(key="latent_index_text").set_value("42")
    at.button(key="latent_show_index").click().run()
    assert at.session_state["latent_selected"] == 42 and "**Image #42**" in texts(at.markdown)


def test_csv_download_and_png_caption(ae_run):
    """The codes download as CSV and the page says how to save a figure as PNG."""
    at = page(ae_run)
    button = at.get("download_button")[0]
    assert "CSV" in button.label and "359 held-out images" in button.help
    assert "saves it as a PNG" in texts(at.caption)


def test_interpolation_validates_indices_and_uses_the_selection(ae_run):
    """Bad start/end indices give clear messages; valid ones draw the strip; the selected image can be the start."""
    at = page(ae_run, INTERPOLATE)
    assert "Top: decoding evenly spaced codes" in texts(at.caption)
    at.text_input(key="latent_to").set_value("99999").run()
    assert "at most 358" in texts(at.error)
    at.text_input(key="latent_to").set_value("two").run()
    assert "whole number" in texts(at.error)
    at.text_input(key="latent_to").set_value("10").run()
    assert not at.error
    at.session_state["latent_selected"] = 5
    at.run()
    at.button(key="latent_use_selected").click().run()
    assert at.text_input(key="latent_from").value == "5" and not at.exception


def test_generation_reports_the_holes_measure(ae_run):
    """Sampling shows the three holes numbers and a sentence built from them, for both samplers."""
    at = page(ae_run, GENERATE)
    labels = [m.label for m in at.metric]
    assert "Samples in holes" in labels and "Held-out image → nearest training code" in labels
    assert "Codes drawn from a Gaussian fitted to the training codes" in texts(at.markdown)
    at.radio(key="latent_sampler").set_value("prior").run()
    assert not at.exception and "Codes drawn from the prior N(0, I)" in texts(at.markdown)


def test_vae_page_samples_the_prior_and_compares_with_a_trained_ae(vae_run):
    """A VAE run samples N(0, I) by default; training the AE twin shows both side by side with the measure."""
    at = page(vae_run, GENERATE)
    assert "Codes drawn from the prior N(0, I)" in texts(at.markdown)
    assert "carry information about the image" in texts(at.caption)
    open_tab(at, COMPARE)
    assert at.button(key="latent_other_train").label == "Train the autoencoder"
    at.text_input(key="latent_other_epochs").set_value("zero").run()
    assert "whole number" in texts(at.error)
    at.text_input(key="latent_other_epochs").set_value("3").run()
    at.button(key="latent_other_train").click().run()
    assert not at.exception
    wait_for_jobs(90)
    at.run()
    at.run()
    assert not at.exception
    other = at.session_state["latent_other_run"]["run"]
    assert other.spec.kind == "ae" and other.spec.widths == vae_run.spec.widths and other.epochs_done == 3
    assert "Commit your prediction" in texts(at.info) and not [m for m in at.metric if m.label == RATIO]
    at.radio(key="predict_latent").set_value("vae").run()
    at.button(key="predict_latent_commit").click().run()
    assert not at.exception
    assert [m.label for m in at.metric].count(RATIO) == 2
    assert "of samples in holes)" in texts(at.markdown)  # the AE-vs-VAE sentence, built from both measures
    assert "You predicted **The VAE's" in texts(at.success) + texts(at.info)
    assert "Active code units" in texts(at.markdown)  # the VAE's health: active units, KL per unit
    assert "active code units" in [m.label for m in at.metric]


def test_ae_page_offers_a_vae_twin_with_a_checked_beta(ae_run):
    """For an AE run the other model is a VAE; a negative beta blocks training with a message."""
    at = page(ae_run, COMPARE)
    assert at.button(key="latent_other_train").label == "Train the VAE"
    at.text_input(key="latent_other_beta").set_value("-1").run()
    assert "0 or more" in texts(at.error) and at.button(key="latent_other_train").disabled


@pytest.mark.parametrize("k,first,n_sliders,view", [(1, "z1", 1, "strip (1-number code)"), (3, "z1", 3, "raw 3D"),
                                                    (20, "PC1", latent.PCA_SLIDERS, "PCA 2D")])
def test_code_sizes_get_the_right_view_and_sliders(digits, k, first, n_sliders, view):
    """1-dim codes get a strip, 3-dim raw 3D, 20-dim PCA: sliders per dim up to 16, else principal directions."""
    run = runs.train_run(digits, ArchSpec(64, (32,), k), TrainConfig(epochs=2, batch_size=64))
    at = click_point(page(run), 3)
    assert not at.exception
    assert at.selectbox(key="cfg_latent_view").value == view
    open_tab(at, DECODE)
    sliders = sorted(s.label for s in at.slider if s.key.startswith("latent_slider_"))
    assert len(sliders) == n_sliders and first in sliders


def test_tsne_is_capped_with_a_message_and_bad_sizes_fall_back(digits, monkeypatch):
    """t-SNE asked on more points than the cap runs on the cap and says so; a bad size shows PCA and a message."""
    monkeypatch.setattr(latent, "TSNE_CAP", 80)
    run = runs.train_run(digits, ArchSpec(64, (32,), 6), TrainConfig(epochs=2, batch_size=64))
    at = page(run)
    at.selectbox(key="cfg_latent_view").set_value("t-SNE 2D").run()
    at.text_input(key="cfg_latent_tsne_n").set_value("5000").run()
    assert not at.exception and "runs on a random 80 of them (the cap)" in texts(at.info)
    assert ("tsne", 80, 2, 359) in at.session_state["latent_codes"]["main"].extra
    at.text_input(key="cfg_latent_tsne_n").set_value("lots").run()
    assert not at.exception and "Showing PCA meanwhile" in texts(at.error)


def test_large_held_out_sets_are_subsampled_with_a_note(ae_run, monkeypatch):
    """More held-out images than the chart limit: a fixed subsample is drawn and a note says so."""
    monkeypatch.setattr(latent, "MAX_POINTS", 100)
    at = page(ae_run)
    assert "fixed random 100 of them" in texts(at.caption)


def test_missing_data_set_gives_a_message_not_a_crash(ae_run, tmp_path, monkeypatch):
    """A model trained on a data set that is not on this machine: a message, no exception, the model kept."""
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path))
    run = replace(ae_run, dataset="mnist")
    at = page(run)
    assert "cannot be read on this machine" in texts(at.error)
    assert at.session_state["aelab_run"] is not None and not at.tabs


def test_switching_models_resets_the_selection(ae_run, vae_run):
    """A new session model recomputes the codes and forgets the old model's selection."""
    at = page(ae_run)
    at.session_state["latent_selected"] = 9
    at.run()
    at.session_state["aelab_run"] = vae_run
    at.run()
    assert not at.exception and "latent_selected" not in at.session_state
    assert at.session_state["latent_codes"]["main"].owner is vae_run
    assert np.isfinite(at.session_state["latent_codes"]["main"].test).all()


def test_dead_encoder_gets_messages_not_a_crash(digits):
    """An encoder that maps every image to the same code: t-SNE and the holes sentence explain, nothing crashes."""
    run = runs.train_run(digits, ArchSpec(64, (32,), 6), TrainConfig(epochs=1, batch_size=64))
    with torch.no_grad():
        run.model.encoder[-1].weight.zero_()
        run.model.encoder[-1].bias.zero_()
    at = page(run, GENERATE)
    assert "Every image gets (almost) the same code" in texts(at.markdown)
    open_tab(at, CODE)
    at.selectbox(key="cfg_latent_view").set_value("t-SNE 2D").run()
    assert not at.exception and "nothing for t-SNE to lay out" in texts(at.error)


def test_tab_widgets_keep_their_values_while_another_page_is_open(ae_run):
    """Interpolation ends and the sample seed set on Latent space are still there after a visit to Home."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["aelab_run"] = ae_run
    at.run()
    at.switch_page("pages/latent.py").run()
    open_tab(at, INTERPOLATE)
    at.text_input(key="latent_from").set_value("5").run()
    at.text_input(key="latent_to").set_value("9").run()
    open_tab(at, GENERATE)
    at.number_input(key="latent_seed").set_value(42).run()
    at.switch_page("pages/home.py").run()
    at.run()  # a run of another page, which draws none of these widgets
    at.switch_page("pages/latent.py").run()
    assert not at.exception
    assert at.number_input(key="latent_seed").value == 42  # the Generate tab is still the open one
    open_tab(at, INTERPOLATE)
    assert (at.text_input(key="latent_from").value, at.text_input(key="latent_to").value) == ("5", "9")


# -- convolutional and sparse session models (issue 14) ----------------------------------------------------------
def test_conv_session_model_works_on_every_tab_and_gets_a_conv_vae_twin(digits):
    """A convolutional session model: every tab draws without an exception (code space, decode sliders, grid,
    interpolation, samples), and the AE-vs-VAE tab trains a convolutional VAE with the same layers."""
    conv = runs.train_run(digits, ArchSpec(64, (), 2, layout="conv", channels=(4, 8)), TrainConfig(epochs=2))
    at = click_point(page(conv), 3)
    assert not at.exception and at.selectbox(key="cfg_latent_view").value == "raw 2D"
    for tab in (DECODE, INTERPOLATE, GENERATE):
        open_tab(at, tab)
        assert not at.exception, tab
        assert at.get("plotly_chart"), tab
    commit_prediction(at, "latent")
    open_tab(at, COMPARE)
    at.text_input(key="latent_other_epochs").set_value("1").run()
    at.button(key="latent_other_train").click().run()
    wait_for_jobs(90)
    at.run()
    at.run()
    assert not at.exception
    other = at.session_state["latent_other_run"]["run"]
    assert other.spec.kind == "vae" and other.spec.layout == "conv" and other.spec.channels == (4, 8)
    assert [m.label for m in at.metric].count(RATIO) == 2 and at.session_state["aelab_run"] is conv


def test_sparse_session_model_gets_a_plain_vae_twin(digits):
    """A sparse session model (ReLU code, L1 penalty): its VAE twin drops what a VAE cannot have (the code's ReLU and
    the penalty) instead of refusing with a message the learner cannot act on."""
    sparse = runs.train_run(digits, ArchSpec(64, (32,), 2, code_activation="relu"),
                            TrainConfig(epochs=1, sparsity=0.01))
    spec, cfg, check = latent.other_setup(sparse, 1, 0.1, len(digits.x_train))
    assert check.ok and spec.kind == "vae" and spec.code_activation == "identity" and cfg.sparsity == 0
    assert latent.other_kind(spec) == replace(sparse.spec, code_activation="identity")
