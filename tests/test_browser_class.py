"""Real browser (Playwright + Debian Chromium): two students on one server with one training slot.

Student A starts a 1,000-epoch run on Build & Train and presses Pause; student B's 5-epoch run must then
finish in about the time it takes alone (issue 17, finding 1: a paused run held the only slot forever).
Each student is a separate browser context (own cookies: another person's browser).
Run: python -m pytest -q tests/test_browser_class.py
"""
import time

import pytest

from browser_util import chromium, new_tab, shot, skip_without_browser, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
skip_without_browser()


def open_build_train(browser, url: str, epochs: int):
    """A new student's browser on Build & Train with `epochs` typed in and a 2-number code.

    A 2-number code draws a flat scatter: the default 3-number code's 3D view costs headless Chromium about
    0.5 s of CPU per update (README, Known limit), which the paused page's polls would take from B's training.
    """
    page = new_tab(browser)
    page.goto(f"{url}/build_train?epochs={epochs}&code=2")  # a teacher's link sets both (the code is a slider)
    page.get_by_role("button", name="🚀 Train").wait_for(timeout=60_000)
    page.wait_for_timeout(700)  # the page's run with the link's values
    return page


def train_until_finished(page, epochs: int, timeout_s: float = 180) -> float:
    """Seconds from pressing Train to 'Finished N epochs.' on the page."""
    t0 = time.perf_counter()
    page.get_by_role("button", name="🚀 Train").click()
    page.get_by_text(f"Finished {epochs} epochs.").first.wait_for(timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def test_a_paused_run_does_not_hold_the_only_slot():
    """A pauses a 1,000-epoch run; B's 5-epoch run then finishes within 2x its time alone + 5 s."""
    with streamlit_server({"AELAB_MAX_JOBS": "1"}) as (url, *_), chromium() as browser:
        warm = open_build_train(browser, url, 5)
        train_until_finished(warm, 5)  # the server's first run imports torch's optimizer machinery: not timed
        alone = train_until_finished(open_build_train(browser, url, 5), 5)

        a = open_build_train(browser, url, 1000)
        a.get_by_role("button", name="🚀 Train").click()
        a.get_by_text("Training: epoch").first.wait_for(timeout=60_000)
        a.get_by_role("button", name="⏸ Pause").click()
        a.get_by_text("Training (paused)").first.wait_for(timeout=30_000)

        b = open_build_train(browser, url, 5)
        shared = train_until_finished(b, 5, timeout_s=2 * alone + 60)
        shot(b, "class-b-finished-while-a-paused")
        assert a.get_by_text("Training (paused)").count() >= 1  # A is still paused, its run still there
        print(f"\nBROWSER B's 5-epoch run: {alone:.2f} s alone, {shared:.2f} s while A's run was paused")
        assert shared <= 2 * alone + 5, f"B took {shared:.1f} s with A paused vs {alone:.1f} s alone"

        a.get_by_role("button", name="▶ Resume").click()  # A gets the slot back and trains on
        a.get_by_text("Training: epoch").first.wait_for(timeout=30_000)
        a.get_by_role("button", name="⏹ Stop").click()
        a.get_by_text("Stopped by you").first.wait_for(timeout=30_000)
        for page in (a, b):
            assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]
