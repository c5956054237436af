"""Fair sharing on Build & Train: with one training slot a second session (another student) waits, sees its place
and why, then gets turns while the first still trains (fair); with AELAB_SCHEDULER=fifo it waits for the end.

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


def start_long_then_short(a: Tab, b: Tab, epochs_b: int = 2):
    """Tab A trains 1,000 epochs of batch 8; once it runs, tab B presses Train for `epochs_b` epochs. Returns both
    jobs."""
    a.run().set("cfg_batch", "8").set("cfg_epochs", "1000").click("train_btn")
    job_a = a.job("train")
    assert wait_until(lambda: job_a.view().status == "running", 30)
    b.run().set("cfg_epochs", str(epochs_b)).set("cfg_seed", "9").click("train_btn")
    return job_a, b.job("train")


def finished_in(tab: Tab, seed: int, epochs: int) -> None:
    """The tab's page shows its own finished run."""
    tab.run().run()
    run = tab.at.session_state["aelab_run"]
    assert (run.status, run.epochs_done, run.cfg.seed) == ("done", epochs, seed)
    assert f"Finished {epochs} epochs." in tab.texts("success") and "queue" not in tab.progress_texts()


def test_second_student_gets_a_turn_while_the_first_still_trains(one_slot, monkeypatch):
    """Tab B trains at once (its first loss point), then waits at place 1 and is told why, then trains in a time
    slice and finishes while A's long run goes on.

    (Before the fair scheduler B waited for A's whole run: that behaviour is the fifo test below.)
    """
    monkeypatch.setenv("AELAB_TORCH_THREADS", "1")  # keep the test light on a shared 2-core machine
    monkeypatch.setenv("AELAB_TIME_SLICE", "8")  # long enough that B still waits when both pages are drawn
    monkeypatch.setattr(jobs, "_slots", None)
    a, b = Tab(), Tab()
    try:
        # B (1,000 epochs, ~15 s alone) trains at once for a 0.2 s first turn; then whichever of A and B has used
        # less of the CPU goes next, 8 s at a time, so B soon waits at place 1 during one of A's turns
        job_a, job_b = start_long_then_short(a, b, epochs_b=1000)
        assert wait_until(lambda: job_b.view().history.train and job_b.view().status == "queued", 30), \
            "B showed no loss point before waiting for A's turn"
        b.run()
        assert job_b.view().status == "queued"
        assert "place 1 in the queue · 1 other student is training; you get a turn of ~8 s every ~16 s" in \
            b.progress_texts()
        assert wait_until(lambda: job_a.view().eta is not None, 10)  # past its set-up, with a measured rate
        a.run()
        assert job_a.view().status == "running" and job_b.view().status == "queued"
        assert "sharing the CPU with 1 other student: you get about 50% of it, a turn every ~16 s · about" in \
            a.progress_texts()
        assert job_b.join(60), "B never got a turn"
        assert job_a.alive and job_a.view().status in ("running", "queued"), "A's long run ended early"
        finished_in(b, 9, 1000)
        a.run()
        assert "sharing the CPU" not in a.progress_texts()  # B is done: A trains alone again
        a.click("train_stop")
        assert job_a.join(30) and a.at.session_state["aelab_run"].status == "stopped"
        assert not a.at.exception and not b.at.exception
    finally:
        a.close()
        b.close()


def test_fifo_second_session_queues_then_trains_after_the_first(one_slot, monkeypatch):
    """AELAB_SCHEDULER=fifo: tab B waits at place 1 ('first come, first served') until A's job ends, then trains."""
    monkeypatch.setenv("AELAB_TORCH_THREADS", "1")
    monkeypatch.setenv("AELAB_SCHEDULER", "fifo")
    monkeypatch.setattr(jobs, "_slots", None)
    a, b = Tab(), Tab()
    try:
        job_a, job_b = start_long_then_short(a, b)
        assert jobs.slots().policy == "fifo"
        b.run()
        assert "place 1 in the queue · the server runs 1 job at a time, first come, first served" in b.progress_texts()
        assert job_b.view().status == "queued" and job_b.view().queue_position == 1
        assert not wait_until(lambda: job_b.view().status != "queued", 1.5)  # still waiting while A trains
        assert jobs.slots().running == 1 and job_a.view().status == "running"
        a.click("train_stop")
        assert job_a.join(30)
        assert job_b.join(60), "B never got the free slot"
        finished_in(b, 9, 2)
        assert a.at.session_state["aelab_run"].status == "stopped"
        assert not a.at.exception and not b.at.exception
    finally:
        a.close()
        b.close()
