"""Shareable URLs of the four lab pages (Denoising, Anomaly, PCA, Signals): the schemas (the URL part of each
page's form in aelab/settings.py) round trip, match the labs' defaults, open the pages with a link's settings, and
survive tampered links.

No test here trains a model. Run: python -m pytest tests/test_url_labs.py
"""
from __future__ import annotations

import random
from urllib.parse import unquote

import pytest
from streamlit.testing.v1 import AppTest

from aelab import anomaly, denoise, fields, linear, noise, settings, share, signals
from aelab.catalog import DATASETS, DIGITS
from aelab.spec import ACTIVATIONS
from conftest import ROOT

DENOISING, ANOMALY, PCA, SIGNALS = (f.schema for f in (settings.DENOISING, settings.ANOMALY, settings.PCA,
                                                        settings.SIGNALS))

SCHEMAS = {"denoising": DENOISING, "anomaly": ANOMALY, "pca": PCA, "signals": SIGNALS}
PREFIX = {"denoising": "dn_", "anomaly": "an_", "pca": "pca_", "signals": "sig_"}


def defaults(schema) -> dict:
    return {k: f.default for k, f in schema.items()}


CUSTOM = {  # a setting other than the defaults in every field
    "denoising": {"cfg_dn_dataset": "fashion", "cfg_dn_noise": "mask", "cfg_dn_level": 0.55, "cfg_dn_hidden": (64, 32),
                  "cfg_dn_bottleneck": 10, "cfg_dn_epochs": 7, "cfg_dn_copies": 2, "cfg_dn_n_train": 500,
                  "cfg_dn_layout": "conv", "cfg_dn_channels": (8, 16, 32)},
    "anomaly": {"cfg_an_dataset": "mnist", "cfg_an_normal": (5, 1, 3), "cfg_an_hidden": (), "cfg_an_bottleneck": 4,
                "cfg_an_epochs": 9, "cfg_an_sizes": (2, 4), "cfg_an_n_train": 300, "cfg_an_layout": "conv",
                "cfg_an_channels": (4,)},
    "pca": {"cfg_pca_dataset": "mnist", "cfg_pca_k": 5, "cfg_pca_n_train": "all", "cfg_pca_epochs": 7,
            "cfg_pca_lr": 0.0375, "cfg_pca_decay": False, "cfg_pca_hidden": 32, "cfg_pca_activation": "tanh",
            "cfg_pca_seed": 2**31 - 1},
    "signals": {"cfg_sig_channels": 6, "cfg_sig_noise": 0.13, "cfg_sig_hidden": (64,), "cfg_sig_bottleneck": 4,
                "cfg_sig_epochs": 5, "cfg_sig_lr": 0.01, "cfg_sig_score": "mean", "cfg_csv_hidden": (),
                "cfg_csv_bottleneck": 2, "cfg_csv_epochs": 12, "cfg_csv_lr": 0.0005},
}
CASES = [(page, which) for page in SCHEMAS for which in ("defaults", "custom")]


def settings_for(page: str, which: str) -> dict:
    return defaults(SCHEMAS[page]) if which == "defaults" else CUSTOM[page]


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def open_page(page: str, query: dict | None = None) -> AppTest:
    """The page reached through app.py (as a browser does), with `query` as the URL's query string."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].value
    return at


def popover_labels(block) -> list[str]:
    """The labels of every st.popover under `block` (AppTest has no accessor for popovers)."""
    found = []
    for child in getattr(block, "children", {}).values():
        proto = getattr(child, "proto", None)
        if proto is not None and getattr(child, "type", "") == "popover":
            found.append(proto.popover.label)
        found += popover_labels(child)
    return found


def state_of(at: AppTest, schema) -> dict:
    """The schema's session-state values of a page (widget values and values set by the page)."""
    return {k: at.session_state[k] for k in share.state_updates(schema, defaults(schema)) if k in at.session_state}


