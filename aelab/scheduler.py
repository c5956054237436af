"""The server's scheduler: which training job holds one of the CPU slots when more jobs want one than there are.

Torch-free and Streamlit-free: jobs.Job talks to it through tickets; ui.progress_bar shows `describe(turn)`.
"""
from __future__ import annotations

import heapq
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

FAIR, FIFO = "fair", "fifo"
POLICIES = {FAIR: "fair shares per student, with time slices", FIFO: "first come, first served per job"}
USAGE_HALF_LIFE_S = 60.0  # "recent" run time: a student's slot time counts half after a minute, 1/32 after five


@dataclass(eq=False)
class Ticket:
    """A job's place with the scheduler, from its first request for a slot until the job ends."""

    job_id: int
    student: str  # who the job belongs to: jobs of one student share that student's turn
    seq: int  # arrival order; kept when the job gives its slot back, so a student's jobs stay first-come-first-served
    wants_cpu: Callable[[], bool]  # False while the job is paused: it keeps its place but is passed over
    on_contention: Callable[[], None]  # called (under the scheduler's lock) when someone starts waiting
    running: bool = False  # holds a slot now
    waiting: bool = False  # asked for a slot and has none yet
    granted_at: float = 0.0  # clock time of the last grant
    slice_end: float = math.inf  # read without the lock by the job's own thread (a float: atomic to read)
    held: float = 0.0  # seconds this job held a slot, not counting the current stretch
    shown: bool = False  # the job has published its first result (a loss point): see FIRST_POINT_MAX_S


@dataclass(frozen=True)
class Turn:
    """What a job's page needs to say about its turn (a snapshot; see Scheduler.turn)."""

    policy: str  # "fair" or "fifo"
    state: str  # "running", "waiting" (for a slot) or "paused" (off the CPU until resumed)
    place: int  # 1-based place among the waiting jobs, in the order slots will be granted; 0 when not waiting
    slots: int  # jobs the server runs at the same time (AELAB_MAX_JOBS)
    others: int  # other students with a job running or waiting for a slot
    others_training: int  # of those, students holding a slot now
    others_waiting: int  # of those, students with a job waiting (and none running)
    own_ahead: bool  # another job of the same student runs (or waits ahead): it is using this student's turn
    share: float  # expected fraction of the training time this student's jobs get: min(1, slots / students)
    turn_every: float  # seconds between the starts of this student's turns when taking turns; 0 when not
    slice_s: float  # the length of a turn (AELAB_TIME_SLICE)
    held: float  # seconds this job has held a slot so far (its measured rate: progress per held second)


FIRST_TURN_S = 0.2  # the length of a job's first turn while others wait (fair policy; longer turns follow)
FIRST_POINT_MAX_S = 3.0  # ... unless it has not published its first result by then: it goes on until it has, or
# until it has held a slot this long. On a loaded 2-core machine a first loss point can take longer than 0.2 s of
# slot time; the job then queued again behind every newcomer with nothing on its student's screen.
MAX_POLL_S = 8.0  # the slowest a live view redraws while its student shares the server with many others


def poll_every(turn: Turn | None, shown: bool, every: float) -> float:
    """Seconds between a live view's redraws: `every` while the student has the server to themselves; shared,
    `every` times the power of two at or above students / slots (2 students on 1 slot: twice as long; 30: at most
    MAX_POLL_S), as the run itself then moves that much slower. Before the job has drawn anything (`shown` False):
    `every` while it runs or its first turn is due (next in the queue, or any place under fair turns, which serve
    the students with the least recent training time first: a newcomer waits only for the other newcomers' short
    first turns), so its first loss point shows at once; otherwise (first come, first served, or behind the
    student's own other job) `every` times the power of two at or above its place, which can be minutes away.
    Thirty views redrawing twice a second took most of a 2-core server from the training they were showing.
    Powers of two: a pace changes (one full page run) only when the class size or the place crosses one."""
    if turn is None or turn.others + 1 <= turn.slots:
        return every
    if not shown:
        if turn.state == "running" or turn.place == 1 or (turn.policy == FAIR and turn.state == "waiting"
                                                         and not turn.own_ahead):
            return every
        return _slower(every, turn.place if turn.state == "waiting" else (turn.others + 1) / turn.slots)
    return _slower(every, (turn.others + 1) / turn.slots)


def _slower(every: float, factor: float) -> float:
    """`every` times the power of two at or above `factor`, at most MAX_POLL_S (never below `every`)."""
    return min(max(every, MAX_POLL_S), every * 2 ** math.ceil(math.log2(max(1.0, factor))))


