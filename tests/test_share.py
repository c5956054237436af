"""Shareable setups: URL round trips, tampered URLs, the Streamlit sync, presets and classroom mode.

Run: python -m pytest tests/test_share.py
"""
import random
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aelab import data, presets, share
from aelab import settings
from aelab.settings import BUILD_TRAIN
from aelab.spec import check_arch, check_train, from_settings, to_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {k: f.default for k, f in BUILD_TRAIN.schema.items()}  # the settings a link carries
CUSTOM = {
    "cfg_dataset": "fashion", "cfg_kind": "vae", "cfg_enc": (512, 7, 300), "cfg_bottleneck": 17, "cfg_asym": True,
    "cfg_dec": (9,), "cfg_activation": "gelu", "cfg_output": "none", "cfg_loss": "l1", "cfg_optimizer": "sgd",
    "cfg_lr": 0.0375, "cfg_batch": 3, "cfg_epochs": 999, "cfg_seed": 2**31 - 1, "cfg_beta": 0.0,
    "cfg_n_train": 500, "cfg_latent_dims": "3D",
    "cfg_layout": "conv", "cfg_channels": (8, 24, 40), "cfg_code_act": "relu", "cfg_sparsity": 0.05,  # issue 14
}


@pytest.mark.parametrize("values", [DEFAULTS, CUSTOM], ids=["defaults", "custom"])
def test_url_round_trip_build_train(values):
    """encode -> decode gives back exactly the same Build & Train settings, with no notes."""
    query = share.encode(values, BUILD_TRAIN)
    assert all(isinstance(v, str) for v in query.values())
    back, notes = share.decode(query, BUILD_TRAIN)
    assert back == values and notes == []


def test_widget_state_round_trip():
    """Settings -> widget state (text boxes, one per layer) -> settings is lossless."""
    state = share.state_updates(BUILD_TRAIN, CUSTOM)
    assert state["cfg_enc_n"] == 3 and state["cfg_enc_1"] == "7" and state["cfg_lr"] == 0.0375  # a log slider
    assert state["cfg_bottleneck"] == 17 and state["cfg_n_train"] == 500 and state["cfg_asym"] is True
    assert state["cfg_seed"] == "2147483647"  # a text box holds text
    assert share.read_state(BUILD_TRAIN, state) == CUSTOM


def test_half_typed_widget_values_are_not_shared():
    """A widget holding text that does not parse is left out of the URL rather than shared broken."""
    state = share.state_updates(BUILD_TRAIN, DEFAULTS) | {"cfg_lr": "0.0", "cfg_enc_1": "abc"}
    values = share.read_state(BUILD_TRAIN, state)
    assert "cfg_lr" not in values and "cfg_enc" not in values and values["cfg_seed"] == 0


def test_missing_and_unknown_parameters():
    """Missing parameters take their defaults silently; parameters of other pages are ignored."""
    settings, notes = share.decode({"zzz": "1", "lr": "0.01"}, BUILD_TRAIN)
    assert settings == DEFAULTS | {"cfg_lr": 0.01} and notes == []
    present, _ = share.decode({"lr": "0.01"}, BUILD_TRAIN, present_only=True)
    assert present == {"cfg_lr": 0.01}


TAMPERED = [
    ("lr", "abc"), ("lr", "-0.5"), ("lr", "0"), ("lr", "1e999"), ("lr", "nan"), ("lr", "inf"), ("lr", "5"),
    ("code", "0"), ("code", "-3"), ("code", "3.5"), ("code", "99999999999999999999999"), ("code", ""),
    ("epochs", "100000"), ("batch", "0x10"), ("seed", "-1"), ("seed", "٣"), ("seed", "１２"),
    ("act", "swish"), ("act", "RELU"), ("data", "../../etc/passwd"), ("loss", "mse\x00"), ("n", "7"), ("n", "-100"),
    ("enc", "128,abc"), ("enc", "128,-4"), ("enc", ",".join(["5"] * 20)), ("enc", "99999"), ("asym", "maybe"),
    ("model", "x" * 10_000), ("view", "4D"), ("data", "[click](javascript:alert(1))"), ("opt", "`adam`"),
    ("beta", "-1"), ("lr", "0.001 OR 1=1"), ("code", "😀"),
]


