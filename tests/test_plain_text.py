"""Untrusted text is shown as plain text everywhere: a checkpoint's message and names, CSV file and column names, link
values. aelab.text.md / text.label are checked in a real browser against Streamlit's and plotly's own renderers; the
pages are checked (AppTest bodies) to pass every such string through them.

Run: python -m pytest tests/test_plain_text.py      (the browser test: -m browser)
"""
import io
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from aelab import checkpoint, runs, signals, text
from aelab.spec import ArchSpec, TrainConfig
from browser_util import ROOT, browser_available, chromium_page, streamlit_server
from conftest import shown, wait_for_jobs

HOSTILE = ["[x](http://evil.example/a)", "<img src=http://evil.example/i.png>", "**bold**", "# heading", "1. item",
           ":red[red] :smile: :material/home: $x^2$", "www.evil.example", "a@b.example", "&lt;tag&gt; &copy;",
           "`code`", "- item", "> quote", "~~strike~~", "a\\b", "<https://evil.example>",
           "![i](http://evil.example/i.png)", "line\nbreak\ttab", "| a | b |", '<a href="http://evil.example">x</a>']
MESSAGE = "[x](http://evil.example) <img src=x> **bold**"


def one_line(s: str) -> str:
    return " ".join(s.replace("\t", " ").split("\n"))


@pytest.mark.parametrize("s", HOSTILE)
def test_md_escapes_every_markup_character(s):
    """text.md keeps every character (readers see the string, on one line) and escapes all ASCII punctuation."""
    body = text.md(s)
    assert shown(body) == one_line(s)
    assert all(body[i - 1] == "\\" for i, c in enumerate(body) if c in "[]()<>*_`#!:@$&|~-" and i > 0)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not browser_available(), reason="Playwright or Chromium missing")
def test_streamlit_and_plotly_show_hostile_strings_literally():
    """In Chromium, each hostile string shows character for character in st.markdown, st.caption, st.error and a
    list item of st.warning, and as a plotly tick label; no link, image, emphasis, code, heading, quote, table or
    formula appears, and the page fetches nothing from the addresses in them."""
    env = {"AELAB_TEST_SAMPLES": json.dumps(HOSTILE), "PYTHONPATH": str(ROOT)}
    with streamlit_server(env=env, script=ROOT / "tests" / "apps" / "plain_text.py") as server, \
            chromium_page() as page:
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url)
        page.locator(".st-key-chart .js-plotly-plot").wait_for(timeout=60_000)
        for i, s in enumerate(HOSTILE):
            box = page.locator(f".st-key-sample_{i}")
            seen = box.inner_text().replace(text.WORD_JOINER, "")
            assert seen.count(one_line(s)) == 4, (s, seen)
            markup = box.evaluate("e => Array.from(e.querySelectorAll('a,img,strong,em,code,h1,h2,h3,ol,del,blockquote,"
                                  "table,.katex,[class*=Color]')).map(x => x.tagName)")
            assert markup == [] and box.locator("li").count() == 1, (s, markup)  # the one list item is our own
        ticks = page.locator(".st-key-chart .xtick text").all_text_contents()
        assert ticks == [one_line(s) for s in HOSTILE]
        assert page.locator(".st-key-chart a").count() == 0
        assert not [u for u in requests if "evil.example" in u]


# -- the pages pass untrusted text through text.md --------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_run(digits):
    run = runs.train_run(digits, ArchSpec(64, (16,), 3), TrainConfig(epochs=1, batch_size=256))
    run.message = MESSAGE  # as a crafted checkpoint delivers it
    return checkpoint.from_bytes(checkpoint.to_bytes(run))


def test_a_checkpoint_message_is_plain_text_on_build_and_train(hostile_run):
    """The loaded model's message appears escaped in Build & Train's caption (not as a link, image or bold)."""
    at = AppTest.from_file(str(ROOT / "pages" / "build_train.py"), default_timeout=60)
    at.session_state["aelab_run"] = hostile_run
    at.run()
    assert not at.exception
    caption = next(c.value for c in at.caption if "Showing the session model" in c.value)
    assert text.md(MESSAGE) in caption and MESSAGE not in caption and MESSAGE in shown(caption)


def test_names_inside_a_refusal_are_plain_text_on_save_and_load(hostile_run):
    """A checkpoint refused for an unknown data set named like a link shows that name escaped, as the file name."""
    payload = checkpoint.to_dict(hostile_run)
    payload["dataset"]["name"] = "[x](http://evil.example)"
    buf = io.BytesIO()
    torch.save(payload, buf)
    at = AppTest.from_file(str(ROOT / "pages" / "model_io.py"), default_timeout=60).run()
    at.file_uploader(key="model_io_upload").set_value(("**b**.pt", buf.getvalue(), "application/octet-stream")).run()
    assert not at.exception
    error = at.error[0].value
    assert "[x](http" not in error and "**b**" not in error
    assert "Refused **b**.pt: " in shown(error) and "'[x](http://evil.example)'" in shown(error)


def test_csv_file_and_column_names_are_plain_text():
    """CSV file and column names (notes, summary, per-column lines) are escaped; the chart's labels HTML-escaped."""
    rows = ["[c](http://evil.example),**bold**,<b>tag</b>"] + [f"{i},{(i * 7) % 13},x{i}" for i in range(60)]
    raw = "\n".join(rows).encode()
    at = AppTest.from_file(str(ROOT / "pages" / "signals.py"), default_timeout=60).run()
    at.file_uploader(key="csv_upload").set_value(("[f](http://evil.example).csv", raw, "text/csv")).run()
    assert not at.exception
    bodies = [e.value for e in [*at.success, *at.warning]]
    assert "[f](http://evil.example).csv" in shown(" ".join(bodies))
    assert all("](http" not in b and "<b>" not in b and "**bold**" not in b for b in bodies), bodies
    at.text_input(key="cfg_csv_epochs").set_value("3")
    at.button(key="csv_train_btn").click().run()
    wait_for_jobs()
    at.run()
    assert not at.exception
    lines = " ".join(m.value for m in at.markdown if "Hardest to rebuild" in m.value)
    assert "**bold**" not in lines and "**bold**" in shown(lines)
    fig = signals.column_error_figure(("<a href='x'>a</a>", "**bold**"), np.array([0.1, 0.2]))
    assert list(fig.data[0].x) == ["&lt;a href='x'&gt;a&lt;/a&gt;", "**bold**"]


def test_link_values_in_notes_are_plain_text():
    """A tampered link value that looks like an address is quoted in the page's note without becoming a link."""
    at = AppTest.from_file(str(ROOT / "pages" / "signals.py"), default_timeout=60)
    at.query_params["sig_csv_code"] = "www.evil.example"
    at.run()
    assert not at.exception
    notes = " ".join(w.value for w in at.warning if "could not be used" in w.value)
    assert "www.evil.example" in shown(notes) and "www.evil.example" not in notes