# -- the schemas ---------------------------------------------------------------------------------------
def test_schemas_cover_every_setting_with_own_parameter_names():
    """Each lab schema names its page's setting keys, with URL parameters prefixed per page and no name twice."""
    every = [f.param for s in SCHEMAS.values() for f in s.values()]
    assert len(every) == len(set(every))
    others = {f.param for s in (settings.APP, settings.BUILD_TRAIN) for f in s.values()}
    assert not others & set(every)
    for page, schema in SCHEMAS.items():
        assert all(f.param.startswith(PREFIX[page]) for f in schema.values()), page
        assert all(f.kind in fields.VALUE_KINDS for f in schema.values())
        assert set(CUSTOM[page]) == set(schema)


@pytest.mark.parametrize("page,which", CASES)
def test_url_round_trip(page, which):
    """encode -> decode gives back exactly the same settings of the page, as strings in between, with no notes."""
    schema, settings = SCHEMAS[page], settings_for(page, which)
    query = share.encode(settings, schema)
    assert all(isinstance(v, str) for v in query.values()) and len(query) == len(schema)
    back, notes = share.decode(query, schema)
    assert back == settings and notes == []


@pytest.mark.parametrize("page,which", CASES)
def test_widget_state_round_trip(page, which):
    """state_updates -> read_state gives back the same settings; text boxes get text, other widgets values."""
    schema, settings = SCHEMAS[page], settings_for(page, which)
    state = share.state_updates(schema, settings)
    assert share.read_state(schema, state) == settings
    for key, field in schema.items():
        if field.as_text:
            assert isinstance(state[key], str), key
        elif field.kind == "choices":
            assert isinstance(state[key], list), key  # what st.multiselect holds
        else:
            assert state[key] == settings[key], key


@pytest.mark.parametrize("page,which", CASES)
def test_full_link_round_trip(page, which):
    """The copyable link (share.link) carries the settings: its query string decodes to the same settings."""
    schema, settings = SCHEMAS[page], settings_for(page, which)
    url = share.link("http://host:8501/" + page, share.encode(settings, schema), page)
    pairs = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    query = {k: unquote(v.replace("+", " ")) for k, v in pairs.items()}
    assert share.decode(query, schema) == (settings, [])


# -- the defaults are the pages' defaults -----------------------------------------------------------------
def test_schema_defaults_match_the_lab_modules():
    """The defaults and choices written out in share.py equal those of the lab modules and the pages' constants."""
    d, a = denoise.DenoiseSettings(), anomaly.AnomalySettings()
    assert defaults(DENOISING) == {
        "cfg_dn_dataset": DIGITS, "cfg_dn_noise": d.noise, "cfg_dn_level": d.level, "cfg_dn_hidden": d.encoder,
        "cfg_dn_bottleneck": d.bottleneck, "cfg_dn_epochs": d.epochs, "cfg_dn_copies": d.copies,
        "cfg_dn_n_train": d.n_train, "cfg_dn_layout": d.layout, "cfg_dn_channels": d.channels}
    assert DENOISING["cfg_dn_noise"].choices == tuple(noise.KINDS)
    assert DENOISING["cfg_dn_copies"].high == denoise.MAX_COPIES
    assert DENOISING["cfg_dn_level"].high == noise.MAX_LEVEL
    assert defaults(ANOMALY) == {
        "cfg_an_dataset": DIGITS, "cfg_an_normal": a.normal, "cfg_an_hidden": a.encoder,
        "cfg_an_bottleneck": a.bottleneck, "cfg_an_epochs": a.epochs, "cfg_an_sizes": a.sizes,
        "cfg_an_n_train": a.n_train, "cfg_an_layout": a.layout, "cfg_an_channels": a.channels}
    assert defaults(SIGNALS)["cfg_sig_epochs"] == signals.DEFAULT_TRAIN.epochs
    assert defaults(SIGNALS)["cfg_sig_lr"] == signals.DEFAULT_TRAIN.lr
    assert SIGNALS["cfg_sig_score"].choices == tuple(signals.SCORES)
    assert (defaults(SIGNALS)["cfg_sig_channels"], defaults(SIGNALS)["cfg_sig_noise"]) == (
        signals.SignalConfig().channels, signals.SignalConfig().noise)
    assert PCA["cfg_pca_activation"].choices == tuple(a for a in ACTIVATIONS if a != "identity")
    cfg = linear.PcaLabConfig()
    assert (defaults(PCA)["cfg_pca_k"], defaults(PCA)["cfg_pca_epochs"], defaults(PCA)["cfg_pca_lr"],
            defaults(PCA)["cfg_pca_n_train"]) == (cfg.k, cfg.epochs, cfg.lr, cfg.n_train)
    for schema in SCHEMAS.values():
        for key, field in schema.items():
            if key.endswith("_dataset"):
                assert field.choices == tuple(DATASETS) and field.default == DIGITS


