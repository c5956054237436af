"""Tests for the class scheduler (aelab/scheduler.py through jobs.Job) and the per-run compute budget.

Jobs here are small loops that call ctx.should_stop() like train.fit does; one slot, short time slices.
Timing bounds are generous and only prove properties ("B runs while A is paused"), never speed.
Run: python -m pytest -q tests/test_scheduler.py
"""
from __future__ import annotations

import math
import threading
from dataclasses import replace
import time

import pytest

from aelab import jobs, runs, scheduler
from aelab.scheduler import Turn, describe, eta
from aelab.spec import ArchSpec, TrainConfig, check_train, compute_text
from session_tabs import wait_until


@pytest.fixture
def use_scheduler(monkeypatch):
    """Install a fresh scheduler (policy, slots, slice) for one test; jobs left running are stopped after."""
    def install(policy: str = "fair", limit: int = 1, slice_s: float = 0.2) -> scheduler.Scheduler:
        sched = scheduler.Scheduler(limit, policy, slice_s)
        monkeypatch.setattr(jobs, "_slots", sched)
        return sched

    yield install
    for job in jobs.live_jobs():
        job.stop()
        job.join(10)


class Loop:
    """A job body that counts its steps and checks should_stop before each, until `gate` opens. It publishes a first
    result at once, as a fit does its first loss point (a job that shows nothing keeps its first turn longer: see
    test_a_first_turn_lasts_until_the_first_result_shows_at_most_first_point_max_s)."""

    def __init__(self):
        self.steps = 0
        self.gate = threading.Event()

    def __call__(self, ctx) -> str:
        ctx.publish(started=True)
        while not self.gate.is_set():
            if ctx.should_stop():
                return "stopped"
            self.steps += 1
            time.sleep(0.002)
        return "ok"


def start(student: str, loop: Loop | None = None) -> tuple[jobs.Job, Loop]:
    loop = loop or Loop()
    return jobs.Job(loop, name=f"loop-{student}", student=student).start(), loop


def progresses(loop: Loop, seconds: float = 0.6) -> bool:
    """Whether the loop took steps within `seconds` (it holds a slot)."""
    before = loop.steps
    return wait_until(lambda: loop.steps > before, seconds)


def test_paused_job_gives_its_slot_away_at_once(use_scheduler):
    """A pauses: B (queued behind it on the only slot) starts at A's next check and trains while A stays paused."""
    sched = use_scheduler(slice_s=60.0)  # no turns within this test: only the pause can free the slot
    a, loop_a = start("A")
    assert wait_until(lambda: a.status == "running")
    b, loop_b = start("B")
    assert wait_until(lambda: b.view().queue_position == 1) and loop_b.steps == 0
    a.pause()
    assert wait_until(lambda: b.status == "running", 5), "B still waits while A is paused (finding 1)"
    assert a.view().status == "paused" and sched.running == 1
    frozen = loop_a.steps
    assert progresses(loop_b) and loop_a.steps == frozen
    a.resume()  # A queues again: B keeps the slot (its turn is 60 s), A waits at place 1
    assert wait_until(lambda: a.view().queue_position == 1 and a.status == "queued")
    loop_b.gate.set()
    assert b.join(5) and wait_until(lambda: a.status == "running", 5) and progresses(loop_a)


def test_one_students_four_jobs_do_not_push_another_student_back(use_scheduler):
    """Student S runs 4 jobs: T's job is next in line (place 1, not 4) and gets the slot after S's turn."""
    use_scheduler(slice_s=0.3)
    s_jobs = [start("S")[0]]
    assert wait_until(lambda: s_jobs[0].status == "running")
    s_jobs += [start("S")[0] for _ in range(3)]
    assert wait_until(lambda: [j.view().queue_position for j in s_jobs[1:]] == [1, 2, 3])
    t, loop_t = start("T")
    assert wait_until(lambda: t.view().queue_position == 1), [j.view().queue_position for j in s_jobs]
    assert sorted(j.view().queue_position for j in s_jobs[1:]) == [2, 3, 4]
    turn = t.view().turn
    assert (turn.others, turn.others_training, turn.others_waiting) == (1, 1, 0)  # S counts once, with 4 jobs
    assert (turn.share, turn.own_ahead) == (0.5, False)
    assert wait_until(lambda: t.status == "running", 5) and progresses(loop_t)
    assert all(j.status == "queued" for j in s_jobs[1:])  # S's later jobs waited behind S's first


