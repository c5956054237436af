"""End-to-end in a real browser (Playwright + Debian Chromium): one server, one learner, every page.

Each test opens a page from the sidebar, runs its main action with small settings, checks that no
exception box appears and that the expected figures render (by count and title), and saves
artifacts/screenshots/e2e-<page>.png. The tests run in file order, as one learner would click: the model
trained on Build & Train is what Encoder | Decoder, Latent space and Save & load work on.
Run: python -m pytest -m browser tests/test_e2e_pages.py
"""
from __future__ import annotations

import csv
import io
import os
import re
import time
from pathlib import Path

import pytest

from browser_util import browser_available, chromium_page, shot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install chromium and playwright (see .ci/run)")
    pytest.skip("Chromium or playwright missing (apt-get install chromium; pip install playwright)",
                allow_module_level=True)

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402 - needs playwright installed
from playwright.sync_api import expect  # noqa: E402

WAIT_MS = int(os.environ.get("AELAB_E2E_WAIT_MS", "120000"))  # per action: a shared machine, jobs queue for a slot
VIEWPORT = (1400, 2200)  # tall, so a screenshot holds most of a page (Streamlit scrolls inside its own container)


@pytest.fixture(scope="module")
def browser_tab():
    """One server and one browser tab for the whole module (a single learner's session)."""
    with streamlit_server() as (url, *_), chromium_page(VIEWPORT) as tab:
        tab.set_default_timeout(WAIT_MS)
        tab.goto(url)
        tab.get_by_text("learn autoencoders by building one").first.wait_for()
        yield tab


@pytest.fixture
def page(browser_tab, request):
    """The shared tab; a failing test leaves artifacts/screenshots/e2e-<test>-failed.png behind."""
    failed_before = request.session.testsfailed
    yield browser_tab
    if request.session.testsfailed > failed_before:
        shot(browser_tab, f"e2e-{request.node.name.removeprefix('test_')}-failed")


# -- helpers -------------------------------------------------------------------------------------------------
def main(page):
    """The page's main area (not the sidebar)."""
    return page.get_by_test_id("stMain")


def open_page(page, title: str, heading: str) -> None:
    """Click the page's sidebar entry (unfolding "View N more" when the entry is folded away) and wait for its title."""
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_text(re.compile(r"^View \d+ more$"))
    if not nav.get_by_role("link", name=title, exact=True).is_visible() and more.count():
        more.first.click()
    nav.get_by_role("link", name=title, exact=True).click()
    main(page).get_by_role("heading", name=re.compile(re.escape(heading))).first.wait_for()
    settle(page)


def settle(page) -> None:
    """Wait until the script run (and its spinner) has finished."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def type_into(page, label: str, value: str) -> None:
    """Fill a text input of the main area and commit it with Enter (as a learner does)."""
    box = main(page).get_by_label(label, exact=True).first
    box.fill(value)
    box.press("Enter")
    settle(page)


def expand(page, label: str) -> None:
    """Open an expander (a click would close it if Streamlit kept it open from the previous page)."""
    details = main(page).get_by_test_id("stExpander").filter(has_text=label).first.locator("details")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")


def press(page, name: str) -> None:
    main(page).get_by_role("button", name=name, exact=True).first.click()


def predict(page) -> None:
    """Commit the first option of the page's predict-first question (the page reveals its results after that)."""
    box = main(page).get_by_test_id("stRadio").filter(has_text="Predict first").first
    box.get_by_role("radiogroup").locator("label").first.click()
    settle(page)
    press(page, "Commit")
    main(page).get_by_text("Your prediction (locked)").first.wait_for()
    settle(page)


def download(page, name: str, folder, tries: int = 3):
    """Press a download button and save the file; presses again if a click landed during a rerun."""
    for attempt in range(tries):
        try:
            with page.expect_download(timeout=WAIT_MS / tries) as info:
                press(page, name)
            path = folder / info.value.suggested_filename
            info.value.save_as(path)
            return path
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            settle(page)


def no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()[:2000]


def charts(page, *titles: str, at_least: int) -> int:
    """Every titled figure is drawn and at least `at_least` figures are; returns the count.

    Figures in tabs other than the open one are drawn but hidden, so they count as drawn (attached).
    """
    plots = main(page).locator(".js-plotly-plot")
    for title in titles:
        plots.filter(has_text=title).first.wait_for(state="attached")
    deadline = time.monotonic() + WAIT_MS / 1000
    while plots.count() < at_least and time.monotonic() < deadline:  # plotly draws each figure after it mounts
        page.wait_for_timeout(250)
    n = plots.count()
    assert n >= at_least, f"{n} figures, expected at least {at_least}"
    return n


def done(page, name: str) -> None:
    no_exception(page)
    shot(page, f"e2e-{name}")


# -- one test per page, in sidebar order ---------------------------------------------------------------------
def test_home(page):
    """Home: the sandglass of the default network is drawn, with its parameter count in the title."""
    no_exception(page)
    charts(page, "parameters", at_least=1)
    done(page, "home")