@pytest.mark.parametrize("page", SCHEMAS)
def test_a_fresh_page_shows_the_schema_defaults_and_writes_them_to_the_url(page):
    """A page opened without a query string holds exactly the schema's defaults, and mirrors them in the URL."""
    schema = SCHEMAS[page]
    at = open_page(page)
    expected = defaults(schema)
    if page == "pca":  # on the digits (1,438 training images) the page offers no 2,000: "all" instead
        expected["cfg_pca_n_train"] = "all"
    assert share.read_state(schema, state_of(at, schema)) == expected
    for key, value in share.state_updates(schema, expected).items():
        assert at.session_state[key] == value, key
    at.run()  # the data set picker sets its key during the first run; from the second run on it is in the URL
    assert share.decode(share.restrict(dict(at.query_params), schema), schema) == (expected, [])
    assert not [w for w in at.warning if "ignored" in str(w.value)]


# -- a shared link opens the page with its settings -------------------------------------------------------
LINKS = {  # page -> (query string of a teacher's link, widget kind -> {key: value shown})
    "denoising": ({"dn_noise": "mask", "dn_level": "0.55", "dn_hid": "64,32", "dn_code": "10", "dn_epochs": "7",
                   "dn_copies": "2", "dn_n": "500", "dn_data": "digits", "dn_layout": "conv", "dn_ch": "8,16"},
                  {"selectbox": {"cfg_dn_noise": "mask", "cfg_dn_dataset": "digits"},
                   "radio": {"cfg_dn_layout": "conv"},
                   "text_input": {"cfg_dn_level": "0.55", "cfg_dn_hidden": "64, 32", "cfg_dn_bottleneck": "10",
                                  "cfg_dn_epochs": "7", "cfg_dn_copies": "2", "cfg_dn_n_train": "500",
                                  "cfg_dn_channels": "8, 16"}}),
    "anomaly": ({"an_normal": "1,3,5", "an_hid": "", "an_code": "4", "an_epochs": "9", "an_sizes": "2,4",
                 "an_n": "300"},
                {"multiselect": {"cfg_an_normal": [1, 3, 5]},
                 "text_input": {"cfg_an_hidden": "", "cfg_an_bottleneck": "4", "cfg_an_epochs": "9",
                                "cfg_an_sizes": "2, 4", "cfg_an_n_train": "300"}}),
    "pca": ({"pca_k": "5", "pca_n": "500", "pca_epochs": "7", "pca_lr": "0.02", "pca_decay": "0", "pca_hid": "32",
             "pca_act": "tanh", "pca_seed": "42"},
            {"slider": {"cfg_pca_k": 5}, "select_slider": {"cfg_pca_n_train": 500}, "toggle": {"cfg_pca_decay": False},
             "selectbox": {"cfg_pca_activation": "tanh"},
             "text_input": {"cfg_pca_epochs": "7", "cfg_pca_lr": "0.02", "cfg_pca_hidden": "32",
                            "cfg_pca_seed": "42"}}),
    "signals": ({"sig_ch": "2", "sig_noise": "0.1", "sig_hid": "64", "sig_code": "4", "sig_epochs": "5",
                 "sig_lr": "0.01", "sig_score": "mean", "sig_csv_hid": "16,8", "sig_csv_epochs": "20"},
                {"slider": {"cfg_sig_channels": 2, "cfg_sig_noise": 0.1},
                 "text_input": {"cfg_sig_hidden": "64", "cfg_sig_bottleneck": "4", "cfg_sig_epochs": "5",
                                "cfg_sig_lr": "0.01"},
                 "state": {"cfg_sig_score": "mean", "cfg_csv_hidden": "16, 8", "cfg_csv_epochs": "20"}}),
}


