"""The lessons' live measurements: every `demo_*` function settles one step of aelab/lessons.toml.

Each trains or probes small models on the built-in digits (a second or two on one CPU core), reusing the labs'
own pieces (noise, linear, signals, anomaly, vae), and returns an Outcome. Its words come from a verdict function
of the measured numbers alone (VERDICTS: step key -> verdict(values) -> (summary, option the numbers support or
None)), so tests can feed any numbers to a verdict and check that what it says follows from them.
"""
from __future__ import annotations

import functools
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots
from torch import nn

from aelab import analysis, anomaly, data, diagram, figures, latent, linear, noise, pca, signals, vae
from aelab.data import DataBundle
from aelab.model import Autoencoder, as_sequential
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import History, build_seeded, fit

CPU = torch.device("cpu")
_CACHE: dict[tuple, "Trained"] = {}  # (tag, spec, cfg) -> the trained model and its curves; read-only models
_CACHE_LIMIT = 48
_CACHE_LOCK = threading.Lock()  # sessions run experiments in parallel job threads
CLEAR = 1.05  # two errors more than 5% apart count as different (the lessons' "about the same" band)
WIDE = 1.10  # ... 10% for comparisons across losses or methods


@dataclass
class Outcome:
    summary: str  # what the measurement shows, written from the numbers in `values` (verdict function)
    values: dict[str, float]  # the measured numbers (tests and the verdicts read these)
    metrics: list[tuple[str, str]]  # (label, formatted value) shown as a row of metrics
    figure: go.Figure | None = None  # a picture of the result
    code: str | None = None  # verbatim text worth showing, e.g. the error PyTorch raised
    seconds: float = 0.0  # wall time of the whole experiment
    shows: str | None = None  # the step's option these numbers support; None: they settle nothing clearly
    token: str = field(default="", compare=False)  # identifies this run (set by _timed)


class Trained(NamedTuple):
    model: nn.Module  # trained, CPU, eval mode
    seconds: float  # training time
    history: History  # its loss curves
    status: str  # "done", "stopped" or "diverged" (train.fit)


# -- small shared helpers ----------------------------------------------------------------------
def train_small(tag: str, x_train: torch.Tensor, x_test: torch.Tensor, spec: ArchSpec, cfg: TrainConfig,
                target_train: torch.Tensor | None = None, target_test: torch.Tensor | None = None,
                model: nn.Module | None = None) -> Trained:
    """Train with train.fit on the CPU and cache the result under (tag, spec, cfg).

    `tag` must name the data (and targets) uniquely; `model` replaces the default Autoencoder(spec).
    """
    key = (tag, spec, cfg)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    net = model if model is not None else build_seeded(spec, cfg.seed)
    res = fit(net, x_train, x_test, cfg, target_train=target_train, target_test=target_test, device=CPU)
    net.cpu().eval()
    trained = Trained(net, res.seconds, res.history, res.status)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = trained
    return trained


def nearest_distance(images: torch.Tensor, pool: torch.Tensor) -> np.ndarray:
    """Root-mean-square pixel distance from each image to its nearest image in `pool`: (N, D), (M, D) -> (N,)."""
    d2 = torch.cdist(images, pool).pow(2) / images.shape[1]  # (N, M) mean squared difference
    return d2.min(dim=1).values.sqrt().numpy()


def _timed(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Record the experiment's wall time in Outcome.seconds and give the outcome a token of its own."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Outcome:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        out.seconds = time.perf_counter() - t0
        out.token = f"{fn.__name__}-{time.time_ns()}"
        return out

    return wrapper


def _outcome(key: str, values: dict[str, float], metrics, figure=None, code=None) -> Outcome:
    """An Outcome whose words and option come from the step's verdict function (VERDICTS[key])."""
    summary, shows = VERDICTS[key](values)
    return Outcome(summary, values, metrics, figure, code, shows=shows)


def _grid(bundle: DataBundle, rows: list[torch.Tensor], labels: list[str], idx: list[int], title: str) -> go.Figure:
    cols = [bundle.class_names[int(bundle.y_test[i])] for i in idx]
    return figures.image_grid([r.numpy() for r in rows], bundle.image_shape, row_labels=labels, col_labels=cols,
                              title=title)


def _basic(bundle: DataBundle, seed: int = 0) -> tuple[Trained, ArchSpec, TrainConfig]:
    """The lessons' everyday model: D-32-8-32-D, 15 epochs (shared by several steps through the cache)."""
    spec, cfg = ArchSpec(bundle.input_dim, (32,), 8), TrainConfig(epochs=15, batch_size=64, seed=seed)
    return train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg), spec, cfg


