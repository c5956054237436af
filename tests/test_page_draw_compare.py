"""AppTest of the two new pages, Draw your own input and Kinds side by side: every control, bad input that keeps the
model or the earlier result, the measurements they show, their links (dr_, cmp_) and the typed live progress.
Run: python -m pytest -q tests/test_page_draw_compare.py
"""
import dataclasses
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from aelab import drawing, kinds, latent, runs
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT, wait_for_jobs

DRAW = str(ROOT / "pages" / "draw.py")
COMPARE = str(ROOT / "pages" / "compare.py")


@pytest.fixture(scope="module")
def digits_run(digits):
    return runs.train_run(digits, latent.QUICK_SPEC, TrainConfig(epochs=3, batch_size=64))


def open_page(path: str, **state) -> AppTest:
    at = AppTest.from_file(path, default_timeout=90)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


# -- Draw your own input ----------------------------------------------------------------------------
def test_draw_without_a_model_trains_a_quick_one():
    """No session model: the page says so; its button trains a small Digits model that becomes the session model."""
    at = open_page(DRAW)
    assert "there is none yet" in texts(at.info)
    at.button(key="draw_quick_train").click().run()
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    assert isinstance(at.session_state["aelab_run"], runs.Run)
    assert "Nothing drawn yet" in texts(at.info)


def test_drawing_shows_reconstruction_percentile_and_code(digits_run, digits):
    """A drawing sent by the canvas gives the percentile metric, a sentence, and three charts."""
    at = open_page(DRAW, aelab_run=digits_run)
    assert "Nothing drawn yet" in texts(at.info)
    ink = np.zeros((drawing.GRID, drawing.GRID), np.float32)
    ink[15:95, 40:70] = 1.0  # a thick bar: an unusual "digit"
    at.session_state["draw_canvas"] = {"drawing": drawing.encode(ink)}
    at.run()
    assert not at.exception
    metric = next(m for m in at.metric if m.label == "More unusual than")
    assert metric.value.endswith("% of test images")
    assert "reconstruction error" in texts(at.markdown) and len(at.get("plotly_chart")) == 3
    assert at.session_state["aelab_run"] is digits_run


def test_empty_drawing_gets_a_message_and_keeps_the_model(digits_run):
    """Clear sends an empty bitmap: a message, no charts, the model stays."""
    at = open_page(DRAW, aelab_run=digits_run, draw_canvas={"drawing": {"size": drawing.GRID, "ink": "", "strokes": 0}})
    assert "canvas is empty" in texts(at.info) and not at.get("plotly_chart")
    assert at.session_state["aelab_run"] is digits_run


def test_test_image_button_runs_a_real_image_through_the_same_path(digits_run):
    """'Try a test image' shows a held-out image, prepared like a drawing, with its percentile."""
    at = open_page(DRAW, aelab_run=digits_run)
    at.button(key="draw_test_image").click().run()
    assert not at.exception
    assert "held-out image #" in texts(at.caption)
    assert any(m.label == "More unusual than" for m in at.metric)


def test_model_on_non_image_data_gets_a_message(digits_run):
    """A session model on 100-number samples: a clear message, no canvas result, the model is kept."""
    spec = ArchSpec(100, (16,), 2)
    other = dataclasses.replace(digits_run, spec=spec, dataset="signals")
    at = open_page(DRAW, aelab_run=other)
    assert "cannot be fed to it" in texts(at.warning)
    assert at.session_state["aelab_run"] is other


def test_code_projection_control_draws_the_drawing_in_3d(digits, digits_run):
    """A model with a 3-number code offers the 2D/3D projection (dr_view in the URL); in 3D the code space is a 3D
    scatter with the drawing's code marked; a 2-number code has no such control."""
    import json

    run3 = runs.train_run(digits, ArchSpec(64, (32,), 3), TrainConfig(epochs=2, batch_size=64))
    ink = np.zeros((drawing.GRID, drawing.GRID), np.float32)
    ink[15:95, 40:70] = 1.0
    at = open_page(DRAW, aelab_run=run3, draw_canvas={"drawing": drawing.encode(ink)})
    assert at.radio(key="cfg_draw_view").value == "2D"
    at.radio(key="cfg_draw_view").set_value("3D").run()
    assert not at.exception and at.query_params["dr_view"] == "3D"
    code = next(c for c in at.get("plotly_chart") if "code space" in json.dumps(json.loads(c.proto.spec)["layout"]))
    traces = json.loads(code.proto.spec)["data"]
    assert {t["type"] for t in traces} == {"scatter3d"} and traces[-1]["name"] == "your drawing"
    assert any(m.label == "More unusual than" for m in at.metric)
    two = open_page(DRAW, aelab_run=digits_run)  # a 2-number code
    assert not [r for r in two.radio if r.key == "cfg_draw_view"]


