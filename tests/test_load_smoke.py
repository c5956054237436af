"""Smoke run of the classroom load test: 3 protocol-level students against a real `streamlit run app.py`.

Checks correctness only (every student finishes, sees only its own model, no exception; closing tabs
mid-training stops the training); the timing targets are for benchmarks/load_test.py on a quiet machine.
Run: python -m pytest -q tests/test_load_smoke.py
"""
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import load_test  # noqa: E402

pytestmark = pytest.mark.slow


def test_three_students_train_tiny_models_on_a_real_server():
    """3 students train their own small models at once; all finish, no errors, no cross-talk, leavers stop."""
    args = load_test.parse_args(["--students", "3", "--epochs", "3", "--ramp", "0", "--poke", "3", "--timeout",
                                 "90", "--settle", "5", "--cpu-window", "1", "--leavers", "2"])
    res = load_test.run(args)
    print("\n" + load_test.summary(res))
    assert res["finished"] == 3, res["errors"]
    assert not res["errors"] and not res["isolation_problems"], res["errors"] + res["isolation_problems"]
    assert len(res["by_kind"]["train"]) == 3 and res["by_kind"]["open"]
    assert res["leavers_started"] == 2
    assert res["cpu_after_leavers"] < 0.2, "the server still computes after every tab closed"
    assert res["threads_after_leavers"] <= res["threads_base"], "threads remain 5 s after the tabs closed"
