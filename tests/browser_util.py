"""Helpers for the real-browser tests: start `streamlit run app.py` on a free loopback port, launch Chromium.

Chromium comes from Debian (`apt-get install chromium`); Playwright never downloads a browser here.
Screenshots go to artifacts/screenshots/ (see README).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("AELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(NamedTuple):
    url: str  # http://127.0.0.1:<port>
    proc: subprocess.Popen  # the `streamlit run` process
    t_spawn: float  # time.perf_counter() when it was started
    t_healthy: float  # time.perf_counter() when /_stcore/health first answered "ok"


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 90.0, options=(), log_path: Path | None = None):
    """Run the app on 127.0.0.1:<free port>, logging to a file; yields a Server and always stops it.

    `options` are extra "section.name=value" settings, as on the command line (--section.name value).
    """
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    for opt in options:
        name, _, value = opt.partition("=")
        cmd += [f"--{name}", value]
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="aelab-streamlit-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    with open(log_path, "ab") as log:  # a file, not a pipe: nobody has to drain it while the server runs
        t_spawn = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if time.perf_counter() - t_spawn > timeout:
                raise RuntimeError("streamlit did not become healthy in time")
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {log_path.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            time.sleep(0.02)
        yield Server(url, proc, t_spawn, time.perf_counter())
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextlib.contextmanager
def chromium(viewport=(1500, 1000)):
    """Launch Chromium; yields `new_page()`, which opens a page in a fresh browser context (its own cookies and
    storage: another person's browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def new_page():
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                          accept_downloads=True)
            # Streamlit saves a table's CSV through the browser's save-file picker when there is one; without
            # it, the same data comes as an ordinary download that a test can read
            context.add_init_script("window.showSaveFilePicker = undefined;")
            return context.new_page()

        try:
            yield new_page
        finally:
            browser.close()


@contextlib.contextmanager
def chromium_page(viewport=(1500, 1000)):
    with chromium(viewport) as new_page:
        yield new_page()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def skip_without_browser() -> None:
    """Skip the calling test module when Chromium or Playwright is missing (in CI that is an error instead)."""
    import pytest

    if browser_available():
        return
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install chromium and playwright (see .ci/run)")
    pytest.skip("Chromium or playwright missing (apt-get install chromium; pip install playwright)",
                allow_module_level=True)
