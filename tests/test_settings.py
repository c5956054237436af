"""The settings layer (aelab/settings.py, aelab/fields.py): every default and limit is defined once and reaches the
page, the URL schema and the dataclasses; one validation path per value; pages hold no limits and no plotly;
a field's widget kind can change without changing its URL; per-data-set defaults follow the data set.

Run: python -m pytest -q tests/test_settings.py
"""
from __future__ import annotations

import ast
import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from aelab import anomaly, denoise, fields, kinds, linear, presets, settings, share, signals, spec, sweep
from conftest import ROOT, field_value

APP = str(ROOT / "app.py")
FORMS = {"build_train": settings.BUILD_TRAIN, "bigger_bottleneck": settings.BOTTLENECK, "split": settings.SPLIT,
         "latent": settings.LATENT, "denoising": settings.DENOISING, "anomaly": settings.ANOMALY,
         "pca": settings.PCA, "signals": settings.SIGNALS, "app": settings.APP, "compare": settings.COMPARE,
         "draw": settings.DRAW}
DATACLASSES = [(settings.BUILD_TRAIN, spec.TrainConfig), (settings.BUILD_TRAIN, lambda: spec.ArchSpec(64)),
               (settings.BUILD_TRAIN, lambda: presets.Preset("p", "d", "digits", (32,), 2)),
               (settings.BOTTLENECK, sweep.SweepConfig),
               (settings.DENOISING, denoise.DenoiseSettings), (settings.ANOMALY, anomaly.AnomalySettings),
               (settings.PCA, linear.PcaLabConfig), (settings.SIGNALS, signals.SignalConfig),
               (settings.COMPARE, kinds.CompareSettings)]


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(query or {})
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].value
    return at


def replace_field(monkeypatch, form, key: str, **changes) -> fields.Field:
    field = dataclasses.replace(form[key], **changes)
    monkeypatch.setitem(form, key, field)
    return field


# -- one definition per default ---------------------------------------------------------------------------
@pytest.mark.parametrize("form,make", DATACLASSES, ids=[f"{getattr(m, '__name__', 'new')}-{i}"
                                                        for i, (_, m) in enumerate(DATACLASSES)])
def test_dataclass_defaults_are_the_page_defaults(form, make):
    """Every dataclass argument a page field fills has that field's default (none_as 'all' -> None)."""
    obj = make()
    # the decoder (None = mirrored) and the channels (() = no conv layers) take their field's default only when the
    # asymmetric decoder or the conv layout is chosen
    given = ("decoder", "encoder", "bottleneck", "dataset", "channels") if isinstance(obj, presets.Preset) else \
        ("decoder", "channels")
    checked = [f.arg for f in form.values() if f.arg and hasattr(obj, f.arg) and f.arg not in given]
    assert checked
    for arg in checked:
        assert getattr(obj, arg) == form.default(arg), arg


CHANGES = [  # (page, form, key, new default, widget text, dataclass, its argument)
    ("build_train", settings.BUILD_TRAIN, "cfg_batch", 48, "48", spec.TrainConfig, "batch_size"),
    ("build_train", settings.BUILD_TRAIN, "cfg_beta", 0.5, "0.5", spec.TrainConfig, "beta"),
    ("bigger_bottleneck", settings.BOTTLENECK, "cfg_bn_epochs", 90, "90", sweep.SweepConfig, "epochs"),
    ("denoising", settings.DENOISING, "cfg_dn_level", 0.25, "0.25", denoise.DenoiseSettings, "level"),
    ("anomaly", settings.ANOMALY, "cfg_an_channels", (8,), "8", anomaly.AnomalySettings, "channels"),
    ("compare", settings.COMPARE, "cfg_cmp_seconds", 4.0, "4.0", kinds.CompareSettings, "seconds"),
]


