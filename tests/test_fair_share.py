"""Fair sharing: with one training slot a second session waits in a FIFO queue, sees its place, then trains.

Uses session_tabs.Tab (one Streamlit session id per tab). Run: python -m pytest -q tests/test_fair_share.py
"""
import os

import pytest
import torch

from aelab import jobs
from session_tabs import Tab, wait_until


@pytest.fixture
def one_slot(monkeypatch):
    """AELAB_MAX_JOBS=1 for this test: a fresh server-wide limiter with one slot."""
    monkeypatch.setenv("AELAB_MAX_JOBS", "1")
    monkeypatch.setattr(jobs, "_slots", None)
    yield jobs.slots()
    for job in jobs.live_jobs():
        job.stop()
        job.join(10)


def test_slots_and_threads_follow_the_environment(one_slot, monkeypatch):
    """AELAB_MAX_JOBS sets the limit; each job gets cores // (limit + 1) torch threads (AELAB_TORCH_THREADS wins)."""
    before = torch.get_num_threads()
    try:
        assert one_slot.limit == 1 and jobs.slots() is one_slot
        assert jobs.pin_threads() == max(1, (os.cpu_count() or 1) // 2) == torch.get_num_threads()
        monkeypatch.setenv("AELAB_TORCH_THREADS", "3")
        assert jobs.pin_threads() == 3 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_second_session_queues_then_trains_after_the_first(one_slot, monkeypatch):
    """Tab B's job waits ('place 1 in the queue') while tab A trains; it runs once A's job ends."""
    monkeypatch.setenv("AELAB_TORCH_THREADS", "1")  # keep the test light on a shared 2-core machine
    a, b = Tab(), Tab()
    try:
        a.run().set("cfg_batch", "8").set("cfg_epochs", "1000").click("train_btn")
        job_a = a.job("train")
        assert wait_until(lambda: job_a.view().status == "running", 30)
        b.run().set("cfg_epochs", "2").set("cfg_seed", "9").click("train_btn")
        job_b = b.job("train")
        b.run()
        assert "place 1 in the queue" in b.progress_texts()
        assert job_b.view().status == "queued" and job_b.view().queue_position == 1
        assert not wait_until(lambda: job_b.view().status != "queued", 1.0)  # still waiting while A trains
        assert one_slot.running == 1 and job_a.view().status == "running"

        a.click("train_stop")
        assert job_a.join(30)
        assert job_b.join(60), "B never got the free slot"
        b.run().run()
        run_b = b.at.session_state["aelab_run"]
        assert (run_b.status, run_b.epochs_done, run_b.cfg.seed) == ("done", 2, 9)
        assert "Finished 2 epochs." in b.texts("success") and "queue" not in b.progress_texts()
        assert a.at.session_state["aelab_run"].status == "stopped"
        assert not a.at.exception and not b.at.exception
    finally:
        a.close()
        b.close()
