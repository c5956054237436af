"""A headless Streamlit client for load tests: it speaks the browser's websocket protocol.

It sends the protobuf `BackMsg`s a browser tab sends (open the app, switch page, set a widget, click a
button, the `run_every` fragment polls) and reads the `ForwardMsg`s back, keeping the texts,
exceptions and widget ids it needs. It draws nothing, so one process can play many students.
Protocol as read in streamlit 1.67 (web/server/starlette/starlette_websocket.py, runtime/app_session.py,
and the frontend's `handleAutoRerun`): subprotocol "streamlit", endpoint /_stcore/stream.
"""
from __future__ import annotations

import asyncio
import collections
import re
import time
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

FULL_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
FRAGMENT_DONE = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
TEXT_FIELDS = {"alert": "body", "markdown": "body", "heading": "body", "progress": "text", "text": "body",
               "toast": "body", "html": "body"}  # html: e.g. a chart's screen-reader summary (ui.chart)
QUEUE_RE = re.compile(r"place (\d+) in the queue")


@dataclass
class Timing:
    """One measured wait: an interaction (or a fragment poll) until its script run finished."""

    kind: str  # "open", "navigate", "edit", "train", "edit-while-training", "poll", ...
    seconds: float  # send -> script_finished
    started: float  # time.perf_counter() at send


@dataclass
class ClientStats:
    """What a session saw (appended by the reader)."""

    timings: list[Timing] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # exception elements and protocol problems
    queue_positions: list[int] = field(default_factory=list)  # "place k in the queue" values seen


