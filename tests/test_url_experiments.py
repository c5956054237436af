"""Shareable URLs of the experiment pages (Bigger bottleneck, Encoder | Decoder, Latent space): round trips of
every schema, schema defaults against the pages, teacher links opened through app.py, and tampered links.

The schemas are the URL part of each page's form in aelab/settings.py (the pages have no defaults of their own).

Run: python -m pytest -q tests/test_url_experiments.py
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aelab import latent, limits, runs, settings, share, sweep
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT

BOTTLENECK, SPLIT, LATENT = settings.BOTTLENECK.schema, settings.SPLIT.schema, settings.LATENT.schema

APP = str(ROOT / "app.py")
SCHEMAS = {"bigger_bottleneck": BOTTLENECK, "split": SPLIT, "latent": LATENT}
CUSTOM = {  # a setting of every field that differs from its default
    "bigger_bottleneck": {
        "cfg_bn_dataset": "fashion", "cfg_bn_sizes": (1, 3, 784, 2048), "cfg_bn_n_train": 60000,
        "cfg_bn_hidden": (), "cfg_bn_epochs": 1000, "cfg_bn_seed": 2**31 - 1, "cfg_bn_batch": 1, "cfg_bn_lr": 0.0375,
    },
    "split": {
        "split_at": 0, "cfg_split_preact": True, "cfg_split_deep": (512, 7), "cfg_split_shallow": (),
        "cfg_split_code": 17, "cfg_split_epochs": 2, "cfg_split_n": 60000,
    },
    "latent": {
        "cfg_latent_view": "strip (1-number code)", "cfg_latent_tsne_n": 20, "cfg_latent_grid_n": 3,
        "cfg_latent_span": 3.5, "latent_from": 358, "latent_to": 0, "cfg_latent_steps": 16,
        "cfg_latent_n_samples": 48, "latent_sampler": "prior", "latent_seed": 1_000_000, "latent_cmp_seed": 12,
    },
}


def defaults(schema) -> dict:
    return {k: f.default for k, f in schema.items()}


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def open_page(page: str, query: dict, **state) -> AppTest:
    """app.py opened with this query string (and session state), then switched to the page, as a link does."""
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    at.query_params.update(query)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].value
    return at


@pytest.fixture(scope="module")
def quick_shaped(digits):
    """One epoch of the split page's quick model shape, 64-128-64-12-3, on digits (about a second)."""
    return runs.train_run(digits, ArchSpec(64, (128, 64, 12), 3), TrainConfig(epochs=1, batch_size=64))


@pytest.fixture(scope="module")
def ae_2d(digits):
    """A tiny plain autoencoder with a 2-number code, as the latent page's quick model has."""
    return runs.train_run(digits, ArchSpec(64, (32,), 2), TrainConfig(epochs=1, batch_size=64))


@pytest.fixture(scope="module")
def small(digits):
    """A tiny plain autoencoder with a 3-number code (5 modules to the bottleneck, 10 in all)."""
    return runs.train_run(digits, ArchSpec(64, (32, 12), 3), TrainConfig(epochs=2, batch_size=64))


# -- pure round trips -------------------------------------------------------------------------------------------
def test_custom_settings_differ_from_the_defaults_in_every_field():
    """The custom settings below touch every field of every schema, so the round trips cover them all."""
    for page, schema in SCHEMAS.items():
        assert set(CUSTOM[page]) == set(schema), page
        assert all(CUSTOM[page][k] != f.default for k, f in schema.items()), page


@pytest.mark.parametrize("which", ["defaults", "custom"])
@pytest.mark.parametrize("page", SCHEMAS)
def test_url_round_trip(page, which):
    """encode -> decode gives back exactly the same settings of the page, as plain text, with no notes."""
    schema = SCHEMAS[page]
    settings = defaults(schema) if which == "defaults" else CUSTOM[page]
    query = share.encode(settings, schema)
    assert all(isinstance(v, str) for v in query.values()) and len(query) == len(schema)
    back, notes = share.decode(query, schema)
    assert back == settings and notes == []


