"""aelab.progress: the typed progress every lab reports (LabProgress), its label, and PhaseMonitor, which reports a
phase with the curve of the model training in it; JobContext.report / JobView.lab carry it through a real Job.

Run: python -m pytest -q tests/test_progress.py
"""
import pytest

from aelab.jobs import Job
from aelab.progress import LabProgress, PhaseMonitor, phase_monitor
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import History, build_seeded, fit


def test_label_counts_phases_and_items():
    """One phase: just its words; several: 'Model i of n: ...'; counted items are appended as 'k of m'."""
    assert LabProgress("Training").label == "Training"
    assert LabProgress("Plain AE", 1, 2).label == "Model 1 of 2: Plain AE"
    assert LabProgress("Measuring", 2, 2, unit="Step", item_index=3, item_total=7).label == \
        "Step 2 of 2: Measuring · 3 of 7"


@pytest.mark.parametrize("kw", [dict(phase_index=0), dict(phase_index=3, phase_total=2),
                                dict(item_index=2, item_total=1), dict(item_index=-1)])
def test_impossible_counts_are_refused(kw):
    """A phase outside 1..total or an item outside 0..total is a programming error, raised at once."""
    with pytest.raises(ValueError):
        LabProgress("x", **kw)


class Recorder:
    """A job context stand-in that records updates and reports."""

    def __init__(self):
        self.updates, self.labs = [], []

    def should_stop(self) -> bool:
        return False

    def update(self, progress, history, state) -> None:
        self.updates.append(history)

    def report(self, progress) -> None:
        self.labs.append(progress)


def test_phase_monitor_reports_the_phase_then_adds_the_live_curve(digits):
    """The phase is reported before its model has a curve; every fit update then reports the earlier curves plus
    the live one under the run's name, identical to what the fit passed on as the job's history."""
    earlier = History(epoch_x=[0, 1], test=[0.2, 0.1])
    ctx = Recorder()
    monitor = PhaseMonitor(ctx, LabProgress("Second model", 2, 2, histories={"first": earlier}), "second")
    assert list(ctx.labs[0].histories) == ["first"]
    spec, cfg = ArchSpec(64, (16,), 4), TrainConfig(epochs=2, batch_size=256)
    res = fit(build_seeded(spec, 0), digits.x_train, digits.x_test, cfg, monitor=monitor)
    last = ctx.labs[-1]
    assert list(last.histories) == ["first", "second"] and last.histories["first"] is earlier
    assert last.histories["second"].test == res.history.test == ctx.updates[-1].test
    assert len(ctx.labs) == 1 + len(ctx.updates)
    assert phase_monitor(None, LabProgress("x"), "x") is None  # no job: fit gets no monitor at all


def test_a_job_carries_the_report_as_view_lab():
    """JobContext.report publishes the LabProgress; JobView.lab returns that same object (None before any)."""
    lab = LabProgress("Only phase", histories={"m": History(epoch_x=[0], test=[1.0])})
    job = Job(lambda ctx: ctx.report(lab), name="t-progress", use_slots=False)
    assert job.view().lab is None
    job.start().join(10)
    assert job.view().lab is lab


def _live_view_script(with_lab: bool, finished: bool = False):
    """An AppTest script: a real job publishes a step, a loss history and (optionally) a LabProgress, then the page
    draws it with ui.lab_progress while the job is still running (or after it finished)."""
    import threading
    import time

    from aelab import ui
    from aelab.jobs import Job
    from aelab.progress import LabProgress
    from aelab.train import History, Progress

    h = History(step_x=[0.5, 1.0], train=[0.3, 0.2], epoch_x=[0, 1], test=[0.4, 0.25])
    release = threading.Event()

    def fn(ctx):
        ctx.update(Progress(1, 10, 20, 100.0, 1.0), h, None)
        if with_lab:
            ctx.report(LabProgress("Denoising AE", 2, 2, histories={"plain AE": h.copy(), "denoising AE": h}))
        release.wait(0 if finished else 20)

    job = Job(fn, name="t-ui-live", use_slots=False).start()
    while job.view().progress is None or (with_lab and job.view().lab is None):
        time.sleep(0.01)
    if finished:
        job.join(10)
    ui.lab_progress(job.view(), "t")
    release.set()
    job.join(10)


def test_ui_lab_progress_draws_the_phase_label_and_one_curve_per_model():
    """A running lab: the bar reads 'Model 2 of 2: ...' and the chart has a held-out and a training trace per model."""
    import json

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_live_view_script, args=(True,), default_timeout=30).run()
    assert not at.exception
    assert at.get("progress")[0].proto.text.startswith("Model 2 of 2: Denoising AE: epoch 1, step 10/20")
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [t["name"] for t in traces] == ["plain AE", "plain AE (training)", "denoising AE", "denoising AE (training)"]


def test_ui_lab_progress_for_a_plain_fit_and_after_the_end():
    """One plain fit: the bar says 'Training' and the chart is its train and held-out loss; once ended: the status."""
    import json

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_live_view_script, args=(False,), default_timeout=30).run()
    assert at.get("progress")[0].proto.text.startswith("Training: epoch 1")
    assert [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]] == ["train", "test (held out)"]
    at = AppTest.from_function(_live_view_script, args=(True, True), default_timeout=30).run()
    assert not at.get("progress") and not at.get("plotly_chart") and at.success[0].value == "Finished."