def _times(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


# -- basics ------------------------------------------------------------------------------------
@_timed
def demo_copy(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Train a small autoencoder and compare its outputs with its inputs, before and after training."""
    trained, spec, cfg = _basic(bundle, seed)
    untrained = build_seeded(spec, cfg.seed).eval()  # the same starting weights
    before, after = analysis.model_error(untrained, bundle.x_test), analysis.model_error(trained.model, bundle.x_test)
    idx = data.sample_indices(bundle.y_test, n=8)
    x = bundle.x_test[idx]  # (8, D)
    fig = _grid(bundle, [x, analysis.reconstruct(untrained, x), analysis.reconstruct(trained.model, x)],
                ["input", "untrained", "trained"], idx, "Held-out images and what the network gives back")
    values = {"before": before, "after": after, "epochs": float(cfg.epochs), "seconds": trained.seconds,
              "code": float(spec.bottleneck), "inputs": float(spec.input_dim)}
    return _outcome("what", values, [("error before training", f"{before:.4f}"), ("error after training", f"{after:.4f}"),
                                     ("code size", f"{spec.bottleneck} of {spec.input_dim}")], fig)


def verdict_copy(v: dict) -> tuple[str, str | None]:
    ratio = _times(v["before"], v["after"])
    copies = ratio >= 3
    verdict = (f"{ratio:.0f} times less: the outputs became recognizable copies of the inputs" if copies else
               f"only {ratio:.1f} times less: it has started, but needs more training to copy well")
    return (f"Untrained, the outputs missed the held-out images by a mean squared error of {v['before']:.4f}. After "
            f"{v['epochs']:.0f} epochs ({v['seconds']:.1f} s) the error is {v['after']:.4f}, {verdict}. The only "
            f"target was the image itself, squeezed through {v['code']:.0f} numbers on the way."), \
        ("copy" if copies else None)


def seed_widths(input_dim: int, seed_network: tuple[int, ...] = (128, 64, 12)) -> tuple[int, ...]:
    """The seed document's hidden widths (784-128-64-12-3), each kept below half of the layer before it when the input
    is smaller than MNIST's, so the network stays a sandglass on any input (Digits: 64-32-16-8-3)."""
    widths, previous = [], input_dim
    for w in seed_network:
        previous = min(w, previous // 2)
        widths.append(max(previous, 4))
    return tuple(widths)


@_timed
def demo_parts(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Find the narrowest layer of the seed network, and run the same weights as one nn.Sequential."""
    spec = ArchSpec(bundle.input_dim, seed_widths(bundle.input_dim), 3)
    model = build_seeded(spec, seed).eval()
    x = bundle.x_test[:64]  # (64, D)
    with torch.no_grad():
        code = model.encode(x)  # (64, D) -> (64, 3)
        split = model(x)  # (64, D)
        seq = as_sequential(model)
        whole = seq(x)  # (64, D): the same modules, one after another
    diff = float((split - whole).abs().max())
    widths = spec.widths
    narrow = int(np.argmin(widths))
    values = {"max_difference": diff, "narrowest": float(widths[narrow]), "narrowest_index": float(narrow),
              "code_index": float(diagram.code_index(spec)), "code_dim": float(code.shape[1]),
              "modules": float(len(seq)), "batch": float(len(x))}
    out = _outcome("parts", values, [("narrowest layer", f"{widths[narrow]} units"),
                                     ("modules in one Sequential", str(len(seq))),
                                     ("largest output difference", f"{diff:.1e}")], diagram.sandglass(spec, height=240))
    out.summary = diagram.shape_sentence(spec) + " " + out.summary
    return out


def verdict_parts(v: dict) -> tuple[str, str | None]:
    same = ("exactly the same numbers" if v["max_difference"] == 0 else
            f"the same numbers up to {v['max_difference']:.1e} of rounding")
    is_code = v["narrowest_index"] == v["code_index"] and v["code_dim"] == v["narrowest"]
    where = (f"The narrowest layer is number {v['narrowest_index']:.0f} with {v['narrowest']:.0f} units, and it is "
             f"the code: a batch of {v['batch']:.0f} images becomes a code of {v['code_dim']:.0f} numbers each."
             if is_code else
             f"The narrowest layer is number {v['narrowest_index']:.0f} ({v['narrowest']:.0f} units), but the code the "
             f"model hands over comes from layer {v['code_index']:.0f} ({v['code_dim']:.0f} numbers).")
    return (f"{where} Chained as one nn.Sequential of {v['modules']:.0f} modules, the same weights give {same}: "
            "'encoder' and 'decoder' are names for the two halves around the code, not two different kinds of "
            "machine."), ("narrowest" if is_code else None)


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
def demo_flatten(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Feed a (B, 1, H, W) batch into the Linear-based model, catch the error, then flatten and retry."""
    spec = ArchSpec(bundle.input_dim, (32,), 8)
    model = build_seeded(spec, seed).eval()  # the shapes, not the weights, decide what happens
    h, w = bundle.image_shape
    images = bundle.x_test[:4].reshape(4, 1, h, w)  # (4, D) -> (4, 1, H, W), as an image loader delivers them
    error, fixed = unflattened_error(model, images)
    rows = images.numel() // images.shape[-1]
    values = {"failed": float(error.startswith("RuntimeError")), "rows": float(rows), "row_length": float(w),
              "inputs": float(spec.input_dim), "first": float(spec.encoder[0]), "height": float(h),
              "fixed_dim": float(fixed[1])}
    return _outcome("flatten", values, [("batch shape", str(tuple(images.shape))),
                                        ("what Linear saw", f"{rows} x {images.shape[-1]}"),
                                        ("after flattening", str(fixed))], code=error)


def verdict_flatten(v: dict) -> tuple[str, str | None]:
    shape = f"(4, 1, {v['height']:.0f}, {v['row_length']:.0f})"
    head = (f"The batch had shape {shape}. nn.Linear({v['inputs']:.0f}, {v['first']:.0f}) multiplies the last "
            f"dimension only, so it saw {v['rows']:.0f} rows of {v['row_length']:.0f} numbers (one pixel row each) "
            f"where it needs rows of {v['inputs']:.0f}; ")
    tail = (f"After `x.view(x.size(0), -1)` the batch is (4, {v['inputs']:.0f}) and the output comes back as "
            f"(4, {v['fixed_dim']:.0f}).")
    if v["failed"]:
        return head + "PyTorch stopped with the error below. " + tail, "shape_error"
    return head + "yet it ran without an error and computed something meaningless. " + tail, "wrong_outputs"


def _label_axes(fig: go.Figure, cells: dict, height: int, legend_y: float) -> go.Figure:
    """Name the axes of a subplot grid: (row, col) -> (y title, log y?, x title or None); bars start at zero."""
    for (row, col), (y_title, log, x_title) in cells.items():
        fig.update_yaxes(title=y_title, row=row, col=col, **({"type": "log"} if log else {"rangemode": "tozero"}))
        if x_title:
            fig.update_xaxes(title=x_title, row=row, col=col)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10), height=height, legend=dict(orientation="h", y=legend_y))
    return fig


def _loss_figure(histories: dict[str, History], yard: dict[str, float], floor: float) -> go.Figure:
    """Left: each model's held-out loss in its own units (BCE with its floor); right: one yardstick for all."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Held-out loss, each in its own units",
                                                        "One yardstick: held-out MSE on [0, 1] pixels"))
    for i, (name, h) in enumerate(histories.items()):
        fig.add_trace(go.Scatter(x=h.epoch_x, y=h.test, mode="lines+markers", name=f"{name.upper()} loss",
                                 line=dict(color=figures.PALETTE[i]), marker_size=4), row=1, col=1)
    right = max((h.epoch_x[-1] for h in histories.values() if h.epoch_x), default=1)
    fig.add_trace(go.Scatter(x=[0, right], y=[floor, floor], mode="lines", line=dict(color="#888", dash="dash"),
                             name=f"BCE floor: a perfect copy ({floor:.3f})"), row=1, col=1)
    fig.add_trace(go.Bar(x=[f"trained with {k.upper()}" for k in yard], y=list(yard.values()), showlegend=False,
                         marker_color=[figures.PALETTE[i] for i in range(len(yard))],
                         text=[f"{v:.4f}" for v in yard.values()], textposition="outside"), row=1, col=2)
    return _label_axes(fig, {(1, 1): ("own loss per pixel (MSE, BCE or L1)", True, "epoch"),
                             (1, 2): ("MSE per pixel", False, None)}, 340, -0.25)


@_timed
def demo_losses(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Train the same network with MSE, BCE and L1, and score every result with the same two yardsticks."""
    spec = ArchSpec(bundle.input_dim, (32,), 8)
    base = analysis.model_error(build_seeded(spec, seed).eval(), bundle.x_test)
    values, histories = {"untrained": base, "bce_floor": analysis.bce_floor(bundle.x_test)}, {}
    for loss in ("mse", "bce", "l1"):
        cfg = TrainConfig(loss=loss, epochs=12, batch_size=64, seed=seed)
        trained = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg)
        recon = analysis.reconstruct(trained.model, bundle.x_test)
        values[loss] = analysis.mean_error(bundle.x_test, recon)  # yardstick 1: MSE
        values[f"{loss}_l1"] = float((recon - bundle.x_test).abs().mean())  # yardstick 2: mean absolute error
        values[f"{loss}_own"] = trained.history.test[-1]  # its own loss, in its own units
        histories[loss] = trained.history
    fig = _loss_figure(histories, {k: values[k] for k in ("mse", "bce", "l1")}, values["bce_floor"])
    return _outcome("loss", values, [("untrained (MSE)", f"{base:.4f}")] +
                    [(f"trained with {k.upper()} (MSE)", f"{values[k]:.4f}") for k in ("mse", "bce", "l1")] +
                    [("BCE floor", f"{values['bce_floor']:.3f}")], fig)


LOSS_NAMES = ("mse", "bce", "l1")


def _relation(a: float, b: float) -> int:
    """-1: a clearly lower (by more than CLEAR), 1: b clearly lower, 0: within CLEAR of each other."""
    return -1 if b > a * CLEAR else 1 if a > b * CLEAR else 0


def verdict_losses(v: dict) -> tuple[str, str | None]:
    """Rankings under two yardsticks: "depends" only when a clear difference (over 5%) flips between them."""
    yard = {"MSE": {k: v[k] for k in LOSS_NAMES}, "mean absolute error": {k: v[f"{k}_l1"] for k in LOSS_NAMES}}
    pairs = [(a, b) for i, a in enumerate(LOSS_NAMES) for b in LOSS_NAMES[i + 1:]]
    rel = {(a, b): {y: _relation(e[a], e[b]) for y, e in yard.items()} for a, b in pairs}
    flips = [(a, b) for (a, b), r in rel.items() if set(r.values()) == {-1, 1}]
    spreads = [_times(max(e.values()), min(e.values())) for e in yard.values()]
    text = (f"Untrained, the held-out error (MSE) was {v['untrained']:.4f}. Trained with MSE it fell to "
            f"{v['mse']:.4f}, with BCE to {v['bce']:.4f}, with L1 to {v['l1']:.4f}. Judged by the mean absolute "
            "difference instead: " + ", ".join(f"{k.upper()} {v[k + '_l1']:.4f}" for k in LOSS_NAMES) + ". ")
    if max(spreads) < WIDE:
        shows = "all_equal"
        text += (f"Under both yardsticks all three lie within {WIDE - 1:.0%} of each other (spreads "
                 f"{spreads[0]:.2f}x and {spreads[1]:.2f}x): the loss made little difference here. ")
    elif flips:
        shows = "depends"
        text += "The rankings differ: " + "; ".join(
            f"{a.upper()} wins over {b.upper()} by {'MSE' if rel[(a, b)]['MSE'] < 0 else 'mean absolute error'} but "
            "loses by the other" for a, b in flips) + ". Which loss is 'best' depends on the yardstick. "
    else:
        shows = "same_order"
        clear = []
        for (a, b), r in rel.items():
            if any(r.values()):
                win, lose = (a, b) if min(r.values()) < 0 else (b, a)
                how = [f"{'clearly' if r[y] else 'within 5%'} by {y}" for y in yard]
                clear.append(f"{win.upper()} beats {lose.upper()} ({', '.join(how)})")
        ties = [f"{a.upper()} and {b.upper()}" for (a, b), r in rel.items() if not any(r.values())]
        text += ("No clear difference (over 5%) is reversed by the other yardstick: " + "; ".join(clear) + "."
                 + (f" {' and '.join(ties)} tie (within 5% under both), so which of them comes first is down to the "
                    "seed." if ties else "") + " The yardstick does not change the verdict here. ")
    text += (f"Each loss's own numbers cannot be set side by side: a perfect copy of these images still scores a BCE "
             f"of {v['bce_floor']:.3f}, because their pixels are grey, not black or white (the BCE-trained model "
             f"ends at {v['bce_own']:.3f} in its own units).")
    return text, shows


@_timed
def demo_bottleneck(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Train a 2-number and a 16-number code and compare held-out reconstructions."""
    cfg = TrainConfig(epochs=20, batch_size=64, seed=seed)
    models, values = {}, {}
    for k in (2, 16):
        spec = ArchSpec(bundle.input_dim, (64,), k)
        models[k] = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg).model
        values[f"code{k}"] = analysis.model_error(models[k], bundle.x_test)
    idx = data.sample_indices(bundle.y_test, n=8)
    x = bundle.x_test[idx]
    fig = _grid(bundle, [x, analysis.reconstruct(models[2], x), analysis.reconstruct(models[16], x)],
                ["input", "code 2", "code 16"], idx, "Held-out digits through a 2-number and a 16-number code")
    ratio = _times(values["code2"], values["code16"])
    return _outcome("bottleneck", values, [("error, code of 2", f"{values['code2']:.4f}"),
                                           ("error, code of 16", f"{values['code16']:.4f}"),
                                           ("ratio", f"{ratio:.1f}x")], fig)


def verdict_bottleneck(v: dict) -> tuple[str, str | None]:
    ratio = _times(v["code2"], v["code16"])
    head = f"Held-out error with a 2-number code: {v['code2']:.4f}; with a 16-number code: {v['code16']:.4f}. "
    if ratio > CLEAR:
        return head + (f"So the 2-number code leaves {ratio:.1f} times the error of the 16-number one: squeezing "
                       "harder keeps only the coarse shape and blurs the details."), "worse"
    if ratio < 1 / CLEAR:
        return head + (f"So the 2-number code did better, by {1 / ratio:.1f} times: the larger code has not yet "
                       "learned to use its room; train longer and compare again."), "sharper"
    return head + ("So the two codes ended up about equally good here (within 5%): train longer to see them "
                   "separate."), "same"


# -- training --------------------------------------------------------------------------------------
HYPER_LRS = (1e-5, 3e-3, 1.0)  # the question's three learning rates (Adam)
HYPER_LR_KEYS = ("tiny", "middle", "huge")  # ... and its option keys
HYPER_BATCHES = (8, 512)  # batch sizes compared at the same number of epochs
HYPER_ACTIVATIONS = ("relu", "sigmoid", "identity")  # activations compared at the same settings
HYPER_EARLY = dict(n_train=50, epochs=300, batch_size=10)  # a small set trained long: the held-out curve turns up
HYPER_EARLY_SPEC = ((256, 128), 32)  # ... on a roomy network (hidden widths, code)


def _hyper_figure(lr_curves: dict[str, History], early: History, best_epoch: int,
                  batches: dict[str, tuple[float, float]], acts: dict[str, float]) -> go.Figure:
    fig = make_subplots(rows=2, cols=2, subplot_titles=(
        "Learning rate: held-out error per epoch", f"Epochs: {HYPER_EARLY['n_train']} images, {HYPER_EARLY['epochs']} epochs",
        "Batch size: held-out error after 15 epochs", "Activation: held-out error"), vertical_spacing=0.2)
    for i, (name, h) in enumerate(lr_curves.items()):
        fig.add_trace(go.Scatter(x=h.epoch_x, y=h.test, mode="lines", name=f"lr {name}",
                                 line=dict(color=figures.PALETTE[i])), row=1, col=1)
    fig.add_trace(go.Scatter(x=early.step_x, y=early.train, mode="lines", name="training error",
                             line=dict(color=figures.PALETTE[4], dash="dot")), row=1, col=2)
    fig.add_trace(go.Scatter(x=early.epoch_x, y=early.test, mode="lines", name="held-out error",
                             line=dict(color=figures.PALETTE[3])), row=1, col=2)
    fig.add_vline(x=best_epoch, line_dash="dash", line_color="#888", row=1, col=2)
    fig.add_trace(go.Bar(x=[f"batch {b}" for b in batches], y=[e for e, _ in batches.values()], showlegend=False,
                         text=[f"{e:.4f} · {s:.1f} s" for e, s in batches.values()], textposition="outside",
                         marker_color=figures.PALETTE[0]), row=2, col=1)
    fig.add_trace(go.Bar(x=list(acts), y=list(acts.values()), showlegend=False, text=[f"{e:.4f}" for e in acts.values()],
                         textposition="outside", marker_color=figures.PALETTE[2]), row=2, col=2)
    return _label_axes(fig, {(1, 1): ("MSE per pixel", True, "epoch"), (1, 2): ("MSE per pixel", True, "epoch"),
                             (2, 1): ("MSE per pixel", False, None), (2, 2): ("MSE per pixel", False, None)}, 620, -0.08)


@_timed
def demo_hyperparameters(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Four live experiments on one small network: learning rate, batch size, epochs with early stopping, activation."""
    spec = ArchSpec(bundle.input_dim, (32,), 8)
    values: dict[str, float] = {}
    lr_curves = {}
    for key, lr in zip(HYPER_LR_KEYS, HYPER_LRS):
        t = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec,
                        TrainConfig(lr=lr, epochs=15, batch_size=64, seed=seed))
        values[f"lr_{key}"] = analysis.model_error(t.model, bundle.x_test)
        values[f"lr_{key}_diverged"] = float(t.status == "diverged")
        values[f"lr_{key}_best"] = min(t.history.test)  # its best epoch (the curve starts untrained)
        lr_curves[f"{lr:g}"] = t.history
    values["untrained"] = analysis.model_error(build_seeded(spec, seed).eval(), bundle.x_test)
    batches = {}
    for b in HYPER_BATCHES:
        t = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec,
                        TrainConfig(epochs=15, batch_size=b, seed=seed))
        values[f"batch{b}"], values[f"batch{b}_seconds"] = analysis.model_error(t.model, bundle.x_test), t.seconds
        batches[str(b)] = (values[f"batch{b}"], t.seconds)
    small = bundle.subset(HYPER_EARLY["n_train"], seed=seed)
    early = train_small(f"{bundle.name}:sub{HYPER_EARLY['n_train']}s{seed}", small.x_train, bundle.x_test,
                        ArchSpec(bundle.input_dim, *HYPER_EARLY_SPEC),
                        TrainConfig(epochs=HYPER_EARLY["epochs"], batch_size=HYPER_EARLY["batch_size"],
                                    n_train=HYPER_EARLY["n_train"], seed=seed))
    test = early.history.test  # held-out error at epochs 0, 1, ...
    best = int(np.argmin(test))
    values |= {"early_best_epoch": float(early.history.epoch_x[best]), "early_best": test[best],
               "early_last": test[-1], "early_epochs": float(HYPER_EARLY["epochs"]),
               "early_train_last": early.history.train[-1], "early_n": float(HYPER_EARLY["n_train"])}
    acts = {}
    for act in HYPER_ACTIVATIONS:
        t = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, ArchSpec(bundle.input_dim, (32,), 8,
                        activation=act), TrainConfig(epochs=15, batch_size=64, seed=seed))
        values[f"act_{act}"] = acts[act] = analysis.model_error(t.model, bundle.x_test)
    fig = _hyper_figure(lr_curves, early.history, best, batches, acts)
    return _outcome("hyperparameters", values, [(f"lr {lr:g}", f"{values[f'lr_{k}']:.4f}")
                                                for k, lr in zip(HYPER_LR_KEYS, HYPER_LRS)] +
                    [("best epoch of 300", f"{values['early_best_epoch']:.0f}")], fig)