@pytest.mark.parametrize("which", ["defaults", "custom"])
@pytest.mark.parametrize("page", SCHEMAS)
def test_widget_state_round_trip(page, which):
    """Settings -> widget state -> settings is lossless, and text boxes get text, other widgets their values."""
    schema = SCHEMAS[page]
    settings = defaults(schema) if which == "defaults" else CUSTOM[page]
    state = share.state_updates(schema, settings)
    assert set(state) == set(schema)
    for key, field in schema.items():
        if field.as_text:
            assert isinstance(state[key], str), key
        else:
            assert state[key] == settings[key], key
    assert share.read_state(schema, state) == settings


def test_param_names_are_distinct_from_every_other_schema():
    """No two fields of these three schemas, Build & Train or the app share a URL parameter name."""
    names = [f.param for s in (BOTTLENECK, SPLIT, LATENT, settings.BUILD_TRAIN.schema, settings.APP.schema)
             for f in s.values()]
    assert len(names) == len(set(names))
    for prefix, schema in (("bn_", BOTTLENECK), ("sp_", SPLIT), ("lt_", LATENT)):
        assert all(f.param.startswith(prefix) for f in schema.values())


TAMPERED = [  # (page, param, raw): non-numeric, negative, huge, unicode, too long, off the allowed values
    ("bigger_bottleneck", "bn_n", "lots"), ("bigger_bottleneck", "bn_n", "1"), ("bigger_bottleneck", "bn_epochs", "-3"),
    ("bigger_bottleneck", "bn_epochs", "1001"), ("bigger_bottleneck", "bn_seed", "9" * 30),
    ("bigger_bottleneck", "bn_lr", "٣"), ("bigger_bottleneck", "bn_lr", "0"), ("bigger_bottleneck", "bn_lr", "nan"),
    ("bigger_bottleneck", "bn_sizes", "2," * 40), ("bigger_bottleneck", "bn_sizes", "2,abc"),
    ("bigger_bottleneck", "bn_sizes", "4096"), ("bigger_bottleneck", "bn_hid", "-256"),
    ("bigger_bottleneck", "bn_batch", "0x40"), ("bigger_bottleneck", "bn_data", "../../etc/passwd"),
    ("split", "sp_at", "-1"), ("split", "sp_at", "1e9"), ("split", "sp_pre", "maybe"), ("split", "sp_deep", "😀"),
    ("split", "sp_shallow", "32,,"), ("split", "sp_code", "abc"), ("split", "sp_code", "0"),
    ("split", "sp_epochs", "99999999999"), ("split", "sp_n", "1"), ("split", "sp_n", "x" * 500),
    ("latent", "lt_view", "4D"), ("latent", "lt_view", "raw 2D\x00"), ("latent", "lt_tsne", "5"),
    ("latent", "lt_tsne", "１２"), ("latent", "lt_grid", "999"), ("latent", "lt_grid", "2.5"),
    ("latent", "lt_span", "inf"), ("latent", "lt_span", "0.1"), ("latent", "lt_from", "-1"),
    ("latent", "lt_to", "[1](javascript:x)"), ("latent", "lt_steps", "x"), ("latent", "lt_samples", "13"),
    ("latent", "lt_sampler", "<script>"), ("latent", "lt_seed", "1e400"), ("latent", "lt_cmp_seed", "-5"),
]


@pytest.mark.parametrize("page,param,raw", TAMPERED, ids=[f"{p}-{q}={r[:10]!r}" for p, q, r in TAMPERED])
def test_tampered_values_fall_back_to_defaults_with_a_note(page, param, raw):
    """A bad value falls back to the field's default with exactly one harmless note saying it was ignored;
    the link's good values still apply."""
    schema = SCHEMAS[page]
    key = next(k for k, f in schema.items() if f.param == param)
    good_key, good = next((k, f) for k, f in schema.items() if f.param != param and f.kind == "int")
    good_value = int(good.low) + 1
    settings, notes = share.decode({param: raw, good.param: str(good_value)}, schema)
    assert settings[key] == schema[key].default
    assert settings[good_key] == good_value
    assert len(notes) == 1 and schema[key].name in notes[0] and "ignored" in notes[0]
    assert not any(c in notes[0] for c in "[]`*<>\x00") and len(notes[0]) < 400


