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


def shown(body: str) -> str:
    """What a reader sees of a Markdown body written with aelab.text.md: escapes and word joiners removed."""
    import re

    from aelab.text import WORD_JOINER

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", body).replace(WORD_JOINER, "")
