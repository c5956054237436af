"""A raw Streamlit client for server-side tests: a session opened over the websocket, files PUT to the upload route.

It does what a script (not a browser) can do against a running server, with the session's own XSRF token, so
tests can check what the *server* refuses, whatever the widgets in the page allow.
"""
from __future__ import annotations

import re
import threading
import urllib.request
import uuid

import requests
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

XSRF_COOKIE = "_streamlit_xsrf"  # streamlit.web.server.starlette.starlette_server_config.XSRF_COOKIE_NAME


class RawSession:
    """One Streamlit session: the websocket stays open (drained in a thread) until close()."""

    def __init__(self, url: str, page: str = "", timeout: float = 60.0):
        self.url = url
        health = requests.get(f"{url}/_stcore/health", timeout=10)
        self.token = health.cookies[XSRF_COOKIE]
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = connect(ws_url, subprotocols=["streamlit", self.token], origin=url,
                          additional_headers={"Cookie": f"{XSRF_COOKIE}={self.token}"},
                          max_size=None, open_timeout=timeout)
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        self.ws.send(msg.SerializeToString())
        self.session_id = ""
        self._got_id = threading.Event()
        self._closed = False
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()
        if not self._got_id.wait(timeout):
            raise RuntimeError("the server sent no session id")

    def _read(self) -> None:
        try:
            while not self._closed:
                data = self.ws.recv()
                if not self.session_id and isinstance(data, bytes):
                    fwd = ForwardMsg()
                    fwd.ParseFromString(data)
                    if fwd.WhichOneof("type") == "new_session":
                        self.session_id = fwd.new_session.initialize.session_id
                        self._got_id.set()
        except Exception:  # noqa: BLE001 - the socket closed
            return

    def put(self, n_bytes: int, file_id: str | None = None, name: str = "x.pt") -> requests.Response:
        """PUT one file of `n_bytes` to this session's upload route (as st.file_uploader's browser code does)."""
        file_id = file_id or str(uuid.uuid4())
        return requests.put(f"{self.url}/_stcore/upload_file/{self.session_id}/{file_id}",
                            files={"file": (name, b"\1" * n_bytes, "application/octet-stream")},
                            headers={"X-Xsrftoken": self.token}, cookies={XSRF_COOKIE: self.token}, timeout=120)

    def close(self) -> None:
        self._closed = True
        self.ws.close()
        self._drain.join(10)


def uploads_held(url: str) -> int:
    """Bytes the server's uploaded-file manager holds, from Streamlit's /_stcore/metrics (0 when none)."""
    text = urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10).read().decode()
    found = re.findall(r'cache_memory_bytes\{cache_type="UploadedFileManager"[^}]*\}\s+(\d+)', text)
    return sum(int(v) for v in found)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