def test_time_slices_two_students_take_turns_while_a_third_job_waits(use_scheduler):
    """A and B (one long job each, one slot) both make progress in turns; A's second job waits behind A's first."""
    use_scheduler(slice_s=0.2)
    a1, loop_a1 = start("A")
    assert wait_until(lambda: a1.status == "running")
    b, loop_b = start("B")
    a2, loop_a2 = start("A")
    assert wait_until(lambda: b.status == "running", 5), "B never got a turn while A trained"
    steps = (loop_a1.steps, loop_b.steps)
    time.sleep(1.5)  # several 0.2 s turns
    assert loop_a1.steps > steps[0] and loop_b.steps > steps[1], "one of the two students made no progress"
    assert loop_a2.steps == 0 and a2.status == "queued"
    assert a2.view().turn.own_ahead and "your other run" in describe(a2.view().turn)


def test_a_jobs_first_turn_is_short_and_its_later_turns_whole():
    """30 students pressing Train at once: each newcomer's first turn (its first loss point) lasts FIRST_TURN_S,
    not a whole slice, so the last of them does not wait 29 whole turns for a first curve."""
    now = [100.0]
    sched = scheduler.Scheduler(1, "fair", 1.0, clock=lambda: now[0])
    t = sched.ticket(1, "A", lambda: True)
    assert sched.acquire(t, threading.Event())
    assert t.slice_end == pytest.approx(100.0 + scheduler.FIRST_TURN_S) and scheduler.FIRST_TURN_S < 1.0
    now[0] += 0.5
    sched.release(t)
    assert sched.acquire(t, threading.Event())
    assert t.slice_end == pytest.approx(100.5 + 1.0)


def test_a_first_turn_lasts_until_the_first_result_shows_at_most_first_point_max_s():
    """On a loaded server a first loss point can take longer than FIRST_TURN_S of slot time. A job whose first turn
    ended before it showed anything queued again behind every newcomer; now its turn goes on until it has shown its
    first result (Ticket.shown), or until it has held a slot for FIRST_POINT_MAX_S in all; once shown, its turns end
    on time as before."""
    now, cancel = [100.0], threading.Event()
    sched = scheduler.Scheduler(1, "fair", 1.0, clock=lambda: now[0])
    a = sched.ticket(1, "A", lambda: True)
    assert sched.acquire(a, cancel)
    b = sched.ticket(2, "B", lambda: True)
    got = []
    threading.Thread(target=lambda: got.append(sched.acquire(b, cancel)), daemon=True).start()
    assert wait_until(lambda: b.waiting)
    now[0] = 100.0 + scheduler.FIRST_TURN_S + 0.05
    assert not sched.slice_over(a), "A's first turn ended before its first result showed"
    a.shown = True
    assert sched.slice_over(a) and sched.should_yield(a)
    sched.release(a)
    assert wait_until(lambda: got == [True]) and b.running
    # B never shows anything: its turn ends once it has held the slot FIRST_POINT_MAX_S in all
    now[0] = 100.25 + scheduler.FIRST_POINT_MAX_S - 0.1
    assert not sched.slice_over(b)
    now[0] = 100.25 + scheduler.FIRST_POINT_MAX_S + 0.01
    assert sched.slice_over(b)
    assert scheduler.FIRST_TURN_S < scheduler.FIRST_POINT_MAX_S <= 3.0  # 3.0 s: the first-loss-point goal
    cancel.set()


def test_a_job_keeps_its_first_turn_until_its_first_loss_point(use_scheduler):
    """Through jobs.Job: A's body takes longer than FIRST_TURN_S before it publishes its first loss point, while
    B waits. B gets no step before A's first point is out, and gets the slot soon after it."""
    from aelab.train import History, Progress

    use_scheduler(slice_s=0.2)
    order = []

    def slow_first_point(ctx) -> str:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 3 * scheduler.FIRST_TURN_S:  # setup and the first steps, checking
            if ctx.should_stop():
                return "stopped"
            time.sleep(0.002)
        order.append("A's first point")
        hist = History()
        hist.step_x.append(0.1)
        hist.train.append(0.5)
        ctx.update(Progress(0, 1, 100, 0.0, 0.1), hist, None)
        while True:
            if ctx.should_stop():
                return "stopped"
            time.sleep(0.002)

    loop_b = Loop()
    a = jobs.Job(slow_first_point, name="first-A", student="A").start()
    assert wait_until(lambda: a.status == "running")
    b = jobs.Job(lambda ctx: (order.append("B ran"), loop_b(ctx))[1], name="loop-B", student="B").start()
    assert wait_until(lambda: order[-1:] == ["B ran"], 5), order
    assert order == ["A's first point", "B ran"], order
    a.stop()
    b.stop()


