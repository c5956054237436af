"""The lessons' live measurements: every `demo_*` function settles one step of aelab/lessons.toml.

Each trains or probes small models on the built-in digits (a second or two on one CPU core), reusing the
labs' own pieces (noise, linear, signals, anomaly), and returns an Outcome whose sentences are written from
the numbers it measured.
"""
from __future__ import annotations

import functools
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from torch import nn

from aelab import analysis, anomaly, data, diagram, figures, linear, noise, pca, signals
from aelab.data import DataBundle
from aelab.model import Autoencoder, as_sequential
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import build_seeded, fit

CPU = torch.device("cpu")
_CACHE: dict[tuple, tuple[nn.Module, float]] = {}  # (tag, spec, cfg) -> (trained model, seconds); read-only models
_CACHE_LIMIT = 24
_CACHE_LOCK = threading.Lock()  # sessions run experiments in parallel job threads


@dataclass
class Outcome:
    summary: str  # what the measurement shows, written from the numbers in `values`
    values: dict[str, float]  # the measured numbers (tests read these)
    metrics: list[tuple[str, str]]  # (label, formatted value) shown as a row of metrics
    figure: go.Figure | None = None  # a picture of the result
    code: str | None = None  # verbatim text worth showing, e.g. the error PyTorch raised
    seconds: float = 0.0  # wall time of the whole experiment


# -- small shared helpers ----------------------------------------------------------------------
def train_small(tag: str, x_train: torch.Tensor, x_test: torch.Tensor, spec: ArchSpec, cfg: TrainConfig,
                target_train: torch.Tensor | None = None, target_test: torch.Tensor | None = None,
                model: nn.Module | None = None) -> tuple[nn.Module, float]:
    """Train with train.fit on the CPU and cache the result under (tag, spec, cfg); returns (model, seconds).

    `tag` must name the data (and targets) uniquely; `model` replaces the default Autoencoder(spec).
    """
    key = (tag, spec, cfg)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    net = model if model is not None else build_seeded(spec, cfg.seed)
    res = fit(net, x_train, x_test, cfg, target_train=target_train, target_test=target_test, device=CPU)
    net.cpu().eval()
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (net, res.seconds)
    return net, res.seconds


def nearest_distance(images: torch.Tensor, pool: torch.Tensor) -> np.ndarray:
    """Root-mean-square pixel distance from each image to its nearest image in `pool`: (N, D), (M, D) -> (N,)."""
    d2 = torch.cdist(images, pool).pow(2) / images.shape[1]  # (N, M) mean squared difference
    return d2.min(dim=1).values.sqrt().numpy()