@pytest.mark.parametrize("page", SCHEMAS)
def test_shared_link_opens_the_page_with_its_settings(page):
    """A link's query string fills the page's widgets; the page stays usable and the URL keeps the settings."""
    query, shown = LINKS[page]
    at = open_page(page, query)
    for kind, values in shown.items():
        for key, value in values.items():
            got = at.session_state[key] if kind == "state" else getattr(at, kind)(key=key).value
            assert got == value, (key, got)
    assert "ignored" not in texts(at.warning) and not at.error
    at.run()
    url = {k: at.query_params[k] for k in query}
    assert share.decode(url, SCHEMAS[page]) == share.decode(query, SCHEMAS[page])
    assert "🔗 Copy link" in popover_labels(at.main), "the page has no Copy link control"
    link = texts(at.code)
    assert f"/{page}?" in link and all(f"{k}=" in link for k in query)


def test_copied_link_reopens_the_same_configuration():
    """The URL a page writes after the learner changes widgets opens, in a new session, with the same widgets."""
    at = open_page("pca")
    at.slider(key="cfg_pca_k").set_value(11)
    at.text_input(key="cfg_pca_lr").set_value("0.005")
    at.toggle(key="cfg_pca_decay").set_value(False)
    at.selectbox(key="cfg_pca_activation").set_value("gelu").run()
    assert not at.exception
    query = share.restrict(dict(at.query_params), PCA)
    assert query["pca_k"] == "11" and query["pca_lr"] == "0.005" and query["pca_decay"] == "0"
    again = open_page("pca", query)
    assert share.read_state(PCA, state_of(again, PCA)) == share.read_state(PCA, state_of(at, PCA))
    assert again.slider(key="cfg_pca_k").value == 11 and again.selectbox(key="cfg_pca_activation").value == "gelu"


# -- tampered links --------------------------------------------------------------------------------------
BAD = {  # what a tampered number box may hold: non-numeric, negative, huge, unicode digits/emoji, too long
    "text": "abc", "negative": "-5", "huge": "99999999999", "unicode": "١٢", "emoji": "😀", "long": "7" * 500,
    "markup": "[x](javascript:alert(1))", "nan": "nan",
}
NUMBER_FIELDS = [(page, key) for page, s in SCHEMAS.items() for key, f in s.items()
                 if f.kind in ("int", "float", "ints")]


@pytest.mark.parametrize("page,key", NUMBER_FIELDS, ids=[k for _, k in NUMBER_FIELDS])
def test_tampered_numbers_fall_back_to_defaults_with_a_note(page, key):
    """Every bad value of every number field takes the default, with one harmless note; other values still apply."""
    schema, field = SCHEMAS[page], SCHEMAS[page][key]
    good_key, good = next((k, CUSTOM[page][k]) for k, f in schema.items() if k != key and f.kind == "int")
    for category, raw in BAD.items():
        query = {field.param: raw, schema[good_key].param: share.format_value(schema[good_key], good)}
        settings, notes = share.decode(query, schema)
        assert settings[key] == field.default, (category, raw)
        assert len(notes) == 1 and field.name in notes[0] and "ignored" in notes[0], (category, notes)
        assert not any(c in notes[0] for c in "[]`*<>") and len(notes[0]) < 400
        assert settings[good_key] == good


