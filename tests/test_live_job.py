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