@pytest.mark.parametrize("page,form,key,value,text,cls,arg", CHANGES, ids=[c[2] for c in CHANGES])
def test_a_default_changed_at_its_one_definition_shows_everywhere(monkeypatch, page, form, key, value, text, cls, arg):
    """Changing a default in aelab/settings.py (and nowhere else) changes the page's widget, the URL schema's default,
    the page's URL and the dataclass's default."""
    field = replace_field(monkeypatch, form, key, default=value)
    assert getattr(cls(), arg) == value  # the dataclass
    assert share.decode({}, form)[0][key] == value  # the URL schema: a link without it takes the default
    at = open_page(page)
    if key == "cfg_beta":  # drawn only for a VAE
        at.radio(key="cfg_kind").set_value("vae").run()
    if key == "cfg_an_channels":  # drawn only for the convolutional layout
        at.radio(key="cfg_an_layout").set_value("conv").run()
    assert field_value(at, key) == value  # the page (a text box or a number input)
    at.run()
    assert at.query_params[field.param] == share.format_value(field, value)  # the page's URL
    if cls is spec.TrainConfig:  # a new preset that leaves it out
        assert getattr(presets.Preset("p", "d", "digits", (32,), 2), arg) == value


# -- one validation path per value ------------------------------------------------------------------------
def test_the_page_the_link_and_the_lab_refuse_a_learning_rate_with_one_message(digits):
    """A learning rate of 0 gets the same message from the page's parser, a link and sweep.check_config (which
    missed this check before the settings layer)."""
    field = settings.BOTTLENECK["cfg_bn_lr"]
    with pytest.raises(fields.SpecError) as page_error:
        fields.parse(field, "0")
    message = str(page_error.value)
    assert "above 0" in message
    lab = sweep.check_config(dataclasses.replace(sweep.SweepConfig(), lr=0.0), digits)
    assert [str(e) for e in lab.errors] == [message]
    _, notes = share.decode({"bn_lr": "0"}, settings.BOTTLENECK)
    assert "learning rate must be above 0 and at most 1 (got 0)" in notes[0]


@pytest.mark.parametrize("name", FORMS)
def test_every_default_passes_its_own_check(name):
    """Each field's default, on every data set, is a value its own check accepts (and its URL text parses back)."""
    for field in FORMS[name].values():
        for value in (field.default, *field.by_dataset.values()):
            if value is None:
                continue
            fields.check(field, value)
            assert fields.parse(field, fields.format_value(field, value)) == value


def test_every_build_train_field_has_help_text():
    """Every Build & Train setting explains itself in its tooltip (a sentence, not a label)."""
    for key, field in settings.BUILD_TRAIN.items():
        assert len(field.help) > 40 and field.help.endswith("."), key


@pytest.mark.parametrize("name", FORMS)
def test_url_names_are_unique(name):
    """No two fields of any two forms share a URL parameter name."""
    names = [f.param for form in FORMS.values() for f in form.values() if f.param]
    assert len(names) == len(set(names))


# -- widget kinds -------------------------------------------------------------------------------------------
def test_switching_a_widget_kind_keeps_the_url(monkeypatch):
    """The learning rate as a log-scale slider and the epochs as a number input (one line each in settings.py):
    the page draws them, the URL keeps its format, a link still sets them and a change reaches the URL."""
    replace_field(monkeypatch, settings.BUILD_TRAIN, "cfg_lr", widget="log_slider")
    replace_field(monkeypatch, settings.BUILD_TRAIN, "cfg_epochs", widget="number")
    at = open_page("build_train")  # on Digits: its own defaults (settings.BUILD_TRAIN by_dataset)
    epochs = settings.BUILD_TRAIN["cfg_epochs"].default_for("digits")
    assert at.select_slider(key="cfg_lr").value == 0.002 and at.number_input(key="cfg_epochs").value == epochs
    at.run()
    assert at.query_params["lr"] == "0.002" and at.query_params["epochs"] == str(epochs)
    at.select_slider(key="cfg_lr").set_value(0.01).run()
    at.number_input(key="cfg_epochs").set_value(12).run()
    assert not at.exception and at.query_params["lr"] == "0.01" and at.query_params["epochs"] == "12"
    assert not at.button(key="train_btn").disabled
    linked = open_page("build_train", {"lr": "0.005", "epochs": "7"})
    assert linked.select_slider(key="cfg_lr").value == 0.005 and linked.number_input(key="cfg_epochs").value == 7


