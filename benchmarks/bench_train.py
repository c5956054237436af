"""Training throughput: aelab's background job vs a bare PyTorch loop, same model, data and settings.

Model 784-128-64-12-3 (mirrored, Sigmoid output), Adam (fused), batch 256, MSE, on MNIST's 60,000
training images when the files are found (AELAB_DATA_DIR, or ../shared/data copied to a temp
folder), else on 60,000 random 784-pixel images (speed does not depend on pixel values).
While the job trains, a "UI" thread polls job.view() every 0.5 s and, like the page, loads the
latest weight snapshot and reconstructs 10 images.

With --model conv the same comparison runs the convolutional autoencoder (784-c16-c32-3 on MNIST, 64-c16-c32-3
with --data digits, where the loop is repeated over the 1,438 training images).

Run: python benchmarks/bench_train.py [--epochs 3] [--repeats 3] [--model dense|conv] [--data mnist|digits]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("AELAB_MAX_JOBS", "1")  # one job owns all cores, like the bare loop
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from aelab import data, jobs, runs  # noqa: E402
from aelab.spec import ArchSpec, TrainConfig  # noqa: E402
from aelab.train import build_seeded, fit, make_optimizer, recon_loss  # noqa: E402

SPEC = ArchSpec(784, (128, 64, 12), 3)
CONV = {784: ArchSpec(784, (), 3, layout="conv", channels=(16, 32)),  # issue 14: the convolutional model
        64: ArchSpec(64, (), 3, layout="conv", channels=(16, 32))}


def mnist_bundle() -> tuple[data.DataBundle | None, str]:
    """MNIST from the data folder, or from ../shared/data copied to a temp folder; (None, "") if neither has it."""
    shared = ROOT.parent / "shared" / "data"
    if data.is_available("mnist"):
        return data.load("mnist"), "MNIST (data folder)"
    if (shared / "MNIST" / "raw").exists():
        tmp = Path(tempfile.mkdtemp())
        shutil.copytree(shared / "MNIST" / "raw", tmp / "MNIST" / "raw")
        return data.load("mnist", tmp), "MNIST (../shared/data)"
    return None, ""


def load_mnist() -> tuple[torch.Tensor, torch.Tensor, str]:
    b, source = mnist_bundle()
    if b is not None:
        return b.x_train, b.x_test, source
    g = torch.Generator().manual_seed(0)
    return torch.rand(60000, 784, generator=g), torch.rand(10000, 784, generator=g), "random 784-pixel images"


def bare_loop(x: torch.Tensor, cfg: TrainConfig) -> float:
    """The reference: the loop a PyTorch user would write. Returns samples/s."""
    torch.set_flush_denormal(True)
    model = build_seeded(SPEC, cfg.seed)  # the same module (for conv: Unflatten -> Conv2d ... -> Flatten)
    opt = make_optimizer(model, cfg)
    g = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), cfg.batch_size):
            xb = x[perm[i:i + cfg.batch_size]]
            loss = recon_loss(model(xb), xb, cfg.loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return cfg.epochs * len(x) / (time.perf_counter() - start)


def job_run(x: torch.Tensor, x_test: torch.Tensor, cfg: TrainConfig) -> tuple[float, float, int]:
    """aelab's job with a UI poller. Returns (training samples/s, wall samples/s incl. eval, UI draws)."""
    model = build_seeded(SPEC, cfg.seed)
    job = jobs.Job(lambda ctx: fit(model, x, x_test, cfg, monitor=ctx), name="bench")
    draws = 0
    stop = threading.Event()

    def ui_poller() -> None:
        nonlocal draws
        ui_model = None
        while not stop.is_set():
            view = job.view()
            if view.state is not None:
                ui_model = runs.model_from_state(SPEC, view.state, into=ui_model)
                with torch.no_grad():
                    ui_model(x_test[:10])
                draws += 1
            stop.wait(0.5)

    poller = threading.Thread(target=ui_poller, daemon=True)
    start = time.perf_counter()
    job.start()
    poller.start()
    job.join()
    wall = time.perf_counter() - start
    stop.set()
    poller.join()
    assert job.view().status == "done", job.view().message
    return job.view().progress.samples_per_s, cfg.epochs * len(x) / wall, draws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", choices=("dense", "conv"), default="dense")
    ap.add_argument("--data", choices=("mnist", "digits"), default="mnist")
    ap.add_argument("--limit", type=int, default=0, help="use only this many training images (smoke runs)")
    args = ap.parse_args()
    global SPEC
    if args.data == "digits":
        b = data.load_digits()
        x, x_test, source = b.x_train, b.x_test, "Digits (built in)"
    else:
        x, x_test, source = load_mnist()
    if args.limit:
        x = x[:args.limit]
    if args.model == "conv":
        SPEC = CONV[x.shape[1]]
    elif x.shape[1] != SPEC.input_dim:
        SPEC = ArchSpec(x.shape[1], (128, 64, 12), 3)
    cfg = TrainConfig(epochs=args.epochs, batch_size=256, lr=1e-3)
    threads = jobs.pin_threads()  # the job thread pins the same count
    print(f"data: {source}, {len(x):,} images; model {SPEC.describe()}; batch 256; {args.epochs} epochs; "
          f"torch {torch.__version__}, {threads} intra-op threads, {os.cpu_count()} cores")
    bare_loop(x[:1024], TrainConfig(epochs=1, batch_size=256, lr=1e-3))  # untimed warm-up: optimizer import, kernels
    bare, train_rate, wall_rate = [], [], []
    for r in range(args.repeats):
        bare.append(bare_loop(x, cfg))
        t, w, draws = job_run(x, x_test, cfg)
        train_rate.append(t)
        wall_rate.append(w)
        print(f"  repeat {r + 1}: bare {bare[-1]:,.0f}/s | job {t:,.0f}/s training, {w:,.0f}/s wall "
              f"(incl. per-epoch test loss on {len(x_test):,} images) | UI draws {draws}")
    b, t, w = statistics.median(bare), statistics.median(train_rate), statistics.median(wall_rate)
    print(f"median samples/s: bare {b:,.0f}; job {t:,.0f} (training) / {w:,.0f} (wall)")
    print(f"RATIO job/bare: {t / b:.3f} (training time), {w / b:.3f} (wall, incl. test evaluation)")
    print(f"seconds per epoch: bare {len(x) / b:.2f}, job {len(x) / w:.2f} (wall)")


if __name__ == "__main__":
    main()
