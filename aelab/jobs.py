"""Background jobs: a thread that runs a function, with pause/resume/stop and thread-safe snapshots.

The thread never touches Streamlit. It publishes into a plain Job object under a lock; pages poll
`job.view()` from an `st.fragment(run_every=...)`. Jobs take the server's `AELAB_MAX_JOBS` slots in turns
decided by aelab/scheduler.py (fair shares per student, time slices), and charge their compute to a budget.
"""
from __future__ import annotations

import math
import os
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from aelab import config
from aelab.progress import LabProgress, Relay  # noqa: F401 - Relay is re-exported for the labs
from aelab.scheduler import Scheduler, Ticket, Turn
from aelab.scheduler import eta as _eta
from aelab.spec import compute_text
from aelab.train import History, Progress

ACTIVE = ("queued", "running", "paused")
_LAB = "_lab_progress"  # the extra key JobContext.report publishes under (read back as JobView.lab)


_slots: Scheduler | None = None
_slots_lock = threading.Lock()
_ids = iter(range(1, 1 << 62))
_live: "weakref.WeakSet[Job]" = weakref.WeakSet()  # every job whose thread may still run


def live_jobs() -> list["Job"]:
    """Jobs whose threads are still alive (for leak checks and shutdown)."""
    return [job for job in list(_live) if job.alive]


def slots() -> Scheduler:
    """The server-wide scheduler, created on first use from AELAB_MAX_JOBS (default: cores - 1) slots,
    AELAB_SCHEDULER (fair or fifo) and AELAB_TIME_SLICE (see scheduler.Scheduler for the rules).

    One core stays free for drawing pages: with 30 simulated students on 2 cores, one job at a time
    kept page responses at p95 1.47 s where two at a time gave 2.5 s (benchmarks/load_test.py).
    """
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = Scheduler(config.get("max_jobs"), config.get("scheduler"), config.get("time_slice"))
        return _slots


