"""Tests for aelab.jobs: background training with pause/resume/stop, errors, snapshots and the fair queue."""
import threading
import time


from aelab import jobs, runs
from aelab.spec import ArchSpec, TrainConfig

SPEC = ArchSpec(64, (32,), 2)


def wait_until(cond, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_job_trains_and_returns_a_run(digits):
    """A training job publishes progress and ends with a Run whose history has every epoch."""
    job = runs.start_training(digits, SPEC, TrainConfig(epochs=3, batch_size=128))
    assert job.join(60)
    view = job.view()
    assert view.status == "done" and view.state is not None and view.progress.epoch == 3
    assert isinstance(job.result, runs.Run) and job.result.epochs_done == 3


def test_pause_resume_stop(digits):
    """Pause freezes the step counter, resume continues it, stop ends the job and keeps the model."""
    job = runs.start_training(digits, SPEC, TrainConfig(epochs=500, batch_size=16))
    assert wait_until(lambda: job.view().progress is not None and job.view().progress.step > 5)
    job.pause()
    assert wait_until(lambda: job.view().status == "paused")
    frozen = job.view().progress.step
    time.sleep(0.4)
    assert job.view().progress.step == frozen
    job.resume()
    assert wait_until(lambda: job.view().progress.step > frozen)
    job.stop()
    assert job.join(10)
    assert job.view().status == "stopped"
    assert job.result.status == "stopped" and job.result.model is not None


def test_error_in_job_is_reported_not_raised():
    """An exception inside the job thread becomes status 'error' with the message kept."""
    def boom(ctx):
        raise RuntimeError("mid-epoch failure")

    job = jobs.Job(boom, name="boom").start()
    assert job.join(10)
    assert job.view().status == "error" and "mid-epoch failure" in job.view().message


def test_queue_keeps_arrival_order_with_positions(monkeypatch):
    """With one slot and long turns, later jobs wait in arrival order and report their queue position."""
    monkeypatch.setattr(jobs, "_slots", jobs.Scheduler(1, "fair", slice_s=600.0))  # turns: tests/test_scheduler.py
    gate = threading.Event()

    def hold(ctx):
        while not gate.is_set() and not ctx.should_stop():
            time.sleep(0.01)
        return "ok"

    first = jobs.Job(hold, "hold").start()
    assert wait_until(lambda: first.status == "running")
    second, third = jobs.Job(hold, "hold").start(), jobs.Job(hold, "hold").start()
    assert wait_until(lambda: second.view().queue_position == 1 and third.view().queue_position == 2)
    assert second.status == "queued"
    third.stop()  # leaving the queue frees the place
    assert third.join(5) and third.view().status == "stopped"
    gate.set()
    assert first.join(5) and second.join(5)
    assert second.result == "ok"


def test_snapshots_are_copies(digits):
    """The published weights are a copy: changing them does not touch the job's model."""
    job = runs.start_training(digits, SPEC, TrainConfig(epochs=2, batch_size=128))
    job.join(30)
    state = job.view().state
    key = next(iter(state))
    state[key].add_(100.0)
    assert not (job.result.model.state_dict()[key] == state[key]).all()


def test_pause_request_shows_at_once_and_ends_with_resume_or_stop():
    """pause_requested is True as soon as Pause is pressed (before the thread's next check), False after Resume or
    Stop: the page's Pause/Resume button follows what was pressed, not a status the thread has yet to reach."""
    gate = threading.Event()
    job = jobs.Job(lambda ctx: gate.wait(10), name="t-pause-flag", use_slots=False).start()
    assert not job.pause_requested
    job.pause()
    assert job.pause_requested and job.status == "running"  # the thread has not checked in yet
    job.resume()
    assert not job.pause_requested
    job.pause()
    job.stop()
    assert not job.pause_requested
    gate.set()
    assert job.join(5)


def test_a_view_is_drawable_once_the_job_published_something_not_when_only_its_status_changed():
    """Running (its version already counted up by the status change) is not yet something to draw; a fit's first
    update or a lab's published result is (ui.live_job keeps its quick pace until then)."""
    from aelab.train import History, Progress

    for publish in (lambda ctx: ctx.update(Progress(1, 1, 10, 1.0, 0.1), History(), None),
                    lambda ctx: ctx.publish(rows=[1])):
        go, published = threading.Event(), threading.Event()

        def fn(ctx, publish=publish):
            go.wait(10)
            publish(ctx)
            published.set()
            ctx.should_stop()
            go.wait(10)

        job = jobs.Job(fn, name="t-drawable", use_slots=False).start()
        assert wait_until(lambda: job.status == "running")
        view = job.view()
        assert view.version > 0 and not view.drawable
        go.set()
        assert published.wait(5) and job.view().drawable
        assert job.join(5)