# -- schema defaults against the pages ------------------------------------------------------------------------
def test_bottleneck_defaults_match_the_page():
    """A fresh Bigger-bottleneck page shows exactly BOTTLENECK's defaults, which are sweep.SweepConfig's."""
    at = open_page("bigger_bottleneck", {})
    shown = {w.key: w.value for w in at.text_input} | {"cfg_bn_dataset": at.selectbox(key="cfg_bn_dataset").value}
    assert share.read_state(BOTTLENECK, shown) == defaults(BOTTLENECK)
    cfg = sweep.SweepConfig()
    assert (cfg.sizes, cfg.n_train, cfg.hidden, cfg.epochs, cfg.seed, cfg.batch_size, cfg.lr) == tuple(
        BOTTLENECK[k].default for k in ("cfg_bn_sizes", "cfg_bn_n_train", "cfg_bn_hidden", "cfg_bn_epochs",
                                        "cfg_bn_seed", "cfg_bn_batch", "cfg_bn_lr"))
    assert sweep.MAX_BOTTLENECK == BOTTLENECK["cfg_bn_sizes"].high == limits.MAX_BOTTLENECK
    assert sweep.MAX_RUNS == BOTTLENECK["cfg_bn_sizes"].max_items
    assert BOTTLENECK["cfg_bn_epochs"].high == limits.MAX_EPOCHS
    for field in BOTTLENECK.values():  # the whole setup is in the URL from the first run on
        assert at.query_params[field.param] == share.format_value(field, field.default)


def test_split_defaults_match_the_page_with_its_quick_model(quick_shaped):
    """With the page's quick-model shape on digits, the split page's widgets show exactly SPLIT's defaults."""
    at = open_page("split", {}, aelab_run=quick_shaped)
    shown = {w.key: w.value for w in at.text_input}
    shown |= {"split_at": at.select_slider(key="split_at").value, "cfg_split_preact": at.toggle[0].value}
    assert at.toggle[0].key == "cfg_split_preact"
    assert share.read_state(SPLIT, shown) == defaults(SPLIT)
    at.run()  # widgets drawn below the sync reach the URL from the next run on
    assert at.query_params["sp_at"] == "7" and at.query_params["sp_deep"] == "128,64,12"


def test_latent_defaults_match_the_page(ae_2d):
    """A fresh Latent space page holds LATENT's defaults in every tab; its views list every view the page offers, and
    a 2-number code (the quick model's) opens on the schema's default view. (The page used to carry its own defaults,
    read here from its source; they are now only in settings.LATENT.)"""
    at = open_page("latent", {}, aelab_run=ae_2d)
    for tab in ("🎚️ Decode & grid", "↔️ Interpolate", "🎲 Generate"):  # only the open tab draws its widgets
        at.session_state["cfg_latent_tab"] = tab
        at.run()
    state = {k: at.session_state[k] for k in LATENT if k in at.session_state}
    assert share.read_state(LATENT, state) == defaults(LATENT)
    views = [v for k in (1, 2, 3, 8) for v in latent.view_options(k)]
    assert set(views) == set(settings.LATENT_VIEWS)
    assert LATENT["cfg_latent_view"].default == latent.view_options(2)[0]  # the quick model has a 2-number code
    assert at.slider(key="cfg_latent_n_samples").value == LATENT["cfg_latent_n_samples"].default


# -- links opened through app.py -------------------------------------------------------------------------------
def test_link_opens_the_bottleneck_page_with_its_settings():
    """A teacher's link sets every Bigger-bottleneck setting, the URL keeps them and the Copy link shows them."""
    query = {"bn_sizes": "8,2", "bn_n": "100", "bn_hid": "16,8", "bn_epochs": "3", "bn_seed": "7", "bn_batch": "32",
             "bn_lr": "0.01", "bn_data": "digits"}
    at = open_page("bigger_bottleneck", query)
    shown = {w.key: w.value for w in at.text_input}
    assert shown == {"cfg_bn_sizes": "8, 2", "cfg_bn_n_train": "100", "cfg_bn_hidden": "16, 8",
                     "cfg_bn_epochs": "3", "cfg_bn_seed": "7", "cfg_bn_batch": "32", "cfg_bn_lr": "0.01"}
    assert not at.button(key="bn_run").disabled and not at.warning
    assert {k: at.query_params[k] for k in query} == query
    assert any("bn_sizes=8%2C2" in c.value and "bn_lr=0.01" in c.value for c in at.code)  # the Copy link box