class Scheduler:
    """Grants `limit` slots to waiting jobs, and under the fair policy makes running jobs take turns.

    Policy "fair" (the default, AELAB_SCHEDULER=fair):
    - Jobs are grouped by student. A free slot goes to the waiting job of the student who holds the fewest
      slots right now; among those, the student with the least recent slot time (seconds held, halved every
      USAGE_HALF_LIFE_S); then the job that asked first. Within one student jobs go first-come-first-served,
      so a student's extra jobs or tabs wait behind that student's first job and never multiply the share.
    - Time slices: while another student's job waits, a running job gives its slot back at its next
      `JobContext.should_stop()` check once it has held it for `slice_s` seconds, and queues again (keeping
      its arrival order). With N students wanting the CPU and L slots, each gets about L/N of the time, a turn
      of ~slice_s every ~slice_s * N / L seconds. A job's first turn lasts FIRST_TURN_S (longer only until its
      first result shows, at most FIRST_POINT_MAX_S of slot time: Ticket.shown), and a newcomer
      cuts the running turns of other students short to that length, so its first loss point waits neither for
      whole turns of the others arriving with it nor for a long run's current turn. With nobody waiting a job
      never yields, and its per-step check stays one attribute read (jobs.JobContext.should_stop).
    - A paused job gives its slot back at its next check and is passed over while paused; it queues again
      when resumed.
    - Jobs that never call should_stop (the lessons' demonstrations run without a monitor) hold their slot
      until they end: they cannot be sliced.
    Policy "fifo" (AELAB_SCHEDULER=fifo, for comparison): one queue of jobs in arrival order, no slices, no
    grouping by student (the behaviour before the fair scheduler). Pausing still frees the slot.
    """

    def __init__(self, limit: int, policy: str = FAIR, slice_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        if policy not in POLICIES:
            raise ValueError(f"unknown scheduling policy {policy!r}; use one of {', '.join(POLICIES)}")
        self.limit = max(1, int(limit))
        self.policy = policy
        self.slice_s = float(slice_s)
        self._clock = clock
        self._cond = threading.Condition()
        self._tickets: dict[int, Ticket] = {}
        self._seq = 0
        self._usage: dict[str, tuple[float, float]] = {}  # student -> (slot seconds, clock time of that value)

    # -- a job's life ----------------------------------------------------------------------------
    def ticket(self, job_id: int, student: str, wants_cpu: Callable[[], bool],
               on_contention: Callable[[], None] = lambda: None) -> Ticket:
        """Register a job (once, before its first acquire); `leave` forgets it."""
        with self._cond:
            self._seq += 1
            t = Ticket(job_id, student, self._seq, wants_cpu, on_contention)
            self._tickets[job_id] = t
            return t

    def acquire(self, t: Ticket, cancelled: threading.Event) -> bool:
        """Block until `t` holds a slot (True) or `cancelled` is set (False, and `t` waits no more)."""
        with self._cond:
            t.waiting = True
            if t.held == 0:
                self._shorten_turns(t)
            self._contend()
            self._cond.notify_all()
            while not cancelled.is_set():
                if len(self._running()) < self.limit and self._next() is t:
                    now = self._clock()
                    t.waiting, t.running, t.granted_at = False, True, now
                    # a job's first turn is short: enough for its first loss point, so thirty students pressing
                    # Train within seconds each see a curve at once instead of queueing for whole turns
                    t.slice_end = now + (min(self.slice_s, FIRST_TURN_S) if t.held == 0 else self.slice_s)
                    self._cond.notify_all()
                    return True
                self._cond.wait(1.0)  # every change notifies (grants, releases, pause, resume, stop): a safety net
            t.waiting = False
            self._cond.notify_all()
            return False

    def release(self, t: Ticket) -> None:
        """Give the slot back (paused, yielding, or done); the ticket keeps its arrival order."""
        with self._cond:
            if t.running:
                now = self._clock()
                stretch = now - t.granted_at
                t.held += stretch
                self._usage[t.student] = (self._used(t.student, now) + stretch, now)
                t.running, t.slice_end = False, math.inf
            self._cond.notify_all()

    def leave(self, t: Ticket) -> None:
        """The job ended: free its slot and forget it."""
        self.release(t)
        with self._cond:
            t.waiting = False
            self._tickets.pop(t.job_id, None)
            self._forget_old_usage()
            self._cond.notify_all()

    def poke(self) -> None:
        """A job was paused, resumed or stopped: waiting jobs look again (a paused job is passed over)."""
        with self._cond:
            self._contend()
            self._cond.notify_all()

    # -- time slices -----------------------------------------------------------------------------
    def slice_over(self, t: Ticket) -> bool:
        """Whether `t`'s turn is over (lock-free: the job's own thread calls it on every check while contended).

        A job that has not shown its first result yet (`Ticket.shown`, set by the job) keeps its turn until it has,
        or until it has held a slot for FIRST_POINT_MAX_S in all: a first turn that ended before the first loss
        point would send its student to the back of the queue with nothing on the screen."""
        now = self._clock()
        if now < t.slice_end:
            return False
        return t.shown or not t.running or t.held + (now - t.granted_at) >= FIRST_POINT_MAX_S

    def should_yield(self, t: Ticket) -> bool:
        """After its slice: True when a waiting job would get the slot before `t` (then `t` gives it back).

        Otherwise `t` starts a new slice and keeps running.
        """
        with self._cond:
            if self.policy != FAIR or not t.running:
                return False
            now = self._clock()
            waiting = self._waiting()
            if waiting:
                stretch = now - t.granted_at
                held = self._held()
                held[t.student] -= 1  # as if `t` had given its slot back ...
                extra = {t.student: stretch}  # ... with its current stretch counted as used
                if min([*waiting, t], key=lambda c: self._key(c, held, now, extra)) is not t:
                    return True
            t.slice_end = now + self.slice_s
            return False

    def with_contention(self, apply: Callable[[bool], None]) -> None:
        """Call `apply(contended)` under the lock: contended is True when the fair policy has a job waiting that
        wants the CPU (running jobs must then check their slices). Holding the lock orders it with `_contend`."""
        with self._cond:
            apply(self.policy == FAIR and bool(self._waiting()))

    # -- what the page shows ---------------------------------------------------------------------
    def position(self, job_id: int) -> int:
        """0 when running or not waiting, else the 1-based place in the order slots will be granted."""
        with self._cond:
            t = self._tickets.get(job_id)
            return self._place(t) if t is not None else 0

    def turn(self, job_id: int) -> Turn | None:
        """A snapshot of the job's turn, or None once it has ended."""
        with self._cond:
            t = self._tickets.get(job_id)
            if t is None:
                return None
            now = self._clock()
            active = self._running() + self._waiting()
            students = {c.student for c in active} | {t.student}
            n = len(students)
            fair = self.policy == FAIR
            share = min(1.0, self.limit / n) if fair else (1.0 if t.running else 0.0)
            own_ahead = any(c is not t and c.student == t.student and (c.running or c.seq < t.seq) for c in active)
            state = "running" if t.running else ("waiting" if t.waiting and t.wants_cpu() else "paused")
            training = {c.student for c in self._running()} - {t.student}
            return Turn(self.policy, state, self._place(t), self.limit, n - 1, len(training),
                        len(students - training - {t.student}), own_ahead, share,
                        self.slice_s * n / self.limit if fair and n > self.limit else 0.0, self.slice_s,
                        t.held + (now - t.granted_at if t.running else 0.0))

    def held(self, t: Ticket) -> float:
        """Seconds `t` has held a slot so far, the current stretch included."""
        with self._cond:
            return t.held + (self._clock() - t.granted_at if t.running else 0.0)

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running())

    # -- internals (call with the lock held) -----------------------------------------------------
    def _running(self) -> list[Ticket]:
        return [t for t in self._tickets.values() if t.running]

    def _waiting(self) -> list[Ticket]:
        return [t for t in self._tickets.values() if t.waiting and t.wants_cpu()]

    def _held(self) -> dict[str, int]:
        held: dict[str, int] = {}
        for t in self._running():
            held[t.student] = held.get(t.student, 0) + 1
        return held

    def _used(self, student: str, now: float) -> float:
        seconds, at = self._usage.get(student, (0.0, now))
        return seconds * 0.5 ** ((now - at) / USAGE_HALF_LIFE_S)

    def _key(self, t: Ticket, held: dict[str, int], now: float, extra: dict[str, float] | None = None) -> tuple:
        """Sort key of a candidate: lower goes first."""
        if self.policy != FAIR:
            return (t.seq,)
        return (held.get(t.student, 0), self._used(t.student, now) + (extra or {}).get(t.student, 0.0), t.seq)

    def _order(self) -> list[Ticket]:
        """The waiting jobs in the order free slots would go to them (each grant counts for its student).

        A student's jobs share its key but their arrival order, so the next job is always the first waiting job
        of the student with the smallest key: a heap of students gives the whole order in O(n log n).
        """
        waiting = sorted(self._waiting(), key=lambda c: c.seq)
        if self.policy != FAIR:
            return waiting
        held, now = self._held(), self._clock()
        queues: dict[str, list[Ticket]] = {}
        for t in waiting:
            queues.setdefault(t.student, []).append(t)
        heap = [(*self._key(q[0], held, now), s) for s, q in queues.items()]
        heapq.heapify(heap)
        order = []
        while heap:
            n_held, used, _, student = heapq.heappop(heap)
            q = queues[student]
            order.append(q.pop(0))
            if q:
                heapq.heappush(heap, (n_held + 1, used, q[0].seq, student))
        return order

    def _next(self) -> Ticket | None:
        waiting = self._waiting()
        if not waiting:
            return None
        held, now = self._held(), self._clock()
        return min(waiting, key=lambda c: self._key(c, held, now))

    def _place(self, t: Ticket) -> int:
        if not t.waiting or not t.wants_cpu():
            return 0
        return self._order().index(t) + 1

    def _shorten_turns(self, newcomer: Ticket) -> None:
        """A job that has never run starts waiting and no slot is free (fair policy): the other students' running
        jobs end their turn once it has lasted FIRST_TURN_S, at their next check, instead of finishing a whole
        slice; the newcomer, with the least recent time, then goes first. Without it a student arriving while
        another student's long run holds its 1 s turn waited up to that second more for a first loss point."""
        running = self._running()
        if self.policy != FAIR or len(running) < self.limit:
            return
        now = self._clock()
        for r in running:
            if r.student != newcomer.student:
                r.slice_end = min(r.slice_end, max(now, r.granted_at + FIRST_TURN_S))

    def _contend(self) -> None:
        """Someone may be waiting: running jobs leave their lock-free fast path and check their slices."""
        if self.policy == FAIR and self._waiting():
            for t in self._running():
                t.on_contention()

    def _forget_old_usage(self) -> None:
        now = self._clock()
        for student in [s for s in self._usage if self._used(s, now) < 1e-3]:
            del self._usage[student]