def pin_threads() -> int:
    """Give the calling thread cores // (job limit + 1) torch threads (AELAB_TORCH_THREADS overrides).

    torch's intra-op thread count is a per-thread OpenMP setting, so every job thread and every
    Streamlit script thread calls this. With more busy threads than cores, spinning OpenMP workers
    slow small-model training ~100x (measured: a digits epoch took 0.08 s with 1 thread and 14 s with
    2 threads on a loaded 2-core machine).
    """
    # cores // (slots + 1): every job gets its share and pages keep theirs. On 2 cores that is one thread,
    # which also trains the small lab models fastest (2 threads made the anomaly lab 13.6 s instead of ~7 s).
    n = config.get("torch_threads") or max(1, (os.cpu_count() or 1) // (slots().limit + 1))
    torch.set_num_threads(n)
    return n


_warm = threading.Event()


def warm_up(wait: bool = False) -> None:
    """Once per process: build a throwaway Adam optimizer, in a thread of its own (or in the caller's: `wait`).

    A process's first optimizer imports torch._dynamo (Optimizer.add_param_group is wrapped by
    torch._disable_dynamo), which took 4.7 s on a loaded 2-core machine; doing it while the learner is still
    reading the page keeps Train -> first loss point short.
    """
    if _warm.is_set():
        return
    _warm.set()

    def _run() -> None:
        torch.optim.Adam(torch.nn.Linear(1, 1).parameters(), lr=1e-3)

    if wait:
        _run()
    else:
        threading.Thread(target=_run, name="aelab-warmup", daemon=True).start()


@dataclass
class JobView:
    """An immutable-by-convention copy of a job's state for drawing."""

    status: str  # queued | running | paused | done | stopped | diverged | error
    message: str
    progress: Progress | None
    history: History
    state: dict | None  # latest weights (CPU copy) or None before the first snapshot
    version: int  # increases with every published update
    queue_position: int  # 1-based place in the server queue while queued
    extra: dict = field(default_factory=dict)  # anything else the job published
    turn: Turn | None = None  # the scheduler's view of this job (place, share, ...); None once it ended
    eta: float | None = None  # seconds left (scheduler.eta), None until measured; of the current model in labs
                              # that train several in a row (their step counter starts again)
    compute: float = 0.0  # compute charged so far (parameters x samples), see JobContext.charge
    budget: float = math.inf  # the job's compute limit in the same unit

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def drawable(self) -> bool:
        """The job has published something to draw (a fit's first update, or a lab's progress or results); a change
        of status alone (queued -> running) is not."""
        return self.progress is not None or bool(self.extra)

    @property
    def lab(self) -> LabProgress | None:
        """The lab's typed progress (JobContext.report), or None before its first report or for a plain fit."""
        return self.extra.get(_LAB)


class JobContext:
    """What the job's function gets: stop/pause checks, `charge` for compute, `update` (one fit's steps), `report`
    (a lab's typed progress) and `publish` (results such as finished rows)."""

    def __init__(self, job: "Job"):
        self._job = job

    def should_stop(self) -> bool:
        """True once Stop was pressed. Blocks while paused, and while waiting for the next turn (see Job)."""
        if self._job._fast:
            return False  # the per-step fast path: one attribute read, no lock, no clock
        return self._job._check()

    @property
    def waited(self) -> float:
        """Seconds this job spent inside should_stop off the CPU (paused, or waiting for its turn) so far.

        train.fit subtracts it, so samples/s describes the time the job actually trained."""
        return self._job._waited

    def charge(self, units: float) -> str:
        """Count `units` of compute (parameters x samples just trained on) against the job's budget.

        Returns "" while within budget, else the sentence to stop with (the caller stops, keeping its model).
        train.fit charges once per logged loss point; a continuation (runs.continue_run: Play, one step, one
        epoch) runs in a Job whose `budget` is what the run has left (runs.budget_left).
        """
        job = self._job
        with job._lock:
            job._compute += units
            over = job._compute > job.budget
        if not over:
            return ""
        return (f"Stopped: this run reached the server's compute limit of {compute_text(job.budget)} "
                "(parameters × training samples × epochs, AELAB_MAX_COMPUTE); the model keeps what it learned. "
                "To train longer, use fewer epochs per run, a smaller model or fewer training images.")

    def rest(self, seconds: float) -> None:
        """Wait `seconds` between two steps of a slowed-down run (train.fit's `pace`), waking at once on Stop.

        While another student waits for a slot (fair policy), the job gives its slot back for the rest and queues
        again, so a slow run never holds the CPU it does not use (fit counts the time as rested, not trained)."""
        job = self._job
        contended = []
        if job._ticket is not None:
            job._sched.with_contention(contended.append)
        if contended and contended[0]:
            job._sched.release(job._ticket)
            job._stop.wait(seconds)
            job._take_turn()  # False when stopped meanwhile: the next should_stop says so
        else:
            job._stop.wait(seconds)

    def update(self, progress: Progress, history: History, state: dict | None) -> None:
        job = self._job
        prev = job._progress
        if prev is None or progress.step < prev.step:  # a new model starts counting steps: measure its rate anew
            job._rate_base = (progress.step, job._sched.held(job._ticket) if job._ticket is not None else 0.0)
        with self._job._lock:
            self._job._progress, self._job._history = progress, history
            if state is not None:
                self._job._state = state
            self._job._version += 1
        if history.train:  # the first loss point is out: the first turn may end (scheduler.FIRST_POINT_MAX_S)
            self._job._shown()

    def publish(self, **extra: Any) -> None:
        with self._job._lock:
            self._job._extra.update(extra)
            self._job._version += 1
        self._job._shown()

    def report(self, progress: LabProgress) -> None:
        """Publish the lab's typed progress (phase, counts, every model's curves); pages read it as JobView.lab."""
        self.publish(**{_LAB: progress})


class Job:
    """Runs `fn(ctx)` in a daemon thread; its return value becomes `result`.

    `student` groups jobs for the fair scheduler (ui.student_key(); a job without one is its own student).
    `budget` is the compute limit the job's training charges against (default AELAB_MAX_COMPUTE).
    """

    def __init__(self, fn: Callable[[JobContext], Any], name: str = "job", use_slots: bool = True,
                 student: str = "", budget: float | None = None):
        self.id = next(_ids)
        self.name = name
        self.student = student or f"job-{self.id}"
        self.budget = float(config.get("max_compute") if budget is None else budget)
        self._fn = fn
        self._use_slots = use_slots
        self._sched: Scheduler | None = None  # the scheduler this job queues with (None: use_slots=False)
        self._ticket: Ticket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._fast = False  # True only while running, not paused or stopped, and nobody waits for a turn
        self._status = "queued"  # queued | running | paused, then how it ended (see JobView.status)
        self._message = ""
        self._progress: Progress | None = None
        self._history = History()
        self._state: dict | None = None
        self._extra: dict = {}
        self._version = 0
        self._compute = 0.0
        self._waited = 0.0
        self._rate_base = (0, 0.0)  # (step, slot seconds) when the current step count began (for the ETA)
        self.result: Any = None
        self.error: str | None = None
        self.started_at = time.time()
        self._thread = threading.Thread(target=self._run, name=f"aelab-{name}-{self.id}", daemon=True)

    # -- control -------------------------------------------------------------------------------
    def start(self) -> "Job":
        _live.add(self)
        self._thread.start()
        return self

    @property
    def pause_requested(self) -> bool:
        """Pause was pressed and Resume not yet (true at once, before the thread reaches its next check)."""
        return not self._resume.is_set() and not self._stop.is_set()

    def pause(self) -> None:
        """Pause at the next check; the job gives its slot to the next one at once."""
        with self._lock:
            if self._status not in ("running", "queued"):
                return
            self._resume.clear()
            self._fast = False
            if self._status == "queued":
                self._status, self._version = "paused", self._version + 1
        self._poke()

    def resume(self) -> None:
        with self._lock:
            self._resume.set()
            if self._status == "paused":  # it queues for a slot again (or runs at once when one is free)
                self._status, self._version = "queued", self._version + 1
        self._poke()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            self._fast = False
            self._resume.set()
        self._poke()  # a job waiting for a slot leaves the queue at once

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- state ---------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _set_status(self, status: str, message: str | None = None) -> None:
        with self._lock:
            self._status = status
            if message is not None:
                self._message = message
            self._version += 1

    def view(self) -> JobView:
        sched = self._sched
        turn = sched.turn(self.id) if sched is not None else None
        with self._lock:
            p, (step0, held0) = self._progress, self._rate_base
            eta = None
            if p is not None and turn is not None and self._status in ACTIVE:
                eta = _eta(p.step - step0, p.total_steps - p.step, turn.held - held0, turn.share)
            return JobView(self._status, self._message, p, self._history, self._state, self._version,
                           turn.place if turn is not None else 0, dict(self._extra), turn, eta, self._compute,
                           self.budget)

    # -- scheduling (the job's own thread) -------------------------------------------------------
    def _poke(self) -> None:
        if self._sched is not None:
            self._sched.poke()

    def _check(self) -> bool:
        """should_stop's slow path: stop, pause (slot given back), or the end of a turn while others wait."""
        if self._stop.is_set():
            return True
        if not self._resume.is_set():
            t0 = time.perf_counter()
            if self._ticket is not None:
                self._sched.release(self._ticket)
            self._set_status("paused")
            ok = self._take_turn()
            self._waited += time.perf_counter() - t0
            return not ok
        if self._ticket is not None:
            sched = self._sched
            if not sched.slice_over(self._ticket):
                return False  # within its turn: one clock read per step while others wait
            if sched.should_yield(self._ticket):
                t0 = time.perf_counter()
                sched.release(self._ticket)
                ok = self._take_turn()
                self._waited += time.perf_counter() - t0
                return not ok
        self._refresh_fast()
        return self._stop.is_set()

    def _take_turn(self) -> bool:
        """Queue for a slot and wait for it (False when stopped meanwhile), then run."""
        if self._ticket is None:
            while not self._resume.is_set():  # a job without a slot waits here while paused (stop sets it)
                self._resume.wait(0.1)
        else:
            with self._lock:  # under the lock: a pause pressed just now must not be shown as "queued"
                self._status = "queued" if self._resume.is_set() else "paused"
                self._version += 1
            if not self._sched.acquire(self._ticket, self._stop):
                return False
        if self._stop.is_set():
            return False
        self._set_status("running")
        self._refresh_fast()
        return True

    def _refresh_fast(self) -> None:
        """Back onto the fast path when running, not paused or stopped, with nobody waiting for a turn."""
        def apply(contended: bool) -> None:
            with self._lock:
                self._fast = (self._resume.is_set() and not self._stop.is_set() and self._status == "running"
                              and not contended)

        if self._ticket is None:
            apply(False)
        else:
            self._sched.with_contention(apply)  # under its lock: a new waiter's _contend cannot slip in between

    def _run(self) -> None:
        pin_threads()
        if self._use_slots:
            self._sched = slots()
            self._ticket = self._sched.ticket(self.id, self.student, self._resume.is_set, self._contention)
        try:
            if self._stop.is_set() or not self._take_turn():
                self._set_status("stopped", "Stopped before it started.")
                return
            out = self._fn(JobContext(self))
            self.result = out
            status = getattr(out, "status", "stopped" if self._stop.is_set() else "done")
            self._set_status(status, getattr(out, "message", "Finished."))
        except Exception as exc:  # noqa: BLE001 - reported to the learner, never raised in the UI
            self.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self._set_status("error", f"Training failed: {self.error}")
        finally:
            self._fast = False
            if self._ticket is not None:
                self._sched.leave(self._ticket)

    def _contention(self) -> None:
        self._fast = False

    def _shown(self) -> None:
        """The job published its first result: from now on its turns end on time (Ticket.shown)."""
        if self._ticket is not None:
            self._ticket.shown = True
