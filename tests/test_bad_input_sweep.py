"""Bad-input sweep: every text and number input on every page, reached through app.py, gets empty, negative,
zero, huge, non-numeric and unicode values. No value may raise; each value a field cannot use must bring a
clear message (st.error / st.warning) and disable the page's action button.

A coverage test checks that the table below lists every input the pages draw, so a new input cannot slip by.
Run: python -m pytest -q tests/test_bad_input_sweep.py
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from streamlit.testing.v1 import AppTest

from aelab import runs, signals
from aelab.spec import ArchSpec, TrainConfig
from conftest import ROOT

APP = str(ROOT / "app.py")
VALUES = {  # category -> what the learner types
    "empty": "",
    "negative": "-5",
    "zero": "0",
    "huge": "99999999999",
    "text": "abc",
    "unicode": "🚀 ∞ ü",
}
NUMBERS = {"negative": -5, "zero": 0, "huge": 10**12}  # st.number_input only holds numbers
ALL = frozenset(VALUES)
COUNT = ALL  # a whole number >= 1: every category is invalid
FROM_ZERO = ALL - {"zero"}  # seeds, held-out indices, beta: 0 is fine
BLANK_OK = ALL - {"empty"}  # blank means "all images" / "no hidden layer" / "only the main size"

# conditional inputs appear only in some states of a page (name -> session_state to set before the first run)
VAE_ASYM = "vae+asym"  # Build & Train: a VAE (beta input) with its own decoder widths
CONV = "conv"  # Build & Train, Denoising, Anomaly detection: the convolutional layout (channel counts input)
TSNE = "tsne"  # Latent space: the t-SNE view (points input)
TWIN = "twin"  # Latent space: the AE-vs-VAE tab with a trained twin (sample seed input)
INTERPOLATE = "interpolate"  # Latent space: the Interpolate tab open (only the open tab runs)
GENERATE = "generate"  # Latent space: the Generate tab open
COMPARE = "compare"  # Latent space: the AE-vs-VAE tab open, no twin yet
CSV = "csv"  # Not only images: a loaded CSV table (the table's model inputs)
EPOCHS = "epochs"  # Kinds side by side: the same-epochs budget (epochs input)


@dataclass(frozen=True)
class Field:
    page: str  # file name under pages/ without .py
    key: str  # widget key
    invalid: frozenset = COUNT  # categories that must bring a message (the others must be accepted)
    button: str | None = None  # the page's action button, disabled while the value is invalid
    click: str | None = None  # a button that submits the value (pressed with it)
    state: str = ""  # which conditional state shows the input (see above)
    number: bool = False  # an st.number_input (only numbers can be typed; the widget keeps its range)
    capped: frozenset = frozenset()  # invalid categories the page caps instead: an st.info naming the cap is enough
    cap_note: str = ""  # text that note contains


def _fields() -> list[Field]:
    bt = dict(page="build_train", button="train_btn", state=VAE_ASYM)
    bn = dict(page="bigger_bottleneck", button="bn_run")
    sp = dict(page="split", button="split_pair_train")
    dn = dict(page="denoising", button="dn_run")
    an = dict(page="anomaly", button="an_run")
    pc = dict(page="pca", button="pca_train_btn")
    sg = dict(page="signals", button="sig_train_btn")
    cv = dict(page="signals", button="csv_train_btn", state=CSV)
    cmp = dict(page="compare", button="cmp_run")
    return [
        # the bottleneck and the learning rate are sliders (no typing); epochs and batch size number inputs
        *(Field(key=f"cfg_enc_{i}", **bt) for i in range(2)),
        *(Field(key=f"cfg_dec_{i}", **bt) for i in range(2)),
        Field(key="cfg_batch", number=True, **bt), Field(key="cfg_epochs", number=True, **bt),
        Field(key="cfg_seed", invalid=FROM_ZERO, **bt), Field(key="cfg_beta", invalid=FROM_ZERO, **bt),
        Field("build_train", "cfg_channels", button="train_btn", state=CONV),
        Field(key="cfg_bn_n_train", **bn), Field(key="cfg_bn_hidden", invalid=BLANK_OK, **bn),
        Field(key="cfg_bn_epochs", **bn), Field(key="cfg_bn_seed", invalid=FROM_ZERO, **bn),
        Field(key="cfg_bn_sizes", **bn), Field(key="cfg_bn_batch", **bn), Field(key="cfg_bn_lr", **bn),
        Field(key="cfg_split_deep", invalid=BLANK_OK, **sp), Field(key="cfg_split_shallow", invalid=BLANK_OK, **sp),
        Field(key="cfg_split_code", **sp), Field(key="cfg_split_epochs", **sp), Field(key="cfg_split_n", **sp),
        Field("latent", "cfg_latent_tsne_n", state=TSNE, capped=frozenset({"huge"}), cap_note="t-SNE uses"),
        Field("latent", "latent_index_text", FROM_ZERO, click="latent_show_index"),
        Field("latent", "latent_from", FROM_ZERO, state=INTERPOLATE),
        Field("latent", "latent_to", FROM_ZERO, state=INTERPOLATE),
        Field("latent", "latent_other_epochs", button="latent_other_train", state=COMPARE),
        Field("latent", "latent_other_beta", FROM_ZERO, button="latent_other_train", state=COMPARE),
        Field("latent", "latent_seed", number=True, state=GENERATE),
        Field("latent", "latent_cmp_seed", number=True, state=TWIN),
        Field(key="cfg_dn_level", **dn), Field(key="cfg_dn_hidden", invalid=BLANK_OK, **dn),
        Field(key="cfg_dn_bottleneck", **dn), Field(key="cfg_dn_epochs", **dn), Field(key="cfg_dn_copies", **dn),
        Field(key="cfg_dn_n_train", invalid=BLANK_OK, **dn), Field(key="cfg_dn_channels", state=CONV, **dn),
        Field(key="cfg_an_hidden", invalid=BLANK_OK, **an), Field(key="cfg_an_bottleneck", **an),
        Field(key="cfg_an_epochs", **an), Field(key="cfg_an_sizes", invalid=BLANK_OK, **an),
        Field(key="cfg_an_n_train", invalid=BLANK_OK, **an), Field(key="cfg_an_channels", state=CONV, **an),
        Field(key="cfg_pca_epochs", **pc), Field(key="cfg_pca_lr", **pc), Field(key="cfg_pca_hidden", **pc),
        Field(key="cfg_pca_seed", invalid=FROM_ZERO, **pc),
        Field(key="cfg_sig_hidden", invalid=BLANK_OK, **sg), Field(key="cfg_sig_bottleneck", **sg),
        Field(key="cfg_sig_epochs", **sg), Field(key="cfg_sig_lr", **sg),
        Field(key="cfg_csv_hidden", invalid=BLANK_OK, **cv), Field(key="cfg_csv_bottleneck", **cv),
        Field(key="cfg_csv_epochs", **cv), Field(key="cfg_csv_lr", **cv),
        Field(key="cfg_cmp_seconds", **cmp), Field(key="cfg_cmp_epochs", state=EPOCHS, **cmp),
        Field(key="cfg_cmp_bottleneck", **cmp), Field(key="cfg_cmp_hidden", **cmp),
        Field(key="cfg_cmp_channels", **cmp),
        Field(key="cfg_cmp_wide", invalid=BLANK_OK, **cmp), Field(key="cfg_cmp_sparsity", invalid=FROM_ZERO, **cmp),
        Field(key="cfg_cmp_beta", invalid=FROM_ZERO, **cmp),
    ]


FIELDS = _fields()
PAGES = ["home", "build_train", "lessons", "bigger_bottleneck", "split", "latent", "denoising", "anomaly", "pca",
         "signals", "model_io", "compare", "draw"]
# Defects the sweep found, (key, category) -> what happens. The lead fixes the page and removes the entry.
# (A huge beta, found here first, is refused since spec.MAX_BETA.)
DEFECTS: dict[tuple[str, str], str] = {}


# -- one shared AppTest per page and state ------------------------------------------------------------------
@pytest.fixture(scope="module")
def models(digits):
    """A small plain AE as the session model, and its VAE twin for the AE-vs-VAE comparison."""
    spec, cfg = ArchSpec(64, (32,), 3), TrainConfig(epochs=2, batch_size=64, beta=0.1)
    ae = runs.train_run(digits, spec, cfg)
    vae = runs.train_run(digits, ArchSpec(64, (32,), 3, kind="vae"), cfg)
    return ae, vae


def state_for(name: str, models) -> dict:
    ae, vae = models
    base = {"aelab_run": ae}
    extra = {
        VAE_ASYM: {"cfg_kind": "vae", "cfg_asym": True},
        CONV: {"cfg_layout": "conv", "cfg_dn_layout": "conv", "cfg_an_layout": "conv"},
        TSNE: {"cfg_latent_view": "t-SNE 2D"},
        TWIN: {"latent_other_run": {"base": ae, "run": vae}, "cfg_latent_tab": "⚖️ AE vs VAE",
               "_predictions": {"latent": "vae"}},  # the comparison is revealed after a prediction
        INTERPOLATE: {"cfg_latent_tab": "↔️ Interpolate"},
        GENERATE: {"cfg_latent_tab": "🎲 Generate"},
        COMPARE: {"cfg_latent_tab": "⚖️ AE vs VAE"},
        CSV: {"signals_csv_data": signals.read_csv(signals.sample_csv(), "wine.csv")},
        EPOCHS: {"cfg_cmp_budget": "epochs"},
    }
    return {**base, **extra.get(name, {})}


def messages(at: AppTest) -> set[str]:
    """The texts of the error and warning boxes on the page."""
    return {str(b.value) for b in [*at.error, *at.warning]}


def action_button(at: AppTest, key: str | None):
    """The page's action button, or None when the page has none or does not draw it for this value."""
    if key is None:
        return None
    return next((b for b in at.button if b.key == key), None)