def _timed(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Record the experiment's wall time in Outcome.seconds."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Outcome:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        out.seconds = time.perf_counter() - t0
        return out

    return wrapper


def _grid(bundle: DataBundle, rows: list[torch.Tensor], labels: list[str], idx: list[int], title: str) -> go.Figure:
    cols = [bundle.class_names[int(bundle.y_test[i])] for i in idx]
    return figures.image_grid([r.numpy() for r in rows], bundle.image_shape, row_labels=labels, col_labels=cols,
                              title=title)


def _basic(bundle: DataBundle) -> tuple[nn.Module, float, ArchSpec, TrainConfig]:
    """The lessons' everyday model: D-32-8-32-D, 15 epochs (shared by several steps through the cache)."""
    spec, cfg = ArchSpec(bundle.input_dim, (32,), 8), TrainConfig(epochs=15, batch_size=64)
    model, secs = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
    return model, secs, spec, cfg


# -- basics ------------------------------------------------------------------------------------
@_timed
def demo_copy(bundle: DataBundle) -> Outcome:
    """Train a small autoencoder and compare its outputs with its inputs, before and after training."""
    model, secs, spec, cfg = _basic(bundle)
    untrained = build_seeded(spec, cfg.seed).eval()  # the same starting weights
    before, after = analysis.model_error(untrained, bundle.x_test), analysis.model_error(model, bundle.x_test)
    idx = data.sample_indices(bundle.y_test, n=8)
    x = bundle.x_test[idx]  # (8, D)
    fig = _grid(bundle, [x, analysis.reconstruct(untrained, x), analysis.reconstruct(model, x)],
                ["input", "untrained", "trained"], idx, "Held-out images and what the network gives back")
    ratio = before / max(after, 1e-12)
    verdict = (f"{ratio:.0f} times less: the outputs became recognizable copies of the inputs" if ratio >= 3 else
               f"only {ratio:.1f} times less: it has started, but needs more training to copy well")
    summary = (f"Untrained, the outputs missed the held-out images by a mean squared error of {before:.4f}. "
               f"After {cfg.epochs} epochs ({secs:.1f} s) the error is {after:.4f}, {verdict}. The only target "
               f"was the image itself, squeezed through {spec.bottleneck} numbers on the way.")
    return Outcome(summary, {"before": before, "after": after},
                   [("error before training", f"{before:.4f}"), ("error after training", f"{after:.4f}"),
                    ("code size", f"{spec.bottleneck} of {spec.input_dim}")], fig)


@_timed
def demo_parts(bundle: DataBundle) -> Outcome:
    """Find the narrowest layer of the seed network, and run the same weights as one nn.Sequential."""
    spec = ArchSpec(bundle.input_dim, (128, 64, 12), 3)
    model = build_seeded(spec, 0).eval()
    x = bundle.x_test[:64]  # (64, D)
    with torch.no_grad():
        code = model.encode(x)  # (64, D) -> (64, 3)
        split = model(x)  # (64, D)
        seq = as_sequential(model)
        whole = seq(x)  # (64, D): the same modules, one after another
    diff = float((split - whole).abs().max())
    widths = spec.widths
    narrow = int(np.argmin(widths))
    same = "exactly the same numbers" if diff == 0 else f"the same numbers up to {diff:.1e} of rounding"
    summary = (f"The widths run {spec.describe()}. The narrowest layer is number {narrow} with {widths[narrow]} "
               f"units: the encoder ends there, and a batch of {len(x)} images becomes a code of shape "
               f"{tuple(code.shape)}. Chained as one nn.Sequential of {len(seq)} modules, the same weights give "
               f"{same}: 'encoder' and 'decoder' are names for the two halves around the narrowest layer, "
               "not two different kinds of machine.")
    return Outcome(summary, {"max_difference": diff, "narrowest": float(widths[narrow]), "code_dim": code.shape[1]},
                   [("narrowest layer", f"{widths[narrow]} units"), ("modules in one Sequential", str(len(seq))),
                    ("largest output difference", f"{diff:.1e}")], diagram.sandglass(spec, height=240))


@_timed
def demo_losses(bundle: DataBundle) -> Outcome:
    """Train the same network with MSE, BCE and L1, and score every result with the same yardstick."""
    spec = ArchSpec(bundle.input_dim, (32,), 8)
    base = analysis.model_error(build_seeded(spec, 0).eval(), bundle.x_test)
    rows, values = [], {"untrained": base}
    for loss in ("mse", "bce", "l1"):
        cfg = TrainConfig(loss=loss, epochs=12, batch_size=64)
        model, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
        values[loss] = analysis.model_error(model, bundle.x_test)
        recon = analysis.reconstruct(model, bundle.x_test)
        values[f"{loss}_l1"] = float((recon - bundle.x_test).abs().mean())
        rows.append(loss)
    best = min(rows, key=lambda k: values[k])
    worst = max(rows, key=lambda k: values[k])
    spread = values[worst] / max(values[best], 1e-12)
    summary = (f"Untrained, the held-out error (MSE) was {base:.4f}. Trained with MSE it fell to {values['mse']:.4f}, "
               f"with BCE to {values['bce']:.4f}, with L1 to {values['l1']:.4f}: every loss that compares the "
               f"output with the input teaches the network to copy. Judged by MSE, the {best.upper()}-trained "
               f"network is best and the {worst.upper()}-trained one {spread:.2f} times worse; judged by the "
               "mean absolute difference instead: " +
               ", ".join(f"{k.upper()} {values[k + '_l1']:.4f}" for k in rows) +
               ". Which loss is 'best' depends partly on the yardstick.")
    return Outcome(summary, values, [("untrained", f"{base:.4f}")] +
                   [(f"trained with {k.upper()}", f"{values[k]:.4f}") for k in rows])


@_timed
def demo_bottleneck(bundle: DataBundle) -> Outcome:
    """Train a 2-number and a 16-number code and compare held-out reconstructions."""
    cfg = TrainConfig(epochs=20, batch_size=64)
    models, errors = {}, {}
    for k in (2, 16):
        spec = ArchSpec(bundle.input_dim, (64,), k)
        models[k], _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
        errors[k] = analysis.model_error(models[k], bundle.x_test)
    idx = data.sample_indices(bundle.y_test, n=8)
    x = bundle.x_test[idx]
    fig = _grid(bundle, [x, analysis.reconstruct(models[2], x), analysis.reconstruct(models[16], x)],
                ["input", "code 2", "code 16"], idx, "Held-out digits through a 2-number and a 16-number code")
    ratio = errors[2] / max(errors[16], 1e-12)
    if ratio > 1.05:
        verdict = (f"the 2-number code leaves {ratio:.1f} times the error of the 16-number one: squeezing harder "
                   "keeps only the coarse shape and blurs the details")
    else:
        verdict = "the two codes ended up about equally good here: train longer to see them separate"
    summary = (f"Held-out error with a 2-number code: {errors[2]:.4f}; with a 16-number code: {errors[16]:.4f}. "
               f"So {verdict}. The small code is the stronger summary, the large one the better copy.")
    return Outcome(summary, {"code2": errors[2], "code16": errors[16]},
                   [("error, code of 2", f"{errors[2]:.4f}"), ("error, code of 16", f"{errors[16]:.4f}"),
                    ("ratio", f"{ratio:.1f}x")], fig)


# -- myths -------------------------------------------------------------------------------------
@_timed
def demo_memorize(bundle: DataBundle, n_train: int = 100) -> Outcome:
    """With a tiny training set, compare the train/held-out gap of a narrow and a wide code."""
    small = bundle.subset(n_train, seed=0)
    cfg = TrainConfig(epochs=150, batch_size=25, n_train=n_train)
    values = {}
    for k in (2, 32):
        spec = ArchSpec(bundle.input_dim, (128,), k)
        model, _ = train_small(f"{bundle.name}:sub{n_train}", small.x_train, bundle.x_test, spec, cfg)
        values[f"train{k}"] = analysis.model_error(model, small.x_train)
        values[f"test{k}"] = analysis.model_error(model, bundle.x_test)
        values[f"gap{k}"] = values[f"test{k}"] / max(values[f"train{k}"], 1e-12)
    grows = values["gap32"] > values["gap2"]
    summary = (f"On {n_train} training images, the 2-number code reached a training error of {values['train2']:.4f} "
               f"and a held-out error of {values['test2']:.4f} (held-out {values['gap2']:.1f} times the training "
               f"error); the 32-number code reached {values['train32']:.4f} and {values['test32']:.4f} "
               f"({values['gap32']:.1f} times). ")
    if grows:
        summary += (f"The gap grew {values['gap32'] / values['gap2']:.1f}-fold with the wider code: it fits the "
                    "training images far better than it fits images it has not seen, which is memorization. ")
    else:
        summary += ("Here the gap did not grow with the wider code; try fewer images or more epochs on the "
                    "Bigger bottleneck page. ")
    if values["test32"] < values["test2"]:
        summary += ("Note the subtler part: the wide code is still better on held-out images in absolute terms; "
                    "what grows is the share of its training success that does not carry over.")
    return Outcome(summary, values, [("gap, code 2", f"{values['gap2']:.1f}x"),
                                     ("gap, code 32", f"{values['gap32']:.1f}x"),
                                     ("held-out error, code 32", f"{values['test32']:.4f}")])


@_timed
def demo_not_classifier(bundle: DataBundle) -> Outcome:
    """Feed one digit through a trained autoencoder and look at what comes out."""
    model, _, spec, _ = _basic(bundle)
    i = int(torch.nonzero(bundle.y_test == min(7, len(bundle.class_names) - 1))[0])
    x = bundle.x_test[i:i + 1]  # (1, D)
    out = analysis.reconstruct(model, x)  # (1, D)
    err = analysis.mean_error(x, out)
    name = bundle.class_names[int(bundle.y_test[i])]
    h, w = bundle.image_shape
    summary = (f"For this '{name}' the network returned {out.shape[1]} numbers between {float(out.min()):.2f} and "
               f"{float(out.max()):.2f}: one brightness per pixel of a {h}x{w} image, redrawing the digit with an "
               f"error of {err:.4f}. There is no place in its output for a class: it has {out.shape[1]} outputs, "
               f"not {len(bundle.class_names)}, and it was never shown a label. Naming the digit needs a separate "
               "classifier, trained with labels (possibly on the code).")
    fig = _grid(bundle, [x, out], ["input", "output"], [i], "What comes out: an image, not a label")
    return Outcome(summary, {"outputs": float(out.shape[1]), "classes": float(len(bundle.class_names)), "error": err},
                   [("outputs per image", str(out.shape[1])), ("classes", str(len(bundle.class_names))),
                    ("reconstruction error", f"{err:.4f}")], fig)


@_timed
def demo_no_labels(bundle: DataBundle) -> Outcome:
    """Train without labels, then check whether same-class images got nearby codes."""
    model, _, spec, _ = _basic(bundle)
    tr, te = analysis.encode(model, bundle.x_train), analysis.encode(model, bundle.x_test)  # (N, 8), (M, 8)
    ytr, yte = bundle.y_train.numpy(), bundle.y_test.numpy()
    acc_code = analysis.knn_accuracy(tr, ytr, te, yte)
    acc_raw = analysis.knn_accuracy(bundle.x_train.numpy(), ytr, bundle.x_test.numpy(), yte)
    chance = float(np.bincount(yte).max() / len(yte))
    summary = (f"Training used pixels only. Afterwards, a 5-nearest-neighbour vote among the training codes names "
               f"the right digit for {acc_code:.0%} of held-out images, against {chance:.0%} by always guessing the "
               f"most common class and {acc_raw:.0%} for the same vote on all {bundle.input_dim} raw pixels. ")
    if acc_code > 2 * chance:
        summary += (f"So the {spec.bottleneck}-number codes group images by digit although no label was ever used; "
                    "labels only came in afterwards, to measure it.")
    else:
        summary += "Here the codes carry little class information; a longer training helps."
    return Outcome(summary, {"knn_code": acc_code, "knn_raw": acc_raw, "chance": chance},
                   [("k-NN on codes", f"{acc_code:.0%}"), ("k-NN on raw pixels", f"{acc_raw:.0%}"),
                    ("chance", f"{chance:.0%}")])


SIGNALS = signals.SignalConfig(n_train=1200, n_test=300, channels=1, glitch_fraction=0.0)  # the lab's windows


@_timed
def demo_signals(bundle: DataBundle | None = None) -> Outcome:
    """Compress the Signals lab's sensor windows (one channel, not images) into a 3-number code."""
    windows = signals.make_signals(SIGNALS).bundle
    x_train, x_test = windows.x_train, windows.x_test  # (1200, 64), (300, 64)
    spec, cfg = ArchSpec(x_train.shape[1], (64,), 3), TrainConfig(epochs=30, batch_size=64)
    model, _ = train_small(f"signals:{SIGNALS}", x_train, x_test, spec, cfg)
    err = analysis.model_error(model, x_test)
    baseline = analysis.mean_error(x_test, x_train.mean(dim=0).expand_as(x_test))  # always answer the average signal
    kept = 1 - err / baseline
    recon = analysis.reconstruct(model, x_test[:3])  # (3, 64)
    fig = signals.signals_figure(x_test[:3].numpy(), recon.numpy(), 1,
                                 [f"held-out signal {j + 1} (solid) and its reconstruction (dotted)" for j in range(3)],
                                 height_per_row=90)
    summary = (f"Each signal is {x_train.shape[1]} numbers, squeezed into {spec.bottleneck}. Held-out error: "
               f"{err:.5f}, against {baseline:.5f} for always answering the average signal, so the code keeps "
               f"{kept:.0%} of the signals' variation. The network never knew these were not pixels: it sees a "
               "vector of numbers either way.")
    return Outcome(summary, {"error": err, "baseline": baseline, "kept": kept},
                   [("held-out error", f"{err:.5f}"), ("average-signal guess", f"{baseline:.5f}"),
                    ("variation kept", f"{kept:.0%}")], fig)


# -- pitfalls ----------------------------------------------------------------------------------
@_timed
def demo_wide_copies_noise(bundle: DataBundle, std: float = 0.25) -> Outcome:
    """Train a narrow and an input-wide code on clean digits, then feed both noisy digits."""
    cfg = TrainConfig(epochs=15, batch_size=64)
    clean = bundle.x_test
    noisy = noise.gaussian(clean, std, seed=5)
    noise_energy = analysis.mean_error(clean, noisy)
    values = {"noise": noise_energy}
    for name, spec in (("narrow", ArchSpec(bundle.input_dim, (64,), 4)),
                       ("wide", ArchSpec(bundle.input_dim, (128,), bundle.input_dim))):
        model, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
        out_clean, out_noisy = analysis.reconstruct(model, clean), analysis.reconstruct(model, noisy)
        values[f"{name}_pass"] = analysis.mean_error(out_clean, out_noisy) / noise_energy
        values[f"{name}_error"] = analysis.mean_error(clean, out_noisy)
        values[f"{name}_clean"] = analysis.mean_error(clean, out_clean)
    w, n = values["wide_pass"], values["narrow_pass"]
    summary = (f"Both were trained on clean digits only. On clean held-out digits the wide code ({bundle.input_dim} "
               f"numbers) reconstructs better ({values['wide_clean']:.4f} vs {values['narrow_clean']:.4f}). With "
               f"noise added, {w:.0%} of the noise's energy comes out of the wide model, against {n:.0%} for the "
               f"4-number code, so measured against the clean digit the wide model is at {values['wide_error']:.4f} "
               f"and the narrow one at {values['narrow_error']:.4f}. ")
    summary += ("A code as wide as the input has room to pass anything through, noise included; the narrow one "
                "can only keep what looks like a digit." if w > n else
                "Here the wide model passed on less noise than expected; train it longer and it copies more.")
    idx = data.sample_indices(bundle.y_test, n=6)
    models = {k: train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, s, cfg)[0] for k, s in
              (("narrow", ArchSpec(bundle.input_dim, (64,), 4)),
               ("wide", ArchSpec(bundle.input_dim, (128,), bundle.input_dim)))}
    fig = _grid(bundle, [clean[idx], noisy[idx], analysis.reconstruct(models["wide"], noisy[idx]),
                         analysis.reconstruct(models["narrow"], noisy[idx])],
                ["clean", "noisy input", f"code {bundle.input_dim}", "code 4"], idx, "Noisy digits in, what comes out")
    return Outcome(summary, values, [("noise passed, wide code", f"{w:.0%}"), ("noise passed, code 4", f"{n:.0%}"),
                                     ("error vs clean, wide", f"{values['wide_error']:.4f}")], fig)