# -- words for the page ----------------------------------------------------------------------------
def _students(n: int) -> str:
    return "1 other student" if n == 1 else f"{n} other students"


def _seconds(s: float) -> str:
    if s < 90:
        return f"{max(1, round(s))} s"
    if s < 5400:
        return f"{round(s / 60)} min"
    return f"{s / 3600:.1f} h"


def eta(done: int, left: int, held: float, share: float) -> float | None:
    """Seconds left: `left` steps at the measured rate (`done` steps in `held` seconds of slot time), divided
    by the student's share of the CPU. None until a rate has been measured."""
    if left <= 0:
        return 0.0
    if done <= 0 or held <= 0 or share <= 0:
        return None
    return left / (done / held) / share


def describe(turn: Turn | None, seconds_left: float | None = None) -> str:
    """The turn in plain words: a waiting job's place and why it waits; a running one's share; the time left."""
    if turn is None:
        return ""
    jobs = "1 job" if turn.slots == 1 else f"{turn.slots} jobs"
    left = f"about {_seconds(seconds_left)} left" if seconds_left is not None and seconds_left > 0 else ""
    if turn.state == "paused":
        return "your turn goes to the others until you resume"
    if turn.state == "waiting":
        place = f"place {turn.place} in the queue"
        if turn.own_ahead:
            why = ("your other run (in another tab or on another page) is using your turn; this one starts when "
                   "that one ends or is paused")
        elif turn.policy == FIFO:
            why = f"the server runs {jobs} at a time, first come, first served"
        elif turn.others == 0:
            why = ""
        elif turn.turn_every > 0:
            why = (f"{_students(turn.others)} {'is' if turn.others == 1 else 'are'} training; you get a turn of "
                   f"~{_seconds(turn.slice_s)} every ~{_seconds(turn.turn_every)}")
        else:
            why = f"{_students(turn.others)} {'is' if turn.others == 1 else 'are'} training"
        return " · ".join(part for part in (place, why, left) if part)
    parts = []
    if turn.policy == FAIR and turn.others > 0 and turn.share < 1:
        parts.append(f"sharing the CPU with {_students(turn.others)}: you get about {turn.share:.0%} of it, a turn "
                     f"every ~{_seconds(turn.turn_every)}")
    elif turn.others > 0:
        parts.append(f"{_students(turn.others)} also {'trains' if turn.others == 1 else 'train'} right now")
    if left:
        parts.append(left)
    return " · ".join(parts)