class Page:
    """One page opened through app.py with a given state; remembers its defaults and first messages."""

    def __init__(self, page: str, state: dict):
        self.page, self.state = page, state
        self.at = AppTest.from_file(APP, default_timeout=90)
        for k, v in state.items():
            self.at.session_state[k] = v
        self.at.run()
        self.at.switch_page(f"pages/{page}.py").run()
        assert not self.at.exception, self.at.exception[0].value
        self.baseline = messages(self.at)
        self.defaults = {w.key: w.value for w in self.inputs()}
        self.dirty: set[str] = set()

    def inputs(self) -> list:
        return [*self.at.text_input, *self.at.number_input]

    def widget(self, f: Field):
        return self.at.number_input(key=f.key) if f.number else self.at.text_input(key=f.key)

    def feed(self, f: Field, value) -> AppTest:
        """Put every earlier field back to its default, type `value` into `f`, submit, and rerun once."""
        for key in self.dirty - {f.key}:
            w = next(w for w in self.inputs() if w.key == key)
            w.set_value(self.defaults[key])
        self.dirty = {f.key}
        self.widget(f).set_value(value)
        if f.click:
            self.at.button(key=f.click).click()
        return self.at.run()


_PAGES: dict[tuple[str, str], Page] = {}


def page_for(f: Field, models) -> Page:
    """The shared page for this field's page and state (rebuilt when an earlier case left it broken)."""
    key = (f.page, f.state)
    p = _PAGES.get(key)
    if p is None or p.at.exception or f.key not in {w.key for w in p.inputs()}:
        p = _PAGES[key] = Page(f.page, state_for(f.state, models))
    return p