def verdict_hyperparameters(v: dict) -> tuple[str, str | None]:
    errs = {k: v[f"lr_{k}"] for k in HYPER_LR_KEYS}
    ranked = sorted(errs, key=errs.get)
    clear = _times(errs[ranked[1]], errs[ranked[0]]) > CLEAR
    lr_of = dict(zip(HYPER_LR_KEYS, HYPER_LRS))
    parts = ", ".join(f"{lr_of[k]:g}: {errs[k]:.4f}" + (" (diverged)" if v[f"lr_{k}_diverged"] else "")
                      for k in HYPER_LR_KEYS)
    text = f"**Learning rate** (held-out error after 15 epochs) {parts}. "
    text += (f"The lowest is at {lr_of[ranked[0]]:g}. " if clear else
             f"The best two ({lr_of[ranked[0]]:g} and {lr_of[ranked[1]]:g}) are within 5% of each other. ")
    if errs["tiny"] > CLEAR * min(errs.values()):
        text += (f"At {lr_of['tiny']:g} the steps are too small: " +
                 (f"the error barely left its untrained level ({v['untrained']:.4f}). " if errs["tiny"] > 0.9 *
                  v["untrained"] else f"from {v['untrained']:.4f} untrained it got only to {errs['tiny']:.4f}. "))
    if errs["huge"] > CLEAR * min(errs.values()):
        text += (f"At {lr_of['huge']:g} the steps are too large: " + (
            "the loss blew up and training stopped. " if v["lr_huge_diverged"] else
            f"its best epoch reached {v['lr_huge_best']:.4f} and it ended at {errs['huge']:.4f}, bouncing instead of "
            "settling. " if errs["huge"] > CLEAR * v["lr_huge_best"] else
            f"it ended at {errs['huge'] / min(errs.values()):.1f} times the best error. "))
    b_small, b_big = HYPER_BATCHES
    e_small, e_big = v[f"batch{b_small}"], v[f"batch{b_big}"]
    s_small, s_big = v[f"batch{b_small}_seconds"], v[f"batch{b_big}_seconds"]
    text += (f"**Batch size** (15 epochs each): batch {b_small} reaches {e_small:.4f} in {s_small:.1f} s, batch "
             f"{b_big} {e_big:.4f} in {s_big:.1f} s. ")
    if e_small < e_big / CLEAR:
        text += (f"Small batches make {b_big // b_small} times more updates per epoch, so in the same epochs they get "
                 "further" + (", at the price of more time. " if s_small > s_big else ". "))
    elif e_big < e_small / CLEAR:
        text += "Here the large batch did better in the same epochs: the small batches' noisy steps did not pay off. "
    else:
        text += "In the same epochs both ended within 5% of each other. "
    best_e, last, n_ep = v["early_best_epoch"], v["early_last"], v["early_epochs"]
    text += (f"**Epochs and early stopping** ({v['early_n']:.0f} training images, {n_ep:.0f} epochs): the held-out "
             f"error was lowest at epoch {best_e:.0f} ({v['early_best']:.4f}) and ended at {last:.4f}, while the "
             f"training error ended at {v['early_train_last']:.4f}. ")
    if last > CLEAR * v["early_best"]:
        text += (f"Training on made new images worse: early stopping would keep the weights of epoch {best_e:.0f}. ")
    else:
        text += "More epochs did not hurt new images here, so early stopping would change little. "
    acts = {a: v[f"act_{a}"] for a in HYPER_ACTIVATIONS}
    best_act = min(acts, key=acts.get)
    text += ("**Activation**: " + ", ".join(f"{a} {e:.4f}" for a, e in acts.items()) + f"; best: {best_act}. ")
    if acts["identity"] > CLEAR * min(acts.values()):
        text += ("Without an activation (identity) the network is one linear map: "
                 f"{acts['identity'] / min(acts.values()):.1f} times the best error here.")
    else:
        text += ("Here the linear network (identity) kept up with the best: at this size and training length the bend "
                 "bought nothing measurable.")
    worse = [a for a, e in acts.items() if e > CLEAR * min(acts.values()) and a != "identity"]
    if worse:
        text += " " + ", ".join(f"{a} ended {acts[a] / min(acts.values()):.1f} times the best" for a in worse) + "."
    return text, (ranked[0] if clear else None)