TAMPERED_CHOICES = [
    ("denoising", "dn_noise", "speckle"), ("denoising", "dn_noise", "GAUSSIAN"), ("denoising", "dn_data", "../etc"),
    ("anomaly", "an_normal", "1,1"), ("anomaly", "an_normal", "10"), ("anomaly", "an_normal", "-1"),
    ("anomaly", "an_normal", "1,,2"), ("anomaly", "an_normal", "a,b"), ("anomaly", "an_normal", "0," * 40),
    ("anomaly", "an_normal", "١"), ("pca", "pca_n", "7"), ("pca", "pca_n", "ALL"), ("pca", "pca_act", "identity"),
    ("pca", "pca_decay", "maybe"), ("pca", "pca_k", "65"), ("pca", "pca_k", "0"), ("signals", "sig_ch", "7"),
    ("signals", "sig_noise", "0.5"), ("signals", "sig_noise", "-0.01"), ("signals", "sig_score", "median"),
    ("denoising", "dn_level", "0"), ("denoising", "dn_copies", "11"), ("denoising", "dn_n", "5"),
    ("anomaly", "an_sizes", ",".join(["2"] * 9)), ("signals", "sig_hid", "64;x"), ("pca", "pca_lr", "2"),
]


@pytest.mark.parametrize("page,param,raw", TAMPERED_CHOICES, ids=[f"{p}={r[:10]!r}" for _, p, r in TAMPERED_CHOICES])
def test_tampered_choices_and_ranges_fall_back_with_a_note(page, param, raw):
    """Values outside a field's choices or range take the default and add one note naming the setting."""
    schema = SCHEMAS[page]
    key = next(k for k, f in schema.items() if f.param == param)
    settings, notes = share.decode({param: raw}, schema)
    assert settings[key] == schema[key].default
    assert len(notes) == 1 and schema[key].name in notes[0] and "ignored" in notes[0]


@pytest.mark.parametrize("page", SCHEMAS)
def test_random_junk_never_raises(page):
    """Random strings, lists and non-strings for every parameter decode without an exception to allowed values."""
    schema, rng = SCHEMAS[page], random.Random(page)
    alphabet = "0123456789.,;-+eE abcxyz%&=?#\\/\"'😀ü\x00\n"
    for _ in range(200):
        query = {f.param: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))) for f in schema.values()}
        some = rng.choice(list(query))
        query[some] = rng.choice([None, 3, 2.5, [query[some], "1"], []])
        settings, notes = share.decode(query, schema)
        assert set(settings) == set(schema)
        assert share.decode(share.encode(settings, schema), schema) == (settings, [])


TAMPERED_LINKS = {  # page -> (query, {widget kind: {key: default shown}})
    "denoising": ({"dn_level": "abc", "dn_code": "-3", "dn_epochs": "99999999999", "dn_copies": "٣",
                   "dn_hid": "7" * 300,
                   "dn_noise": "<script>", "dn_n": "😀", "dn_data": "x" * 5000},
                  {"text_input": {"cfg_dn_level": "0.3", "cfg_dn_bottleneck": "16", "cfg_dn_epochs": "40",
                                  "cfg_dn_copies": "4", "cfg_dn_hidden": "128", "cfg_dn_n_train": ""},
                   "selectbox": {"cfg_dn_noise": "gaussian", "cfg_dn_dataset": "digits"}}),
    "anomaly": ({"an_normal": "1,1,12", "an_hid": "-8", "an_code": "lots", "an_sizes": "2,😀", "an_n": "1e999"},
                {"multiselect": {"cfg_an_normal": [0, 1, 2, 4, 5, 6, 7, 8, 9]},
                 "text_input": {"cfg_an_hidden": "128", "cfg_an_bottleneck": "8", "cfg_an_sizes": "2, 4, 8, 16, 32",
                                "cfg_an_n_train": ""}}),
    "pca": ({"pca_k": "-4", "pca_n": "123", "pca_lr": "inf", "pca_decay": "2", "pca_act": "RELU", "pca_seed": "-1",
             "pca_hid": "1" * 80, "pca_epochs": "٣"},
            {"slider": {"cfg_pca_k": 8}, "toggle": {"cfg_pca_decay": True}, "selectbox": {"cfg_pca_activation": "relu"},
             "text_input": {"cfg_pca_lr": "0.01", "cfg_pca_seed": "0", "cfg_pca_hidden": "64",
                            "cfg_pca_epochs": "120"}}),
    "signals": ({"sig_ch": "99", "sig_noise": "abc", "sig_hid": "-1", "sig_code": "😀", "sig_lr": "0",
                 "sig_score": "x",
                 "sig_csv_epochs": "99999999999"},
                {"slider": {"cfg_sig_channels": 3, "cfg_sig_noise": 0.05},
                 "text_input": {"cfg_sig_hidden": "128, 64", "cfg_sig_bottleneck": "8", "cfg_sig_lr": "0.003"},
                 "state": {"cfg_sig_score": "max", "cfg_csv_epochs": "150"}}),
}