def test_a_newcomer_cuts_another_students_running_turn_short():
    """A student pressing Train while another student's long run is in a whole turn waits at most FIRST_TURN_S of
    that turn (the greedy student's tabs added up to a second to the class's first loss points), not the rest of
    the slice; a job of the same student, a job that has run before, and first-come-first-served cut nothing."""
    for policy in ("fair", "fifo"):
        now, cancel = [100.0], threading.Event()
        sched = scheduler.Scheduler(1, policy, 1.0, clock=lambda: now[0])

        def queue(job_id: int, student: str) -> tuple[scheduler.Ticket, list]:
            t, got = sched.ticket(job_id, student, lambda: True), []
            threading.Thread(target=lambda: got.append(sched.acquire(t, cancel)), daemon=True).start()
            assert wait_until(lambda: t.waiting or got)
            return t, got

        a = sched.ticket(1, "A", lambda: True)
        assert sched.acquire(a, cancel)
        a.shown = True  # A's first loss point is on its student's screen
        now[0] = 100.3
        assert not sched.should_yield(a)  # nobody waits: under fair turns A's next, whole turn starts
        whole = a.slice_end
        assert policy == "fifo" or whole == pytest.approx(101.3)
        queue(2, "A")  # A's own second tab
        assert a.slice_end == whole, "a student's own second job cut its first job's turn"
        now[0] = 100.5
        b, got = queue(3, "B")
        if policy == "fifo":
            assert a.slice_end == whole, "first come, first served has no turns to cut"
        else:
            assert a.slice_end == pytest.approx(100.5) and sched.slice_over(a)
            assert sched.should_yield(a), "the newcomer B should go before A's running job"
            sched.release(a)
            assert wait_until(lambda: got == [True]) and b.running
            assert b.slice_end == pytest.approx(100.5 + scheduler.FIRST_TURN_S)
            now[0] = 100.55  # B's first turn has lasted less than FIRST_TURN_S: a newcomer leaves it that long
            queue(4, "C")
            assert b.slice_end == pytest.approx(100.5 + scheduler.FIRST_TURN_S)
            now[0] = 101.0
            sched.release(b)  # B has run: queueing again for its next turn cuts nobody's turn
            assert wait_until(lambda: sched.running == 1)
            c = next(t for t in sched._tickets.values() if t.running)
            assert c.student == "C" and c.slice_end == pytest.approx(101.0 + scheduler.FIRST_TURN_S)
            got_b = []
            threading.Thread(target=lambda: got_b.append(sched.acquire(b, cancel)), daemon=True).start()
            assert wait_until(lambda: b.waiting)
            assert c.slice_end == pytest.approx(101.0 + scheduler.FIRST_TURN_S)
        cancel.set()


def test_no_turns_and_the_fast_path_when_nobody_waits(use_scheduler):
    """Alone on the server, a running job stays on the lock-free fast path and never gives its slot back."""
    sched = use_scheduler(slice_s=0.05)
    a, loop = start("A")
    assert wait_until(lambda: a.status == "running" and a._fast)
    time.sleep(0.3)  # several slices long
    assert a._fast and a.status == "running" and sched.running == 1 and progresses(loop)


def test_fifo_policy_is_first_come_first_served(use_scheduler):
    """AELAB_SCHEDULER=fifo: the old queue: jobs wait in arrival order, no turns, one student's jobs count each."""
    use_scheduler("fifo", slice_s=0.05)
    first, loop_first = start("S")
    assert wait_until(lambda: first.status == "running")
    later = [start("S")[0] for _ in range(3)]
    other, loop_other = start("T")
    assert wait_until(lambda: [j.view().queue_position for j in later + [other]] == [1, 2, 3, 4])
    assert not wait_until(lambda: other.status != "queued", 0.5)  # no turns: T waits at place 4
    later[-1].stop()  # leaving the queue frees the place
    assert later[-1].join(5) and later[-1].view().status == "stopped"
    assert wait_until(lambda: other.view().queue_position == 3)
    loop_first.gate.set()
    assert first.join(5) and first.result == "ok" and wait_until(lambda: later[0].status == "running")


