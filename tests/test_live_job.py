"""Tests for ui.live_job: the page that collects a finished job's result draws the final state.

Run: python -m pytest -q tests/test_live_job.py
"""
from session_tabs import new_apptest


def app_with_a_job_that_ends_mid_run() -> None:
    """A page like the labs': `running` is read before the button, then the live view; the job ends in between."""
    import streamlit as st

    from aelab import ui
    from aelab.jobs import JobView
    from aelab.train import History

    class EndsAfterFirstLook:
        id = 7
        result = "trained"

        def __init__(self):
            self.looks = 0

        @property
        def alive(self) -> bool:
            self.looks += 1
            return self.looks == 1  # alive when the page checks first, ended by the time the live view looks

        def view(self) -> JobView:
            return JobView("done", "Finished.", None, History(), None, 1, 0)

    if "_aelab_jobs" not in st.session_state:
        st.session_state["_aelab_jobs"] = {"k": EndsAfterFirstLook()}
    running = ui.job_is_active("k")
    st.button("Train", key="train", disabled=running)
    ui.live_job("k", lambda view: st.caption(view.message), on_done=lambda job: st.session_state.update(res=job.result))
    if st.session_state.get("res") and not running:
        st.markdown("RESULTS")


def test_a_job_that_ends_during_a_page_run_still_gets_its_results_drawn():
    """The result collected in a full run triggers one more run: results drawn and the button enabled again."""
    at = new_apptest(app_with_a_job_that_ends_mid_run)
    at.run()
    assert not at.exception
    assert "RESULTS" in [m.value for m in at.markdown] and not at.button(key="train").disabled


def app_with_a_job_on_a_server_that_becomes_shared() -> None:
    """A live view whose job's turn says, from its second look on, that 3 students share 1 slot; its job has
    published its first update (a progress) when session state says `drawable`, else only changed status."""
    import streamlit as st

    from aelab import ui
    from aelab.jobs import JobView
    from aelab.scheduler import Turn
    from aelab.train import History, Progress

    class Shared:
        id, alive, looks = 3, True, 0

        def view(self) -> JobView:
            Shared.looks += 1
            others = 0 if Shared.looks == 1 else 2
            turn = Turn("fair", "running", 0, 1, others, 0, others, False, 1 / (others + 1), 3.0 if others else 0.0,
                        1.0, 5.0)
            progress = Progress(1, 10, 1000, 500.0, 0.2) if st.session_state.get("drawable") else None
            return JobView("running", "", progress, History(), None, 4, 0, turn=turn)

    if "_aelab_jobs" not in st.session_state:
        st.session_state["_aelab_jobs"] = {"k": Shared()}
    st.session_state["page_runs"] = st.session_state.get("page_runs", 0) + 1
    ui.live_job("k", lambda view: st.caption(f"others {view.turn.others}"))


def test_a_live_view_sets_its_slower_pace_with_one_full_run_when_the_server_becomes_shared():
    """The pace is fixed when a fragment is declared, so a change of pace reruns the page once, and not again."""
    at = new_apptest(app_with_a_job_on_a_server_that_becomes_shared)
    at.session_state["drawable"] = True
    at.run()
    assert not at.exception
    # first page run: alone (0.5 s); its fragment then sees the server shared and reruns the page, which declares
    # the fragment at the shared pace and draws without asking for another run
    assert at.session_state["page_runs"] == 2
    assert [c.value for c in at.caption] == ["others 2"]
    at.run()
    assert at.session_state["page_runs"] == 3 and [c.value for c in at.caption] == ["others 2"]


def test_a_live_view_keeps_its_quick_pace_until_the_job_has_drawn_something():
    """A job that only changed status (queued -> running, its version up) has nothing to show yet: the view keeps
    polling at its own pace, so the first loss point appears within one poll instead of one shared poll (up to 8 s,
    which made 30 students' first loss point p50 4.7 s), and the page is not rerun for it."""
    at = new_apptest(app_with_a_job_on_a_server_that_becomes_shared)
    at.run()
    assert not at.exception
    assert at.session_state["page_runs"] == 1 and [c.value for c in at.caption] == ["others 2"]
    at.session_state["drawable"] = True  # the first update arrives: this page run declares the shared pace
    at.run()
    assert at.session_state["page_runs"] == 2 and [c.value for c in at.caption] == ["others 2"]