@pytest.mark.parametrize("page", SCHEMAS)
def test_tampered_link_opens_the_page_with_defaults_and_a_note(page):
    """A link full of bad values opens the page without an exception: every bad value shows its default, and a
    visible warning says which values were ignored."""
    query, shown = TAMPERED_LINKS[page]
    at = open_page(page, query)
    for kind, values in shown.items():
        for key, value in values.items():
            got = at.session_state[key] if kind == "state" else getattr(at, kind)(key=key).value
            assert got == value, (key, got)
    warning = next(str(w.value) for w in at.warning if "ignored" in str(w.value))
    assert warning.count("ignored") == len(query)
    assert "<script>" not in warning and "😀" not in warning and len(warning) < 400 * len(query)
    at.run()  # the warning stays until dismissed; the URL now holds the defaults instead of the bad values
    assert not at.exception and "ignored" in texts(at.warning)
    assert share.decode(share.restrict(dict(at.query_params), SCHEMAS[page]), SCHEMAS[page])[1] == []


# -- the field kinds added for these pages -------------------------------------------------------------
def test_choices_kind_is_a_multiselect():
    """A "choices" field reads 'a,b' into a tuple of allowed values (empty allowed), keeps their order, refuses
    unknown or repeated values, and the widget state is a list."""
    f = share.Field("x", "choices", (1, 2), choices=(1, 2, 3, "all"))
    assert share.parse(f, "3, 1") == (3, 1) and share.parse(f, "") == () and share.parse(f, "all") == ("all",)
    assert share.format_value(f, (3, 1)) == "3,1"
    for raw in ("1,1", "4", "1,", "one", ",".join("1" * 99)):
        with pytest.raises(ValueError):
            share.parse(f, raw)
    assert share.state_updates({"k": f}, {"k": (2, 3)}) == {"k": [2, 3]}
    assert share.read_state({"k": f}, {"k": [2, 3]}) == {"k": (2, 3)}
    assert share.read_state({"k": f}, {"k": [2, 9]}) == {}


def test_ints_kind_is_one_text_box_of_numbers():
    """An "ints" field is a list of whole numbers in one text box: '64, 32' in the widget, '64,32' in the URL,
    blank allowed, each number in range, digits 0-9 only."""
    f = share.Field("x", "ints", (128,), low=1, high=100, widget="text")
    assert share.parse(f, " 64, 32 ") == (64, 32) and share.parse(f, "") == ()
    assert share.format_value(f, (64, 32)) == "64,32"
    assert share.state_updates({"k": f}, {"k": (64, 32)}) == {"k": "64, 32"}
    assert share.read_state({"k": f}, {"k": "64 ,32"}) == {"k": (64, 32)}
    for raw in ("0", "101", "a", "٣", "1,,2", ",".join(["5"] * 20)):
        with pytest.raises(ValueError):
            share.parse(f, raw)


def test_blank_int_means_none():
    """An "int" field with blank=True reads an empty value as None ('blank = all') and writes None as ''."""
    f = share.Field("n", "int", None, low=10, high=100, widget="text", blank=True)
    assert share.parse(f, "") is None and share.parse(f, " 50 ") == 50 and share.format_value(f, None) == ""
    assert share.decode({"n": ""}, {"k": f}) == ({"k": None}, [])
    assert share.state_updates({"k": f}, {"k": None}) == {"k": ""}
    with pytest.raises(ValueError):
        share.parse(f, "5")
    strict = share.Field("n", "int", 3, low=1)
    with pytest.raises(ValueError):
        share.parse(strict, "")  # without blank=True an empty number is still refused