@pytest.mark.parametrize("param,raw", TAMPERED, ids=[f"{p}={r[:12]!r}" for p, r in TAMPERED])
def test_tampered_values_fall_back_to_defaults_with_a_note(param, raw):
    """A bad value of any kind falls back to the default with exactly one note that quotes it harmlessly."""
    key = next(k for k, f in BUILD_TRAIN.items() if f.param == param)
    settings, notes = share.decode({param: raw, "seed": "5"} if param != "seed" else {param: raw}, BUILD_TRAIN)
    assert settings[key] == BUILD_TRAIN[key].default
    assert len(notes) == 1 and BUILD_TRAIN[key].name in notes[0]
    assert not any(c in notes[0] for c in "[]`*<>\x00") and len(notes[0]) < 400
    if param != "seed":
        assert settings["cfg_seed"] == 5  # the good values of the same link still apply


def test_random_junk_never_raises():
    """Thousands of random strings, lists and non-strings decode without an exception, to allowed values only."""
    rng = random.Random(0)
    alphabet = "0123456789.,-+eE abcxyz%&=?#\\/\"'😀ü\x00\n"
    for _ in range(300):
        query = {f.param: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
                 for f in BUILD_TRAIN.values()}
        query["lr"] = [query["lr"], "0.5"] if rng.random() < 0.3 else query["lr"]
        query["code"] = rng.choice([None, 3, 2.5, query["code"]])
        settings, notes = share.decode(query, BUILD_TRAIN)
        assert set(settings) == set(BUILD_TRAIN.schema)
        for key, value in settings.items():
            assert share.decode(share.encode({key: value}, BUILD_TRAIN), BUILD_TRAIN)[1] == []


def test_repeated_parameter_uses_the_last_value():
    """?lr=0.1&lr=0.2 reads as 0.2."""
    assert share.decode({"lr": ["0.1", "0.2"]}, BUILD_TRAIN)[0]["cfg_lr"] == 0.2


def test_link_building():
    """The link is the page address plus a properly escaped query; without an address it is relative."""
    q = {"data": "digits", "enc": "128,64", "note": "a&b=c d"}
    url = share.link("http://host:8501/build_train", q, "build_train")
    assert url == "http://host:8501/build_train?data=digits&enc=128%2C64&note=a%26b%3Dc+d"
    assert share.link(None, {"step": "3"}, "lessons") == "/lessons?step=3"
    assert share.link("http://h/x?old=1", {}, "x") == "http://h/x"


def test_omitted_default_keeps_links_clean():
    """The app-wide classroom flag appears in the URL only when switched on."""
    assert share.encode({"cfg_classroom": False}, settings.APP) == {}
    assert share.encode({"cfg_classroom": True}, settings.APP) == {"classroom": "1"}


def test_a_fresh_build_train_page_holds_the_form_defaults():
    """A fresh Build & Train page's widgets hold exactly settings.BUILD_TRAIN's defaults on its first data set (the
    page has no defaults of its own since the settings layer), and its URL carries them from the second run on."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/build_train.py").run()
    assert not at.exception
    assert DEFAULTS["cfg_dataset"] == next(iter(data.DATASETS))  # the data set picker starts on the first one
    fresh = {k: v for k, v in BUILD_TRAIN.defaults(DEFAULTS["cfg_dataset"]).items() if k in BUILD_TRAIN.schema}
    state = {k: at.session_state[k] for k in share.state_updates(BUILD_TRAIN, fresh) if k in at.session_state}
    assert share.read_state(BUILD_TRAIN, state) == fresh
    at.run()
    assert share.decode(share.restrict(dict(at.query_params), BUILD_TRAIN), BUILD_TRAIN) == (fresh, [])


# -- presets -----------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", presets.PRESETS, ids=presets.names())
@pytest.mark.parametrize("input_dim", [64, 784])
def test_presets_are_valid_on_every_data_set(preset, input_dim):
    """Every preset gives a spec and settings that pass validation for 8x8 digits and for 28x28 images."""
    spec, cfg = presets.apply(preset, input_dim)
    assert spec.input_dim == input_dim and spec.encoder == preset.encoder
    assert check_arch(spec).ok and check_train(cfg, spec, 1438).ok


def test_seed_preset_is_the_seed_network():
    """'Seed deep dive' is 784-128-64-12-3 with ReLU and a Sigmoid output, and keeps its widths on digits."""
    spec, _ = presets.apply(presets.get("Seed deep dive"), 784)
    assert spec.describe() == "784-128-64-12-3-12-64-128-784"
    assert (spec.activation, spec.output) == ("relu", "sigmoid")
    assert presets.apply(presets.get("Seed deep dive"), 64)[0].describe() == "64-128-64-12-3-12-64-128-64"
    memo = presets.get("Memorization setup")
    assert memo.n_train == 100 and memo.bottleneck >= 32 and memo.epochs >= 200
    assert presets.get("Tiny 2D").bottleneck == 2 and presets.get("Denoising setup").noise > 0
    with pytest.raises(KeyError, match="Choose one of"):
        presets.get("nope")


@pytest.mark.parametrize("preset", presets.PRESETS, ids=presets.names())
def test_preset_link_round_trip(preset):
    """A preset turned into Build & Train settings survives the URL and rebuilds the same spec and config."""
    spec, cfg = presets.apply(preset, 64)
    values = to_settings(spec, cfg, preset.dataset)
    back, notes = share.decode(share.encode(values, BUILD_TRAIN), BUILD_TRAIN)
    assert notes == [] and back == DEFAULTS | values
    assert from_settings(back, 64) == (spec, cfg)


# -- the Streamlit side: sync, copy link, classroom mode ----------------------------------------
SCRIPT = """
import streamlit as st
from aelab import share, ui
SCHEMA = {"cfg_t_lr": share.Field("lr", "float", 0.001, "learning rate", low=0.0, above=True, high=1.0, widget="text"),
          "cfg_t_act": share.Field("act", "choice", "relu", "activation", choices=("relu", "tanh"))}
