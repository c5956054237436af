"""Links made before the settings layer still open the same settings: per page, every link in tests/old_links.json
(written once by the old hand-written schemas of aelab/share.py: the defaults, a custom value in every field, links
as teachers typed them) decodes to the same settings and fills the same widget state, and opening one through
app.py shows those values.

Run: python -m pytest -q tests/test_old_links.py
"""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from aelab import fields, settings, share
from conftest import ROOT

OLD = json.loads((ROOT / "tests" / "old_links.json").read_text(encoding="utf-8"))["pages"]
FORMS = {"build_train": settings.BUILD_TRAIN, "bigger_bottleneck": settings.BOTTLENECK, "split": settings.SPLIT,
         "latent": settings.LATENT, "denoising": settings.DENOISING, "anomaly": settings.ANOMALY,
         "pca": settings.PCA, "signals": settings.SIGNALS, "app": settings.APP}
CASES = [(page, i) for page, links in OLD.items() for i in range(len(links))]
# URL parameters added after the links were written: an old link lacks them, so they take their defaults, which
# describe the model those links made (issue 14: the dense layout, no conv channels, no code activation, no sparsity)
ADDED = {"build_train": {"layout", "ch", "code_act", "sparse"},
         "denoising": {"dn_layout", "dn_ch"},  # issue 14: a convolutional pair
         "anomaly": {"an_layout", "an_ch"}}  # issue 14: convolutional detectors
# Build & Train's defaults changed with issue 16 (a sandglass per data set): a hand-typed link that leaves a setting
# out gets today's default for it, as share.decode promises; what a link states is read exactly as before.
NEW_DEFAULTS = {"build_train"}


def stated(page: str, link: dict) -> set[str]:
    """The setting keys an old link's values are compared on: all of them, or only those it states when the page's
    defaults have changed since (the others take today's defaults)."""
    keys = set(link["settings"])
    if page in NEW_DEFAULTS:
        keys = {k for k in keys if FORMS[page][k].param in link["query"]}
    return keys


def stated_state(page: str, link: dict) -> dict:
    """The old widget state of the settings `stated` compares (a layer list's _n and _0, _1, ... boxes with it)."""
    keys = stated(page, link)
    return {k: v for k, v in link["state"].items() if k in keys or k.rsplit("_", 1)[0] in keys}


def plain(value):
    """Tuples as lists, as JSON holds them."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_every_page_has_old_links():
    """The file covers every page with a URL schema, with at least the defaults and a custom value in every field
    (every field but those added since, listed in ADDED)."""
    assert set(OLD) == set(FORMS)
    for page, links in OLD.items():
        assert len(links) >= 2, page
        assert set(links[1]["query"]) == {f.param for f in FORMS[page].schema.values()} - ADDED.get(page, set()), page


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_old_link_decodes_to_the_same_settings(page, i):
    """The new schema reads an old link to exactly the settings the old one read, with no note; a setting added since
    takes its default (a link from before the conv layout opens the dense one)."""
    link = OLD[page][i]
    got, notes = share.decode(link["query"], FORMS[page])
    assert notes == []
    keys = stated(page, link)
    assert plain({k: v for k, v in got.items() if k in keys}) == {k: link["settings"][k] for k in keys}
    added = {k: v for k, v in got.items() if k not in link["settings"]}
    assert {FORMS[page][k].param for k in added} == ADDED.get(page, set())
    assert all(v == FORMS[page][k].default for k, v in got.items() if k not in keys)


def same_value(form, key: str, old, now) -> bool:
    """Whether widget state `now` holds the value old state `old` held: the same text in a text box; for a field
    whose widget has changed since (a text box became a slider or a number input, issue 16), the value the old
    text parses to."""
    f = form.get(key)
    if f is None or f.as_text or not isinstance(old, str):
        return plain(now) == old
    return fields.parse(f, old) == now


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_old_link_fills_the_same_widget_state(page, i):
    """The settings of an old link fill the widgets exactly as before (text boxes get the same text, a widget that
    is no longer a text box the value that text meant)."""
    link = OLD[page][i]
    settings_now, _ = share.decode(link["query"], FORMS[page])
    keys = stated(page, link)
    state = share.state_updates(FORMS[page], {k: v for k, v in settings_now.items() if k in keys})
    old_state = stated_state(page, link)
    assert set(state) == set(old_state)
    for key, old in old_state.items():
        assert same_value(FORMS[page], key, old, state[key]), key


@pytest.mark.parametrize("page", [p for p in OLD if p != "app"])
def test_old_custom_link_opens_the_page_with_its_values(page):
    """Opened through app.py, an old link with a custom value in every field sets the page's session state to the
    old widget state (every field that page draws without a model keeps the link's value)."""
    link = OLD[page][1]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update(link["query"])
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].value
    for key, value in link["state"].items():
        if key in at.session_state and not key.endswith("_dataset") and key != "cfg_dataset":
            assert same_value(FORMS[page], key, value, at.session_state[key]), key
