"""Predict, then measure, in a real browser (Playwright + Debian Chromium): one full flow per experiment page.

On each page, opened by a link with small settings (its URL parameters) so a run takes seconds: nothing is revealed
before the prediction is committed; Commit locks it; the run's results then open with "You predicted X; this run
shows Y" and the verdict computed from the run. One server and one learner for the module, in file order (Encoder |
Decoder trains the quick model that Latent space then uses). Screenshots: artifacts/screenshots/predict-<page>.png.
Run: python -m pytest -m browser tests/test_browser_predict.py
"""
from __future__ import annotations

import os
import re

import pytest

from browser_util import chromium_page, require_browser, shot, streamlit_server

require_browser()
pytestmark = [pytest.mark.browser, pytest.mark.slow]

from playwright.sync_api import expect  # noqa: E402 - needs playwright installed

WAIT_MS = int(os.environ.get("AELAB_E2E_WAIT_MS", "120000"))  # per action: a shared machine, jobs queue for a slot


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as (url, *_):
        yield url


@pytest.fixture(scope="module")
def tab(server):
    with chromium_page((1400, 2200)) as page:
        page.set_default_timeout(WAIT_MS)
        yield page


def main(page):
    return page.get_by_test_id("stMain")


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def open_url(page, server: str, path: str, heading: str) -> None:
    page.goto(f"{server}/{path}")
    main(page).get_by_role("heading", name=re.compile(re.escape(heading))).first.wait_for()
    settle(page)


def commit_first_option(page) -> str:
    """Choose the first option of the predict-first question, press Commit; returns the option's text."""
    box = main(page).get_by_test_id("stRadio").filter(has_text="Predict first").first
    option = box.get_by_role("radiogroup").locator("label").first
    text = option.inner_text().strip()
    option.click()
    settle(page)
    main(page).get_by_role("button", name="Commit", exact=True).first.click()
    main(page).get_by_text("Your prediction (locked)").first.wait_for()
    settle(page)
    return text


def press(page, name: str) -> None:
    main(page).get_by_role("button", name=name, exact=True).first.click()


def revealed(page, prediction: str, verdict: str) -> None:
    """The echo of the prediction against the measured outcome, and a verdict sentence, are on the page."""
    echo = main(page).get_by_text(re.compile(r"^You predicted")).first
    echo.wait_for()
    expect(echo).to_contain_text(prediction[:30])
    expect(echo).to_contain_text("this run")
    main(page).get_by_text(verdict).first.wait_for()
    settle(page)
    assert page.locator('[data-testid="stException"]').count() == 0


LABS = [  # (URL path with small settings, heading, run button, a verdict phrase every outcome prints)
    ("bigger_bottleneck?bn_n=200&bn_epochs=10&bn_sizes=2%2C16", "bigger bottleneck", "🔬 Run experiment",
     "Held-out error went"),
    ("denoising?dn_epochs=3&dn_copies=1&dn_n=300", "Denoising", "🧽 Train both models", "The plain AE"),
    ("anomaly?an_epochs=5&an_sizes=4&an_n=500", "Anomaly detection", "🚨 Train on the normal classes",
     "The median error of the"),
    ("pca?pca_epochs=20", "PCA and the linear autoencoder", "🚀 Train", "the linear AE's held-out error is"),
    ("signals?sig_epochs=10", "Not only images", "🚀 Train on signals", "glitched windows rank"),
]


@pytest.mark.parametrize("path,heading,button,verdict", LABS, ids=[lab[0].split("?")[0] for lab in LABS])
def test_lab_page_predict_run_verdict(tab, server, path, heading, button, verdict):
    """Lab pages: no results before Commit; commit, run, then the echo and the computed verdict."""
    open_url(tab, server, path, heading)
    assert main(tab).get_by_text("You predicted").count() == 0
    prediction = commit_first_option(tab)
    press(tab, button)
    revealed(tab, prediction, verdict)
    shot(tab, f"predict-{path.split('?')[0]}")


def test_split_per_layer_predict_then_measure(tab, server):
    """Encoder | Decoder: train the quick model, predict where kNN reads the class best, then every layer is measured
    and the sentence about decoder layers appears with the echo."""
    open_url(tab, server, "split", "Encoder | Decoder")
    quick = main(tab).get_by_role("button", name=re.compile("Train a quick model here"))
    if quick.count():
        quick.first.click()
    main(tab).get_by_text("Commit your prediction to measure every layer.").first.wait_for()
    prediction = commit_first_option(tab)
    revealed(tab, prediction, "kNN accuracy is")
    shot(tab, "predict-split")


def test_latent_ae_vs_vae_predict_then_measure(tab, server):
    """Latent space, AE vs VAE: predict whose samples land closer, train the VAE twin, then the echo, the comparison
    sentence and the VAE's health (active units) appear."""
    open_url(tab, server, "latent", "Latent space")
    main(tab).get_by_role("tab", name=re.compile("AE vs VAE")).click()
    settle(tab)
    prediction = commit_first_option(tab)
    box = main(tab).get_by_label("Epochs", exact=True).first
    box.fill("5")
    box.press("Enter")
    settle(tab)
    press(tab, "Train the VAE")
    revealed(tab, prediction, "of samples in holes")
    main(tab).get_by_text("Active code units").first.wait_for()
    shot(tab, "predict-latent")


def test_lesson_predict_run_why(tab, server):
    """Lessons, step 1: predict, run, then what this run shows and the explanation of the measured outcome."""
    open_url(tab, server, "lessons?step=1", "Lessons")
    prediction = commit_first_option(tab)
    main(tab).get_by_role("button", name=re.compile("^▶")).first.click()
    revealed(tab, prediction, "Untrained, the outputs missed")
    main(tab).get_by_text("Why.").first.wait_for()
    shot(tab, "predict-lessons")