# -- myths -------------------------------------------------------------------------------------
MEMO = dict(n_train=100, epochs=150, batch_size=25)  # the memorization lesson's settings


@_timed
def demo_memorize(bundle: DataBundle, n_train: int = MEMO["n_train"], seed: int = 0) -> Outcome:
    """With a tiny training set, compare a narrow and a wide code; then the wide code trained on every image."""
    small = bundle.subset(n_train, seed=seed)
    cfg = TrainConfig(epochs=MEMO["epochs"], batch_size=MEMO["batch_size"], n_train=n_train, seed=seed)
    values = {"n_small": float(n_train), "n_all": float(len(bundle.x_train))}
    for k in (2, 32):
        spec = ArchSpec(bundle.input_dim, (128,), k)
        model = train_small(f"{bundle.name}:sub{n_train}s{seed}", small.x_train, bundle.x_test, spec, cfg).model
        values[f"train{k}"] = analysis.model_error(model, small.x_train)
        values[f"test{k}"] = analysis.model_error(model, bundle.x_test)
        values[f"gap{k}"] = _times(values[f"test{k}"], values[f"train{k}"])
    full = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, ArchSpec(bundle.input_dim, (128,), 32),
                       TrainConfig(epochs=20, batch_size=64, seed=seed)).model
    values["train32_all"] = analysis.model_error(full, bundle.x_train)
    values["test32_all"] = analysis.model_error(full, bundle.x_test)
    return _outcome("memorize", values, [("ratio, code 2", f"{values['gap2']:.1f}x"),
                                         ("ratio, code 32", f"{values['gap32']:.1f}x"),
                                         ("held-out error, code 2", f"{values['test2']:.4f}"),
                                         ("held-out error, code 32", f"{values['test32']:.4f}")])


