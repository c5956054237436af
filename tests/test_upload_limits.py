"""Server-side upload limits: raw PUTs to Streamlit's upload route, with a session's own XSRF token, are refused over
aelab's limits whatever the widgets say, and a session's files are released when it ends.

The first test pins the Streamlit internals aelab.ui.guard_uploads relies on, so a Streamlit upgrade that changes
them fails here loudly. Run: python -m pytest tests/test_upload_limits.py
"""
import inspect
import time
import uuid

import pytest
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

from aelab import checkpoint, limits, runs
from aelab.spec import ArchSpec, TrainConfig
from browser_util import browser_available, chromium_page, streamlit_server
from raw_session import RawSession, uploads_held

MB = limits.MB


def test_the_streamlit_internals_the_guard_relies_on_are_unchanged():
    """Streamlit 1.67's upload route stores files with add_file inside the request, in a MemoryUploadedFileManager
    with file_storage / _lock / _total_bytes, and st.cache_resource takes scope="session" with on_release."""
    import streamlit as st
    from streamlit.web.server.starlette import starlette_routes

    route = inspect.getsource(starlette_routes.create_upload_routes)
    assert "upload_mgr.add_file(" in route and "server.maxUploadSize" in route
    mgr = MemoryUploadedFileManager("/x")
    assert isinstance(mgr.file_storage, dict) and hasattr(mgr, "_lock") and mgr._total_bytes == 0
    for name in ("add_file", "remove_file", "remove_session_files"):
        assert callable(getattr(mgr, name))
    params = inspect.signature(st.cache_resource).parameters
    assert "scope" in params and "on_release" in params


def wait_held(url: str, want, timeout: float = 30.0) -> int:
    """Poll Streamlit's metrics (recomputed every 5 s) until the bytes held satisfy `want`."""
    deadline = time.monotonic() + timeout
    while True:
        held = uploads_held(url)
        if want(held) or time.monotonic() > deadline:
            return held
        time.sleep(0.5)


@pytest.mark.slow
def test_raw_uploads_are_refused_over_the_limits_and_released_when_the_session_ends():
    """Over-size files, files beyond a session's quota and beyond the server-wide total get HTTP 413 with the reason;
    what the server holds stays bounded by those limits; closing a session releases its files."""
    total_mb = 250  # a small server-wide bound, so two sessions reach it
    big = 80 * MB
    with streamlit_server(env={"AELAB_UPLOAD_TOTAL_MB": str(total_mb)}) as server:
        a, b = RawSession(server.url), RawSession(server.url)
        try:
            too_big = a.put(limits.MAX_FILE_BYTES + 1)  # under Streamlit's own 83 MiB cap: aelab's check refuses
            assert too_big.status_code == 413 and f"at most {limits.SERVER_MAX_UPLOAD_MB} MB" in too_big.text
            first = str(uuid.uuid4())
            assert a.put(big, file_id=first).status_code == 204
            assert a.put(big).status_code == 204
            for _ in range(3):  # the quota holds however often a script tries
                over = a.put(big)
                assert over.status_code == 413 and "session already holds" in over.text
            assert a.put(big, file_id=first).status_code == 204  # the same file again replaces, is not added
            assert b.put(big).status_code == 204  # 240 MB held in all
            full = b.put(20 * MB)
            assert full.status_code == 413 and "from all users" in full.text
            held = wait_held(server.url, lambda h: h == 3 * big)
            assert held == 3 * big <= total_mb * MB
            a.close()
            assert wait_held(server.url, lambda h: h == big) == big  # only b's file is left
        finally:
            a.close()
            b.close()
        assert wait_held(server.url, lambda h: h == 0) == 0


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not browser_available(), reason="Playwright or Chromium missing")
def test_a_replaced_upload_is_released_and_each_message_names_its_file(digits, tmp_path):
    """On Save & load in Chromium, with the browser's own DELETE requests blocked: a refused file replaced by a good
    one is released by the server all the same, the refusal disappears, and a file the browser itself refuses
    (over the uploader's limit) leaves a message that names the file it is about."""
    good = checkpoint.to_bytes(runs.train_run(digits, ArchSpec(64, (16,), 3), TrainConfig(epochs=1)))
    files = {"bad.pt": b"\x01" * 1_000_000, "good.pt": good, "huge.pt": b"\0" * (limits.CHECKPOINT_BYTES + 1)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with streamlit_server() as server, chromium_page() as page:
        page.route("**/_stcore/upload_file/**",
                   lambda route: route.abort() if route.request.method == "DELETE" else route.continue_())
        page.goto(f"{server.url}/model_io")
        page.get_by_text("Load a checkpoint", exact=True).wait_for(timeout=60_000)
        chooser = page.locator("input[type=file]")
        chooser.set_input_files(tmp_path / "bad.pt")
        page.get_by_text("Refused bad.pt:").wait_for(timeout=60_000)
        chooser.set_input_files(tmp_path / "good.pt")
        page.get_by_text("The file good.pt holds").wait_for(timeout=60_000)
        assert page.get_by_text("Refused bad.pt").count() == 0
        assert wait_held(server.url, lambda h: h == len(good)) == len(good)  # bad.pt is gone, good.pt kept
        chooser.set_input_files(tmp_path / "huge.pt")
        page.get_by_text(f"{limits.CHECKPOINT_MB}.0MB or smaller").wait_for(timeout=60_000)  # the widget's refusal
        assert page.get_by_text("The file good.pt holds").count() == 1  # the page's message is about good.pt
