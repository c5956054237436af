"""Tiny finished results of every page that shares to the class board (Digits, a few epochs): session fixtures for
tests/test_board_labs.py and tests/test_page_share.py (import them into a test module to use them)."""
from __future__ import annotations

import pytest

from aelab import anomaly, board_share, denoise, kinds, latent, layers, linear, runs, signals, sweep
from aelab.spec import ArchSpec, TrainConfig

SIGNALS = signals.SignalConfig(n_train=200, n_test=120, channels=2, length=32, seed=3)


@pytest.fixture(scope="session")
def subject(digits) -> runs.Run:
    """A plain autoencoder as Build & Train leaves it (the session model of Encoder | Decoder and Latent space)."""
    return runs.train_run(digits, ArchSpec(64, (32,), 8), TrainConfig(epochs=2, n_train=300, seed=1))


@pytest.fixture(scope="session")
def lab_results(digits, subject) -> dict:
    """Page kind -> a finished result of that page, as its session state holds it."""
    pair = layers.train_pair(digits, layers.asymmetric_specs(64, 6, (48, 32), (16,)),
                             TrainConfig(epochs=2, n_train=250, seed=2))
    twin_spec, twin_cfg, _ = latent.other_setup(subject, 2, 0.5, len(digits.x_train))
    sigset = signals.make_signals(SIGNALS)
    return {
        "bottleneck": sweep.run_sweep(digits, sweep.SweepConfig(sizes=(2, 8), n_train=100, hidden=(16,), epochs=2,
                                                                curve_points=2)),
        "denoising": denoise.run_lab(digits, denoise.DenoiseSettings(encoder=(32,), bottleneck=8, epochs=2, copies=1,
                                                                     n_train=200)),
        "anomaly": anomaly.run_lab(digits, anomaly.AnomalySettings(encoder=(32,), bottleneck=8, sizes=(2, 8),
                                                                   epochs=3, n_train=400, lr=1e-2)),
        "pca": linear.run_lab(digits, linear.PcaLabConfig(k=4, epochs=3, n_train=500, hidden=32)),
        "split": board_share.Layers(subject, {"runs": pair.runs, "message": pair.message}),
        "latent": board_share.Twins(subject, runs.train_run(digits, twin_spec, twin_cfg)),
        "signals": signals.LabRun(runs.train_run(sigset.bundle, ArchSpec(SIGNALS.input_dim, (32,), 8),
                                                 TrainConfig(epochs=2, seed=0)), SIGNALS),
        "kinds": kinds.run(digits, kinds.CompareSettings(budget="epochs", epochs=1, n_train=200)),
    }
