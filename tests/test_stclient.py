"""The load client's wait for a full run (benchmarks/stclient.py), without a server: a rerun the server never
finishes is reported with the runs sent and seen around it, so an unanswered edit in a long benchmark says which
run ended how (one edit of 4,320 went unanswered in a 12-scenario series and left no trace).

Run: python -m pytest -q tests/test_stclient.py
"""
import asyncio
import sys

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from stclient import StreamlitSession  # noqa: E402


class Socket:
    """Records what the session sends; the "server" answers by handing ForwardMsgs to the session's _handle."""

    def __init__(self):
        self.sent = []

    async def send(self, raw: bytes) -> None:
        self.sent.append(raw)


def finished(status) -> ForwardMsg:
    msg = ForwardMsg()
    msg.script_finished = status
    return msg


def began(fragment: str = "") -> ForwardMsg:
    msg = ForwardMsg()
    msg.new_session.page_script_hash = "page"
    if fragment:
        msg.metadata.run.fragment_ids.append(fragment)
    return msg


async def _rerun_answered_by(*answers: ForwardMsg, timeout: float) -> float:
    s = StreamlitSession("http://localhost:1", "student-0")
    s._ws = Socket()
    s._reader = asyncio.get_running_loop().create_future()  # a reader that has not ended

    async def server():
        while not s._ws.sent:
            await asyncio.sleep(0.01)
        for msg in answers:
            s._handle(msg)
            s._changed.set()

    answering = asyncio.create_task(server())
    try:
        return await s._rerun("edit", timeout=timeout)
    finally:
        answering.cancel()


def test_a_rerun_that_the_server_finishes_is_timed():
    seconds = asyncio.run(_rerun_answered_by(began(), finished(ForwardMsg.FINISHED_SUCCESSFULLY), timeout=5))
    assert 0 <= seconds < 5


def test_a_rerun_that_never_finishes_says_which_runs_began_and_how_they_ended():
    with pytest.raises(TimeoutError) as err:
        asyncio.run(_rerun_answered_by(began(), finished(ForwardMsg.FINISHED_EARLY_FOR_RERUN), began("frag"),
                                       finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY), timeout=1.5))
    text = str(err.value)
    assert "edit run did not finish in 1.5 s" in text
    steps = [part.split(" s ", 1)[1] for part in text.split("[", 1)[1].rstrip("]").split("; ")]
    assert steps == ["sent a full rerun (edit)", "run began (full)", "run ended: FINISHED_EARLY_FOR_RERUN",
                     "run began (fragment)", "run ended: FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