def verdict_memorize(v: dict) -> tuple[str, str | None]:
    from aelab.sweep_text import gap_change

    a2, a32 = v["test2"] - v["train2"], v["test32"] - v["train32"]
    ratio, absolute = gap_change(v["gap2"], v["gap32"]), gap_change(max(a2, 0.0), max(a32, 0.0))
    text = (f"On {v['n_small']:.0f} training images, the 2-number code reached a training error of {v['train2']:.4f} "
            f"and a held-out error of {v['test2']:.4f}; the 32-number code {v['train32']:.4f} and {v['test32']:.4f}. "
            f"The ratio (held-out ÷ training) went {v['gap2']:.1f}x → {v['gap32']:.1f}x ({ratio}); the absolute gap "
            f"(held-out − training) {a2:.4f} → {a32:.4f} ({absolute}). ")
    if v["test32"] > CLEAR * v["test2"]:
        shows = "worse"
        text += "The wide code is worse on new images: here it memorized its training images at their expense. "
    elif v["test32"] < v["test2"] / CLEAR:
        shows = "better_ratio" if ratio == "grew" else "better_same"
        text += ("The wide code is better on new images too; " +
                 ("only relative to its training images does it do worse, which the ratio shows. " if ratio == "grew"
                  else "and its ratio did not grow: no sign of memorization. "))
    else:
        shows = None
        text += "On new images the two codes end within 5% of each other: no clear effect of the code size. "
    helped = v["test32_all"] < v["test32"] / CLEAR  # more images: clearly better on new images
    fits = v["train32"] <= v["train32_all"] * CLEAR  # the small set fits its own images as well or better
    text += (f"Now the training-set size, the clearer test: the 32-number code trained on all {v['n_all']:.0f} "
             f"images reaches a training error of {v['train32_all']:.4f} and a held-out error of {v['test32_all']:.4f}. ")
    if helped and fits:
        text += (f"On {v['n_small']:.0f} images it fit its training images as well or better, yet new ones "
                 f"{_times(v['test32'], v['test32_all']):.1f} times worse: memorization without ambiguity.")
    elif helped:
        text += "More images helped new and training images alike here: the small set was simply harder to learn."
    else:
        text += "More images did not help new images here."
    return text, shows


@_timed
def demo_not_classifier(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Feed one digit through a trained autoencoder and look at what comes out."""
    trained, spec, _ = _basic(bundle, seed)
    i = int(torch.nonzero(bundle.y_test == min(7, len(bundle.class_names) - 1))[0])
    x = bundle.x_test[i:i + 1]  # (1, D)
    out = analysis.reconstruct(trained.model, x)  # (1, D)
    err = analysis.mean_error(x, out)
    h, w = bundle.image_shape
    fig = _grid(bundle, [x, out], ["input", "output"], [i], "What comes out: an image, not a label")
    values = {"outputs": float(out.shape[1]), "classes": float(len(bundle.class_names)), "error": err,
              "inputs": float(bundle.input_dim), "low": float(out.min()), "high": float(out.max()),
              "height": float(h), "width": float(w)}
    return _outcome("classifier", values, [("outputs per image", str(out.shape[1])),
                                           ("classes", str(len(bundle.class_names))),
                                           ("reconstruction error", f"{err:.4f}")], fig)


def verdict_not_classifier(v: dict) -> tuple[str, str | None]:
    image = v["outputs"] == v["inputs"]
    text = (f"For this digit the network returned {v['outputs']:.0f} numbers between {v['low']:.2f} and "
            f"{v['high']:.2f}" + (f": one brightness per pixel of a {v['height']:.0f}x{v['width']:.0f} image, redrawing "
                                  f"the digit with an error of {v['error']:.4f}. " if image else ". "))
    text += (f"There is no place in its output for a class: it has {v['outputs']:.0f} outputs, not "
             f"{v['classes']:.0f}, and it was never shown a label. Naming the digit needs a separate classifier, "
             "trained with labels (possibly on the code).")
    return text, ("image" if image else None)


@_timed
def demo_no_labels(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Train without labels, then check whether same-class images got nearby codes."""
    trained, spec, _ = _basic(bundle, seed)
    tr, te = analysis.encode(trained.model, bundle.x_train), analysis.encode(trained.model, bundle.x_test)  # (N, 8)
    ytr, yte = bundle.y_train.numpy(), bundle.y_test.numpy()
    acc_code = analysis.knn_accuracy(tr, ytr, te, yte)
    acc_raw = analysis.knn_accuracy(bundle.x_train.numpy(), ytr, bundle.x_test.numpy(), yte)
    chance = float(np.bincount(yte).max() / len(yte))
    values = {"knn_code": acc_code, "knn_raw": acc_raw, "chance": chance, "code": float(spec.bottleneck),
              "inputs": float(bundle.input_dim)}
    return _outcome("labels", values, [("k-NN on codes", f"{acc_code:.0%}"), ("k-NN on raw pixels", f"{acc_raw:.0%}"),
                                       ("chance", f"{chance:.0%}")])


def verdict_no_labels(v: dict) -> tuple[str, str | None]:
    acc, chance = v["knn_code"], v["chance"]
    text = (f"Training used pixels only. Afterwards, a 5-nearest-neighbour vote among the training codes names the "
            f"right digit for {acc:.0%} of held-out images, against {chance:.0%} by always guessing the most common "
            f"class and {v['knn_raw']:.0%} for the same vote on all {v['inputs']:.0f} raw pixels. ")
    if acc >= 0.995:
        return text + "Every held-out digit was named right.", "perfect"
    if acc > 2 * chance:
        return text + (f"So the {v['code']:.0f}-number codes group images by digit although no label was ever used; "
                       "labels only came in afterwards, to measure it."), "grouped"
    if acc < 1.3 * chance:
        return text + "Here the codes carry hardly more class information than guessing.", "chance"
    return text + "Here the codes carry some class information, but not much; a longer training helps.", None


SIGNALS = signals.SignalConfig(n_train=1200, n_test=300, channels=1, glitch_fraction=0.0)  # the lab's windows


@_timed
def demo_signals(bundle: DataBundle | None = None, seed: int = 0) -> Outcome:
    """Compress the Signals lab's sensor windows (one channel, not images) into a 3-number code."""
    windows = signals.make_signals(SIGNALS).bundle
    x_train, x_test = windows.x_train, windows.x_test  # (1200, 64), (300, 64)
    spec, cfg = ArchSpec(x_train.shape[1], (64,), 3), TrainConfig(epochs=30, batch_size=64, seed=seed)
    model = train_small(f"signals:{SIGNALS}", x_train, x_test, spec, cfg).model
    err = analysis.model_error(model, x_test)
    baseline = analysis.mean_error(x_test, x_train.mean(dim=0).expand_as(x_test))  # always answer the average signal
    recon = analysis.reconstruct(model, x_test[:3])  # (3, 64)
    fig = signals.signals_figure(x_test[:3].numpy(), recon.numpy(), 1,
                                 [f"held-out signal {j + 1} (solid) and its reconstruction (dotted)" for j in range(3)],
                                 height_per_row=90)
    values = {"error": err, "baseline": baseline, "kept": 1 - err / baseline, "length": float(x_train.shape[1]),
              "code": float(spec.bottleneck)}
    return _outcome("signals", values, [("held-out error", f"{err:.5f}"), ("average-signal guess", f"{baseline:.5f}"),
                                        ("variation kept", f"{values['kept']:.0%}")], fig)


def verdict_signals(v: dict) -> tuple[str, str | None]:
    text = (f"Each signal is {v['length']:.0f} numbers, squeezed into {v['code']:.0f}. Held-out error: {v['error']:.5f}, "
            f"against {v['baseline']:.5f} for always answering the average signal, so the code keeps {v['kept']:.0%} "
            "of the signals' variation. ")
    if v["kept"] > 0.5:
        return text + ("The network never knew these were not pixels: it sees a vector of numbers either way."), \
            "any_vector"
    return text + "That is not much yet: train longer or widen the code before drawing a conclusion.", None


# -- pitfalls ----------------------------------------------------------------------------------
WIDE_NOISE = 0.25  # std of the Gaussian noise fed to both models


def _wide_specs(input_dim: int) -> dict[str, ArchSpec]:
    return {"narrow": ArchSpec(input_dim, (64,), 4), "wide": ArchSpec(input_dim, (128,), input_dim)}


@_timed
def demo_wide_copies_noise(bundle: DataBundle, std: float = WIDE_NOISE, seed: int = 0) -> Outcome:
    """Train a narrow and an input-wide code on clean digits, then feed both noisy digits."""
    cfg = TrainConfig(epochs=15, batch_size=64, seed=seed)
    clean = bundle.x_test
    noisy = noise.gaussian(clean, std, seed=5 + seed)
    values = {"noise": analysis.mean_error(clean, noisy), "code": float(bundle.input_dim)}
    models = {}
    for name, spec in _wide_specs(bundle.input_dim).items():
        models[name] = model = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg).model
        out_clean, out_noisy = analysis.reconstruct(model, clean), analysis.reconstruct(model, noisy)
        values[f"{name}_pass"] = analysis.mean_error(out_clean, out_noisy) / values["noise"]
        values[f"{name}_error"] = analysis.mean_error(clean, out_noisy)
        values[f"{name}_clean"] = analysis.mean_error(clean, out_clean)
    idx = data.sample_indices(bundle.y_test, n=6)
    fig = _grid(bundle, [clean[idx], noisy[idx], analysis.reconstruct(models["wide"], noisy[idx]),
                         analysis.reconstruct(models["narrow"], noisy[idx])],
                ["clean", "noisy input", f"code {bundle.input_dim}", "code 4"], idx, "Noisy digits in, what comes out")
    return _outcome("too_wide", values, [("noise passed, wide code", f"{values['wide_pass']:.0%}"),
                                         ("noise passed, code 4", f"{values['narrow_pass']:.0%}"),
                                         ("error vs clean, wide", f"{values['wide_error']:.4f}"),
                                         ("error vs clean, code 4", f"{values['narrow_error']:.4f}")], fig)


