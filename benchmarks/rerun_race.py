"""Reproduce a lost page run: students edit a setting on Build & Train (a full rerun each) while a poll of their
live view (a fragment rerun, as the browser's auto-rerun timer sends) lands within ~0.1 s of the edit.

Seen once in the 12-scenario fairness series (1 of 4,320 edits: that student's page never finished the run, so it
never saw Finished). Every lost run left the same trail in the load client: the edit's full run began, a fragment
run began and finished before it ended, and no "finished" ever came for the full run.

Why (read in Streamlit 1.67's runtime): AppSession drops every event of a ScriptRunner that is no longer its current
one (`_handle_scriptrunner_event_on_event_loop`), and a fragment rerun request that reaches a runner which has just
stopped (its run over, its last events not yet handled on the event loop) starts a new runner at once. A poll
landing in that gap loses the full run's "finished" and any of its messages still queued. aelab.ui.guard_reruns
holds such a rerun until the stopped runner has shut down (tests/test_rerun_race.py plays the race on an AppSession).

Measured on the 2-core machine, 6 students, fifo, 150 s each, one after the other: without guard_reruns (a clone of
3c9ffd8) 235 edits answered and 6 lost (every student's tab stuck, 241 racing polls); with it 2,403 answered and 0
lost (2,403 racing polls). A lost edit stops that student, so the two counts of answered edits differ that much.
With the guard's held reruns handed over in order and ui.sync_query_params no longer taking the session's own older
URL for a link: 2,415 answered, 0 lost, 0 run with other values than sent. --then-edit, 60 s: at 5e1ba56 (guard off)
41 of 297 edit pairs ran with other values than sent, with the first guard 44 of 240; now 0 of 548.

Run: python benchmarks/rerun_race.py [--students 6] [--seconds 300] [--policy fifo]
Prints each edit that got no finished run within 20 s, with the load client's trail of runs sent and seen, each edit
whose run used another learning rate than the one sent (read from the link the page writes, after one more run when
the link disagrees), and the counts.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # browser_util.streamlit_server
sys.path.insert(0, str(ROOT / "benchmarks"))
from browser_util import streamlit_server  # noqa: E402
from stclient import StreamlitSession  # noqa: E402


async def link_value(s: StreamlitSession, name: str, expected: str, wait: float) -> list[str] | None:
    """The value of setting `name` in the link the page wrote (the settings it ran with), once it is `expected` or
    after `wait` seconds."""
    deadline = time.perf_counter() + wait
    while parse_qs(s.query).get(name) != [expected] and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    return parse_qs(s.query).get(name)


async def student(url: str, i: int, end: float, counts: dict, then_edit: bool = False) -> None:
    """A long run, then edits of the learning rate, each raced by a poll of every live fragment 0-0.12 s later
    (with `then_edit`, the poll is followed at once by another edit: the order a browser sends when its timer fires
    just before the learner's change)."""
    s = StreamlitSession(url, f"student-{i}")
    rng = random.Random(i)
    await s.open(timeout=60)
    await s.goto("build_train", timeout=60)
    await s.set_value("cfg_epochs", "3000")
    await s.click("train_btn", kind="train", timeout=60)
    k, known = 0, set()  # the live view's fragment ids seen so far (a full run clears the tab's timers)
    while time.perf_counter() < end:
        k += 1
        known |= set(s.live_fragments)
        rates = ("0.001", "0.002", "0.005")  # each edit changes the value the page has (then-edit: both edits)
        lr, other = rates[2 * k % 3], rates[(2 * k + 1) % 3]

        async def poll() -> None:
            await asyncio.sleep(rng.uniform(0.0, 0.12))
            for fragment_id in known:
                await s.send_poll(fragment_id)  # with the widget values of the edit before it
                counts["polls"] += 1
            if then_edit:
                await s.set_value("cfg_lr", other, timeout=20)
                counts["edits"] += 1

        racing = asyncio.create_task(poll())
        t0 = time.perf_counter()
        try:
            await s.set_value("cfg_lr", lr, timeout=20)
            counts["edits"] += 1
            await racing
            last = other if then_edit else lr  # the page writes the settings it ran with into the link
            ran_with = await link_value(s, "lr", last, wait=5 if then_edit else 0)
            if ran_with != [last]:  # the link can lag (a run's URL update dropped with it): ask the page again
                shown = ran_with
                await s.rerun(timeout=20)
                ran_with = parse_qs(s.query).get("lr")
                counts["link behind" if ran_with == [last] else "ignored"] += 1
                if ran_with != [last]:
                    print(f"IGNORED student-{i} sent lr={last} last, the link showed lr={shown}, the page then ran "
                          f"with lr={ran_with} [{s.trail(t0)}]", flush=True)
        except TimeoutError as exc:
            counts["lost"] += 1
            print(f"LOST {exc}", flush=True)
            break  # this tab is stuck as a browser's would be: the next student goes on
        finally:
            racing.cancel()  # (done already unless the edit was lost)
            await asyncio.gather(racing, return_exceptions=True)
        await asyncio.sleep(rng.uniform(0.05, 0.3))
    await s.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=6)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--policy", choices=("fair", "fifo"), default="fifo")
    p.add_argument("--then-edit", action="store_true", help="follow each poll at once with another edit")
    args = p.parse_args(argv)
    counts = {"edits": 0, "lost": 0, "ignored": 0, "link behind": 0, "polls": 0}
    with tempfile.TemporaryDirectory() as tmp, streamlit_server({"AELAB_SCHEDULER": args.policy},
                                                                log_path=Path(tmp) / "server.log") as srv:
        end = time.perf_counter() + args.seconds

        async def class_() -> None:
            await asyncio.gather(*(student(srv.url, i, end, counts, args.then_edit) for i in range(args.students)))

        asyncio.run(class_())
    print(f"{args.students} students, {args.seconds:.0f} s, {args.policy}{', then-edit' if args.then_edit else ''}: "
          f"{counts['edits']} edits answered, "
          f"{counts['lost']} lost (no finished run within 20 s), {counts['ignored']} run with other values than sent "
          f"({counts['link behind']} more whose link lagged until the next run); {counts['polls']} racing polls sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