class CodeAsOutput(nn.Module):
    """The mistake as a module: the 'output' that the loss sees is the code, not the reconstruction."""

    def __init__(self, autoencoder: Autoencoder):
        super().__init__()
        self.autoencoder = autoencoder
        self.is_vae = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.encode(x)  # (B, D) -> (B, k)


def squeeze_to(x: torch.Tensor, k: int) -> torch.Tensor:
    """The input averaged down to k numbers, the way one might force shapes to match: (N, D) -> (N, k)."""
    return F.adaptive_avg_pool1d(x.unsqueeze(1), k).squeeze(1)  # (N, 1, D) -> (N, 1, k) -> (N, k)


def code_loss_error(model: Autoencoder, x: torch.Tensor) -> str:
    """The error PyTorch raises for the literal mistake `loss = mse(code, input)`."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = model.encode(x)  # (B, k)
        try:
            F.mse_loss(code, x)  # (B, k) vs (B, D)
        except RuntimeError as exc:
            return f"RuntimeError: {exc}"
    return "no error (the code is as wide as the input)"


@_timed
def demo_loss_on_code(bundle: DataBundle) -> Outcome:
    """Put the loss on the code instead of the output, and measure what the reconstructions do."""
    spec, cfg = ArchSpec(bundle.input_dim, (32,), 8), TrainConfig(epochs=15, batch_size=64)
    untrained = build_seeded(spec, cfg.seed).eval()
    error_text = code_loss_error(untrained, bundle.x_test[:4])
    k = spec.bottleneck
    wrong = CodeAsOutput(build_seeded(spec, cfg.seed))
    wrong, _ = train_small(f"{bundle.name}:all:code-target", bundle.x_train, bundle.x_test, spec, cfg,
                           target_train=squeeze_to(bundle.x_train, k), target_test=squeeze_to(bundle.x_test, k),
                           model=wrong)
    right, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
    ae = wrong.autoencoder
    before, after_wrong, after_right = (analysis.model_error(m, bundle.x_test) for m in (untrained, ae, right))
    target = squeeze_to(bundle.x_test, k)  # (M, k): what the wrong loss compares the code with
    code_before = analysis.mean_error(target, torch.from_numpy(analysis.encode(untrained, bundle.x_test)))
    code_after = analysis.mean_error(target, torch.from_numpy(analysis.encode(ae, bundle.x_test)))
    dec_change = max(float((a - b).detach().abs().max())
                     for a, b in zip(ae.decoder.parameters(), untrained.decoder.parameters()))
    summary = (f"Written literally, `mse(code, input)` does not even run: the code has {k} numbers per image, the "
               f"input {bundle.input_dim}. Squeezing the input to {k} numbers makes it run, and the loss it sees "
               f"falls from {code_before:.4f} to {code_after:.4f}. But the reconstruction error goes from "
               f"{before:.4f} (untrained) to {after_wrong:.4f}, while the same network trained on the output "
               f"reaches {after_right:.4f}. The decoder's weights moved by "
               f"{'exactly 0' if dec_change == 0 else f'at most {dec_change:.1e}'}: no gradient reaches it, because "
               "the loss never looks at the output.")
    return Outcome(summary, {"untrained": before, "wrong": after_wrong, "right": after_right,
                             "code_loss_before": code_before, "code_loss_after": code_after,
                             "decoder_change": dec_change},
                   [("untrained error", f"{before:.4f}"), ("loss on the code", f"{after_wrong:.4f}"),
                    ("loss on the output", f"{after_right:.4f}"),
                    ("decoder change", "none" if dec_change == 0 else f"{dec_change:.1e}")],
                   code=error_text)


def unflattened_error(model: Autoencoder, images: torch.Tensor) -> tuple[str, tuple[int, ...]]:
    """Feed an image batch without flattening it; returns (the error text, the output shape after flattening)."""
    try:
        with torch.no_grad():
            model(images)
        error = "no error"
    except RuntimeError as exc:
        error = f"RuntimeError: {exc}"
    with torch.no_grad():
        fixed = model(images.reshape(len(images), -1))  # (B, 1, H, W) -> (B, H*W)
    return error, tuple(fixed.shape)


@_timed
def demo_flatten(bundle: DataBundle) -> Outcome:
    """Feed a (B, 1, H, W) batch into the Linear-based model, catch the error, then flatten and retry."""
    spec = ArchSpec(bundle.input_dim, (32,), 8)
    model = build_seeded(spec, 0).eval()  # the shapes, not the weights, decide what happens
    h, w = bundle.image_shape
    images = bundle.x_test[:4].reshape(4, 1, h, w)  # (4, D) -> (4, 1, H, W), as an image loader delivers them
    error, fixed = unflattened_error(model, images)
    rows = images.numel() // images.shape[-1]
    summary = (f"The batch had shape {tuple(images.shape)}. nn.Linear({spec.input_dim}, {spec.encoder[0]}) multiplies "
               f"the last dimension only, so it saw {rows} rows of {images.shape[-1]} numbers (one pixel row each) "
               f"where it needs rows of {spec.input_dim}; PyTorch stopped with the error below. After "
               f"`x.view(x.size(0), -1)` the batch is {(4, h * w)} and the output comes back as {fixed}.")
    return Outcome(summary, {"failed": float(error.startswith("RuntimeError")), "rows": float(rows),
                             "fixed_dim": float(fixed[1])},
                   [("batch shape", str(tuple(images.shape))), ("what Linear saw", f"{rows} x {images.shape[-1]}"),
                    ("after flattening", str(fixed))], code=error)


# -- uses --------------------------------------------------------------------------------------
@_timed
def demo_pca(bundle: DataBundle, k: int = 4) -> Outcome:
    """Compare a linear autoencoder, PCA and a nonlinear autoencoder with the same code size."""
    lin, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, linear.linear_spec(bundle.input_dim, k),
                         TrainConfig(lr=0.03, epochs=25, batch_size=128))
    nonlin, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test,
                            linear.nonlinear_spec(bundle.input_dim, k, hidden=64),
                            TrainConfig(lr=0.01, epochs=12, batch_size=64))
    pca_recon = linear.pca_reconstruct(pca.fit(bundle.x_train.numpy(), k), bundle.x_test)  # (M, D)
    values = {"linear": analysis.model_error(lin, bundle.x_test), "pca": analysis.mean_error(bundle.x_test, pca_recon),
              "nonlinear": analysis.model_error(nonlin, bundle.x_test)}
    ratio = values["linear"] / values["pca"]
    closeness = (f"within {abs(ratio - 1):.0%} of PCA" if abs(ratio - 1) < 0.1 else
                 f"{ratio:.2f} times PCA's error (not fully converged yet)")
    summary = (f"With a {k}-number code, PCA's held-out error is {values['pca']:.4f}; the linear autoencoder reaches "
               f"{values['linear']:.4f}, {closeness}: without activations it can only learn a {k}-dimensional flat "
               f"subspace, the one PCA finds directly. The nonlinear autoencoder reaches {values['nonlinear']:.4f}, "
               + ("better than PCA, because it can bend its code space."
                  if values["nonlinear"] < values["pca"] else "no better than PCA here: the data is small and simple."))
    return Outcome(summary, values, [("PCA", f"{values['pca']:.4f}"), ("linear AE", f"{values['linear']:.4f}"),
                                     ("nonlinear AE", f"{values['nonlinear']:.4f}")])


@_timed
def demo_denoise(bundle: DataBundle, std: float = 0.3) -> Outcome:
    """Train one network clean->clean and one noisy->clean; test both on new noisy digits."""
    spec, cfg = ArchSpec(bundle.input_dim, (128,), 16), TrainConfig(epochs=15, batch_size=64)
    noisy_train = torch.cat([noise.gaussian(bundle.x_train, std, seed=s) for s in (1, 2)])  # (2N, D): two noisy copies
    clean_train = torch.cat([bundle.x_train, bundle.x_train])
    noisy_test = noise.gaussian(bundle.x_test, std, seed=3)  # noise the networks have never seen
    plain, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
    den, _ = train_small(f"{bundle.name}:noisy{std}", noisy_train, noisy_test, spec, cfg,
                         target_train=clean_train, target_test=bundle.x_test)
    values = {"input": analysis.mean_error(bundle.x_test, noisy_test),
              "plain": analysis.model_error(plain, noisy_test, bundle.x_test),
              "denoising": analysis.model_error(den, noisy_test, bundle.x_test)}
    idx = data.sample_indices(bundle.y_test, n=6)
    fig = _grid(bundle, [bundle.x_test[idx], noisy_test[idx], analysis.reconstruct(plain, noisy_test[idx]),
                         analysis.reconstruct(den, noisy_test[idx])],
                ["clean", "noisy input", "plain AE", "denoising AE"], idx, "New noisy digits, cleaned")
    better = values["denoising"] < values["plain"]
    summary = (f"New noisy digits differ from the clean ones by {values['input']:.4f} (MSE). The plain autoencoder, "
               f"trained clean to clean, brings that to {values['plain']:.4f}; the denoising one, trained noisy in "
               f"and clean as the target, to {values['denoising']:.4f}" +
               (f", {values['plain'] / values['denoising']:.1f} times closer to the clean digit. The target is "
                "what it learns to produce; the noise it sees is what it learns to ignore." if better else
                ". Here the plain model did as well; raise the noise to see the difference."))
    return Outcome(summary, values, [("noisy input", f"{values['input']:.4f}"), ("plain AE", f"{values['plain']:.4f}"),
                                     ("denoising AE", f"{values['denoising']:.4f}")], fig)


@_timed
def demo_anomaly(bundle: DataBundle, normal: tuple[int, ...] = (0, 1, 2, 3, 4)) -> Outcome:
    """Train on some digits only, then compare reconstruction errors of seen and unseen kinds."""
    seen_tr = torch.isin(bundle.y_train, torch.tensor(normal))
    seen_te = torch.isin(bundle.y_test, torch.tensor(normal))
    spec, cfg = ArchSpec(bundle.input_dim, (32,), 4), TrainConfig(epochs=30, batch_size=64)
    model, _ = train_small(f"{bundle.name}:classes{normal}", bundle.x_train[seen_tr], bundle.x_test[seen_te],
                           spec, cfg)
    err = analysis.per_sample_error(bundle.x_test, analysis.reconstruct(model, bundle.x_test))  # (M,)
    train_err = analysis.per_sample_error(bundle.x_train[seen_tr], analysis.reconstruct(model, bundle.x_train[seen_tr]))
    threshold = anomaly.default_threshold(train_err, 0.95)
    mask = seen_te.numpy()
    values = {"seen": float(err[mask].mean()), "unseen": float(err[~mask].mean()),
              "auc": anomaly.auc(err, ~mask), "flagged_unseen": float((err[~mask] > threshold).mean()),
              "flagged_seen": float((err[mask] > threshold).mean())}
    kinds = ", ".join(bundle.class_names[c] for c in normal)
    summary = (f"Trained only on {kinds}, the network reconstructs held-out images of those with an average error of "
               f"{values['seen']:.4f} and images of the other digits with {values['unseen']:.4f} "
               f"({values['unseen'] / values['seen']:.1f} times larger). Flagging every image whose error exceeds "
               f"the 95th percentile of the training errors catches {values['flagged_unseen']:.0%} of the unseen "
               f"kinds while raising a false alarm on {values['flagged_seen']:.0%} of the seen ones (ranking quality, "
               f"AUC: {values['auc']:.2f}, where 0.5 is guessing). No label of the unseen kinds was needed.")
    return Outcome(summary, values, [("error, seen kinds", f"{values['seen']:.4f}"),
                                     ("error, unseen kinds", f"{values['unseen']:.4f}"),
                                     ("AUC", f"{values['auc']:.2f}")])


def _decode_check(model: nn.Module, codes: np.ndarray, bundle: DataBundle) -> tuple[torch.Tensor, float]:
    images = analysis.decode(model, codes)  # (n, D)
    return images, float(nearest_distance(images, bundle.x_train).mean())


@_timed
def demo_generate(bundle: DataBundle, n: int = 16) -> Outcome:
    """Decode codes that no training image produced and measure how digit-like the results are."""
    spec, cfg = ArchSpec(bundle.input_dim, (64,), 2), TrainConfig(epochs=40, batch_size=64)
    model, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
    codes = analysis.encode(model, bundle.x_train)  # (N, 2)
    rng = np.random.default_rng(0)
    lo, hi = np.quantile(codes, 0.05, axis=0), np.quantile(codes, 0.95, axis=0)
    new_codes = rng.uniform(lo, hi, size=(n, 2)).astype(np.float32)  # inside the cloud, not taken from any image
    generated, d_gen = _decode_check(model, new_codes, bundle)
    d_real = float(nearest_distance(bundle.x_test[:n], bundle.x_train).mean())
    d_noise = float(nearest_distance(torch.rand(n, bundle.input_dim, generator=torch.Generator().manual_seed(0)),
                                     bundle.x_train).mean())
    h, w = bundle.image_shape
    fig = figures.image_grid([generated[: n // 2].numpy(), generated[n // 2:].numpy()], (h, w),
                             title="Decoded from codes no image was mapped to")
    summary = (f"Decoding {n} random points from inside the training codes' range gives images whose nearest training "
               f"image is {d_gen:.3f} away (root-mean-square per pixel). Real held-out digits are {d_real:.3f} from "
               f"their nearest training image, random pixel noise {d_noise:.3f}. ")
    summary += ("So the decoded images sit among real digits, and none is an exact copy: the decoder draws new "
                "digit-like images." if d_gen < (d_real + d_noise) / 2 else
                "So these decoded images are far from real digits; the empty regions of the code space decode badly.")
    return Outcome(summary, {"generated": d_gen, "real": d_real, "noise": d_noise},
                   [("generated", f"{d_gen:.3f}"), ("real held-out", f"{d_real:.3f}"),
                    ("random noise", f"{d_noise:.3f}")],
                   fig)


@_timed
def demo_vae(bundle: DataBundle, n: int = 8, radius: float = 2.0) -> Outcome:
    """Train an AE and a VAE with 2-number codes; measure where their codes live and decode N(0, 1) draws."""
    z = np.random.default_rng(0).standard_normal((4000, 2)).astype(np.float32)  # draws from N(0, I)
    draws_inside = float((np.linalg.norm(z, axis=1) < radius).mean())  # theory: 1 - exp(-radius^2 / 2)
    cfg = TrainConfig(epochs=20, batch_size=64, beta=1.0)  # the full KL weight: codes that fill N(0, I)
    values, rows = {"draws_inside": draws_inside}, []
    for kind in ("ae", "vae"):
        spec = ArchSpec(bundle.input_dim, (64,), 2, kind=kind)
        model, _ = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
        with torch.no_grad():
            mu, logvar = model.encode_stats(bundle.x_train)  # (N, 2) each; logvar is None for the AE
        second = mu.pow(2) + (logvar.exp() if logvar is not None else 0)  # E[z^2] of the sampled code
        values[f"{kind}_center"] = float(mu.mean(dim=0).abs().max())
        values[f"{kind}_rms"] = float(second.mean(dim=0).sqrt().mean())  # 1.0 for a standard normal
        values[f"{kind}_inside"] = float((mu.norm(dim=1) < radius).float().mean())
        values[f"{kind}_error"] = analysis.model_error(model, bundle.x_test)
        rows.append(analysis.decode(model, z[:n]).numpy())
    fig = figures.image_grid(rows, bundle.image_shape, row_labels=["plain AE", "VAE"],
                             title="The same N(0, 1) draws, decoded by each model")
    summary = (f"The plain autoencoder put its codes wherever training led: centre up to {values['ae_center']:.2f} "
               f"from 0, typical size {values['ae_rms']:.2f}. The VAE's KL term pulled its codes toward a standard "
               f"normal: centre {values['vae_center']:.2f} from 0, typical size {values['vae_rms']:.2f} including "
               f"the sampling noise (a standard normal has 0 and 1). {draws_inside:.0%} of N(0, 1) draws fall within "
               f"{radius:g} of the origin; that disc holds {values['vae_inside']:.0%} of the VAE's codes but "
               f"{values['ae_inside']:.0%} of the plain autoencoder's. ")
    if values["vae_inside"] > values["ae_inside"]:
        summary += ("So random draws land where the VAE's codes live, while for the plain AE they probe a small, "
                    "arbitrary corner of its code space. ")
    else:
        summary += "Here the plain AE's codes also happen to sit around the origin. "
    summary += (f"The price of the VAE's tidy code space is reconstruction: held-out error {values['vae_error']:.4f} "
                f"vs {values['ae_error']:.4f}.")
    return Outcome(summary, values, [("VAE code size", f"{values['vae_rms']:.2f}"),
                                     ("AE code size", f"{values['ae_rms']:.2f}"),
                                     ("VAE codes near 0", f"{values['vae_inside']:.0%}"),
                                     ("AE codes near 0", f"{values['ae_inside']:.0%}")], fig)
