"""Real browser (Playwright + Debian Chromium) at a projector's 1280x720 with Classroom mode on (issue 16): after
pressing Train the loss curve and the reconstructions are on screen without scrolling, no button's text is cut off,
every figure fits the window and starts its title inside itself, Train is a few Tab presses away, and when the run
ends a toast says so and the keyboard focus is back on Train. Screenshot: artifacts/screenshots/10-projector.png.
And at the same size in plain mode: the loss chart's plot tall enough to read, its labels where they belong.

Run: python -m pytest -q tests/test_browser_train_layout.py
"""
from __future__ import annotations

import pytest

from browser_util import chromium_page, require_browser, shot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
require_browser()

WIDTH, HEIGHT = 1280, 720
MOST_TABS = 20  # Tab presses from the top of the page to Train (the sidebar's links come first)

# Buttons whose label does not fit: a label element wider than what it is allowed to show (cut off or "…")
CUT_BUTTONS = """() => [...document.querySelectorAll('button')].filter(b => b.offsetParent !== null).flatMap(b => {
  const cut = [b, ...b.querySelectorAll('p, span, div')].some(e => e.scrollWidth > e.clientWidth + 1 &&
      getComputedStyle(e).overflow !== 'visible');
  return cut ? [b.innerText.trim() || b.getAttribute('aria-label') || '?'] : [];
})"""
# Every Plotly figure's box, and whether it lies wholly inside the window
ON_TRAIN = "() => document.activeElement?.tagName === 'BUTTON' && document.activeElement.innerText.includes('🚀 Train')"
BOXES = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].map(c => {
  const r = c.getBoundingClientRect();
  const title = c.querySelector('.gtitle');
  const box = e => { if (!e) return null; const q = e.getBoundingClientRect(); return {top: q.top, bottom: q.bottom}; };
  return {title: title ? title.textContent : '', top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          width: r.width, height: r.height, title_top: title ? title.getBoundingClientRect().top : null,
          plot: box(c.querySelector('.nsewdrag')), xtitle: box(c.querySelector('.g-xtitle')),
          ytitle: box(c.querySelector('.g-ytitle')), legend: box(c.querySelector('.legend')),
          yticks: [...c.querySelectorAll('.ytick text')].map(t => t.textContent)};
})"""
MIN_PLOT = 60  # px: the finished run's loss plot (the legend's three rows with BCE's floor left it 28 px)
MIN_PLOT_PLAIN = 100  # px: the loss plot in plain mode, during and after a run (a 150-px chart left it 35 px)


def figure(boxes: list[dict], title: str) -> dict:
    return next(b for b in boxes if title in b["title"])


def inside_window(box: dict) -> bool:
    return box["top"] >= 0 and box["left"] >= 0 and box["bottom"] <= HEIGHT and box["right"] <= WIDTH


def stacked(box: dict) -> bool:
    """The plot, then its x-axis title, then the legend, from the top down, none over another (a legend wrapped into
    rows ran over the x axis: "epoch" was drawn inside the plot)."""
    plot, xtitle, legend = box["plot"], box["xtitle"], box["legend"]
    return plot["bottom"] <= xtitle["top"] + 1 and xtitle["bottom"] <= legend["top"] + 1


def tall(box: dict) -> float:
    return box["bottom"] - box["top"]


def start_training(page, url: str, query: str):
    page.goto(f"{url}/build_train?{query}")
    train = page.get_by_role("button", name="🚀 Train")
    train.wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelector('[data-test-script-state]')"
                           "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=30_000)
    return train


def test_build_and_train_loss_chart_in_plain_mode():
    """1280x720, plain mode (the default): during and after a run the loss plot is at least MIN_PLOT_PLAIN px tall,
    its y-axis title no taller than the plot (it ran over the chart's title), plot, x-axis title and legend stacked,
    the y-axis labels read as the losses they mark (BCE on Digits stays under 1: plotly's own labels said "5" and "2"
    for 0.5 and 0.2), and the loss chart and the reconstructions on screen unscrolled."""
    with streamlit_server() as (url, *_), chromium_page(viewport=(WIDTH, HEIGHT)) as page:
        start_training(page, url, "epochs=400&loss=bce").click()  # ~10 s: long enough to look at it running
        page.locator(".js-plotly-plot").filter(has_text="reconstructions").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        for when in ("running", "finished"):
            if when == "finished":
                page.get_by_text("Finished 400 epochs.").first.wait_for(timeout=180_000)
                page.wait_for_timeout(1000)
            boxes = page.evaluate(BOXES)
            bars = page.locator('[data-testid="stProgress"]').count()
            assert (bars > 0) == (when == "running"), (when, bars)  # measured while the progress bar shows
            loss = figure(boxes, "Loss")
            assert tall(loss["plot"]) >= MIN_PLOT_PLAIN and tall(loss["ytitle"]) <= tall(loss["plot"]), (when, loss)
            assert stacked(loss), (when, loss)
            assert loss["yticks"] and all(0 < float(t) < 1 for t in loss["yticks"]), (when, loss["yticks"])
            for title in ("Loss", "reconstructions"):
                assert inside_window(figure(boxes, title)), (when, title, figure(boxes, title))
            print(f"\nPLAIN {when}: loss plot {tall(loss['plot']):.0f} px, y title {tall(loss['ytitle']):.0f} px")


def test_build_and_train_on_a_projector():
    """1280x720, Classroom mode: Train near in Tab order; after Train the loss curve and reconstructions are on
    screen unscrolled; no button text cut; every figure fits the window; the end brings a toast and the focus back."""
    with streamlit_server() as (url, *_), chromium_page(viewport=(WIDTH, HEIGHT)) as page:
        train = start_training(page, url, "classroom=1&epochs=60&loss=bce")  # BCE: its floor line too
        presses = 0
        for presses in range(1, 60):
            page.keyboard.press("Tab")
            if page.evaluate(ON_TRAIN):
                break
        assert presses <= MOST_TABS, f"{presses} Tab presses to reach Train"
        assert page.evaluate(CUT_BUTTONS) == []

        train.click()
        page.locator(".js-plotly-plot").filter(has_text="reconstructions").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # a few live updates
        assert page.evaluate("() => window.scrollY") == 0 and page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop") == 0
        boxes = page.evaluate(BOXES)
        for title in ("Loss", "reconstructions"):
            assert inside_window(figure(boxes, title)), (title, figure(boxes, title))
        assert stacked(figure(boxes, "Loss")), figure(boxes, "Loss")
        for box in boxes:
            assert box["width"] <= WIDTH and box["height"] <= HEIGHT - 60, box  # 60: Streamlit's header
            # a title's first line starts inside its chart: a wrapped title drawn from 8 px began 10 px above it
            assert box["title_top"] is None or box["title_top"] >= box["top"], box
        assert page.evaluate(CUT_BUTTONS) == []
        shot(page, "10-projector")

        page.get_by_text("Finished 60 epochs.").first.wait_for(timeout=180_000)
        toast = page.locator('[data-testid="stToast"]').filter(has_text="Finished 60 epochs")
        toast.first.wait_for(timeout=10_000)
        assert "Test loss" in toast.first.inner_text()
        page.wait_for_function(ON_TRAIN, timeout=10_000)
        loss = figure(page.evaluate(BOXES), "Loss")
        assert stacked(loss) and tall(loss["plot"]) >= MIN_PLOT, loss
        assert page.evaluate(CUT_BUTTONS) == []
        print(f"\nPROJECTOR Tab presses to Train: {presses}")
