"""The default Build & Train run: what a learner gets by pressing Train without changing anything.

Builds ArchSpec and TrainConfig from Build & Train's own defaults for the data set (settings.BUILD_TRAIN, through
spec.from_settings, as the page does), trains in a background job like the page (one torch thread), and prints the
architecture, epochs, seconds of live view (Train -> finished) and the final training and test loss, per repeat.
MNIST uses the data folder (AELAB_DATA_DIR) or a temp copy of ../shared/data and is skipped without its files.

Run: python benchmarks/default_run.py [--data digits|mnist] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from aelab import data, runs, spec  # noqa: E402
from aelab.settings import BUILD_TRAIN  # noqa: E402


def bundle_for(name: str) -> data.DataBundle | None:
    if name == "digits":
        return data.load("digits")
    from bench_train import mnist_bundle  # the temp copy of ../shared/data the other benchmarks use

    b, _source = mnist_bundle()
    return b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("digits", "mnist"), default="digits")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    bundle = bundle_for(args.data)
    if bundle is None:
        print(f"{args.data}: files not found; nothing measured")
        return
    arch, cfg = spec.from_settings(BUILD_TRAIN.defaults(args.data), bundle.x_train.shape[1])
    print(f"{args.data}: {arch.describe()}, {cfg.epochs} epochs, batch {cfg.batch_size}, lr {cfg.lr:g}, "
          f"{len(bundle.x_train):,} training / {len(bundle.x_test):,} test samples, loss {cfg.loss}")
    seconds, tests = [], []
    for i in range(args.repeats):
        start = time.perf_counter()
        job = runs.start_training(bundle, arch, cfg, name="bench")
        job.join()
        wall = time.perf_counter() - start
        run = job.result
        seconds.append(wall)
        tests.append(run.test_loss)
        print(f"RESULT run {i + 1}: {run.status}, {run.epochs_done} epochs, {wall:.2f} s Train -> finished "
              f"(training {run.seconds:.2f} s), final train loss {run.history.train[-1]:.5f}, "
              f"test loss {run.test_loss:.5f}")
    print(f"median: {statistics.median(seconds):.2f} s, test loss {statistics.median(tests):.5f}")


if __name__ == "__main__":
    main()