st.session_state.setdefault("cfg_t_lr", "0.001")
st.session_state.setdefault("cfg_t_act", "relu")
ui.classroom_toggle()
ui.sync_query_params(SCHEMA, "t")
st.text_input("lr", key="cfg_t_lr")
st.selectbox("act", ["relu", "tanh"], key="cfg_t_act")
ui.copy_link_button("t")
st.write(f"height {ui.figure_height(300)}")
"""


def script_app(query: dict) -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=30)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return at


def test_link_values_are_applied_on_first_run_and_mirrored_back():
    """Opening a link sets the widgets from it; changing a widget rewrites the URL; the copy link carries it."""
    at = script_app({"lr": "0.05", "act": "tanh"})
    assert at.text_input(key="cfg_t_lr").value == "0.05" and at.selectbox(key="cfg_t_act").value == "tanh"
    assert at.query_params == {"lr": "0.05", "act": "tanh"} and not at.warning
    at.text_input(key="cfg_t_lr").set_value("0.2").run()
    assert at.query_params["lr"] == "0.2" and at.text_input(key="cfg_t_lr").value == "0.2"
    assert "/t?lr=0.2&act=tanh" in at.code[0].value


def test_a_change_sent_with_the_url_from_before_the_last_run_is_kept():
    """The browser sends its address bar with each change; a second quick change can leave before the first run's
    new URL has arrived. That older URL was written by this session, so it is no link: the change wins and the URL
    follows it (it used to be applied as a link and undo the change). A URL this session never wrote still is one."""
    at = script_app({"lr": "0.05", "act": "tanh"})
    at.text_input(key="cfg_t_lr").set_value("0.2").run()
    assert at.query_params["lr"] == "0.2"
    at.query_params["lr"] = "0.05"  # the address bar still shows the URL from before that run
    at.text_input(key="cfg_t_lr").set_value("0.3").run()
    assert at.text_input(key="cfg_t_lr").value == "0.3" and at.query_params["lr"] == "0.3" and not at.toast
    at.query_params["lr"] = "0.07"  # a URL this session never wrote: a link (e.g. an edited address)
    at.run()
    assert at.text_input(key="cfg_t_lr").value == "0.07" and at.query_params["lr"] == "0.07"


def test_tampered_link_shows_a_warning_and_keeps_defaults():
    """Bad link values leave the defaults in place and show one note each; Dismiss removes the warning."""
    at = script_app({"lr": "-1", "act": "<script>"})
    assert at.text_input(key="cfg_t_lr").value == "0.001" and at.selectbox(key="cfg_t_act").value == "relu"
    text = at.warning[0].value
    assert "learning rate" in text and "activation" in text and "<script>" not in text
    assert at.query_params == {"lr": "0.001", "act": "relu"}
    at.button(key="_share_dismiss_t").click().run()
    assert not at.warning


def test_classroom_mode_from_the_toggle_and_from_the_link():
    """Classroom mode enlarges figures; it can be switched on in the sidebar or by classroom=1 in the link."""
    at = script_app({})
    assert "height 300" in at.markdown[-1].value and "classroom" not in at.query_params
    at.sidebar.toggle(key="cfg_classroom").set_value(True).run()
    assert "height 450" in at.markdown[-1].value and at.query_params["classroom"] == "1"
    linked = script_app({"classroom": "1"})
    assert linked.sidebar.toggle(key="cfg_classroom").value is True and "height 450" in linked.markdown[-1].value