def cases():
    for f in FIELDS:
        values = NUMBERS if f.number else VALUES
        for category, value in values.items():
            reason = DEFECTS.get((f.key, category))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(f, category, value, id=f"{f.page}-{f.key}-{category}", marks=marks)


# -- the tests --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_the_table_lists_every_input_of_the_page(page, models):
    """Every st.text_input / st.number_input the page draws (in all its states) is in FIELDS, and no more."""
    listed = {f.key for f in FIELDS if f.page == page}
    states = {f.state for f in FIELDS if f.page == page} | {""}
    seen = set()
    for state in states:
        p = _PAGES[(page, state)] = Page(page, state_for(state, models))
        seen |= {w.key for w in p.inputs()}
    assert seen == listed, f"inputs on {page} not in the sweep: {seen - listed}; listed but not drawn: {listed - seen}"


@pytest.mark.parametrize("f,category,value", list(cases()))
def test_bad_value_gives_a_message_and_never_an_exception(f, category, value, models):
    """The page survives the value; an unusable value is named in a message and blocks the page's action."""
    p = page_for(f, models)
    at = p.feed(f, value)
    assert not at.exception, f"{f.page}/{f.key}={value!r} raised: {at.exception[0].value}"
    assert at.session_state["aelab_run"] is models[0], "the session model must survive bad input"
    if f.number:  # the widget refuses what is outside its range: the value stays inside it
        w = p.widget(f)
        lo, hi = w.min if w.min is not None else float("-inf"), w.max if w.max is not None else float("inf")
        assert lo <= w.value <= hi, f"{f.key} holds {w.value}, outside [{lo}, {hi}]"
        return
    new = messages(at) - p.baseline
    button = action_button(at, f.button)
    if category in f.capped:
        assert any(f.cap_note in str(b.value) for b in at.info), f"{f.key}={value!r}: no note about the cap"
    elif category in f.invalid:
        assert new, f"{f.page}/{f.key}={value!r} ({category}) was accepted without a message"
        assert button is None or button.disabled, f"{f.page}/{f.key}={value!r}: {f.button} stays enabled"
    else:
        assert not new, f"{f.page}/{f.key}={value!r} is valid but got {new}"
        if f.button:
            assert button is not None and not button.disabled, f"{f.page}/{f.key}={value!r} is valid but blocked"
