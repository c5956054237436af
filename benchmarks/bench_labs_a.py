"""Seconds for the default run of the Denoising and Anomaly-detection labs (target: <= 15 s on 2 cores).

Each lab runs as its page starts it: in a background jobs.Job from the page's default settings on
the built-in digits, followed by the texts and figures the page draws. Wall time and process CPU
time are printed per lab with the measured results, so a loaded machine (other processes competing
for the cores) can be told apart from slow code.

Run: python benchmarks/bench_labs_a.py [--repeats 1]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from labtiming import time_labs  # noqa: E402
from aelab import anomaly, data, denoise, jobs  # noqa: E402

BUDGET_S = 15.0


def denoising_lab() -> str:
    """The Denoising page's default: Gaussian noise 0.3, 64-128-16-128-64, 40 epochs x 4 copies, two models."""
    bundle = data.load_digits()
    job = jobs.Job(lambda ctx: denoise.run_lab(bundle, denoise.DenoiseSettings(), ctx), name="bench-denoise").start()
    job.join()
    res = job.result
    denoise.summary(res)
    for fig in (denoise.example_grid(res), denoise.error_bars(res), denoise.level_curve(res)):
        fig.to_json()
    return (f"error vs clean: noisy {res.mean('noisy'):.4f}, plain AE {res.mean('plain'):.4f}, "
            f"denoising AE {res.mean('denoiser'):.4f} ({res.mean('noisy') / res.mean('denoiser'):.1f}x below noisy)")


def anomaly_lab() -> str:
    """The Anomaly page's default: normal = all digits but 3, 64-128-8-128-64, 60 epochs, sizes 2-32 (5 models)."""
    bundle = data.load_digits()
    job = jobs.Job(lambda ctx: anomaly.run_lab(bundle, anomaly.AnomalySettings(), ctx), name="bench-anomaly").start()
    job.join()
    res = job.result
    thr = res.default_threshold
    c = anomaly.confusion(res.main.test_errors, res.main.is_anomaly, thr)
    anomaly.sweep_text(res.rows)
    for fig in (anomaly.histogram(res, thr), anomaly.roc_figure(res, thr), anomaly.auc_figure(res.rows, 8),
                anomaly.sweep_errors_figure(res.rows), anomaly.worst_grid(res)):
        fig.to_json()
    sweep = " ".join(f"b={r.bottleneck}:{r.auc:.3f}" for r in res.rows)
    return (f"AUC {res.main.auc:.3f}; default threshold {thr:.4f}: TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}; "
            f"AUC by code size {sweep}")


LABS = {"Denoising": denoising_lab, "Anomaly detection": anomaly_lab}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, job threads pinned by jobs.pin_threads, "
          f"load average {load:.1f} at start")
    time_labs(LABS, args.repeats, BUDGET_S, width=20)


if __name__ == "__main__":
    main()
