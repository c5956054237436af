"""Two browser sessions training at the same time never see or control each other's jobs and models.

AppTest gives every script one fixed session id, so these tests use session_tabs.Tab (one session
id per tab, as on a server). Run: python -m pytest -q tests/test_isolation.py
"""
import pytest
from streamlit.testing.v1 import AppTest

from aelab import jobs
from session_tabs import Tab, registry_probe, wait_until


@pytest.fixture
def tabs():
    """Make tabs; every tab is closed (its jobs stopped) when the test ends."""
    made = []

    def make(*args, **kwargs):
        made.append(Tab(*args, **kwargs))
        return made[-1]

    yield make
    for tab in made:
        if not tab.closed:
            tab.close()


def test_plain_apptests_share_a_registry_but_tabs_do_not():
    """Control: two plain AppTests share the session-scoped job registry; two Tabs get distinct ones."""
    plain = [AppTest.from_function(registry_probe, default_timeout=30) for _ in range(2)]
    for at in plain:
        at.run()
    assert plain[0].session_state["registry"] is plain[1].session_state["registry"]
    a, b = Tab(), Tab()
    reg_a, reg_b = a.registry(), b.registry()
    assert reg_a is not reg_b
    assert a.registry() is reg_a  # and each tab keeps its own across runs


def test_two_sessions_train_at_once_and_keep_their_own_models(tabs, monkeypatch):
    """A long run in tab A and a short one in tab B overlap; each tab's job, model and page are its own."""
    monkeypatch.setattr(jobs, "_slots", jobs.Scheduler(2))  # two run slots, so the runs really overlap
    a, b = tabs(), tabs()
    a.run().set("cfg_bottleneck", "2").set("cfg_seed", "11").set("cfg_batch", "8").set("cfg_epochs", "1000")
    b.run().set("cfg_bottleneck", "5").set("cfg_seed", "22").set("cfg_epochs", "3")
    a.click("train_btn")
    job_a = a.job("train")
    b.click("train_btn")
    job_b = b.job("train")
    assert job_a is not job_b and job_a.alive  # both train at the same time
    assert a.session_jobs() == [job_a] and b.session_jobs() == [job_b]

    assert job_b.join(60), "B's short run did not finish"
    b.run().run()  # on_done stores B's model, then the page redraws
    run_b = b.at.session_state["aelab_run"]
    assert (run_b.spec.bottleneck, run_b.cfg.seed, run_b.epochs_done, run_b.status) == (5, 22, 3, "done")
    assert "Finished 3 epochs." in b.texts("success") and not b.at.exception

    a.run()  # A is still training, untouched by B finishing, and has no model yet
    assert job_a.alive and job_a.view().status == "running"
    assert "aelab_run" not in a.at.session_state and "Finished" not in a.texts("success")
    assert a.session_jobs() == [job_a] and a.job("train") is job_a

    a.click("train_stop")  # A's Stop stops only A
    assert job_a.join(30)
    a.run()
    run_a = a.at.session_state["aelab_run"]
    assert (run_a.spec.bottleneck, run_a.cfg.seed, run_a.status) == (2, 11, "stopped")
    assert run_a.model is not run_b.model
    assert b.at.session_state["aelab_run"] is run_b  # B's model unchanged by A's stop
    assert not a.at.exception and not b.at.exception


def test_closing_one_tab_stops_only_its_job(tabs, monkeypatch):
    """Closing tab A (session released) stops A's training; tab B's keeps running to the end."""
    monkeypatch.setattr(jobs, "_slots", jobs.Scheduler(2))  # both tabs train at once
    a, b = tabs(), tabs()
    for tab in (a, b):
        tab.run().set("cfg_batch", "8").set("cfg_epochs", "1000").click("train_btn")
    job_a, job_b = a.job("train"), b.job("train")
    assert wait_until(lambda: job_a.view().status == "running" and job_b.view().status == "running", 30)
    a.close()
    assert job_a.join(10) and job_a.view().status == "stopped"
    assert job_b.alive and job_b.view().status == "running"
    assert job_a not in jobs.live_jobs() and job_b in jobs.live_jobs()
