"""Smoke run of the scaled-out load test (benchmarks/load_replicas.py): 2 protocol-level students through nginx to
two replicas on PostgreSQL. Checks that it works (all finish, no errors, the WebSockets pass nginx, a capacity figure
comes out), not how fast: the lead measures on a quiet machine.

Run: python -m pytest -q tests/test_load_replicas_smoke.py
"""
import os
import sys

import pytest

from conftest import ROOT
from deploy_util import nginx_bin, postgres_bin

sys.path.insert(0, str(ROOT / "benchmarks"))
import load_replicas  # noqa: E402
import load_test  # noqa: E402

pytestmark = pytest.mark.slow

if postgres_bin() is None or nginx_bin() is None:  # no browser needed here, so not browser_util.require_browser
    if os.environ.get("CI"):
        raise RuntimeError("CI must smoke-run the replica benchmark: apt-get install postgresql nginx (see .ci/run)")
    pytest.skip("PostgreSQL or nginx is not installed", allow_module_level=True)


def test_two_replicas_serve_a_tiny_class_through_nginx():
    """Classes of 1 and 2 students finish without errors through nginx; the capacity figure is computed from them."""
    args = load_replicas.argparse.Namespace(replicas=2, capacity=[1, 2], out_json=None)
    largs = load_test.parse_args(["--epochs", "2", "--ramp", "0", "--poke", "2", "--timeout", "120", "--leavers", "0",
                                  "--settle", "3", "--cpu-window", "0.5"])
    out = load_replicas.run(args, largs)
    print("\n" + load_replicas.summary(out))
    assert all(r["finished"] == n and not r["errors"] and not r["isolation_problems"]
               for n, r in out["classes"].items())
    assert sum(out["websockets_per_replica"].values()) >= 3  # every student's WebSocket went through nginx
    assert out["capacity"]["largest_class_within_target"] in (0, 1, 2)
    assert out["capacity"]["students_per_core"] == out["capacity"]["largest_class_within_target"] / os.cpu_count()
