"""Dense vs convolutional autoencoder with about the same parameter count, at an equal wall-clock budget.

MNIST (the data folder, or ../shared/data copied to a temp folder), 10,000 training images, the full 10,000-image
test set; each model trains for the same number of seconds (aelab.kinds' deadline monitor: the clock starts at the
first step) with Adam, batch 64, lr 3e-3, code size 16, one torch thread; prints each model's parameters, epochs
reached and test MSE per pixel.

Run: python benchmarks/bench_conv_vs_dense.py [--seconds 30] [--n-train 10000] [--code 16]
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

from aelab import analysis, kinds  # noqa: E402
from aelab.spec import ArchSpec  # noqa: E402
from aelab.train import build_seeded, fit  # noqa: E402
from bench_train import load_mnist  # noqa: E402

CONV_CHANNELS = (16, 32)  # 784-c16-c32-16: 61,329 parameters with code 16
DENSE_HIDDEN = 40  # 784-40-16-40-784: 64,880 parameters with code 16 (within 6% of the conv model)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--n-train", type=int, default=10_000)
    ap.add_argument("--code", type=int, default=16)
    ap.add_argument("--n-test", type=int, default=10_000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    x, x_test, source = load_mnist()
    x, x_test = x[:args.n_train], x_test[:args.n_test]
    specs = {"dense": ArchSpec(784, (DENSE_HIDDEN,), args.code),
             "conv": ArchSpec(784, (), args.code, layout="conv", channels=CONV_CHANNELS)}
    settings = kinds.CompareSettings(budget="seconds", seconds=args.seconds)
    print(f"data: {source}, {len(x):,} training / {len(x_test):,} test images; {args.seconds:g} s per model; "
          f"torch {torch.__version__}, 1 thread")
    for name, spec in specs.items():
        cfg = replace(settings.config(name), sparsity=0.0)
        model = build_seeded(spec, cfg.seed)
        budget = kinds.TimeBudget(args.seconds)
        res = fit(model, x, x_test[:1000], cfg, monitor=budget)
        model.cpu().eval()
        mse = float(analysis.per_sample_error(x_test, analysis.reconstruct(model, x_test)).mean())
        epochs = res.history.step_x[-1] if res.history.step_x else 0.0
        print(f"RESULT {name:5s} {spec.describe():28s} {spec.param_count:>8,} parameters | {epochs:6.1f} epochs in "
              f"{res.seconds:5.1f} s | test MSE {mse:.5f}")


if __name__ == "__main__":
    main()