def test_log_grid_spans_decades_below_the_limit():
    """The log-scale slider offers 1, 2, 5 per decade, all above the lower bound and at most the upper one."""
    from aelab import ui

    grid = ui.log_grid(0.0, 1.0)
    assert grid[-1] == 1.0 and 0.001 in grid and 0.002 in grid and 0.005 in grid and min(grid) > 0
    assert all(b > a for a, b in zip(grid, grid[1:]))


# -- per-data-set defaults ------------------------------------------------------------------------------
SCRIPT = """
import streamlit as st
from aelab import fields, ui
FORM = fields.Form({
    "cfg_t_data": fields.Field("data", "choice", "digits", "data set", choices=("digits", "mnist")),
    "cfg_t_width": fields.Field("width", "int", 32, "width", low=1, high=1000, widget="text",
                                by_dataset={"mnist": 256}),
})
ui.init_form(FORM)
ui.sync_query_params(FORM, "t")
data = ui.field(FORM, "cfg_t_data")
ui.follow_dataset(FORM, data)
st.write(f"width {ui.field(FORM, 'cfg_t_width')}")
"""


def test_a_per_data_set_default_follows_the_data_set_until_edited():
    """A field with a per-data-set default shows the chosen data set's default, moves with the data set while the
    learner leaves it alone, and keeps the learner's own value after that."""
    at = AppTest.from_string(SCRIPT, default_timeout=30).run()
    assert at.text_input(key="cfg_t_width").value == "32"
    at.selectbox(key="cfg_t_data").set_value("mnist").run()
    assert at.text_input(key="cfg_t_width").value == "256"
    at.run()  # the URL is written before the widgets, so it shows the new default from the next run on
    assert at.query_params["width"] == "256"
    at.selectbox(key="cfg_t_data").set_value("digits").run()
    assert at.text_input(key="cfg_t_width").value == "32"
    at.text_input(key="cfg_t_width").set_value("40").run()
    at.selectbox(key="cfg_t_data").set_value("mnist").run()
    assert at.text_input(key="cfg_t_width").value == "40" and not at.exception


def test_a_links_value_is_kept_even_when_it_equals_another_data_sets_default():
    """A link's width of 32 on mnist (32 is the plain default, mnist's is 256) is the link's choice: it stays."""
    at = AppTest.from_string(SCRIPT, default_timeout=30)
    at.query_params.update({"data": "mnist", "width": "32"})
    at.run()
    assert at.text_input(key="cfg_t_width").value == "32" and not at.exception
    at.run()
    assert at.text_input(key="cfg_t_width").value == "32" and at.query_params["width"] == "32"


# -- what pages may not contain -----------------------------------------------------------------------------
BOUND_KEYWORDS = {"low", "high", "min_value", "max_value", "step", "max_items", "max_chars", "min", "max"}
RANGE_WIDGETS = {"slider", "number_input", "select_slider"}
PARSERS = {"parse_int", "parse_float", "parse_widths", "parse_sizes", "parse_items", "parse_values"}


