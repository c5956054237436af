"""No leaks: after many sessions open, train and close, no training thread, job or model remains.

Sessions are session_tabs.Tab AppTests (one Streamlit session id each); closing a tab clears its
session caches exactly as the server does on disconnect, which runs ui._stop_all on its jobs.
Run: python -m pytest -q tests/test_leaks.py
"""
import gc
import threading
import weakref
from pathlib import Path

import pytest

from aelab import jobs
from session_tabs import ROOT, Tab, wait_until

SESSIONS = 50
RSS_BOUND_MB = 150  # memory may grow by at most this much over 50 sessions (allocator slack, caches)

HARNESS = """
import sys
sys.path.insert(0, {root!r})
import streamlit as st
from aelab import runs, ui
from aelab.spec import ArchSpec, TrainConfig

bundle = ui.get_bundle("digits")
st.session_state["bundle"] = bundle
if st.button("Train", key="train_btn"):
    cfg = TrainConfig(epochs=int(st.session_state.get("epochs", 2)), batch_size=64, seed=len(st.session_state))
    ui.set_job("train", runs.start_training(bundle, ArchSpec(bundle.input_dim, (16,), 2), cfg))
ui.live_job("train", ui.progress_bar, on_done=lambda job: ui.set_run(job.result))
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> str:
    """A one-widget app that trains like Build & Train does (ui.set_job + ui.live_job), only smaller."""
    path = Path(tmp_path_factory.mktemp("leak")) / "harness.py"
    path.write_text(HARNESS.format(root=str(ROOT)))
    return str(path)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def aelab_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("aelab-") and t.is_alive()]


def one_session(harness: str, i: int, refs: list):
    """Open a tab, train; odd tabs close mid-training (or while queued), even ones after their model arrives."""
    tab = Tab(harness)
    tab.at.session_state["epochs"] = 1000 if i % 2 else 2
    tab.run().click("train_btn")
    job = tab.job("train")
    assert tab.session_jobs() == [job]
    refs.append(weakref.ref(job))
    if i % 2 == 0:
        assert job.join(60)
        tab.run()  # on_done stores the model in the session
        refs.append(weakref.ref(tab.at.session_state["aelab_run"].model))
    bundle = tab.at.session_state["bundle"]
    tab.close()
    if i % 2:
        assert job.join(10) and job.view().status == "stopped", "closing the tab did not stop its job"
    return bundle


def test_fifty_sessions_leave_no_threads_jobs_models_or_memory(harness):
    """50 sessions train and close: no aelab thread or job is left, models are freed, RSS ends near baseline."""
    for i in range(2):  # warm up imports, the data cache and allocator pools before the baseline
        one_session(harness, i, [])
    gc.collect()
    base = rss_mb()
    refs: list[weakref.ref] = []
    bundles = {id(one_session(harness, i, refs)) for i in range(SESSIONS)}
    assert len(bundles) == 1  # the data set is loaded once and shared by every session

    assert wait_until(lambda: not jobs.live_jobs(), 30), [j.name for j in jobs.live_jobs()]
    assert wait_until(lambda: not aelab_threads(), 10), aelab_threads()
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert len(refs) == SESSIONS + SESSIONS // 2 and not alive, f"{len(alive)} jobs/models still referenced"
    grown = rss_mb() - base
    print(f"\nRSS after {SESSIONS} sessions: {grown:+.1f} MB over the warm baseline of {base:.0f} MB")
    assert grown < RSS_BOUND_MB


def test_replacing_a_job_stops_the_old_one(harness):
    """Pressing Train again replaces the session's job (ui.set_job) and stops the one it replaces."""
    tab = Tab(harness)
    tab.at.session_state["epochs"] = 1000
    tab.run().click("train_btn")
    first = tab.job("train")
    tab.click("train_btn")
    second = tab.job("train")
    assert second is not first
    assert first.join(10) and first.view().status == "stopped"
    assert second.alive and second in tab.session_jobs()
    tab.close()
    assert second.join(10) and not jobs.live_jobs()
