"""Measurements of a code that is wider than the input: is it sparse, does it learn features, or does it copy?

The penalty itself is train.l1_activity (a loss term of train.loss_terms); this module measures its effect:
the share of active code units per input, how much of an unseen perturbation passes through, and a probe.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from aelab import analysis
from aelab.model import Autoencoder

ACTIVE_REL = 0.1  # a unit is active on an input when |z_j| >= this fraction of that input's largest |z|
PERTURB_STD = 0.1  # per-pixel std of the unseen Gaussian perturbation added for pass_through
PROBE_TRAIN = 2000  # training codes the kNN probe compares with (a fixed subset)


def active_fraction(codes: np.ndarray, rel: float = ACTIVE_REL) -> np.ndarray:
    """Per input, the share of code units that are active: |z_j| >= rel * max_j |z_j|. (N, k) -> (N,).

    Relative to each input's own largest unit, so the measure does not depend on the code's scale: a dense
    code spreads the input over most units, a sparse one over a few.
    """
    a = np.abs(codes)
    peak = a.max(axis=1, keepdims=True)  # (N, 1)
    return np.where(peak[:, 0] > 0, (a >= rel * peak).mean(axis=1), 0.0)


@torch.no_grad()
def pass_through(model: Autoencoder, x: torch.Tensor, std: float = PERTURB_STD, seed: int = 0) -> float:
    """How much of an unseen random perturbation d reaches the output: mean of <f(x+d) - f(x), d> / |d|^2.

    1 for a network that copies its input (the identity passes all of d), about m/D for one that projects onto
    m directions of the data, 0 for one that ignores d. The perturbation is Gaussian noise, which no training
    image looks like, so a network that learned features of the data removes most of it.
    """
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(x.shape, generator=g) * std  # (N, D)
    change = analysis.reconstruct(model, x + d) - analysis.reconstruct(model, x)  # (N, D)
    return float(((change * d).sum(dim=1) / (d * d).sum(dim=1)).mean())


@dataclass(frozen=True)
class CodeMeasure:
    """What a trained model's code does on held-out data."""

    test_mse: float  # mean squared reconstruction error per pixel on the held-out set
    active: float  # mean share of active code units per held-out input (see active_fraction)
    pass_through: float  # share of an unseen perturbation that reaches the output (see pass_through)
    probe: float  # kNN accuracy of the codes (a label-free feature probe; 0.1 is chance for 10 classes)
    code_size: int  # k
    zeros: bool  # whether the code has exact zeros (a ReLU-like code activation), not just small values


def measure(model: Autoencoder, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
            y_test: torch.Tensor) -> CodeMeasure:
    """Measure a trained model on held-out data (the probe compares with up to PROBE_TRAIN training codes)."""
    codes = analysis.encode(model, x_test)  # (M, k)
    sub = analysis.subsample(len(x_train), PROBE_TRAIN)
    train_codes = analysis.encode(model, x_train[sub])
    mse = float(analysis.per_sample_error(x_test, analysis.reconstruct(model, x_test)).mean())
    probe = analysis.knn_accuracy(train_codes, y_train[sub].numpy(), codes, y_test.numpy())
    return CodeMeasure(mse, float(active_fraction(codes).mean()), pass_through(model, x_test), probe,
                       codes.shape[1], bool((codes == 0).mean() > 0.01))


def verdict(sparse: CodeMeasure, plain: CodeMeasure, input_dim: int) -> list[str]:
    """Sentences comparing the same wide code trained with the L1 penalty (`sparse`) and without it (`plain`)."""
    k = sparse.code_size
    lines = [f"Both codes have {k} numbers for {input_dim} inputs"
             + (" (wider than the input)." if k > input_dim else " (not wider than the input).")]
    ratio = sparse.active / plain.active if plain.active > 0 else float("inf")
    if sparse.active < plain.active * 0.8:
        lines.append(f"With the penalty an input uses {sparse.active:.0%} of the code units, without it "
                     f"{plain.active:.0%}: the penalty made the code sparse ({ratio:.2f}x as many active units).")
    elif sparse.active > plain.active * 1.25:
        lines.append(f"With the penalty an input uses {sparse.active:.0%} of the code units, more than without it "
                     f"({plain.active:.0%}): the penalty shrank all units alike instead of silencing most of them. "
                     "Try a larger weight or more training.")
    else:
        lines.append(f"Both codes use about as many units per input ({sparse.active:.0%} with the penalty, "
                     f"{plain.active:.0%} without): the penalty is too weak to make this code sparse.")
    passed = (f"{plain.pass_through:.0%} of an unseen noise pattern passes through to the output without the "
              f"penalty, {sparse.pass_through:.0%} with it")
    if sparse.pass_through < plain.pass_through * 0.8:
        lines.append(f"{passed}: without the penalty the wide code hands on more of whatever it is given (it "
                     "drifts towards copying); with it the network keeps more of what looks like the training data.")
    elif sparse.pass_through > plain.pass_through * 1.25:
        lines.append(f"{passed}: here the penalized network copies more, not less.")
    else:
        lines.append(f"{passed}: about the same, so the penalty did not stop the wide code from passing noise on"
                     + (" (a code without an activation stays open to every input even when it is small: try "
                        "the ReLU code activation)." if not sparse.zeros else "."))
    if sparse.probe >= plain.probe + 0.02:
        lines.append(f"A kNN probe reads the class from the sparse code better ({sparse.probe:.0%} vs "
                     f"{plain.probe:.0%}).")
    elif sparse.probe <= plain.probe - 0.02:
        lines.append(f"A kNN probe reads the class from the unpenalized code better ({plain.probe:.0%} vs "
                     f"{sparse.probe:.0%}): sparsity did not make the classes easier to tell apart here.")
    else:
        lines.append(f"A kNN probe reads the class about equally well from both codes ({sparse.probe:.0%} and "
                     f"{plain.probe:.0%}).")
    if sparse.test_mse > plain.test_mse * 1.05:
        lines.append(f"The price: held-out error {sparse.test_mse:.4f} with the penalty vs {plain.test_mse:.4f} "
                     "without (the penalty trades some reconstruction for a sparser code).")
    else:
        lines.append(f"Held-out error is {sparse.test_mse:.4f} with the penalty and {plain.test_mse:.4f} without: "
                     "the sparse code reconstructs about as well.")
    return lines
