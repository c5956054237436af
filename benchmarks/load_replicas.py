"""The classroom load test scaled out: N simulated students through nginx to several `streamlit run app.py`
replicas sharing one PostgreSQL, and the per-replica capacity that sizes a deployment.

Starts PostgreSQL and nginx from Debian's packages and the replicas on loopback (tests/deploy_util.py: the same
nginx template as compose.yaml), warms every replica, then runs benchmarks/load_test.py's class through nginx.
Each student is one WebSocket, so nginx's route hashing spreads them over the replicas. Reports finished counts,
page response p50/p95 while training, and each replica's peak memory.

--capacity 10,20,30,...: runs one class per size on the same deployment and reports the largest size whose
page p95 while training stays <= 1.5 s with everyone finished, as students per replica and per CPU core
(the README's sizing rule). All replicas share this machine's cores, so per core = size / cores.

Run: python benchmarks/load_replicas.py --students 30                  (load_test.py's options pass through)
     python benchmarks/load_replicas.py --capacity 10,20,30,40,60 --leavers 0
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import load_test  # noqa: E402
from browser_util import streamlit_server  # noqa: E402
from deploy_util import nginx_proxy, postgres_server  # noqa: E402
from stclient import StreamlitSession  # noqa: E402

P95_TARGET_S = load_test.TARGETS["p95_s"]


async def warm(urls: list[str], timeout: float) -> None:
    """Open Build & Train once on every replica directly (each process pays its own first torch import)."""
    for url in urls:
        s = StreamlitSession(url, "warm-replica")
        await s.open(timeout=timeout)
        await s.goto("build_train", timeout=timeout)
        await s.close()


def one_class(proxy_url: str, replicas, largs, students: int) -> dict:
    """load_test's class of `students` through nginx; adds each replica's peak RSS and CPU seconds."""
    largs = argparse.Namespace(**{**vars(largs), "students": students})
    monitors = [load_test.Monitor(r.proc.pid) for r in replicas]
    cpu0 = [load_test._cpu_seconds(r.proc.pid) for r in replicas]
    with contextlib.ExitStack() as stack:
        for m in monitors:
            stack.enter_context(m)
        res = asyncio.run(asyncio.wait_for(load_test._class(proxy_url, replicas[0].proc.pid, largs),
                                           largs.ramp + 2 * largs.timeout + 120))
    res["replica_peak_rss_mb"] = [m.peak_rss_kb / 1024 for m in monitors]
    res["replica_cpu_s"] = [load_test._cpu_seconds(r.proc.pid) - c for r, c in zip(replicas, cpu0)]
    res["p95_while_training_s"] = load_test.pct(res["response_while_training"], 95)
    return res


def capacity(results: dict[int, dict], replicas: int, cores: int) -> dict:
    """The largest class that met the target (all finished, no errors, p95 <= 1.5 s), per replica and per core."""
    ok = [n for n, r in results.items() if r["finished"] == n and not r["errors"]
          and r["p95_while_training_s"] <= P95_TARGET_S]
    best = max(ok, default=0)
    return {"largest_class_within_target": best, "students_per_replica": best / replicas,
            "students_per_core": best / cores, "replicas": replicas, "cores": cores}


def run(args, largs) -> dict:
    """Start PostgreSQL, the replicas and nginx, run the class (or the capacity series), stop everything."""
    with tempfile.TemporaryDirectory(prefix="aelab-replicas-") as tmp, contextlib.ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        env = {"AELAB_DATABASE_URL": pg.url, "AELAB_TRUSTED_PROXIES": "127.0.0.1"}
        if largs.max_jobs:
            env["AELAB_MAX_JOBS"] = largs.max_jobs
        replicas = [stack.enter_context(streamlit_server(env, options=largs.st_opt, log_path=Path(tmp) / f"r{i}.log"))
                    for i in range(args.replicas)]
        proxy = stack.enter_context(nginx_proxy([r.url.removeprefix("http://") for r in replicas]))
        asyncio.run(warm([r.url for r in replicas], largs.timeout))
        sizes = args.capacity or [largs.students]
        results = {n: one_class(proxy.url, replicas, largs, n) for n in sizes}
        hits = {}
        for line in proxy.access_log.read_text(errors="replace").splitlines():
            if "/_stcore/stream" in line:
                hits[line.split()[0]] = hits.get(line.split()[0], 0) + 1
    out = {"replicas": args.replicas, "classes": results, "websockets_per_replica": hits}
    if args.capacity:
        out["capacity"] = capacity(results, args.replicas, os.cpu_count() or 1)
    return out


def summary(out: dict) -> str:
    lines = [f"aelab through nginx: {out['replicas']} replicas on one PostgreSQL, {os.cpu_count()} cores; "
             f"student WebSockets per replica: {out['websockets_per_replica']}"]
    for n, r in out["classes"].items():
        lines.append(f"  class of {n}: finished {r['finished']}/{n}, errors {len(r['errors'])}, isolation problems "
                     f"{len(r['isolation_problems'])}, page response while training p50/p95 "
                     f"{load_test.pct(r['response_while_training'], 50):.3f} / {r['p95_while_training_s']:.3f} s "
                     f"(target p95 <= {P95_TARGET_S} s), replica peak RSS "
                     f"{' / '.join(f'{m:.0f}' for m in r['replica_peak_rss_mb'])} MB, replica CPU "
                     f"{' / '.join(f'{c:.1f}' for c in r['replica_cpu_s'])} s, wall {r['wall_s']:.1f} s")
    if "capacity" in out:
        c = out["capacity"]
        lines.append(f"  capacity: largest class within the target {c['largest_class_within_target']} -> "
                     f"{c['students_per_replica']:.1f} students per replica, {c['students_per_core']:.1f} per core")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--capacity", type=lambda s: sorted({int(x) for x in s.split(",")}), default=None,
                   help="class sizes to try, e.g. 10,20,30,40")
    p.add_argument("--out-json", type=Path, help="write the figures here")
    args, rest = p.parse_known_args(argv)
    largs = load_test.parse_args(rest)
    if args.replicas < 1:
        p.error("--replicas must be at least 1")
    out = run(args, largs)
    print(summary(out))
    if args.out_json:
        args.out_json.write_text(json.dumps(out, indent=1, default=str))
    return 0 if all(r["finished"] == n and not r["errors"] for n, r in out["classes"].items()) else 1


if __name__ == "__main__":
    sys.exit(main())
