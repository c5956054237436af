"""What a teacher and students do on the Class board in a real browser (Playwright): shared by the one-server class
flow test and the two-replica test. Every step waits for what a person would see, never a fixed time.
"""
from __future__ import annotations

import re
import time

WAIT_MS = 120_000  # per step: a shared 2-core machine, training jobs queue for a slot
XSS_NAME = "<img src=x onerror=__pwned=1>"  # would set window.__pwned if the name were ever rendered as HTML
MD_NAME = "[x](http://evil) **b**"  # would become a link and bold text if rendered as Markdown


def main(page):
    return page.get_by_test_id("stMain")


def settle(page) -> None:
    page.wait_for_timeout(200)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def open_board(page, url: str) -> None:
    """A fresh tab on the Class board (a new Streamlit session)."""
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{url}/board")
    main(page).get_by_role("heading", name=re.compile("Class board")).first.wait_for()
    settle(page)


def teacher_starts_class(page, url: str) -> str:
    """Start a class as the teacher; returns its join code as shown on the board."""
    open_board(page, url)
    main(page).get_by_role("radio", name="the teacher").click()
    main(page).get_by_role("button", name="Start a new class").click()
    heading = main(page).get_by_text(re.compile(r"Join code: [0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}")).first
    heading.wait_for()
    return re.search(r"[0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{3}", heading.inner_text()).group(0)


def student_joins(page, url: str, code: str, name: str) -> None:
    open_board(page, url)
    main(page).get_by_label("Join code", exact=True).fill(code)
    main(page).get_by_label("Your name on the board", exact=True).fill(name)
    main(page).get_by_role("button", name="Join the class").click()
    main(page).get_by_text(f"You joined class {code}.").wait_for()


def student_trains_and_shares(page, epochs: int = 2) -> float:
    """Train a small model on Build & Train (reached from the sidebar: the same session) and share it; returns
    time.monotonic() when the page confirmed the share."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Build & Train", exact=True).click()
    box = main(page).get_by_label("Epochs", exact=True)
    box.wait_for()
    box.fill(str(epochs))
    box.press("Enter")
    settle(page)
    main(page).get_by_role("button", name="🚀 Train").click()
    main(page).get_by_text(f"Finished {epochs} epochs.").first.wait_for()
    main(page).get_by_role("button", name="📤 Share to class").click()
    main(page).get_by_text("Shared with your class.").wait_for()
    return time.monotonic()


def student_is_still_joined(page, url: str, code: str) -> None:
    """A new session of the student's browser (a reload, or another replica) on the board: joined, no form."""
    open_board(page, url)
    main(page).get_by_text(f"You joined class {code}.").wait_for()
    assert main(page).get_by_role("button", name="Join the class").count() == 0


DENOISING = "denoising?dn_epochs=3&dn_copies=1&dn_n=300"  # a link with small settings: a run takes seconds


def student_shares_from_denoising(page, url: str) -> float:
    """Open Denoising by a link (a new session of the same browser), commit the first answer, train, and share the
    finished comparison; returns time.monotonic() when the page confirmed the share."""
    page.goto(f"{url}/{DENOISING}")
    main(page).get_by_role("heading", name=re.compile("Denoising")).first.wait_for()
    settle(page)
    box = main(page).get_by_test_id("stRadio").filter(has_text="Predict first").first
    box.get_by_role("radiogroup").locator("label").first.click()
    settle(page)
    main(page).get_by_role("button", name="Commit", exact=True).first.click()
    main(page).get_by_text("Your prediction (locked)").first.wait_for()
    settle(page)
    main(page).get_by_role("button", name="🧽 Train both models").click()
    main(page).get_by_text(re.compile(r"^You predicted")).first.wait_for()
    main(page).get_by_role("button", name="📤 Share to class").click()
    main(page).get_by_text("Shared with your class.").wait_for()
    return time.monotonic()


def runs_shared(page) -> int | None:
    """The "Runs shared" number on the teacher's board (None while it is not drawn)."""
    metric = main(page).get_by_test_id("stMetric").filter(has_text="Runs shared")
    if metric.count() == 0:
        return None
    m = re.search(r"(\d+)\s*$", metric.first.inner_text().strip())
    return int(m.group(1)) if m else None


def wait_for_runs(page, n: int, timeout_s: float) -> float:
    """Wait until the teacher's board shows `n` runs shared; returns time.monotonic() then (raises on timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if runs_shared(page) == n:
            return time.monotonic()
        page.wait_for_timeout(50)
    raise AssertionError(f"the board did not show {n} shared runs within {timeout_s} s (shows {runs_shared(page)})")


def teacher_spotlights(page, name: str) -> None:
    """Open the teacher controls, pick the run of `name` and put it in the spotlight."""
    select = main(page).get_by_test_id("stSelectbox").filter(has_text="Spotlight on the big screen")
    if not select.is_visible():
        main(page).get_by_text("Teacher controls").click()
    option = page.get_by_role("option").filter(has_text=name).first
    for attempt in range(10):  # the board redraws every second; a redraw can close the open list: open it again
        select.click()
        try:
            option.wait_for(timeout=2000)
            option.click(timeout=2000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: retry, then fail with a screenshot below
            if attempt == 9:
                page.screenshot(path="artifacts/screenshots/board-spotlight-failed.png")
                raise
    main(page).get_by_role("button", name="Show in the spotlight").click()
    main(page).get_by_text("🔦 Spotlight").wait_for()
    main(page).get_by_test_id("stText").filter(has_text=name).first.wait_for()


def no_markup_ran(page) -> None:
    """Neither name was rendered as HTML or Markdown anywhere on the page."""
    assert page.evaluate("() => window.__pwned") is None, "a name's HTML ran"
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href="http://evil"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
