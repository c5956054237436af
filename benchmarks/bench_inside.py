"""Server-side cost of the new live views: drawing -> result, and the weights-as-images figure.

Drawing: the work the Draw page does after a stroke ends (decode the canvas bitmap, preprocess, reconstruct,
encode, rank the error, build the three figures and serialize them as Streamlit does), on a trained MNIST model
(784-128-16 with the test set's reference measured once beforehand) and on Digits. Weights: inside.weights_view
(filter_sets + weights_figure + the two computed captions, with the pixel mask and the images' roughness as
ui.weights_images passes them) + JSON for 784-128 weights: what the live views of Build & Train and Encoder |
Decoder redraw with every update (twice a second).

Run: python benchmarks/bench_inside.py [--repeats 50]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import plotly.io as pio  # noqa: E402
import torch  # noqa: E402

from aelab import data, drawing, inside  # noqa: E402
from aelab.model import Autoencoder  # noqa: E402
from aelab.spec import ArchSpec  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median and 95th percentile of fn()'s wall time in ms (after one untimed warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), float(np.quantile(times, 0.95))


def drawing_latency(bundle: data.DataBundle, spec: ArchSpec, repeats: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = Autoencoder(spec).eval()
    ref = drawing.reference("bench", model, bundle.x_test, bundle.y_test)
    side = bundle.image_shape[0]
    payload = drawing.encode(drawing.upsample(bundle.x_test[0].numpy(), side, "bilinear"))

    def one() -> None:
        v = drawing.judge(drawing.decode(payload), model, ref, bundle.class_names)
        for fig in (drawing.images_figure(v, bundle.image_shape), drawing.code_figure(ref, v, bundle.class_names),
                    drawing.error_figure(ref, v)):
            pio.to_json(fig, validate=False)

    return timed(one, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(1)
    state = Autoencoder(ArchSpec(784, (128,), 16)).state_dict()

    rng = np.random.default_rng(0)
    images = (rng.random((1000, 784)) < 0.2).astype(np.float32)  # stand-in data: only the shapes matter for time
    mask = images.max(axis=0) > 0
    reference = float(np.median(inside.roughness(images, (28, 28))))

    def weights() -> None:
        fig, captions = inside.weights_view(state, 784, mask, reference)
        pio.to_json(fig, validate=False)

    med, p95 = timed(weights, args.repeats)
    print(f"RESULT weights-as-images figure + captions, 784-128 (64+64 filters, int8 heatmap): median {med:.1f} ms, "
          f"p95 {p95:.1f} ms")
    med, p95 = drawing_latency(data.load_digits(), ArchSpec(64, (64, 32), 2), args.repeats)
    print(f"RESULT drawing -> reconstruction, code, percentile and 3 figures, Digits 64-64-32-2: median {med:.1f} ms, "
          f"p95 {p95:.1f} ms")
    from bench_train import mnist_bundle

    mnist, source = mnist_bundle()
    if mnist is None:
        print("MNIST skipped: its files are not on this machine")
        return
    med, p95 = drawing_latency(mnist, ArchSpec(784, (128,), 16), args.repeats)
    print(f"RESULT drawing -> ..., {source} 784-128-16 (10,000 test errors, 2,000 codes): median {med:.1f} ms, "
          f"p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
