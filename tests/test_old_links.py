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

from aelab import settings, share
from conftest import ROOT

OLD = json.loads((ROOT / "tests" / "old_links.json").read_text(encoding="utf-8"))["pages"]
FORMS = {"build_train": settings.BUILD_TRAIN, "bigger_bottleneck": settings.BOTTLENECK, "split": settings.SPLIT,
         "latent": settings.LATENT, "denoising": settings.DENOISING, "anomaly": settings.ANOMALY,
         "pca": settings.PCA, "signals": settings.SIGNALS, "app": settings.APP}
CASES = [(page, i) for page, links in OLD.items() for i in range(len(links))]
ADDED = {  # settings added to a page since the old links were made: an old link opens them at their default
    "denoising": {"cfg_dn_layout", "cfg_dn_channels"},  # issue 14: a convolutional pair
    "anomaly": {"cfg_an_layout", "cfg_an_channels"},  # issue 14: convolutional detectors
}


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
        added = {FORMS[page][k].param for k in ADDED.get(page, ())}
        assert set(links[1]["query"]) == {f.param for f in FORMS[page].schema.values()} - added, page


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_old_link_decodes_to_the_same_settings(page, i):
    """The new schema reads an old link to exactly the settings the old one read, with no note; a setting added since
    takes its default (a link from before the conv layout opens the dense one)."""
    link = OLD[page][i]
    got, notes = share.decode(link["query"], FORMS[page])
    assert notes == []
    added = ADDED.get(page, set())
    assert plain({k: v for k, v in got.items() if k not in added}) == link["settings"]
    assert {k: got[k] for k in added} == {k: FORMS[page][k].default for k in added}


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_old_link_fills_the_same_widget_state(page, i):
    """The settings of an old link fill the widgets exactly as before (text boxes get the same text)."""
    link = OLD[page][i]
    settings_now, _ = share.decode(link["query"], FORMS[page])
    old = {k: v for k, v in settings_now.items() if k not in ADDED.get(page, set())}
    assert plain(share.state_updates(FORMS[page], old)) == link["state"]


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
            assert plain(at.session_state[key]) == value, key