def test_policy_follows_the_environment(monkeypatch):
    """AELAB_SCHEDULER and AELAB_TIME_SLICE configure the server's scheduler; a typo names the variable."""
    monkeypatch.setattr(jobs, "_slots", None)
    monkeypatch.setenv("AELAB_SCHEDULER", "fifo")
    monkeypatch.setenv("AELAB_TIME_SLICE", "2.5")
    sched = jobs.slots()
    assert (sched.policy, sched.slice_s) == ("fifo", 2.5)
    monkeypatch.setattr(jobs, "_slots", None)
    monkeypatch.setenv("AELAB_SCHEDULER", "lottery")
    with pytest.raises(jobs.config.ConfigError, match="AELAB_SCHEDULER"):
        jobs.slots()
    monkeypatch.setattr(jobs, "_slots", None)


def test_grant_order_matches_picking_the_smallest_key_one_grant_at_a_time():
    """The heap-built queue order equals the rule applied grant by grant: fewest slots held, then least recent
    slot time, then arrival (random classes of up to 6 students, some holding slots, with usage histories)."""
    import random

    rng = random.Random(0)
    now = [1000.0]
    for trial in range(200):
        sched = scheduler.Scheduler(3, "fair", 1.0, clock=lambda: now[0])
        students = [f"s{i}" for i in range(rng.randint(1, 6))]
        for s in students:
            if rng.random() < 0.7:
                sched._usage[s] = (rng.uniform(0, 100), now[0] - rng.uniform(0, 200))
        tickets = [sched.ticket(i, rng.choice(students), lambda: True) for i in range(rng.randint(1, 12))]
        for t in tickets:
            t.running = rng.random() < 0.2
            t.waiting = not t.running

        held = {}
        for t in tickets:
            held[t.student] = held.get(t.student, 0) + t.running
        waiting, expected = [t for t in tickets if t.waiting], []
        while waiting:  # the rule, literally: the smallest (held, used, seq), then count the grant
            nxt = min(waiting, key=lambda t: (held[t.student], sched._used(t.student, now[0]), t.seq))
            expected.append(nxt)
            waiting.remove(nxt)
            held[nxt.student] += 1
        assert sched._order() == expected, trial


# -- what the page says ------------------------------------------------------------------------------
def turn(**kw) -> Turn:
    base = dict(policy="fair", state="running", place=0, slots=1, others=0, others_training=0, others_waiting=0,
                own_ahead=False, share=1.0, turn_every=0.0, slice_s=1.0, held=10.0)
    return Turn(**{**base, **kw})


def test_eta_is_remaining_steps_at_the_measured_rate_divided_by_the_share():
    """300 steps in 10 s of slot time, 600 to go, a third of the CPU: 600 / 30 * 3 = 60 s; unknown before a rate."""
    assert eta(300, 600, 10.0, 1 / 3) == pytest.approx(60.0)
    assert eta(300, 600, 10.0, 1.0) == pytest.approx(20.0)
    assert eta(0, 600, 0.0, 1.0) is None and eta(5, 0, 1.0, 0.5) == 0.0


def test_turn_texts_say_why_a_student_waits_and_what_share_they_get():
    """Every case in plain words: others training with the turn length, own other run, fifo, sharing, paused."""
    wait = describe(turn(state="waiting", place=1, others=2, share=1 / 3, turn_every=3.0), 125.0)
    assert wait == "place 1 in the queue · 2 other students are training; you get a turn of ~1 s every ~3 s · " \
                   "about 2 min left"
    assert "1 other student is training" in describe(turn(state="waiting", place=1, others=1, share=0.5,
                                                          turn_every=2.0))
    own = describe(turn(state="waiting", place=2, others=0, own_ahead=True))
    assert own.startswith("place 2 in the queue · your other run (in another tab or on another page) is using your "
                          "turn")
    assert describe(turn(policy="fifo", state="waiting", place=4, others=1, share=0.0)) == \
        "place 4 in the queue · the server runs 1 job at a time, first come, first served"
    assert describe(turn(others=2, share=1 / 3, turn_every=3.0), 42.0) == \
        "sharing the CPU with 2 other students: you get about 33% of it, a turn every ~3 s · about 42 s left"
    assert describe(turn(), 12.4) == "about 12 s left" and describe(turn()) == ""
    assert describe(turn(slots=2, others=1, share=1.0)) == "1 other student also trains right now"
    assert describe(turn(state="paused")) == "your turn goes to the others until you resume"
    assert describe(None) == ""