def verdict_wide(v: dict) -> tuple[str, str | None]:
    """Weighs both measures: the share of the noise passed on AND the output's error against the clean digit."""
    w, n = v["wide_pass"], v["narrow_pass"]
    we, ne = v["wide_error"], v["narrow_error"]
    text = (f"Both were trained on clean digits only. On clean held-out digits the wide code ({v['code']:.0f} numbers) "
            f"reconstructs {'better' if v['wide_clean'] < v['narrow_clean'] else 'no better'} "
            f"({v['wide_clean']:.4f} vs {v['narrow_clean']:.4f}). With noise added (its own error "
            f"{v['noise']:.4f}), {w:.0%} of the noise's energy comes out of the wide model, against {n:.0%} for the "
            f"4-number code; measured against the clean digit, the wide model's output is at {we:.4f}, the narrow "
            f"one's at {ne:.4f}. ")
    if w <= n:
        return text + ("So the wide code passed on no more noise than the narrow one: it did not drift toward "
                       "copying in this training."), "less_noise"
    passes = (f"The wide code passes on {w / n:.1f} times the noise share: room for every pixel lets noise through. "
              if n > 0 else "The wide code passes noise on that the narrow one blocks entirely. ")
    if we < ne / CLEAR:
        return text + passes + (f"Yet its output is {ne / we:.1f} times closer to the clean digit: it also keeps the "
                                "details the narrow code drops, and here that outweighs the noise."), "more_noise_better"
    if we > ne * CLEAR:
        return text + passes + (f"And its output is {we / ne:.1f} times farther from the clean digit: the noise it "
                                "copies costs more than the detail it keeps."), "more_noise_worse"
    return text + passes + "Against the clean digit both outputs end within 5% of each other.", None


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
def demo_loss_on_code(bundle: DataBundle, seed: int = 0) -> Outcome:
    """Put the loss on the code instead of the output, and measure what the reconstructions do."""
    spec, cfg = ArchSpec(bundle.input_dim, (32,), 8), TrainConfig(epochs=15, batch_size=64, seed=seed)
    untrained = build_seeded(spec, cfg.seed).eval()
    error_text = code_loss_error(untrained, bundle.x_test[:4])
    k = spec.bottleneck
    wrong = CodeAsOutput(build_seeded(spec, cfg.seed))
    wrong = train_small(f"{bundle.name}:all:code-target", bundle.x_train, bundle.x_test, spec, cfg,
                        target_train=squeeze_to(bundle.x_train, k), target_test=squeeze_to(bundle.x_test, k),
                        model=wrong).model
    right = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg).model
    ae = wrong.autoencoder
    before, after_wrong, after_right = (analysis.model_error(m, bundle.x_test) for m in (untrained, ae, right))
    target = squeeze_to(bundle.x_test, k)  # (M, k): what the wrong loss compares the code with
    code_before = analysis.mean_error(target, torch.from_numpy(analysis.encode(untrained, bundle.x_test)))
    code_after = analysis.mean_error(target, torch.from_numpy(analysis.encode(ae, bundle.x_test)))
    dec_change = max(float((a - b).detach().abs().max())
                     for a, b in zip(ae.decoder.parameters(), untrained.decoder.parameters()))
    values = {"untrained": before, "wrong": after_wrong, "right": after_right, "code_loss_before": code_before,
              "code_loss_after": code_after, "decoder_change": dec_change, "code": float(k),
              "inputs": float(bundle.input_dim)}
    return _outcome("code_loss", values, [("untrained error", f"{before:.4f}"), ("loss on the code", f"{after_wrong:.4f}"),
                                          ("loss on the output", f"{after_right:.4f}"),
                                          ("decoder change", "none" if dec_change == 0 else f"{dec_change:.1e}")],
                    code=error_text)


def verdict_loss_on_code(v: dict) -> tuple[str, str | None]:
    b, wr, ri = v["untrained"], v["wrong"], v["right"]
    moved = "exactly 0" if v["decoder_change"] == 0 else f"at most {v['decoder_change']:.1e}"
    text = (f"Written literally, `mse(code, input)` does not even run: the code has {v['code']:.0f} numbers per image, "
            f"the input {v['inputs']:.0f}. Squeezing the input to {v['code']:.0f} numbers makes it run, and the loss it "
            f"sees falls from {v['code_loss_before']:.4f} to {v['code_loss_after']:.4f}. The reconstruction error "
            f"goes from {b:.4f} (untrained) to {wr:.4f}, while the same network trained on the output reaches "
            f"{ri:.4f}. The decoder's weights moved by {moved}. ")
    if wr < ri / CLEAR:
        return text + "Surprisingly, the wrong loss did better here.", "better"
    if abs(wr - b) <= 0.1 * b and ri < wr / 3:
        return text + ("So the reconstructions stayed about as bad as before training: the loss never looks at the "
                       "output, so nothing teaches the decoder."), "stays_bad"
    return text + (f"So the wrong loss improved the reconstructions {_times(b, wr):.1f}-fold against "
                   f"{_times(b, ri):.1f}-fold for the right one: it trains, more slowly."), "slower"