def test_build_train(page):
    """Build & Train: a typo blocks Train with a message; 5 epochs finish; curves, images, the code space and the
    weights as images render."""
    open_page(page, "Build & Train", "Build & Train")
    type_into(page, "Seed", "five")
    main(page).get_by_text("Seed must be a whole number").first.wait_for()
    expect(main(page).get_by_role("button", name="🚀 Train", exact=True)).to_be_disabled()
    no_exception(page)
    type_into(page, "Seed", "0")
    type_into(page, "Epochs", "5")
    press(page, "🚀 Train")
    main(page).get_by_text("Finished 5 epochs.").first.wait_for()
    settle(page)
    charts(page, "Loss (lower is better)", "reconstructions", "Code space", "parameters", "Weights as images",
           at_least=5)
    assert page.get_by_test_id("stSidebar").get_by_text("Session model:").count() == 1
    done(page, "build_train")


def test_lessons(page):
    """Lessons: commit a prediction for step 1, run its experiment, and see the measured outcome and its figure."""
    open_page(page, "Lessons", "Lessons")
    predict(page)
    main(page).get_by_role("button", name=re.compile("^▶")).first.click()
    main(page).get_by_text("Measured on this machine in").first.wait_for()
    settle(page)
    assert main(page).get_by_test_id("stAlertContentInfo").count() >= 1  # the measured summary
    charts(page, at_least=1)
    done(page, "lessons")


def test_bigger_bottleneck(page):
    """Bigger bottleneck: two code sizes on 200 images; the error, curve, OOD and probe figures render."""
    open_page(page, "Bigger bottleneck?", "bigger bottleneck")
    type_into(page, "Training-set size", "200")
    type_into(page, "Epochs", "10")
    type_into(page, "Bottleneck sizes", "2, 16")
    predict(page)
    press(page, "🔬 Run experiment")
    main(page).get_by_role("heading", name="What was measured").wait_for()
    settle(page)
    charts(page, "Train vs test error", "Loss of each model: held out (solid), training (dotted)",
           "Does it just copy anything?",
           "Are the codes useful?", at_least=6)
    done(page, "bigger_bottleneck")


def download_table_csv(page, table) -> str:
    """The CSV that a table's toolbar button ("Download as CSV") saves."""
    table.hover()
    holder = table.locator("xpath=ancestor::*[@data-testid='stElementContainer'][1]")  # holds the table's toolbar
    with page.expect_download() as download:
        holder.get_by_role("button", name="Download as CSV").click()
    return Path(download.value.path()).read_text(encoding="utf-8-sig")


def test_split(page):
    """Encoder | Decoder on the session model: per-layer views, then the asymmetric pair trains and compares."""
    open_page(page, "Encoder | Decoder", "Encoder | Decoder")
    predict(page)
    before = charts(page, "kNN", "width (units, log scale)", at_least=2)
    rows = list(csv.reader(io.StringIO(download_table_csv(page, main(page).get_by_test_id("stDataFrame").first))))
    assert rows[0][:3] == ["module", "layer", "output width"] and rows[1][1] == "input" and len(rows) >= 10
    type_into(page, "Epochs", "3")
    type_into(page, "Training images", "300")
    press(page, "Train both")
    charts(page, "Loss curves: same code size, depth on opposite sides", "both reconstructions", at_least=before + 2)
    settle(page)
    done(page, "split")


def test_latent(page):
    """Latent space: code scatter, decoder, lattice, paths and samples; then a VAE twin trains for AE vs VAE."""
    open_page(page, "Latent space", "Latent space")
    charts(page, "Held-out codes", at_least=1)
    for tab, title in (("Decode & grid", "decoded from the sliders"), ("Interpolate", "through the code"),
                       ("Generate", "decoded samples")):  # only the open tab runs: each click reruns the page
        main(page).get_by_role("tab", name=re.compile(tab)).click()
        charts(page, title, at_least=1)
        settle(page)
    main(page).get_by_role("tab", name=re.compile("AE vs VAE")).click()
    settle(page)
    predict(page)
    type_into(page, "Epochs", "5")
    press(page, "Train the VAE")
    main(page).get_by_text("Sample distance ÷ held-out distance").first.wait_for()
    settle(page)
    charts(page, "Samples from the prior", at_least=4)  # each model's code space and samples (this tab only)
    done(page, "latent")


def test_denoising(page):
    """Denoising: a 3-epoch plain-vs-denoising run on 300 images; examples, error bars and the level sweep render."""
    open_page(page, "Denoising", "Denoising")
    expand(page, "Model and training")
    type_into(page, "Epochs", "3")
    type_into(page, "Noisy copies per image", "1")
    type_into(page, "Training images (blank = all)", "300")
    predict(page)
    press(page, "🧽 Train both models")
    main(page).get_by_role("heading", name="What was measured").wait_for()
    settle(page)
    charts(page, "Preview of the noise", "what each model made of them", "Error against the clean image (",
           "at other test noise levels", at_least=4)
    done(page, "denoising")