def test_a_live_view_redraws_less_often_only_while_more_students_than_slots_share_the_server():
    """Alone, with a slot each, or before the first update while its first turn is due: the page's own pace;
    shared: as much slower as the run (the power of two at or above students / slots), at most MAX_POLL_S; before
    the first update further back in a fifo queue or behind the student's own run: as much slower as its place."""
    pace = scheduler.poll_every
    assert pace(turn(), True, 0.5) == 0.5  # alone
    assert pace(turn(slots=2, others=1), True, 0.5) == 0.5  # a slot each
    assert pace(turn(others=1), False, 0.5) == 0.5  # nothing drawn yet: the first point at once
    fifo = dict(policy="fifo", state="waiting", others=29)
    assert pace(turn(**fifo, place=1), False, 0.5) == 0.5  # next in line: its turn is due
    assert pace(turn(**fifo, place=3), False, 0.5) == 2.0  # 3rd in a first-come-first-served queue: 4x
    assert pace(turn(**fifo, place=20), False, 0.5) == scheduler.MAX_POLL_S  # far back
    assert pace(turn(state="waiting", place=5, others=29), False, 0.5) == 0.5  # fair: a first turn comes first
    assert pace(turn(state="waiting", place=5, others=29, own_ahead=True), False, 0.5) == 4.0  # behind its own run
    assert pace(turn(state="paused", others=3), False, 0.5) == 2.0  # paused: as slow as when shared
    assert pace(None, True, 0.5) == 0.5  # the job has ended
    assert pace(turn(others=1), True, 0.5) == 1.0  # 2 students, 1 slot
    assert pace(turn(others=2), True, 0.5) == pace(turn(others=3), True, 0.5) == 2.0  # 3 or 4 students
    assert pace(turn(slots=2, others=4), True, 0.5) == 2.0  # 5 students on 2 slots: 2.5 -> 4x
    assert pace(turn(state="waiting", place=3, others=29), True, 0.5) == scheduler.MAX_POLL_S  # 30 students
    assert pace(turn(others=1), True, 10.0) == 10.0  # never faster than the page asked


def test_the_view_carries_the_turn_and_an_eta_for_a_real_training_run(use_scheduler, digits):
    """A training job's view has its turn (running, alone: full share) and a finite ETA once it has a rate."""
    use_scheduler(slice_s=1.0)
    job = runs.start_training(digits, ArchSpec(64, (32,), 2), TrainConfig(epochs=200, batch_size=16), student="A")
    assert wait_until(lambda: job.view().eta is not None, 30)
    view = job.view()
    assert view.turn.state == "running" and view.turn.share == 1.0 and 0 < view.eta < 3600
    job.stop()
    assert job.join(10) and job.view().turn is None


# -- the compute budget --------------------------------------------------------------------------------
def test_budget_refuses_an_oversized_run_before_it_starts_and_names_the_limit(monkeypatch):
    """17 M parameters x 60,000 images x 1,000 epochs is refused with the limit, its variable and what fits."""
    monkeypatch.delenv("AELAB_MAX_COMPUTE", raising=False)
    big = ArchSpec(784, (10880,), 16)
    assert 17e6 < big.param_count < 18e6
    errors = check_train(TrainConfig(epochs=1000), big, 60_000).errors
    assert len(errors) == 1 and errors[0].field == "epochs"
    text = str(errors[0])
    assert "AELAB_MAX_COMPUTE" in text and "1.0e13" in text and "1.0e15" in text
    assert f"use at most {int(1e13 // (big.param_count * 60_000)):,} epochs" in text
    monkeypatch.setenv("AELAB_MAX_COMPUTE", "1e9")
    assert "even 1 epoch is too much" in str(check_train(TrainConfig(epochs=1), big, 60_000).errors[0])


