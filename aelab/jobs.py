"""Background jobs: a thread that runs a function, with pause/resume/stop and thread-safe snapshots.

The thread never touches Streamlit. It publishes into a plain Job object under a lock; pages poll
`job.view()` from an `st.fragment(run_every=...)`. A server-wide limit (`AELAB_MAX_JOBS`, default
cores - 1) queues jobs so that a classroom of learners shares the CPU fairly.
"""
from __future__ import annotations

import os
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from aelab import config
from aelab.progress import LabProgress
from aelab.train import History, Progress

ACTIVE = ("queued", "running", "paused")
_LAB = "_lab_progress"  # the extra key JobContext.report publishes under (read back as JobView.lab)


class _Slots:
    """A FIFO of jobs waiting for one of `limit` run slots (fair: first come, first served)."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._cond = threading.Condition()
        self._running: set[int] = set()
        self._waiting: list[int] = []

    def position(self, job_id: int) -> int:
        """0 when running (or not waiting), else 1-based place in the queue."""
        with self._cond:
            return self._waiting.index(job_id) + 1 if job_id in self._waiting else 0

    def acquire(self, job_id: int, cancelled: threading.Event) -> bool:
        with self._cond:
            self._waiting.append(job_id)
            while not cancelled.is_set():
                if len(self._running) < self.limit and self._waiting[0] == job_id:
                    self._waiting.pop(0)
                    self._running.add(job_id)
                    self._cond.notify_all()
                    return True
                self._cond.wait(0.1)
            self._waiting.remove(job_id)
            self._cond.notify_all()
            return False

    def release(self, job_id: int) -> None:
        with self._cond:
            self._running.discard(job_id)
            self._cond.notify_all()

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)


_slots: _Slots | None = None
_slots_lock = threading.Lock()
_ids = iter(range(1, 1 << 62))
_live: "weakref.WeakSet[Job]" = weakref.WeakSet()  # every job whose thread may still run


def live_jobs() -> list["Job"]:
    """Jobs whose threads are still alive (for leak checks and shutdown)."""
    return [job for job in list(_live) if job.alive]


def slots() -> _Slots:
    """The server-wide job limiter, created on first use from AELAB_MAX_JOBS (default: cores - 1).

    One core stays free for drawing pages: with 30 simulated students on 2 cores, one job at a time
    kept page responses at p95 1.47 s where two at a time gave 2.5 s (benchmarks/load_test.py).
    """
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = _Slots(config.get("max_jobs"))
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


def warm_up() -> None:
    """Once per process, in the background: build a throwaway Adam optimizer.

    A process's first optimizer imports torch._dynamo, which took 4.7 s on a loaded 2-core machine;
    doing it while the learner is still reading the page keeps Train -> first loss point short.
    """
    if _warm.is_set():
        return
    _warm.set()

    def _run() -> None:
        torch.optim.Adam(torch.nn.Linear(1, 1).parameters(), lr=1e-3)

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

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def lab(self) -> LabProgress | None:
        """The lab's typed progress (JobContext.report), or None before its first report or for a plain fit."""
        return self.extra.get(_LAB)


class JobContext:
    """What the job's function gets: stop/pause checks, `update` (one fit's steps), `report` (a lab's typed progress)
    and `publish` (results such as finished rows)."""

    def __init__(self, job: "Job"):
        self._job = job

    def should_stop(self) -> bool:
        """Block while paused; True once Stop was pressed."""
        job = self._job
        if job._resume.is_set() and not job._stop.is_set() and job._status == "running":
            return False  # the per-step fast path: no lock, no waiting
        while job._resume.is_set() is False and not job._stop.is_set():
            job._set_status("paused")
            job._resume.wait(0.1)
        if job.status == "paused":
            job._set_status("running")
        return job._stop.is_set()

    def update(self, progress: Progress, history: History, state: dict | None) -> None:
        with self._job._lock:
            self._job._progress, self._job._history = progress, history
            if state is not None:
                self._job._state = state
            self._job._version += 1

    def publish(self, **extra: Any) -> None:
        with self._job._lock:
            self._job._extra.update(extra)
            self._job._version += 1

    def report(self, progress: LabProgress) -> None:
        """Publish the lab's typed progress (phase, counts, every model's curves); pages read it as JobView.lab."""
        self.publish(**{_LAB: progress})


class Job:
    """Runs `fn(ctx)` in a daemon thread; its return value becomes `result`."""

    def __init__(self, fn: Callable[[JobContext], Any], name: str = "job", use_slots: bool = True):
        self.id = next(_ids)
        self.name = name
        self._fn = fn
        self._use_slots = use_slots
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._status = "queued"
        self._message = ""
        self._progress: Progress | None = None
        self._history = History()
        self._state: dict | None = None
        self._extra: dict = {}
        self._version = 0
        self.result: Any = None
        self.error: str | None = None
        self.started_at = time.time()
        self._thread = threading.Thread(target=self._run, name=f"aelab-{name}-{self.id}", daemon=True)

    # -- control -------------------------------------------------------------------------------
    def start(self) -> "Job":
        _live.add(self)
        self._thread.start()
        return self

    def pause(self) -> None:
        if self.status in ("running", "queued"):
            self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()

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
        pos = slots().position(self.id) if self._use_slots else 0
        with self._lock:
            return JobView(self._status, self._message, self._progress, self._history, self._state,
                           self._version, pos, dict(self._extra))

    # -- thread body ---------------------------------------------------------------------------
    def _run(self) -> None:
        pin_threads()
        if self._use_slots and not slots().acquire(self.id, self._stop):
            self._set_status("stopped", "Stopped before it started.")
            return
        try:
            self._set_status("running" if self._resume.is_set() else "paused")
            out = self._fn(JobContext(self))
            self.result = out
            status = getattr(out, "status", "stopped" if self._stop.is_set() else "done")
            self._set_status(status, getattr(out, "message", "Finished."))
        except Exception as exc:  # noqa: BLE001 - reported to the learner, never raised in the UI
            self.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self._set_status("error", f"Training failed: {self.error}")
        finally:
            if self._use_slots:
                slots().release(self.id)
