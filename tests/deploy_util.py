"""Helpers for the multi-replica tests and benchmark: PostgreSQL and nginx from Debian's packages, on free loopback
ports in temp folders, each a context manager that always stops what it started (even when the body fails).

PostgreSQL refuses to run as root: as root, initdb and postgres run as the `postgres` user (Popen(user=...)).
nginx runs with the repository's deploy/nginx/aelab.conf.template, the same file docker compose uses.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from browser_util import ROOT, free_port

NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "aelab.conf.template"
_PLACEHOLDER = re.compile(r"\$\{(AELAB_[A-Z_]+)\}")


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL programs (the newest installed version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def nginx_bin() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop(proc: subprocess.Popen, sig: int, timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class Postgres(NamedTuple):
    url: str  # SQLAlchemy URL of the database "aelab"
    port: int
    log: Path

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://aelab@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://aelab@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def postgres_server(timeout: float = 60.0):
    """A throwaway PostgreSQL on 127.0.0.1:<free port> with a database "aelab" (user aelab, trust auth)."""
    import psycopg

    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    tmp = Path(tempfile.mkdtemp(prefix="aelab-pg-"))
    as_root = os.geteuid() == 0
    user = {"user": "postgres", "group": "postgres", "extra_groups": []} if as_root else {}
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")
    log = tmp / "postgres.log"
    proc = None
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(tmp / "data"), "-U", "aelab", "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=120, cwd=tmp, **user)
        port = free_port()
        with open(log, "ab") as out:
            proc = subprocess.Popen([str(bindir / "postgres"), "-D", str(tmp / "data"), "-p", str(port), "-k", str(tmp),
                                     "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200",
                                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=tmp, **user)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with psycopg.connect(f"postgresql://aelab@127.0.0.1:{port}/postgres", autocommit=True,
                                     connect_timeout=2) as conn:
                    conn.execute("CREATE DATABASE aelab")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError("postgres did not accept connections in time") from None
                time.sleep(0.1)
        yield Postgres(f"postgresql+psycopg://aelab@127.0.0.1:{port}/aelab", port, log)
    finally:
        if proc is not None:
            _stop(proc, signal.SIGINT)  # "fast shutdown": disconnects clients, then exits
        shutil.rmtree(tmp, ignore_errors=True)


def render_nginx(upstreams: list[str], listen: int | str, template: Path = NGINX_TEMPLATE) -> str:
    """The template with its ${AELAB_...} placeholders filled, as the nginx image's envsubst does."""
    values = {"AELAB_UPSTREAMS": " ".join(f"server {u} max_fails=1 fail_timeout=30s;" for u in upstreams),
              "AELAB_LISTEN": str(listen)}
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template.read_text())
    assert "${" not in text, "an unfilled placeholder is left in the nginx template"
    return text


class Nginx(NamedTuple):
    url: str  # http://127.0.0.1:<port>
    config: Path  # the rendered site config (from NGINX_TEMPLATE)
    access_log: Path  # one line per request: "<upstream address> <route cookie> <status> <uri>"
    proc: subprocess.Popen


@contextlib.contextmanager
def nginx_proxy(upstreams: list[str], timeout: float = 20.0):
    """nginx on 127.0.0.1:<free port> in front of `upstreams` ("127.0.0.1:8501", ...), configured by the repo's
    template; its access log names the replica that answered each request."""
    binary = nginx_bin()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    prefix = Path(tempfile.mkdtemp(prefix="aelab-nginx-"))
    port = free_port()
    site = prefix / "aelab.conf"
    site.write_text(render_nginx(upstreams, f"127.0.0.1:{port}"))
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir()
        (prefix / sub).chmod(0o777)  # workers run as an unprivileged user when the master is root
    main = prefix / "nginx.conf"
    main.write_text(f"""
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    log_format aelab_test '$upstream_addr $cookie_aelab_route $status $request_uri';
    access_log {prefix}/access.log aelab_test;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
""")
    proc = subprocess.Popen([binary, "-p", str(prefix), "-c", str(main), "-e", str(prefix / "error.log"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = (prefix / "error.log").read_text(errors="replace") if (prefix / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start: {err[-2000:]}")
            time.sleep(0.05)
        yield Nginx(f"http://127.0.0.1:{port}", site, prefix / "access.log", proc)
    finally:
        _stop(proc, signal.SIGQUIT)  # graceful: finish requests, then exit
        shutil.rmtree(prefix, ignore_errors=True)


def upstream_for_cookie(proxy: Nginx, cookie: str) -> str:
    """Which replica nginx routes a browser with this route cookie to (asked with one health request)."""
    import urllib.request

    req = urllib.request.Request(f"{proxy.url}/_stcore/health?probe={cookie}",
                                 headers={"Cookie": f"aelab_route={cookie}"})
    urllib.request.urlopen(req, timeout=5).read()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in reversed(proxy.access_log.read_text(errors="replace").splitlines()):
            parts = line.split()
            if len(parts) >= 4 and parts[-1].endswith(f"probe={cookie}"):
                return " ".join(parts[:-3])
        time.sleep(0.05)  # nginx writes the log line after the response
    raise RuntimeError("the probe request is not in nginx's access log")
