"""Shared fixtures: the built-in digits, a temp copy of real MNIST files (when present), job helpers.

Run the whole suite with `python -m pytest` from the repository root.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported
ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def digits():
    from aelab import data

    return data.load_digits()


@pytest.fixture(scope="session")
def real_data_root(tmp_path_factory):
    """A temp data folder holding copies of the real MNIST / Fashion-MNIST .gz files (skips if absent)."""
    if not (SHARED_DATA / "MNIST" / "raw").exists():
        pytest.skip("real MNIST files not present next to the project (../shared/data)")
    root = tmp_path_factory.mktemp("aelab-data")
    for name in ("MNIST", "FashionMNIST"):
        if (SHARED_DATA / name / "raw").exists():
            shutil.copytree(SHARED_DATA / name / "raw", root / name / "raw")
    return root


def wait_for_jobs(timeout: float = 60.0) -> None:
    """Join every aelab background thread (AppTest does not fire run_every fragments)."""
    deadline = time.time() + timeout
    for th in threading.enumerate():
        if th.name.startswith("aelab-"):
            th.join(max(0.1, deadline - time.time()))
            assert not th.is_alive(), f"job thread {th.name} still running after {timeout} s"


@pytest.fixture
def app_path():
    return lambda rel: str(ROOT / rel)


def pytest_configure(config):
    """One intra-op thread: the suite runs jobs beside the test thread on a 2-core machine (see jobs.slots)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    """Stop and join any job a test left running, so threads never outlive their test."""
    yield
    from aelab import jobs

    for job in jobs.live_jobs():
        job.stop()
        job.join(10)


@pytest.fixture(autouse=True, scope="session")
def _private_state_dir(tmp_path_factory):
    """Saved session models (aelab.store) go to a temp folder, never to the user's data folder."""
    old = os.environ.get("AELAB_STATE_DIR")
    os.environ["AELAB_STATE_DIR"] = str(tmp_path_factory.mktemp("aelab-sessions"))
    yield
    if old is None:
        os.environ.pop("AELAB_STATE_DIR", None)
    else:
        os.environ["AELAB_STATE_DIR"] = old


@pytest.fixture(autouse=True, scope="session")
def _one_component_scan():
    """Every new AppTest rescans all installed packages for custom components (0.15-0.5 s each): share one."""
    from streamlit.testing.v1 import AppTest

    from session_tabs import shared_components

    original = AppTest.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._bidi_component_manager = shared_components()

    AppTest.__init__ = init
    yield
    AppTest.__init__ = original


# -- the class board's databases ---------------------------------------------------------------------
@pytest.fixture(autouse=True, scope="session")
def _board_database(tmp_path_factory):
    """Pages and servers started by the tests keep the class board in a temp SQLite file, never in ~/.cache."""
    if "AELAB_DATABASE_URL" in os.environ:
        yield
        return
    os.environ["AELAB_DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('board') / 'board.db'}"
    yield
    os.environ.pop("AELAB_DATABASE_URL", None)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server from Debian's packages in a temp folder, for the whole session (deploy_util).
    Skipped where it is not installed, except in CI (.ci/run installs it)."""
    from deploy_util import postgres_bin, postgres_server

    if postgres_bin() is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI must test the board on PostgreSQL: apt-get install postgresql (see .ci/run)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server() as pg:
        yield pg
def shown(body: str) -> str:
    """What a reader sees of a Markdown body written with aelab.text.md: escapes and word joiners removed."""
    import re

    from aelab.text import WORD_JOINER

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", body).replace(WORD_JOINER, "")


def commit_prediction(at, question_id: str, answer: str | None = None) -> None:
    """Put a committed prediction into an AppTest's session, as the page's Commit button does (a page reveals its
    results only after one; see ui.predict_first). `answer` defaults to the question's first option."""
    from aelab import questions

    answer = answer or next(iter(questions.find(question_id).options))
    try:
        current = dict(at.session_state["_predictions"])
    except KeyError:
        current = {}
    at.session_state["_predictions"] = {**current, question_id: answer}


def reveal_waits_for_a_prediction(at, question_id: str, answer: str, revealed: str = "What was measured") -> None:
    """On a page holding a finished result and no prediction: the result is hidden (the page says to commit), and
    committing `answer` through the page's own widgets reveals it (`revealed`: a header the reveal draws)."""
    headers = lambda: " ".join(str(h.value) for h in at.header)  # noqa: E731
    assert revealed not in headers() and "Commit your prediction" in " ".join(str(i.value) for i in at.info)
    at.radio(key=f"predict_{question_id}").set_value(answer).run()
    at.button(key=f"predict_{question_id}_commit").click().run()
    assert revealed in headers()


WIDGET_KINDS = ("text_input", "number_input", "select_slider", "slider", "selectbox", "radio", "toggle")


def set_field(at, key: str, value):
    """Set a declared setting in an AppTest whatever its widget (aelab/settings.py): a text box gets the text, any
    other widget the value parsed by the field (so tests say "epochs 3" once, for a text box or a number input).
    Returns the widget; run the AppTest afterwards."""
    from aelab import fields, settings

    for kind in WIDGET_KINDS:
        try:
            widget = getattr(at, kind)(key=key)
        except KeyError:
            continue
        if kind == "text_input":
            return widget.set_value(str(value))
        if isinstance(value, str):
            form = next(f for f in vars(settings).values() if isinstance(f, fields.Form) and key in f)
            value = fields.parse(form[key], value)
        return widget.set_value(value)
    raise KeyError(f"no widget with key {key!r} on the page")


def field_value(at, key: str):
    """The value a declared setting's widget holds in an AppTest, as the field parses it (text boxes hold text)."""
    from aelab import fields, settings

    for kind in WIDGET_KINDS:
        try:
            widget = getattr(at, kind)(key=key)
        except KeyError:
            continue
        if kind != "text_input":
            return widget.value
        form = next(f for f in vars(settings).values() if isinstance(f, fields.Form) and key in f)
        return fields.parse(form[key], widget.value)
    raise KeyError(f"no widget with key {key!r} on the page")