class StreamlitSession:
    """One browser tab: `await open()`, `goto(page)`, `set_text(key, v)`, `click(key)`, `close()`."""

    def __init__(self, base_url: str, name: str = "session", cookies: dict[str, str] | None = None):
        self.url = base_url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.name = name
        # cookies the tab's browser sends (st.context.cookies reads them): tabs given the same aelab_token are
        # one browser, one student for the fair scheduler
        self.cookies = dict(cookies or {})
        self.stats = ClientStats()
        self.pages: dict[str, str] = {}  # url path name -> page script hash (from the navigation message)
        self.page_hash = ""
        self.query = ""  # the tab's URL query string: sent with every rerun, updated when the app changes it
        self.texts: list[str] = []  # texts drawn since the last full run began (fragment runs add theirs)
        self.marks: dict[str, float] = {}  # watch name -> time.perf_counter() when a text first matched
        self._watches: dict[str, re.Pattern] = {}
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._ids: dict[str, str] = {}  # widget user key -> element id (latest seen)
        self._kinds: dict[str, str] = {}  # widget user key -> its element kind ("text_input", "number_input", ...)
        self._widgets: dict[str, WidgetState] = {}  # element id -> value this tab reports on every rerun
        self._full_done = 0  # full script runs finished so far
        self._trail: collections.deque = collections.deque(maxlen=24)  # (time, what): the last runs sent and seen
        self._changed = asyncio.Event()
        self._polls: dict[str, asyncio.Task] = {}  # fragment id -> its auto-rerun timer (like setInterval)
        self._poll_sent: list[float] = []  # send times of fragment polls awaiting their finish
        self._fragment_started = 0.0  # when the fragment run now drawing began
        self._closed = False
        self.polling = True  # False: ignore run_every fragments (like a tab whose timers are frozen)

    # -- connection ------------------------------------------------------------------------------
    async def open(self, timeout: float = 60.0) -> float:
        """Connect and run the app's main page, as a new tab does; returns the seconds it took."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else None
        self._ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout,
                                 ping_interval=None, additional_headers=headers)
        self._reader = asyncio.create_task(self._read(), name=f"read-{self.name}")
        return await self._rerun("open", timeout=timeout)

    async def close(self) -> None:
        """Close the tab: cancel polls and the websocket (the server then releases the session's resources)."""
        self._closed = True
        for task in list(self._polls.values()):
            task.cancel()
        self._polls.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader.cancel()

    # -- interactions (each returns seconds until the script run it caused finished) --------------
    async def goto(self, url_pathname: str, timeout: float = 60.0, query: str = "") -> float:
        """Switch page the way the sidebar link does, or open a link to it with `query` (e.g. "data=mnist&n=5000")."""
        if url_pathname not in self.pages:
            raise KeyError(f"no page {url_pathname!r}; known: {sorted(self.pages)}")
        self.page_hash = self.pages[url_pathname]
        self.query = query
        self._widgets.clear()  # the frontend forgets widgets of the page it leaves
        return await self._rerun("navigate", timeout=timeout)

    async def set_text(self, key: str, value: str, kind: str = "edit", timeout: float = 60.0) -> float:
        """Type into the text input with widget key `key` and press Enter."""
        state = WidgetState(id=self._id(key), string_value=value)
        self._widgets[state.id] = state
        return await self._rerun(kind, timeout=timeout)

    async def set_value(self, key: str, text: str, kind: str = "edit", timeout: float = 60.0) -> float:
        """Set the widget with key `key` as a learner would: type `text` into a text box, the number into a number
        input, or move a (select) slider to the option shown as `text`."""
        widget = self._kinds.get(key, "text_input")
        if widget == "number_input":
            state = WidgetState(id=self._id(key), double_value=float(text))  # the server casts an int field
        elif widget == "slider":  # st.select_slider sends the option's text
            state = WidgetState(id=self._id(key))
            state.string_array_value.data.append(text)
        else:
            return await self.set_text(key, text, kind, timeout)
        self._widgets[state.id] = state
        return await self._rerun(kind, timeout=timeout)

    async def rerun(self, timeout: float = 60.0) -> float:
        """A full rerun with nothing changed (as a browser's rerun shortcut sends it)."""
        return await self._rerun("rerun", timeout=timeout)

    async def click(self, key: str, kind: str = "click", timeout: float = 60.0) -> float:
        """Press the button with widget key `key`."""
        trigger = WidgetState(id=self._id(key), trigger_value=True)
        return await self._rerun(kind, extra=[trigger], timeout=timeout)

    def watch(self, name: str, pattern: str) -> None:
        """From now on, note in `marks[name]` when a drawn text first matches the regex `pattern`."""
        self.marks.pop(name, None)
        self._watches[name] = re.compile(pattern)

    async def wait_mark(self, name: str, timeout: float) -> bool:
        """Wait until the watch `name` has matched (True), at most `timeout` s."""
        deadline = time.perf_counter() + timeout
        while name not in self.marks and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        return name in self.marks

    def seen(self, needle: str) -> bool:
        return any(needle in t for t in self.texts)

    async def wait_for(self, needle: str, timeout: float) -> bool:
        """Wait (without sending anything) until a drawn text contains `needle`."""
        deadline = time.perf_counter() + timeout
        while not self.seen(needle):
            left = deadline - time.perf_counter()
            if left <= 0 or self._closed:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass
        return True

    @property
    def live_fragments(self) -> tuple[str, ...]:
        """Ids of the fragments this tab polls now (their auto-rerun timers, cleared when a full run begins)."""
        return tuple(self._polls)

    async def send_poll(self, fragment_id: str) -> None:
        """One rerun of a `run_every` fragment, as its timer sends it (not waited for)."""
        await self._ws.send(self._back_msg(fragment_id=fragment_id, auto=True))
        self._trail.append((time.perf_counter(), "sent a poll"))

    def trail(self, t0: float) -> str:
        """The last runs sent and seen (up to 24), with their times from `t0` (a time.perf_counter() value)."""
        return "; ".join(f"{t - t0:+.2f} s {what}" for t, what in self._trail)

    # -- internals -------------------------------------------------------------------------------
    def _id(self, key: str) -> str:
        if key not in self._ids:
            raise KeyError(f"{self.name}: no widget with key {key!r} drawn yet")
        return self._ids[key]

    def _back_msg(self, fragment_id: str = "", auto: bool = False, extra: list[WidgetState] = ()) -> bytes:
        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = self.query
        rs.page_script_hash = self.page_hash
        rs.fragment_id = fragment_id
        rs.is_auto_rerun = auto
        rs.widget_states.widgets.extend(list(self._widgets.values()) + list(extra))
        return msg.SerializeToString()

    async def _rerun(self, kind: str, extra: list[WidgetState] = (), timeout: float = 60.0) -> float:
        """Send a full rerun and wait for the next full run to finish."""
        before = self._full_done
        t0 = time.perf_counter()
        await self._ws.send(self._back_msg(extra=extra))
        self._trail.append((time.perf_counter(), f"sent a full rerun ({kind})"))
        while self._full_done == before:
            if self._closed or self._reader.done():
                raise ConnectionError(f"{self.name}: connection closed while waiting for a {kind} run")
            self._changed.clear()
            if time.perf_counter() - t0 > timeout:  # with what was sent and seen around it, to tell why next time
                raise TimeoutError(f"{self.name}: {kind} run did not finish in {timeout} s [{self.trail(t0)}]")
            try:
                await asyncio.wait_for(self._changed.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        seconds = time.perf_counter() - t0
        self.stats.timings.append(Timing(kind, seconds, t0))
        return seconds

    async def _poll(self, fragment_id: str, interval: float) -> None:
        """The frontend's setInterval for a `run_every` fragment: a rerun of that fragment every interval."""
        while not self._closed:
            await asyncio.sleep(interval)
            self._poll_sent.append(time.perf_counter())
            await self.send_poll(fragment_id)

    def _stop_polls(self, ids=None) -> None:
        for fid in list(self._polls) if ids is None else ids:
            task = self._polls.pop(fid, None)
            if task is not None:
                task.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
                self._changed.set()
        except Exception as exc:  # noqa: BLE001 - a dropped connection is reported, not raised
            if not self._closed:
                self.stats.errors.append(f"connection: {type(exc).__name__}: {exc}")
        finally:
            self._stop_polls()
            self._changed.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind in ("new_session", "script_finished"):
            what = (f"run began ({'fragment' if msg.metadata.run.fragment_ids else 'full'})" if kind == "new_session"
                    else f"run ended: {ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)}")
            self._trail.append((time.perf_counter(), what))
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            if not msg.metadata.run.fragment_ids:  # a full run: the frontend clears every auto-rerun timer
                self._stop_polls()
                self.texts = []
                self._poll_sent.clear()  # polls still queued are served by (or dropped for) this run
            else:
                self._fragment_started = time.perf_counter()
        elif kind == "page_info_changed":  # the app wrote st.query_params: the browser's address bar follows
            self.query = msg.page_info_changed.query_string
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid not in self._polls and not self._closed and self.polling:
                self._polls[fid] = asyncio.get_running_loop().create_task(self._poll(fid, interval))
        elif kind == "stop_auto_rerun":
            self._stop_polls(list(msg.stop_auto_rerun.fragment_ids))
        elif kind == "script_finished":
            if msg.script_finished in FULL_DONE:
                self._full_done += 1
            elif msg.script_finished == FRAGMENT_DONE and self._poll_sent:
                t0 = self._poll_sent[0]  # the oldest waiting poll; any sent before this run began are served too
                self._poll_sent = [t for t in self._poll_sent if t > self._fragment_started]
                self.stats.timings.append(Timing("poll", time.perf_counter() - t0, t0))
        elif kind == "page_not_found":
            self.stats.errors.append(f"page not found: {msg.page_not_found.page_name}")

    def _element(self, el) -> None:
        kind = el.WhichOneof("type")
        sub = getattr(el, kind)
        if kind == "exception":
            where = " | ".join(line.strip() for line in list(sub.stack_trace)[-4:])
            self.stats.errors.append(f"exception element: {sub.type}: {sub.message} [{where}]"[:1500])
            return
        element_id = getattr(sub, "id", "") if kind not in TEXT_FIELDS else ""
        parts = element_id.split("-", 2)  # "$$ID-<hex hash>-<user key or None>"
        if len(parts) == 3 and parts[0] == "$$ID" and parts[2] != "None":
            self._ids[parts[2]] = element_id
            self._kinds[parts[2]] = kind
        field_name = TEXT_FIELDS.get(kind)
        if field_name:
            text = getattr(sub, field_name)
            self.texts.append(text)
            for name, rx in self._watches.items():
                if name not in self.marks and rx.search(text):
                    self.marks[name] = time.perf_counter()
            m = QUEUE_RE.search(text) if kind == "progress" else None
            if m:
                self.stats.queue_positions.append(int(m.group(1)))