def test_budget_allows_every_pages_default_run_on_digits_and_mnist(monkeypatch):
    """The default limit lets every lab's default settings train, on Digits and on all of MNIST."""
    import torch

    from aelab import anomaly, denoise, linear, presets, sweep
    from aelab.data import DataBundle

    monkeypatch.delenv("AELAB_MAX_COMPUTE", raising=False)
    for n, d in ((1438, 64), (60_000, 784)):
        labels = torch.arange(n) % 10
        bundle = DataBundle("mnist" if d == 784 else "digits", torch.empty(n, d), labels, torch.empty(100, d),
                            torch.arange(100) % 10, (28, 28) if d == 784 else (8, 8), tuple("0123456789"))
        for preset in presets.PRESETS:
            spec, cfg = presets.apply(preset, d)
            assert check_train(cfg, spec, n).ok, (preset.name, check_train(cfg, spec, n).errors)
        assert sweep.check_config(replace_sizes(sweep.SweepConfig(), sweep.default_sizes(d)), bundle).ok
        assert anomaly.check(anomaly.AnomalySettings(), bundle).ok
        most = min(n, denoise.MAX_PAIR_BYTES // (2 * denoise.DenoiseSettings().copies * d * 4))
        assert denoise.check(denoise.DenoiseSettings(n_train=most), bundle).ok
        cfg = linear.PcaLabConfig()
        cfg = replace(cfg, n_train=None if cfg.n_train > n else cfg.n_train)  # the page offers "all" below its size
        specs = (linear.linear_spec(d, cfg.k), linear.nonlinear_spec(d, cfg.k, cfg.hidden, cfg.activation))
        assert check_train(linear.train_config(cfg), None, n, sum(s.param_count for s in specs)).ok


def replace_sizes(cfg, sizes):
    from dataclasses import replace

    return replace(cfg, sizes=tuple(sizes))


def test_lab_checks_refuse_over_budget_runs(monkeypatch, digits):
    """With a small limit, the bottleneck sweep, denoising and anomaly labs refuse their defaults by name."""
    from aelab import anomaly, denoise, sweep

    monkeypatch.setenv("AELAB_MAX_COMPUTE", "1e8")
    for check in (sweep.check_config(sweep.SweepConfig(), digits), denoise.check(denoise.DenoiseSettings(), digits),
                  anomaly.check(anomaly.AnomalySettings(), digits)):
        assert not check.ok and any("AELAB_MAX_COMPUTE" in str(e) for e in check.errors), check.errors


def test_budget_stops_a_run_that_trains_past_it_and_keeps_the_model(digits):
    """A job with a small budget stops itself (status stopped, the limit named), keeping the model it trained."""
    spec, cfg = ArchSpec(64, (32,), 2), TrainConfig(epochs=50, batch_size=64)
    per_epoch = spec.param_count * len(digits.x_train)
    budget = 3.5 * per_epoch
    job = jobs.Job(lambda ctx: runs.train_run(digits, spec, cfg, ctx), name="budget", budget=budget).start()
    assert job.join(60)
    run, view = job.result, job.view()
    assert run.status == "stopped" and view.status == "stopped" and "compute limit" in run.message
    assert "AELAB_MAX_COMPUTE" in view.message and compute_text(budget) in view.message
    assert budget < view.compute <= budget + per_epoch / 10  # stopped at the logged point that went over
    assert 3 <= run.history.step_x[-1] < 4 and run.model is not None
    done = jobs.Job(lambda ctx: runs.train_run(digits, spec, TrainConfig(epochs=3), ctx), budget=3 * per_epoch)
    assert done.start().join(60) and done.result.status == "done"  # exactly on budget: allowed
    assert done.view().compute == pytest.approx(3 * per_epoch)


def test_build_and_train_refuses_an_over_budget_run_on_the_page(monkeypatch):
    """On Build & Train an over-budget setting shows the limit's message and disables Train; fewer epochs fit."""
    from session_tabs import Tab

    monkeypatch.setenv("AELAB_MAX_COMPUTE", "1e9")  # the default digits model needs 1.3e7 per epoch
    fit = int(1e9 // (ArchSpec(64).param_count * 1438))  # ArchSpec's defaults are the page's Digits network
    tab = Tab().run()
    tab.set("cfg_epochs", str(fit + 1))
    errors = tab.texts("error")
    assert "AELAB_MAX_COMPUTE" in errors and f"use at most {fit} epochs" in errors, errors
    assert tab.at.button(key="train_btn").disabled
    tab.set("cfg_epochs", str(fit))
    assert "AELAB_MAX_COMPUTE" not in tab.texts("error") and not tab.at.button(key="train_btn").disabled
    assert not tab.at.exception
    tab.close()