# -- uses --------------------------------------------------------------------------------------
@_timed
def demo_pca(bundle: DataBundle, k: int = 4, seed: int = 0) -> Outcome:
    """Compare a linear autoencoder, PCA and a nonlinear autoencoder with the same code size."""
    lin = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, linear.linear_spec(bundle.input_dim, k),
                      TrainConfig(lr=0.03, epochs=25, batch_size=128, seed=seed)).model
    nonlin = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test,
                         linear.nonlinear_spec(bundle.input_dim, k, hidden=64),
                         TrainConfig(lr=0.01, epochs=12, batch_size=64, seed=seed)).model
    pca_recon = linear.pca_reconstruct(pca.fit(bundle.x_train.numpy(), k), bundle.x_test)  # (M, D)
    values = {"linear": analysis.model_error(lin, bundle.x_test), "pca": analysis.mean_error(bundle.x_test, pca_recon),
              "nonlinear": analysis.model_error(nonlin, bundle.x_test), "k": float(k)}
    return _outcome("pca", values, [("PCA", f"{values['pca']:.4f}"), ("linear AE", f"{values['linear']:.4f}"),
                                    ("nonlinear AE", f"{values['nonlinear']:.4f}")])


def verdict_pca(v: dict) -> tuple[str, str | None]:
    ratio = _times(v["linear"], v["pca"])
    k = int(v["k"])
    if ratio < 1 / WIDE:
        shows, how = "better", f"{1 / ratio:.2f} times lower than PCA's"
    elif ratio > WIDE:
        shows, how = "worse", f"{ratio:.2f} times PCA's error (not converged yet)"
    else:
        shows, how = "same", f"within {abs(ratio - 1):.0%} of PCA"
    text = (f"With a {k}-number code, PCA's held-out error is {v['pca']:.4f}; the linear autoencoder reaches "
            f"{v['linear']:.4f}, {how}. ")
    nl = _times(v["nonlinear"], v["pca"])
    text += (f"The nonlinear autoencoder reaches {v['nonlinear']:.4f}, " +
             ("below PCA: it can bend its code space around the data." if nl < 1 / CLEAR else
              "above PCA here: its extra freedom did not pay off in these few epochs." if nl > CLEAR else
              "about level with PCA here."))
    return text, shows


@_timed
def demo_denoise(bundle: DataBundle, std: float = 0.3, seed: int = 0) -> Outcome:
    """Train one network clean->clean and one noisy->clean; test both on new noisy digits."""
    spec, cfg = ArchSpec(bundle.input_dim, (128,), 16), TrainConfig(epochs=15, batch_size=64, seed=seed)
    noisy_train = torch.cat([noise.gaussian(bundle.x_train, std, seed=s + 10 * seed) for s in (1, 2)])  # (2N, D)
    clean_train = torch.cat([bundle.x_train, bundle.x_train])
    noisy_test = noise.gaussian(bundle.x_test, std, seed=3 + 10 * seed)  # noise the networks have never seen
    plain = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg).model
    den = train_small(f"{bundle.name}:noisy{std}s{seed}", noisy_train, noisy_test, spec, cfg,
                      target_train=clean_train, target_test=bundle.x_test).model
    values = {"input": analysis.mean_error(bundle.x_test, noisy_test),
              "plain": analysis.model_error(plain, noisy_test, bundle.x_test),
              "denoising": analysis.model_error(den, noisy_test, bundle.x_test)}
    idx = data.sample_indices(bundle.y_test, n=6)
    fig = _grid(bundle, [bundle.x_test[idx], noisy_test[idx], analysis.reconstruct(plain, noisy_test[idx]),
                         analysis.reconstruct(den, noisy_test[idx])],
                ["clean", "noisy input", "plain AE", "denoising AE"], idx, "New noisy digits, cleaned")
    return _outcome("denoise", values, [("noisy input", f"{values['input']:.4f}"),
                                        ("plain AE", f"{values['plain']:.4f}"),
                                        ("denoising AE", f"{values['denoising']:.4f}")], fig)


def verdict_denoise(v: dict) -> tuple[str, str | None]:
    d, p, n = v["denoising"], v["plain"], v["input"]
    text = (f"New noisy digits differ from the clean ones by {n:.4f} (MSE). The plain autoencoder, trained clean to "
            f"clean, brings that to {p:.4f}; the denoising one, trained noisy in and clean as the target, to {d:.4f}. ")
    if d < p / CLEAR:
        return text + f"So the denoising AE's output is {p / d:.1f} times closer to the clean digit.", "denoiser"
    if p < d / CLEAR:
        return text + (f"Here the plain AE came {d / p:.1f} times closer: the opposite of what training on noise is "
                       "for; raise the noise or train longer."), "plain"
    return text + "The two end within 5% of each other: at this noise level training on noise made no clear difference.", \
        "same"


@_timed
def demo_anomaly(bundle: DataBundle, normal: tuple[int, ...] = (0, 1, 2, 3, 4), seed: int = 0) -> Outcome:
    """Train on some digits only, then compare reconstruction errors of seen and unseen kinds."""
    seen_tr = torch.isin(bundle.y_train, torch.tensor(normal))
    seen_te = torch.isin(bundle.y_test, torch.tensor(normal))
    spec, cfg = ArchSpec(bundle.input_dim, (32,), 4), TrainConfig(epochs=30, batch_size=64, seed=seed)
    model = train_small(f"{bundle.name}:classes{normal}", bundle.x_train[seen_tr], bundle.x_test[seen_te],
                        spec, cfg).model
    err = analysis.per_sample_error(bundle.x_test, analysis.reconstruct(model, bundle.x_test))  # (M,)
    train_err = analysis.per_sample_error(bundle.x_train[seen_tr], analysis.reconstruct(model, bundle.x_train[seen_tr]))
    threshold = anomaly.default_threshold(train_err, 0.95)
    mask = seen_te.numpy()
    values = {"seen": float(err[mask].mean()), "unseen": float(err[~mask].mean()),
              "auc": anomaly.auc(err, ~mask), "flagged_unseen": float((err[~mask] > threshold).mean()),
              "flagged_seen": float((err[mask] > threshold).mean())}
    return _outcome("anomaly", values, [("error, seen kinds", f"{values['seen']:.4f}"),
                                        ("error, unseen kinds", f"{values['unseen']:.4f}"),
                                        ("AUC", f"{values['auc']:.2f}")])


def verdict_anomaly(v: dict) -> tuple[str, str | None]:
    ratio = _times(v["unseen"], v["seen"])
    text = (f"Trained only on the normal digits, the network reconstructs held-out images of those with an average "
            f"error of {v['seen']:.4f} and images of the other digits with {v['unseen']:.4f} ({ratio:.1f} times as "
            f"large). Flagging every image whose error exceeds the 95th percentile of the training errors catches "
            f"{v['flagged_unseen']:.0%} of the unseen kinds while raising a false alarm on {v['flagged_seen']:.0%} of "
            f"the seen ones (ranking quality, AUC: {v['auc']:.2f}, where 0.5 is guessing). No label of the unseen "
            "kinds was needed. ")
    if ratio >= anomaly.CLEAR:
        return text + "Unfamiliar kinds come back clearly worse.", "larger"
    if ratio <= 1 / anomaly.CLEAR:
        return text + "Here the unfamiliar kinds came back better, the opposite of what a detector needs.", "smaller"
    return text + "Here the two kinds come back about equally well: the error alone would not single them out.", "same"