def _number(node) -> bool:
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def page_violations(source: str) -> list[str]:
    """The rule, stated: a page passes no number literal as a bound (a keyword in BOUND_KEYWORDS, or a positional
    argument of st.slider / number_input / select_slider), calls no parser of its own (ranges and parsing are the
    settings layer's), and imports no plotly."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            found += [f"line {node.lineno}: imports {n}" for n in names if n and n.split(".")[0] == "plotly"]
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        found += [f"line {node.lineno}: {name}({k.arg}={ast.unparse(k.value)})" for k in node.keywords
                  if k.arg in BOUND_KEYWORDS and _number(k.value)]
        if name in RANGE_WIDGETS:
            found += [f"line {node.lineno}: {name}(..., {ast.unparse(a)}, ...)" for a in node.args if _number(a)]
        receiver = getattr(getattr(node.func, "value", None), "id", "")
        if name in PARSERS or (name == "parse" and receiver in ("fields", "share")):
            found.append(f"line {node.lineno}: calls {name}")
    return found


def test_the_rule_catches_what_it_should():
    """The page rule flags a literal bound, a literal slider range, a page-side parser and a plotly import, and
    passes bounds read from the settings layer."""
    bad = ("import plotly.graph_objects as go\nst.slider('x', 1, 20, key='k')\nst.number_input('s', min_value=0)\n"
           "parse_int(t, 'Epochs', high=1000)\nfrom plotly import express\n")
    assert len(page_violations(bad)) == 7  # two imports, two slider bounds, min_value, the parser and its high
    assert page_violations("ui.field(FORM, 'cfg_x', check, high=linear.max_k(d))\nst.slider('t', lo, hi, step=s)\n"
                           "st.columns(3)\n") == []


@pytest.mark.parametrize("page", sorted(p.stem for p in (ROOT / "pages").glob("*.py")))
def test_pages_hold_no_limits_no_parsers_and_no_plotly(page):
    """Every page passes the rule of page_violations."""
    assert page_violations((ROOT / "pages" / f"{page}.py").read_text(encoding="utf-8")) == []


# -- CONTRIBUTING.md's worked example runs --------------------------------------------------------------------
EXAMPLE_SETUP = """
from dataclasses import dataclass
from types import SimpleNamespace

import streamlit as st

from aelab import fields, settings, ui
from aelab.fields import Check

_D = settings.FLOOR.dataclass_default


@dataclass(frozen=True)
class FloorConfig:
    bottleneck: int = _D("bottleneck")
    epochs: int = _D("epochs")


floor = SimpleNamespace(FloorConfig=FloorConfig, INTRO="How low can the error go?",
                        check=lambda cfg, bundle: Check(errors=settings.FLOOR.check(cfg, {"input_dim": bundle.input_dim})),
                        run=lambda bundle, cfg, ctx: cfg)
"""


def test_the_contributing_example_page_runs(monkeypatch):
    """The page in CONTRIBUTING.md, run as written against a small form and a stand-in lab: it shows the form's
    defaults, refuses a bad value with the field's message, and its Run button starts the job."""
    from conftest import wait_for_jobs

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    page = text.split("```python\nFORM, JOB")[1].split("```")[0]
    form = fields.Form({
        "cfg_fl_dataset": settings.dataset_field("fl_data"),
        "cfg_fl_code": fields.Field("fl_code", "int", 8, "code size", low=1, high=64, widget="text",
                                    high_from="input_dim", arg="bottleneck"),
        "cfg_fl_epochs": fields.Field("fl_epochs", "int", 40, "epochs", low=1, high=1000, widget="text",
                                      arg="epochs"),
    })
    monkeypatch.setattr(settings, "FLOOR", form, raising=False)
    at = AppTest.from_string(EXAMPLE_SETUP + "\nFORM, JOB" + page, default_timeout=60).run()
    assert not at.exception, at.exception[0].value
    assert at.text_input(key="cfg_fl_code").value == "8" and at.query_params["fl_epochs"] == "40"
    at.text_input(key="cfg_fl_code").set_value("100").run()  # the digits have 64 values per image
    assert "at most 64" in " ".join(e.value for e in at.error) and at.button(key="fl_run").disabled
    at.text_input(key="cfg_fl_code").set_value("4").run()
    at.button(key="fl_run").click().run()
    wait_for_jobs(30)
    at.run()
    assert not at.exception and at.session_state["fl"].bottleneck == 4
