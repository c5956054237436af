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


def plain(value):
    """Tuples as lists, as JSON holds them."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_every_page_has_old_links():
    """The file covers every page with a URL schema, with at least the defaults and a custom value in every field."""
    assert set(OLD) == set(FORMS)
    for page, links in OLD.items():
        assert len(links) >= 2, page
        assert set(links[1]["query"]) == {f.param for f in FORMS[page].schema.values()}, page


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_old_link_decodes_to_the_same_settings(page, i):
    """The new schema reads an old link to exactly the settings the old one read, with no note."""
    link = OLD[page][i]
    got, notes = share.decode(link["query"], FORMS[page])
    assert notes == []
    assert plain(got) == link["settings"]


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_old_link_fills_the_same_widget_state(page, i):
    """The settings of an old link fill the widgets exactly as before (text boxes get the same text)."""
    link = OLD[page][i]
    settings_now, _ = share.decode(link["query"], FORMS[page])
    assert plain(share.state_updates(FORMS[page], settings_now)) == link["state"]


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