def test_draw_link_with_a_projection_opens_it():
    """A link with dr_view=3D opens the Draw page with the 3D projection chosen; a tampered value gets a note."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update({"dr_view": "3D"})
    at.run()
    at.switch_page("pages/draw.py").run()
    assert not at.exception and at.session_state["cfg_draw_view"] == "3D"
    bad = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    bad.query_params.update({"dr_view": "4D"})
    bad.run()
    bad.switch_page("pages/draw.py").run()
    assert bad.session_state["cfg_draw_view"] == "2D" and "was ignored" in texts(bad.warning)


# -- Kinds side by side -----------------------------------------------------------------------------
def test_compare_controls_and_a_tiny_run():
    """Every control is there with its default; a 2-epoch run of two kinds shows the verdict, table and charts."""
    at = open_page(COMPARE)
    assert at.multiselect(key="cfg_cmp_kinds").value == list(kinds.KINDS)
    assert at.radio(key="cfg_cmp_budget").value == "seconds" and at.text_input(key="cfg_cmp_seconds").value == "2.5"
    for key, value in (("cfg_cmp_bottleneck", "8"), ("cfg_cmp_hidden", "128"), ("cfg_cmp_channels", "16, 32"),
                       ("cfg_cmp_wide", ""), ("cfg_cmp_sparsity", "0.1"), ("cfg_cmp_beta", "0.1")):
        assert at.text_input(key=key).value == value
    assert "Press **Train all kinds**" in texts(at.info)
    at.multiselect(key="cfg_cmp_kinds").set_value(["conv", "sparse", "wide"])
    at.radio(key="cfg_cmp_budget").set_value("epochs").run()
    at.text_input(key="cfg_cmp_epochs").set_value("2")
    at.text_input(key="cfg_cmp_bottleneck").set_value("4")
    at.text_input(key="cfg_cmp_hidden").set_value("32")
    at.text_input(key="cfg_cmp_channels").set_value("4, 8")
    at.text_input(key="cfg_cmp_wide").set_value("96")
    at.text_input(key="cfg_cmp_sparsity").set_value("0.05")
    at.text_input(key="cfg_cmp_beta").set_value("0.5").run()
    at.button(key="cmp_run").click().run()
    wait_for_jobs()
    at.run()
    at.run()
    assert not at.exception
    result = at.session_state["cmp_result"]
    assert [r.kind for r in result.results] == ["conv", "sparse", "wide"] and result.settings.wide == 96
    assert "Lowest held-out error" in texts(at.markdown) and len(at.dataframe) == 1
    assert len(at.get("plotly_chart")) >= 4


@pytest.mark.parametrize("key,value,needle", [("cfg_cmp_sparsity", "50", "too large"),
                                              ("cfg_cmp_channels", "16, 32, 64, 64", "too many"),
                                              ("cfg_cmp_channels", "500", "at most 128"),
                                              ("cfg_cmp_bottleneck", "65", "at most 64"),
                                              ("cfg_cmp_epochs", "0", "at least 1"),
                                              ("cfg_cmp_seconds", "soon", "Seconds per kind")])
def test_compare_bad_input_gets_a_message_and_keeps_the_result(key, value, needle, digits):
    """A huge L1 weight, too many conv layers or channels, a bad number: a message, the button off, results kept."""
    earlier = kinds.run(digits, kinds.CompareSettings(kinds=("dense",), budget="epochs", epochs=1, n_train=200))
    at = open_page(COMPARE, cmp_result=earlier)
    if key == "cfg_cmp_epochs":
        at.radio(key="cfg_cmp_budget").set_value("epochs").run()
    at.text_input(key=key).set_value(value).run()
    assert not at.exception
    assert needle in texts(at.error) and at.button(key="cmp_run").disabled
    assert at.session_state["cmp_result"] is earlier and "Lowest held-out error" in texts(at.markdown)


def test_compare_link_opens_the_page_with_its_settings():
    """Kinds side by side under the settings layer: a link with cmp_ parameters fills the widgets, the URL mirrors
    them, and a tampered value falls back to its default with a note."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update({"cmp_kinds": "vae,dense", "cmp_budget": "epochs", "cmp_epochs": "3", "cmp_ch": "8",
                            "cmp_l1": "lots"})
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert at.multiselect(key="cfg_cmp_kinds").value == ["vae", "dense"] and at.radio(key="cfg_cmp_budget").value == \
        "epochs"
    assert at.text_input(key="cfg_cmp_epochs").value == "3" and at.text_input(key="cfg_cmp_channels").value == "8"
    note = texts(at.warning).replace("\\", "")  # the note is markdown-escaped
    assert at.text_input(key="cfg_cmp_sparsity").value == "0.1" and "sparsity weight ('lots') was ignored" in note
    at.run()
    assert at.query_params["cmp_epochs"] == "3" and at.query_params["cmp_kinds"] == "vae,dense"


def test_compare_live_view_shows_the_kind_in_training():
    """While the comparison trains, the live view reads the typed progress: 'Kind 1 of 2: Dense AE' and the curve
    (the job is paused so the page's run sees it in progress); the job belongs to this browser's student."""
    at = open_page(COMPARE)
    at.multiselect(key="cfg_cmp_kinds").set_value(["dense", "vae"])
    at.text_input(key="cfg_cmp_seconds").set_value("60").run()
    at.button(key="cmp_run").click().run()
    job = at.session_state["_aelab_jobs"]["compare"]
    try:
        deadline = time.time() + 30
        while (job.view().lab is None or job.view().progress is None) and time.time() < deadline:
            time.sleep(0.05)
        job.pause()
        at.run()
        assert not at.exception
        assert at.get("progress")[0].proto.text.startswith("Kind 1 of 2: Dense AE")
        assert not job.student.startswith("job-")  # ui.start_job gave it the browser's student key
    finally:
        job.stop()
        wait_for_jobs(60)
