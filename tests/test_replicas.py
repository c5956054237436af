"""Beyond one machine, tested without Docker: PostgreSQL and nginx from Debian's packages, two `streamlit run app.py`
replicas on loopback behind nginx (configured by deploy/nginx/aelab.conf.template, the file compose uses), and two
browsers. A student on replica A shares a Build & Train run; the teacher on replica B sees it on the board within
2 s; replica A is stopped: nothing is lost, the teacher's page keeps working, and the student's browser, now served
by B, is still in the class and shares again without joining. Everything started is stopped.

Run: python -m pytest -q tests/test_replicas.py
"""
from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from pathlib import Path

import pytest

from board_flow import (XSS_NAME, no_markup_ran, student_is_still_joined, student_joins, student_trains_and_shares,
                        teacher_spotlights, teacher_starts_class, wait_for_runs)
from browser_util import ROOT, chromium, new_tab, require_browser, shot, streamlit_server
from deploy_util import (NGINX_TEMPLATE, nginx_bin, nginx_proxy, postgres_bin, postgres_server, render_nginx,
                         upstream_for_cookie)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LIVE_S = 2.0  # the bound: a share appears on the teacher's board within 2 s

require_browser({"postgresql": postgres_bin() is not None, "nginx": nginx_bin() is not None})


def test_the_test_and_compose_use_the_one_nginx_file():
    """compose.yaml mounts deploy/nginx/aelab.conf.template and this test renders that same file."""
    compose = (ROOT / "compose.yaml").read_text()
    assert "./deploy/nginx/aelab.conf.template:/etc/nginx/templates/aelab.conf.template" in compose
    assert NGINX_TEMPLATE == ROOT / "deploy" / "nginx" / "aelab.conf.template"
    text = render_nginx(["127.0.0.1:1", "127.0.0.1:2"], 8080)
    template = NGINX_TEMPLATE.read_text()
    assert text.replace("server 127.0.0.1:1 max_fails=1 fail_timeout=30s; server 127.0.0.1:2 max_fails=1 "
                        "fail_timeout=30s;", "${AELAB_UPSTREAMS}").replace("listen 8080;", "listen ${AELAB_LISTEN};") \
        == template


def cookie_for(proxy, upstream: str, tries: int = 200) -> str:
    """A route cookie value that nginx's consistent hash sends to `upstream`."""
    for _ in range(tries):
        cookie = secrets.token_hex(16)
        if upstream_for_cookie(proxy, cookie) == upstream:
            return cookie
    raise AssertionError(f"no cookie routed to {upstream} in {tries} tries")


def test_two_replicas_behind_nginx_share_one_board(tmp_path):
    """Student on replica A shares; teacher on replica B sees it within 2 s; after A stops, the board keeps the run,
    the teacher can still spotlight it, a run shared through B afterwards shows up too, and the student's browser,
    back through nginx on B, is still a member: its next share needs no second join."""
    started: list = []
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        env = {"AELAB_DATABASE_URL": pg.url, "AELAB_TRUSTED_PROXIES": "127.0.0.1", "AELAB_MAX_JOBS": "1"}
        replica_a_cm = streamlit_server(env, log_path=tmp_path / "replica-a.log")
        replica_a = replica_a_cm.__enter__()
        a_running = True
        try:
            replica_b = stack.enter_context(streamlit_server(env, log_path=tmp_path / "replica-b.log"))
            started += [replica_a.proc, replica_b.proc]
            up_a, up_b = (s.url.removeprefix("http://") for s in (replica_a, replica_b))
            proxy = stack.enter_context(nginx_proxy([up_a, up_b]))
            started.append(proxy.proc)
            assert proxy.config.read_text() == render_nginx([up_a, up_b], proxy.url.removeprefix("http://"))
            browser = stack.enter_context(chromium())
            teacher, student = new_tab(browser, (1400, 1800)), new_tab(browser, (1400, 1200))
            for page, upstream in ((teacher, up_b), (student, up_a)):
                page.context.add_cookies([{"name": "aelab_route", "value": cookie_for(proxy, upstream),
                                           "url": proxy.url}])

            code = teacher_starts_class(teacher, proxy.url)
            student_joins(student, proxy.url, code, XSS_NAME)
            shared_at = student_trains_and_shares(student)
            seen_at = wait_for_runs(teacher, 1, 30)
            shot(teacher, "replicas-teacher-on-b")
            print(f"\nREPLICAS share on A -> seen on B: {seen_at - shared_at:.2f} s")
            assert seen_at - shared_at <= LIVE_S, f"the teacher saw the share {seen_at - shared_at:.2f} s later"
            log = proxy.access_log.read_text()
            assert f"{up_a} " in log and f"{up_b} " in log  # each browser was served by its own replica

            replica_a_cm.__exit__(None, None, None)  # replica A goes away (its students' sessions with it)
            a_running = False
            assert replica_a.proc.poll() is not None
            teacher.wait_for_timeout(1500)  # two polls of the teacher's board
            assert wait_for_runs(teacher, 1, 10)  # nothing lost
            teacher_spotlights(teacher, XSS_NAME)  # the teacher's page still works
            no_markup_ran(teacher)

            from aelab import board, db  # a student on the surviving replica shares through the same database
            other = board.Board(db.engine(pg.url))
            member = other.join(board.Client("late-student", "10.0.0.5"), code, "Late")
            t0 = time.monotonic()
            other.share(board.Client("late-student", "10.0.0.5"), member, board.Draft(
                kind="train", dataset="digits", summary="64-8-64", spec={}, settings={}, code_size=8, params=1096,
                epochs=1, train_error=0.05, test_error=0.06, seconds=1.0), str(uuid.uuid4()))
            assert wait_for_runs(teacher, 2, 10) - t0 <= LIVE_S + 1.0
            student_is_still_joined(student, proxy.url, code)  # back through nginx on B: a new session, same browser
            student_trains_and_shares(student)
            wait_for_runs(teacher, 3, 30)  # shared through B (A is stopped) by a member who never joined again
            db.forget(pg.url)
        finally:
            if a_running:
                replica_a_cm.__exit__(None, None, None)
    assert all(p.poll() is not None for p in started), "a process the test started is still running"
    assert not Path(pg.log).exists()  # the temp folder of PostgreSQL is gone
