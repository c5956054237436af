"""Seconds for the default run of the 'PCA = linear AE' and 'Not only images' labs (target: <= 15 s on 2 cores).

Each lab runs exactly as its page starts it: in a background jobs.Job, from the page's default
settings, followed by the analysis the page draws (comparison with PCA; anomaly scores and ROC;
per-column errors). Wall time and process CPU time are printed per lab, with the measured results,
so a slow machine (other processes competing for the cores) can be told apart from slow code.

Run: python benchmarks/bench_labs_b.py [--repeats 1] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from labtiming import time_labs  # noqa: E402
from aelab import analysis, data, jobs, linear, runs, signals  # noqa: E402

BUDGET_S = 15.0


def pca_lab() -> str:
    """The PCA page's default: digits, k = 8, linear AE then nonlinear AE, 120 epochs each."""
    bundle = data.load_digits()
    job = jobs.Job(lambda ctx: linear.run_lab(bundle, linear.PcaLabConfig(), ctx), name="bench-pca").start()
    job.join()
    res = job.result
    c = linear.compare(res)
    linear.explain(res, c)
    return (f"PCA {res.pca_test:.5f}, linear AE {res.linear.test_loss:.5f} ({c.gap:+.2%}), "
            f"nonlinear AE {res.nonlinear.test_loss:.5f} ({c.nonlinear_gap:+.1%}), max angle {c.max_angle:.1f} deg")


def signals_lab() -> str:
    """The signals page's default: 3-channel windows, 192-128-64-8 AE, 40 epochs, then scores and ROC."""
    sigset = signals.make_signals(signals.SignalConfig())
    b = sigset.bundle
    spec = signals.signal_spec(b.input_dim)
    job = jobs.Job(lambda ctx: signals.LabRun(runs.train_run(b, spec, signals.DEFAULT_TRAIN, ctx), None),
                   name="bench-signals").start()
    job.join()
    model = job.result.run.model
    rt, rtr = analysis.reconstruct(model, b.x_test), analysis.reconstruct(model, b.x_train)
    out = []
    for how in signals.SCORES:
        d = signals.detect(signals.scores(b.x_test, rt, how), b.y_test.numpy(), sigset.kind_of(),
                           signals.scores(b.x_train, rtr, how))
        kinds = " ".join(f"{k} {v:.3f}" for k, v in d.auc_by_kind.items())
        out.append(f"{how}: AUC {d.auc:.3f} ({kinds})")
    return f"test MSE {job.result.run.test_loss:.5f}; " + "; ".join(out)


def csv_lab() -> str:
    """The CSV tab's default on the sample table: 13-32-3-32-13, 150 epochs, then per-column errors."""
    table = signals.read_csv(signals.sample_csv(), "wine.csv")
    b = table.bundle
    spec = signals.signal_spec(b.input_dim, (32,), 3)
    cfg = replace(signals.DEFAULT_TRAIN, epochs=150)
    job = jobs.Job(lambda ctx: signals.LabRun(runs.train_run(b, spec, cfg, ctx), table), name="bench-csv").start()
    job.join()
    col = signals.column_errors(b.x_test, analysis.reconstruct(job.result.run.model, b.x_test))
    return f"test MSE {job.result.run.test_loss:.5f}; " + signals.explain_columns(table.columns, col, table.scaler)[0]


LABS = {"PCA = linear AE": pca_lab, "Not only images: signals": signals_lab, "Not only images: CSV sample": csv_lab}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the target has 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
          f"load average {load:.1f} at start")
    time_labs(LABS, args.repeats, BUDGET_S, width=30)


if __name__ == "__main__":
    main()