def test_link_opens_the_split_page_before_and_after_a_model(small):
    """A link opened with no model yet keeps its split point and pair settings until a model exists, then
    shows them; an edit afterwards goes back into the URL."""
    query = {"sp_at": "2", "sp_pre": "1", "sp_deep": "32,12", "sp_shallow": "", "sp_code": "4", "sp_epochs": "2",
             "sp_n": "300"}
    at = open_page("split", query)
    assert "No model trained" in texts(at.info) and not at.metric
    at.session_state["aelab_run"] = small  # the student trains a model
    at.run()
    assert not at.exception
    assert at.select_slider(key="split_at").value == 2
    assert {m.label: m.value for m in at.metric}["Encoder"] == "2 modules"
    assert at.toggle(key="cfg_split_preact").value is True
    shown = {w.key: w.value for w in at.text_input}
    assert shown == {"cfg_split_deep": "32, 12", "cfg_split_shallow": "", "cfg_split_code": "4",
                     "cfg_split_epochs": "2", "cfg_split_n": "300"}
    assert {k: at.query_params[k] for k in query} == query
    at.select_slider(key="split_at").set_value(4).run()
    assert not at.exception and at.query_params["sp_at"] == "4"


def test_link_opens_the_latent_page_with_its_settings(digits):
    """A link sets the latent page's view, grid, reach, interpolation and sampling settings on a 3-number code."""
    run = runs.train_run(digits, ArchSpec(64, (32,), 3), TrainConfig(epochs=2, batch_size=64))
    query = {"lt_view": "PCA 2D", "lt_grid": "5", "lt_span": "3.5", "lt_from": "3", "lt_to": "9", "lt_steps": "4",
             "lt_samples": "16", "lt_sampler": "prior", "lt_seed": "42", "lt_cmp_seed": "5", "lt_tsne": "200"}
    at = open_page("latent", query, aelab_run=run)
    assert at.selectbox(key="cfg_latent_view").value == "PCA 2D"  # the Code space tab is open first

    def open_tab(label: str) -> AppTest:  # only the open tab runs; the others keep their linked values
        at.session_state["cfg_latent_tab"] = label
        return at.run()

    open_tab("🎚️ Decode & grid")
    assert at.slider(key="cfg_latent_grid_n").value == 5 and at.slider(key="cfg_latent_span").value == 3.5
    open_tab("↔️ Interpolate")
    assert at.text_input(key="latent_from").value == "3" and at.text_input(key="latent_to").value == "9"
    assert at.slider(key="cfg_latent_steps").value == 4 and "**#3**" in texts(at.markdown)
    open_tab("🎲 Generate")
    assert at.slider(key="cfg_latent_n_samples").value == 16
    assert at.radio(key="latent_sampler").value == "prior" and at.number_input(key="latent_seed").value == 42
    assert at.session_state["latent_cmp_seed"] == 5 and at.session_state["cfg_latent_tsne_n"] == "200"
    assert not at.warning and not at.exception
    assert {k: at.query_params[k] for k in query} == query


# -- tampered links through app.py -----------------------------------------------------------------------------
def _ignored_note(at: AppTest) -> str:
    note = texts(at.warning)
    assert "ignored" in note, note
    return note