def test_anomaly(page):
    """Anomaly detection: two code sizes on 500 images; histogram, ROC, worst images and AUC figures render."""
    open_page(page, "Anomaly detection", "Anomaly detection")
    expand(page, "Model and training")
    type_into(page, "Epochs", "5")
    type_into(page, "Code sizes to compare", "4")
    type_into(page, "Training images (blank = all)", "500")
    predict(page)
    press(page, "🚨 Train on the normal classes")
    main(page).get_by_role("heading", name="What was measured").wait_for()
    settle(page)
    charts(page, "Reconstruction error of held-out images", "ROC curve", "Largest reconstruction errors",
           "Mean error against code size", at_least=5)
    done(page, "anomaly")


def test_pca(page):
    """PCA = linear AE: 20 epochs; the error curves against PCA, reconstructions and the spectrum render."""
    open_page(page, "PCA = linear AE", "PCA and the linear autoencoder")
    type_into(page, "Epochs", "20")
    predict(page)
    press(page, "🚀 Train")
    main(page).get_by_role("heading", name="What the measurements show").wait_for()
    settle(page)
    charts(page, "Held-out reconstruction error", "Variance along each principal direction",
           "rebuilt from k numbers", at_least=3)
    done(page, "pca")


def test_signals(page):
    """Not only images: sensor windows train and are scored; then the sample CSV table trains too."""
    open_page(page, "Not only images", "Not only images")
    type_into(page, "Epochs", "10")
    predict(page)
    press(page, "🚀 Train on signals")
    main(page).get_by_text("ROC AUC").first.wait_for()
    settle(page)
    charts(page, "Anomaly score of held-out windows", "ROC curve", at_least=3)
    main(page).get_by_role("tab", name="Your CSV table").click()
    press(page, "Use a sample table (wine measurements)")
    main(page).get_by_text("numeric columns").first.wait_for()
    settle(page)
    boxes = main(page).get_by_label("Epochs", exact=True)
    boxes.last.fill("30")
    boxes.last.press("Enter")
    settle(page)
    press(page, "🚀 Train on the table")
    charts(page, "Reconstruction error per column", at_least=5)
    settle(page)
    done(page, "signals")


def test_model_io(page, tmp_path):
    """Save & load: download the session model's checkpoint, upload it again and make it the session model."""
    open_page(page, "Save & load", "Save & load")
    path = download(page, "💾 Checkpoint (.pt)", tmp_path)
    assert path.stat().st_size > 1000
    main(page).locator('input[type="file"]').set_input_files(str(path))
    main(page).get_by_text(f"The file {path.name} holds").first.wait_for()
    press(page, "Use this model")
    main(page).get_by_text("it is now the session model on every page").first.wait_for()
    settle(page)
    done(page, "model_io")


def test_compare(page):
    """Kinds side by side: two kinds for 2 epochs each; the verdict, table and reconstructions appear."""
    open_page(page, "Kinds side by side", "Kinds side by side")
    main(page).get_by_text("Same epochs for each").first.click()
    settle(page)
    type_into(page, "Epochs per kind", "2")
    press(page, "⚖️ Train all kinds")
    main(page).get_by_text("Lowest held-out error").first.wait_for()
    charts(page, "Held-out error", "Reconstructions of the same held-out images", at_least=4)
    settle(page)
    done(page, "compare")


def test_draw(page):
    """Draw your own input: a mouse stroke on the canvas gives a reconstruction and a percentile."""
    open_page(page, "Draw your own input", "Draw your own input")
    quick = main(page).get_by_role("button", name="✏️ Train a small Digits autoencoder")
    if quick.count():  # no session model yet when this test runs alone
        quick.click()
    canvas = main(page).locator("canvas").first
    canvas.wait_for()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.45 * box["width"], box["y"] + 0.85 * box["height"], steps=8)
    page.mouse.up()
    main(page).get_by_text("% of test images").first.wait_for()
    charts(page, "reconstruction", "Your drawing in the code space", at_least=3)
    settle(page)
    done(page, "draw")


PAGES = {  # sidebar title -> text of the page's main heading
    "Home": "learn autoencoders", "Build & Train": "Build & Train", "Lessons": "Lessons", "Class board": "Class board",
    "Bigger bottleneck?": "bigger bottleneck", "Encoder | Decoder": "Encoder | Decoder", "Latent space": "Latent space",
    "Denoising": "Denoising", "Anomaly detection": "Anomaly detection", "PCA = linear AE": "PCA and the linear",
    "Not only images": "Not only images", "Save & load": "Save & load",
    "Kinds side by side": "Kinds side by side", "Draw your own input": "Draw your own input",
}


def test_every_page_again_with_all_results_in_the_session(page):
    """Coming back to every page, with every lab's results stored, draws it again without an exception."""
    nav = page.get_by_test_id("stSidebarNav").get_by_role("link")
    assert nav.count() == len(PAGES), "a page was added to app.py: give it a test above and an entry here"
    for title, heading in PAGES.items():
        open_page(page, title, heading)
        no_exception(page)
