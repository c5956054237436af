"""Benchmark of the bottleneck experiment: the whole default experiment, and batched vs one-after-another.

Run from the repository root:  python benchmarks/bench_sweep.py [--mnist] [--mnist-sequential] [--threads N]
MNIST needs its files under $AELAB_DATA_DIR (see aelab/data.py). Prints wall and CPU seconds and the
machine's load, because a busy shared machine stretches wall time.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from aelab import data, stacked, sweep  # noqa: E402
from aelab.train import build_seeded, make_optimizer  # noqa: E402


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def bare_sequential(bundle: data.DataBundle, cfg: sweep.SweepConfig) -> None:
    """The same training (same batches, epochs, Adam) model after model, with no evaluation at all."""
    train = bundle.subset(cfg.n_train, seed=cfg.seed)
    x = train.x_train
    for size in cfg.sizes:
        model = build_seeded(cfg.spec(size, bundle.input_dim), cfg.seed)
        opt = make_optimizer(model, cfg.train_config())
        g = torch.Generator().manual_seed(cfg.seed)
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(x), generator=g)
            for i in range(0, len(x), cfg.batch_size):
                xb = x[perm[i:i + cfg.batch_size]]  # (B, D)
                loss = (model(xb) - xb).pow(2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()


def bare_batched(bundle: data.DataBundle, cfg: sweep.SweepConfig) -> None:
    """The stacked network's training steps alone (no evaluation), for the pure compute ratio."""
    train = bundle.subset(cfg.n_train, seed=cfg.seed)
    x = train.x_train
    net = stacked.SweepNetwork([build_seeded(cfg.spec(s, bundle.input_dim), cfg.seed) for s in cfg.sizes])
    opt = make_optimizer(net, cfg.train_config())
    g = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), cfg.batch_size):
            xb = x[perm[i:i + cfg.batch_size]]  # (B, D)
            opt.zero_grad(set_to_none=True)
            net.losses(xb).sum().backward()
            opt.step()


def report(name: str, wall: float, cpu: float) -> None:
    print(f"  {name:<52s} wall {wall:7.2f} s   cpu {cpu:7.2f} s")


def bench(label: str, bundle: data.DataBundle, cfg: sweep.SweepConfig, other, sequential: bool) -> None:
    print(f"\n{label}: {len(cfg.sizes)} sizes {cfg.sizes}, {cfg.n_train} training images, hidden {cfg.hidden}, "
          f"{cfg.epochs} epochs, batch {cfg.batch_size}")
    res, wall, cpu = timed(lambda: sweep.run_sweep(bundle, cfg, other=other))
    report("whole experiment, batched (train + measure)", wall, cpu)
    print(f"    of which training {res.train_seconds:.2f} s; groups {stacked.group_sizes(list(cfg.sizes))}")
    for r in res.rows:
        print(f"    b={r.bottleneck:<4d} train {r.train_error:.4f} test {r.test_error:.4f} gap {r.gap:4.1f}x "
              f"ood {r.ood_error:.4f} kNN {r.knn_accuracy:.3f} linear {r.linear_accuracy:.3f}")
    if not sequential:
        return
    seq, s_wall, s_cpu = timed(lambda: sweep.run_sweep(bundle, cfg, other=other, mode="sequential"))
    report("whole experiment, sequential (train.fit per size)", s_wall, s_cpu)
    print(f"    ratio sequential / batched: wall {s_wall / wall:.2f}x, cpu {s_cpu / cpu:.2f}x "
          f"(training only: {seq.train_seconds / res.train_seconds:.2f}x)")
    _, b_wall, b_cpu = timed(lambda: bare_batched(bundle, cfg))
    _, q_wall, q_cpu = timed(lambda: bare_sequential(bundle, cfg))
    report("training steps only, batched", b_wall, b_cpu)
    report("training steps only, bare loop per size", q_wall, q_cpu)
    print(f"    ratio bare sequential / batched: wall {q_wall / b_wall:.2f}x, cpu {q_cpu / b_cpu:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--mnist", action="store_true", help="also time MNIST, 1000 images, 8 sizes")
    ap.add_argument("--mnist-sequential", action="store_true", help="also time MNIST one model after another")
    ap.add_argument("--no-sequential", action="store_true", help="skip the sequential comparison on digits")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    digits = data.load_digits()
    cfg = sweep.SweepConfig()
    _, wall, cpu = timed(lambda: sweep.run_sweep(digits, replace(cfg, epochs=1, sizes=(2, 4))))
    report("warm-up (one-time imports, first optimizer)", wall, cpu)
    bench("Digits, page defaults", digits, cfg, None, not args.no_sequential)
    if args.mnist or args.mnist_sequential:
        if not data.is_available(data.MNIST):
            print(f"\nMNIST files not found under {data.data_dir()}: skipped (set AELAB_DATA_DIR).")
        else:
            other = data.load(data.FASHION) if data.is_available(data.FASHION) else None
            mcfg = replace(cfg, n_train=1000, sizes=sweep.default_sizes(784))
            bench("MNIST (Fashion-MNIST as never-seen inputs)", data.load(data.MNIST), mcfg, other,
                  args.mnist_sequential)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
