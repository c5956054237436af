"""Real browser (Playwright + Debian Chromium): the session model survives a reload, a new tab and a server restart.

The browser keeps its token cookie; the new server reads the same state folder.
Run: python -m pytest tests/test_browser_persist.py
"""
import re

import pytest

from browser_util import chromium_page, require_browser, shot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
require_browser()


def sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def wait_for_session_model(page, timeout: float = 30_000) -> str:
    """The sidebar's 'Session model: ...' line, once the page has drawn it."""
    page.get_by_text("Session model:").first.wait_for(timeout=timeout)
    return sidebar(page)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]


def test_model_survives_reload_new_tab_and_server_restart(tmp_path):
    """Train on Build & Train; reload, a new tab, and a new server on the same state folder all show the same
    session model, and the sidebar says it was restored; the cookie holds a token, not the model's file name."""
    env = {"AELAB_STATE_DIR": str(tmp_path / "sessions"), "AELAB_STATE_DAYS": "30"}
    with chromium_page() as page:
        with streamlit_server(env=env) as (url, *_):
            page.goto(f"{url}/build_train")
            page.get_by_role("button", name="🚀 Train").wait_for(timeout=60_000)
            epochs = page.get_by_label("Epochs", exact=True)
            epochs.fill("4")
            epochs.press("Enter")
            page.wait_for_timeout(500)
            page.get_by_role("button", name="🚀 Train").click()
            page.get_by_text("Finished 4 epochs.").first.wait_for(timeout=120_000)
            trained = wait_for_session_model(page)
            loss = re.search(r"4 epochs, test loss (\d\.\d{4})", trained)
            assert loss, trained
            line = f"4 epochs, test loss {loss.group(1)}"
            no_exception(page)

            page.reload()
            page.get_by_text("Restored your model from").first.wait_for(timeout=60_000)
            assert line in wait_for_session_model(page)
            page.get_by_text("Showing the session model").first.wait_for(timeout=30_000)
            no_exception(page)
            shot(page, "persist-01-reloaded")

            tab = page.context.new_page()  # a new tab of the same browser is the same student
            tab.goto(url)
            tab.get_by_text("Restored your model from").first.wait_for(timeout=60_000)
            assert line in wait_for_session_model(tab)
            tab.close()

        cookies = {c["name"]: c for c in page.context.cookies()}
        token = cookies["aelab_token"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token["value"]) and token["sameSite"] == "Strict"
        assert token["expires"] > 0  # a lasting cookie (AELAB_STATE_DAYS), not a browser-session one
        saved = list((tmp_path / "sessions").rglob("model.pt"))
        assert len(saved) == 1 and token["value"] not in str(saved[0])

        with streamlit_server(env=env) as (url2, *_):  # the server was stopped: a new process, same folder
            page.goto(url2)
            page.get_by_text("Restored your model from").first.wait_for(timeout=60_000)
            assert line in wait_for_session_model(page)
            page.get_by_role("link", name="Build & Train").first.click()
            page.get_by_text("Showing the session model").first.wait_for(timeout=30_000)
            no_exception(page)
            shot(page, "persist-02-after-restart")