def test_tampered_bottleneck_link_falls_back_with_a_note():
    """Non-numeric, negative, huge, unicode and too-long values give the defaults, a visible note and no crash;
    the good value of the same link applies and the URL is rewritten to what the page uses."""
    query = {"bn_n": "lots", "bn_epochs": "-3", "bn_seed": "9" * 25, "bn_lr": "٣", "bn_sizes": "2," * 40,
             "bn_data": "<script>", "bn_batch": "16"}
    at = open_page("bigger_bottleneck", query)
    assert at.text_input(key="cfg_bn_n_train").value == "500" and at.text_input(key="cfg_bn_epochs").value == "150"
    assert at.text_input(key="cfg_bn_seed").value == "0" and at.text_input(key="cfg_bn_lr").value == "0.001"
    assert at.text_input(key="cfg_bn_sizes").value == "2, 4, 8, 16, 32, 64, 128"
    assert at.selectbox(key="cfg_bn_dataset").value == "digits" and at.text_input(key="cfg_bn_batch").value == "16"
    note = _ignored_note(at)
    assert note.count("ignored") == 6 and "<script>" not in note
    assert at.query_params["bn_n"] == "500" and at.query_params["bn_batch"] == "16"
    assert not at.button(key="bn_run").disabled


def test_tampered_split_link_falls_back_with_a_note(small):
    """Bad split settings fall back with a note; a split point this model does not have starts at the
    bottleneck with its own note; nothing crashes."""
    query = {"sp_at": "99", "sp_code": "abc", "sp_epochs": "0", "sp_n": "1e99", "sp_deep": "😀", "sp_pre": "x" * 300}
    at = open_page("split", query, aelab_run=small)
    assert at.select_slider(key="split_at").value == 5  # the bottleneck of 64-32-12-3
    assert "does not exist in this model" in texts(at.info)
    shown = {w.key: w.value for w in at.text_input}
    assert shown["cfg_split_code"] == "3" and shown["cfg_split_epochs"] == "30" and shown["cfg_split_deep"] == \
        "128, 64, 12"
    assert at.toggle(key="cfg_split_preact").value is False
    assert _ignored_note(at).count("ignored") == 5
    at.run()  # the next run writes the split point the page uses back into the URL, without re-reading the link
    assert not at.exception and at.select_slider(key="split_at").value == 5 and at.query_params["sp_at"] == "5"


def test_tampered_latent_link_falls_back_with_a_note(small):
    """Bad latent settings fall back to the defaults with a note; an index too large for the data set gets the
    page's own message; nothing crashes."""
    query = {"lt_grid": "999", "lt_steps": "x", "lt_samples": "13", "lt_sampler": "<script>", "lt_from": "-1",
             "lt_view": "4D", "lt_seed": "1e400", "lt_to": "100000"}
    at = open_page("latent", query, aelab_run=small)
    assert at.selectbox(key="cfg_latent_view").value == "raw 3D"  # the first view of a 3-number code
    assert _ignored_note(at).count("ignored") == 7
    for label in ("🎚️ Decode & grid", "↔️ Interpolate", "🎲 Generate"):  # only the open tab runs
        at.session_state["cfg_latent_tab"] = label
        at.run()
        assert not at.exception and _ignored_note(at).count("ignored") == 7  # the note stays until dismissed
        if label == "🎚️ Decode & grid":
            assert at.slider(key="cfg_latent_grid_n").value == 10
        elif label == "↔️ Interpolate":
            assert at.slider(key="cfg_latent_steps").value == 8 and at.text_input(key="latent_from").value == "0"
            assert "End image must be at most" in texts(at.error)
        else:
            assert at.slider(key="cfg_latent_n_samples").value == 24
            assert at.radio(key="latent_sampler").value == "fitted" and at.number_input(key="latent_seed").value == 0


def test_every_size_list_the_page_accepts_fits_in_a_link():
    """A sweep of MAX_RUNS sizes, typed with commas or spaces as the page allows, survives the URL round trip;
    one size more is refused with a note, like the page refuses it."""
    longest = tuple(range(1, sweep.MAX_RUNS + 1))
    for typed in (", ".join(map(str, longest)), " ".join(map(str, longest))):
        assert sweep.parse_sizes(typed) == longest
        settings = share.read_state(BOTTLENECK, {"cfg_bn_sizes": typed})
        assert settings["cfg_bn_sizes"] == longest
        back, notes = share.decode(share.encode(settings, BOTTLENECK), BOTTLENECK)
        assert back["cfg_bn_sizes"] == longest and notes == []
    _, notes = share.decode({"bn_sizes": ",".join(map(str, range(1, sweep.MAX_RUNS + 2)))}, BOTTLENECK)
    assert len(notes) == 1 and "at most 12" in notes[0]
