"""Real browsers (Playwright + Debian Chromium) on one server: the whole class flow. A teacher starts a class, two
students join (their names full of HTML and Markdown), train and share; one of them opens Denoising by a link (a new
session: still in the class), predicts, runs and shares it; the board updates by itself, with the class's answers to
the Denoising question; the teacher spotlights a run and exports the CSV. Names show literally and never run.

Run: python -m pytest -q tests/test_browser_board.py
"""
from __future__ import annotations

import csv
import io
import re

import pytest

from board_flow import (MD_NAME, WAIT_MS, XSS_NAME, main, no_markup_ran, student_joins, student_shares_from_denoising,
                        student_trains_and_shares, teacher_spotlights, teacher_starts_class, wait_for_runs)
from browser_util import chromium, new_tab, require_browser, shot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]
require_browser()


def test_a_class_shares_runs_and_the_teacher_spotlights_and_exports(tmp_path):
    """Teacher starts a class, two students join and share, the board shows both runs without a reload, the
    spotlight shows a name as plain text, and the CSV export holds both runs with the names exactly as typed."""
    env = {"AELAB_DATABASE_URL": f"sqlite:///{tmp_path / 'board.db'}"}
    with streamlit_server(env) as (url, *_), chromium() as browser:
        teacher, ann, bob = (new_tab(browser, (1400, 1800)) for _ in range(3))
        code = teacher_starts_class(teacher, url)
        student_joins(ann, url, code, XSS_NAME)
        student_joins(bob, url, code, MD_NAME)
        assert wait_for_runs(teacher, 0, 10)
        student_trains_and_shares(ann)
        wait_for_runs(teacher, 1, 30)  # the board polls the database: no reload, no click
        student_trains_and_shares(bob, epochs=3)
        wait_for_runs(teacher, 2, 30)
        student_shares_from_denoising(ann, url)  # a new session of Ann's browser: no second join
        wait_for_runs(teacher, 3, 30)
        main(teacher).get_by_text(re.compile(r"^1 run shared\. Predicted: ")).first.wait_for()  # the question's answers
        shot(teacher, "board-teacher")

        teacher_spotlights(teacher, XSS_NAME)
        no_markup_ran(teacher)
        teacher_spotlights(teacher, MD_NAME)
        no_markup_ran(teacher)
        shot(teacher, "board-spotlight")

        with teacher.expect_download(timeout=WAIT_MS) as info:
            main(teacher).get_by_role("button", name="⬇️ Export the board (CSV)").click()
        rows = list(csv.DictReader(io.StringIO(info.value.path().read_text())))
        assert sorted(r["name"] for r in rows) == sorted([XSS_NAME, XSS_NAME, MD_NAME])
        assert sorted((r["page"], r["epochs"]) for r in rows) == [("denoising", "3"), ("train", "2"), ("train", "3")]
        assert all(float(r["test_error"]) > 0 for r in rows)
        (denoised,) = [r for r in rows if r["page"] == "denoising"]
        assert (denoised["question"], denoised["errors_on"]) == ("denoising", "denoise") and denoised["prediction"]
        for page in (ann, bob):
            no_markup_ran(page)
        assert not main(ann).get_by_role("button", name="⬇️ Export the board (CSV)").count()
