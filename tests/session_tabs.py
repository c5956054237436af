"""AppTest "tabs" that each have their own Streamlit session id, for multi-session tests.

AppTest runs every script under one fixed session id ("test session id"), so two plain AppTests share
every `st.cache_resource(scope="session")` -- including `ui._session_jobs`, the per-tab job registry.
`Tab` gives each AppTest its own id, and `Tab.close()` clears that session's caches the way the
server does when a browser tab disconnects (`AppSession.clear_session_caches`), which runs their
`on_release` hooks (`ui._stop_all`).
Every new AppTest scans all installed packages for custom components on its first run (about 0.5 s);
tabs share one scan.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from pathlib import Path
from unittest import mock

from streamlit.runtime import caching
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

ROOT = Path(__file__).resolve().parents[1]
BUILD_TRAIN = str(ROOT / "pages" / "build_train.py")
_run_lock = threading.Lock()  # AppTest swaps process-wide globals (Runtime._instance) while it runs


@functools.cache
def shared_components():
    """One component registry for all tabs (AppTest would rescan site-packages for each new instance)."""
    from streamlit.components.v2.component_manager import BidiComponentManager

    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


def new_apptest(script, timeout: float = 60) -> AppTest:
    """AppTest.from_file (a path) or from_function (a function), reusing the shared component scan."""
    at = (AppTest.from_function(script, default_timeout=timeout) if callable(script)
          else AppTest.from_file(script, default_timeout=timeout))
    at._bidi_component_manager = shared_components()  # private in streamlit 1.67: if it goes, tabs only get slower
    return at


def registry_probe() -> None:
    """An app script that hands back this session's job registry (run through AppTest)."""
    import streamlit as st

    from aelab import ui

    st.session_state["registry"] = ui._session_jobs()


@contextlib.contextmanager
def as_session(session_id: str):
    """AppTest runs inside this block get `session_id` (instead of AppTest's one fixed id)."""
    original = LocalScriptRunner.__init__

    def init(runner, *args, **kwargs):
        original(runner, *args, **kwargs)
        runner._session_id = session_id  # what get_script_run_ctx().session_id reports during the run

    with _run_lock, mock.patch.object(LocalScriptRunner, "__init__", init):
        yield


def registry_of(session_id: str) -> dict:
    """The job registry (`ui._session_jobs()`) that a script run in session `session_id` gets."""
    probe = new_apptest(registry_probe, 30)
    with as_session(session_id):
        probe.run()
    return probe.session_state["registry"]


class Tab:
    """One browser tab: an AppTest of `script` that runs under its own session id."""

    def __init__(self, script: str = BUILD_TRAIN, timeout: float = 60, session_id: str | None = None):
        self.at = new_apptest(script, timeout)
        self.session_id = session_id or f"tab-{uuid.uuid4().hex[:12]}"
        self.closed = False

    def run(self) -> "Tab":
        """Run the script once (with pending widget changes) under this tab's session id."""
        assert not self.closed, "this tab was closed"
        with as_session(self.session_id):
            self.at.run()
        return self

    def set(self, key: str, value: str) -> "Tab":
        """Set the setting `key` to `value` (typed into a text box, or parsed for another widget) and rerun."""
        from conftest import set_field

        set_field(self.at, key, value)
        return self.run()

    def click(self, key: str) -> "Tab":
        self.at.button(key=key).click()
        return self.run()

    def registry(self) -> dict:
        """This tab's job registry (`ui._session_jobs()` as seen from its session)."""
        return registry_of(self.session_id)

    def session_jobs(self) -> list:
        """The jobs this tab's session registry holds (released, i.e. stopped, when the tab closes)."""
        return list(self.registry().values())

    def job(self, key: str):
        """The tab's current job under a page's job key (what `ui.get_job(key)` returns in that tab)."""
        return self.at.session_state["_aelab_jobs"][key]

    def texts(self, kind: str = "") -> str:
        """All texts of one element kind ("success", "info", "caption", ...) or of the usual ones."""
        kinds = [kind] if kind else ["success", "info", "warning", "error", "caption", "markdown"]
        return " ".join(str(e.value) for k in kinds for e in getattr(self.at, k))

    def progress_texts(self) -> str:
        return " ".join(e.proto.text for e in self.at.get("progress"))

    def close(self) -> None:
        """The tab disconnects: the server clears its session caches (stopping its jobs)."""
        caching.clear_session_resource_cache(self.session_id)
        caching.clear_session_data_cache(self.session_id)
        self.closed = True


def wait_until(predicate, timeout: float = 30.0, every: float = 0.02) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