def _decode_check(model: nn.Module, codes: np.ndarray, bundle: DataBundle) -> tuple[torch.Tensor, float]:
    images = analysis.decode(model, codes)  # (n, D)
    return images, float(nearest_distance(images, bundle.x_train).mean())


@_timed
def demo_generate(bundle: DataBundle, n: int = 16, seed: int = 0) -> Outcome:
    """Decode codes that no training image produced and measure how digit-like the results are."""
    spec, cfg = ArchSpec(bundle.input_dim, (64,), 2), TrainConfig(epochs=40, batch_size=64, seed=seed)
    model = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec, cfg).model
    codes = analysis.encode(model, bundle.x_train)  # (N, 2)
    rng = np.random.default_rng(seed)
    lo, hi = np.quantile(codes, 0.05, axis=0), np.quantile(codes, 0.95, axis=0)
    new_codes = rng.uniform(lo, hi, size=(n, 2)).astype(np.float32)  # inside the cloud, not taken from any image
    generated, d_gen = _decode_check(model, new_codes, bundle)
    d_real = float(nearest_distance(bundle.x_test[:n], bundle.x_train).mean())
    d_noise = float(nearest_distance(torch.rand(n, bundle.input_dim, generator=torch.Generator().manual_seed(seed)),
                                     bundle.x_train).mean())
    h, w = bundle.image_shape
    fig = figures.image_grid([generated[: n // 2].numpy(), generated[n // 2:].numpy()], (h, w),
                             title="Decoded from codes no image was mapped to")
    values = {"generated": d_gen, "real": d_real, "noise": d_noise, "n": float(n)}
    return _outcome("generate", values, [("generated", f"{d_gen:.3f}"), ("real held-out", f"{d_real:.3f}"),
                                         ("random noise", f"{d_noise:.3f}")], fig)


COPY_SHARE = 0.3  # decoded images closer to a training image than 30% of a real held-out digit's distance: copies


def verdict_generate(v: dict) -> tuple[str, str | None]:
    g, r, z = v["generated"], v["real"], v["noise"]
    text = (f"Decoding {v['n']:.0f} random points from inside the training codes' range gives images whose nearest "
            f"training image is {g:.3f} away (root-mean-square per pixel). Real held-out digits are {r:.3f} from their "
            f"nearest training image, random pixel noise {z:.3f}. ")
    if g < COPY_SHARE * r:
        return text + "So the decoded images are nearly exact copies of training images.", "copy"
    if g < (r + z) / 2:
        return text + ("So the decoded images sit among real digits, and none is an exact copy: the decoder draws "
                       "new digit-like images."), "plausible"
    return text + "So these decoded images are far from real digits; the empty regions of the code space decode badly.", \
        None


VAE_BETAS = (0.2, 2.0)  # a working VAE on Digits, and one whose KL term wins (measured: no active unit at 2.0)


@_timed
def demo_vae(bundle: DataBundle, n: int = 8, seed: int = 0) -> Outcome:
    """An AE and a VAE (β = 0.2) with 2-number codes: where N(0, 1) draws land among their codes; then β = 2."""
    z = latent.sample_prior(2, 1000, seed=seed).astype(np.float32)  # draws from N(0, I)
    values: dict[str, float] = {"beta": VAE_BETAS[0], "beta_high": VAE_BETAS[1]}
    rows = []
    for name, kind, beta in (("ae", "ae", VAE_BETAS[0]), ("vae", "vae", VAE_BETAS[0]), ("high", "vae", VAE_BETAS[1])):
        spec = ArchSpec(bundle.input_dim, (64,), 2, kind=kind)
        model = train_small(f"{bundle.name}:all", bundle.x_train, bundle.x_test, spec,
                            TrainConfig(epochs=20, batch_size=64, beta=beta, seed=seed)).model
        train_codes, test_codes = analysis.encode(model, bundle.x_train), analysis.encode(model, bundle.x_test)
        h = latent.holes(train_codes, test_codes, z, seed=seed)
        values[f"{name}_ratio"] = h.ratio
        values[f"{name}_error"] = analysis.model_error(model, bundle.x_test)
        if kind == "vae":
            health = vae.health(model, bundle.x_train, bundle.x_test)
            values |= {f"{name}_active": float(health.active), f"{name}_baseline": health.baseline,
                       f"{name}_kl": float(sum(health.kl)), f"{name}_ignores": float(health.ignores_input)}
        rows.append(analysis.decode(model, z[:n]).numpy())
    fig = figures.image_grid(rows, bundle.image_shape,
                             row_labels=["plain AE", f"VAE β={VAE_BETAS[0]:g}", f"VAE β={VAE_BETAS[1]:g}"],
                             title="The same N(0, 1) draws, decoded by each model")
    return _outcome("vae", values, [("AE: draw distance", f"{values['ae_ratio']:.2f}x"),
                                    ("VAE: draw distance", f"{values['vae_ratio']:.2f}x"),
                                    (f"active units, β={VAE_BETAS[0]:g}", f"{values['vae_active']:.0f} of 2"),
                                    (f"active units, β={VAE_BETAS[1]:g}", f"{values['high_active']:.0f} of 2")], fig)


def verdict_vae(v: dict) -> tuple[str, str | None]:
    ae, va = v["ae_ratio"], v["vae_ratio"]
    text = (f"N(0, 1) draws land a median {ae:.2f} times as far from the plain autoencoder's codes as a real held-out "
            f"image's code does, and {va:.2f} times as far for the VAE (β = {v['beta']:g}; 1 means: right among real "
            "codes). ")
    if abs(ae - va) < latent.SAME_SAMPLES * min(ae, va):
        shows = "same"
        text += "About the same for both: here the draws land equally well among either model's codes. "
    elif va < ae:
        shows = "vae"
        text += "So random draws land where the VAE's codes live, and in empty regions of the plain AE's code space. "
    else:
        shows = "ae"
        text += "Here the draws land closer to the plain AE's codes. "
    if v["vae_ignores"]:
        shows = None
        text += (f"But this VAE ignores its input ({v['vae_active']:.0f} active code units; held-out error "
                 f"{v['vae_error']:.4f} against {v['vae_baseline']:.4f} for always answering the average image), so "
                 "its codes mean nothing and the comparison settles nothing. ")
    else:
        text += (f"Its price is reconstruction: held-out error {v['vae_error']:.4f} against the plain AE's "
                 f"{v['ae_error']:.4f}, with {v['vae_active']:.0f} of 2 code units active. ")
    if v["high_ignores"]:
        text += (f"With β = {v['beta_high']:g} the KL term wins outright: {v['high_active']:.0f} active code units, "
                 f"held-out error {v['high_error']:.4f} against {v['high_baseline']:.4f} for always answering the "
                 "average image. That VAE ignores its input: every draw decodes to about the same picture.")
    else:
        text += (f"With β = {v['beta_high']:g} it still uses its code ({v['high_active']:.0f} active units, held-out "
                 f"error {v['high_error']:.4f} against {v['high_baseline']:.4f} for the average image).")
    return text, shows


VERDICTS: dict[str, Callable[[dict], tuple[str, str | None]]] = {  # step key -> its verdict (numbers -> words)
    "what": verdict_copy, "parts": verdict_parts, "flatten": verdict_flatten, "loss": verdict_losses,
    "code_loss": verdict_loss_on_code, "hyperparameters": verdict_hyperparameters, "bottleneck": verdict_bottleneck,
    "memorize": verdict_memorize, "too_wide": verdict_wide, "classifier": verdict_not_classifier,
    "labels": verdict_no_labels, "signals": verdict_signals, "pca": verdict_pca, "denoise": verdict_denoise,
    "anomaly": verdict_anomaly, "generate": verdict_generate, "vae": verdict_vae,
}
