"""The kinds of autoencoder side by side: dense, convolutional, sparse, a wide code without penalty, and the VAE.

Every kind trains on the same images with the same optimizer, batch size and seed, under one budget: the same
number of seconds each (the default: what a kind makes of equal compute) or the same number of epochs (every
run reproducible). Then each is measured on the same held-out images and a verdict is computed from the numbers.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace

import numpy as np
import plotly.graph_objects as go
import torch

from aelab import analysis, conv, figures, inside, sparse, vae as vae_health
from aelab.data import DataBundle
from aelab.fields import build, parse_values
from aelab.jobs import JobContext
from aelab.limits import BUDGETS, COMPARED_KINDS, MAX_EPOCHS  # noqa: F401 - BUDGETS re-exported
from aelab.model import Autoencoder
from aelab.progress import LabProgress, Relay, phase_monitor
from aelab.settings import COMPARE
from aelab.spec import ArchSpec, Check, TrainConfig, check_arch, check_compute, check_train
from aelab.train import History, Progress, build_seeded, fit

KINDS = COMPARED_KINDS  # key -> label, in the order the kinds train
MAX_TEST = 2000  # held-out images measured per kind (the probe compares codes pairwise)
N_EXAMPLES = 8  # images in the reconstruction grid
CLOSE = 0.05  # relative differences below this count as "about the same"
INTRO = ("The autoencoders the field uses, trained on the same images with the same budget: a **dense** AE, a "
         "**convolutional** AE (stride-2 convolutions, then a dense code), a **sparse** AE (a code wider than the "
         "input with an L1 penalty on its activity), the **same wide code without the penalty**, and a **VAE**. Then "
         "each is measured on the same held-out images.")
_D = COMPARE.dataclass_default  # the page's defaults (aelab/settings.py) are the comparison's


@dataclass(frozen=True)
class CompareSettings:
    kinds: tuple[str, ...] = _D("kinds")  # which kinds to train (keys of KINDS), trained in KINDS order
    budget: str = _D("budget")  # "seconds": each kind trains for `seconds`; "epochs": for `epochs`
    seconds: float = _D("seconds")  # training seconds per kind (budget "seconds"), e.g. 2.5
    epochs: int = _D("epochs")  # epochs per kind (budget "epochs"), e.g. 30
    bottleneck: int = _D("bottleneck")  # code size of the dense, convolutional and VAE models, e.g. 8
    hidden: int = _D("hidden")  # hidden width of the dense AE and the VAE (one layer each side), e.g. 128
    channels: tuple[int, ...] = _D("channels")  # conv channels, image side first, e.g. (16, 32)
    wide: int | None = _D("wide")  # code size of the sparse and wide models; None = 4x the input, at most 1,024
    sparsity: float = _D("sparsity")  # L1 weight of the sparse AE, e.g. 0.1
    beta: float = _D("beta")  # KL weight of the VAE, e.g. 0.1
    n_train: int | None = None  # training images (None = all)
    lr: float = 3e-3  # Adam learning rate, every kind
    batch_size: int = 64  # every kind
    seed: int = 0  # weights and shuffling, every kind

    def __post_init__(self):  # the kinds train in KINDS order, whatever order they were picked in
        kinds = tuple(self.kinds)
        object.__setattr__(self, "kinds", tuple(k for k in KINDS if k in kinds) + tuple(k for k in kinds
                                                                                         if k not in KINDS))

    def wide_size(self, input_dim: int) -> int:
        return self.wide or min(4 * input_dim, 1024)

    def spec(self, kind: str, input_dim: int) -> ArchSpec:
        """The architecture of one kind."""
        if kind == "conv":
            return ArchSpec(input_dim, (), self.bottleneck, layout="conv", channels=self.channels)
        if kind in ("sparse", "wide"):  # a code wider than the input, straight from the pixels, ReLU on the code
            return ArchSpec(input_dim, (), self.wide_size(input_dim), code_activation="relu")
        return ArchSpec(input_dim, (self.hidden,), self.bottleneck, kind="vae" if kind == "vae" else "ae")

    def config(self, kind: str) -> TrainConfig:
        epochs = self.epochs if self.budget == "epochs" else MAX_EPOCHS  # a deadline ends a "seconds" run
        return TrainConfig(lr=self.lr, batch_size=self.batch_size, epochs=epochs, seed=self.seed,
                           n_train=self.n_train, beta=self.beta, sparsity=self.sparsity if kind == "sparse" else 0.0)

    def params(self, input_dim: int) -> int:
        """Parameters of every chosen kind together (the compute budget counts them all)."""
        return sum(self.spec(kind, input_dim).param_count for kind in self.kinds)

    def describe(self) -> str:
        return (f"{self.seconds:g} s per kind" if self.budget == "seconds" else f"{self.epochs} epochs per kind") + \
            f" · code {self.bottleneck} · Adam lr {self.lr:g}, batch {self.batch_size}, seed {self.seed}"


def check(settings: CompareSettings, bundle: DataBundle) -> Check:
    """Validate the settings against the data; errors say what to change, notes only inform.

    Every setting the page offers is checked by its field (settings.COMPARE), so the page, a link and this check
    agree; then every kind's network, and the compute budget of all kinds together (AELAB_MAX_COMPUTE). Under the
    time budget the seconds bound the work instead, and the job's own charge stops a run that would pass the limit.
    """
    out = Check(errors=COMPARE.check(settings, {"input_dim": bundle.input_dim}))
    if bundle.image_shape is None or conv.image_side(bundle.input_dim) is None:
        out.error("This comparison includes a convolutional model, which needs images: choose Digits, MNIST or "
                  "Fashion-MNIST.", "dataset")
    if not settings.kinds:
        out.error("Choose at least one kind to train.", "kinds")
    if out.errors:
        return out
    for kind in settings.kinds:
        spec = settings.spec(kind, bundle.input_dim)
        # params=0: this kind's compute is not checked alone; all kinds together are, below
        arch, train = check_arch(spec), check_train(settings.config(kind), spec, params=0)
        for err in arch.errors + train.errors:
            if str(err) not in {str(e) for e in out.errors}:
                out.errors.append(err)
        out.notes += [n for n in arch.notes + train.notes if n not in out.notes and kind != "wide"]
    if settings.budget == "epochs" and not out.errors:
        n = len(bundle.subset(settings.n_train, seed=settings.seed).x_train)
        out.errors += check_compute(settings.params(bundle.input_dim), n, settings.epochs, "training images")
    return out


def parse_settings(bundle: DataBundle, raws: dict[str, str]) -> tuple[CompareSettings | None, Check]:
    """Texts as the page's boxes (or a link) hold them, session key -> text (settings.COMPARE) -> the settings, or
    every problem as a message; keys left out take their defaults."""
    context = {"input_dim": bundle.input_dim}
    return build(COMPARE, CompareSettings, *parse_values(COMPARE, raws, context), lambda s: check(s, bundle))


# -- the experiment ------------------------------------------------------------------------------
class TimeBudget(Relay):
    """The train.fit monitor of one kind: with `seconds`, stops the fit after that much training (time spent paused or
    waiting for a turn not counted); with a job context and its `lab` progress, reports the kind's phase and curve
    (progress.phase_monitor, as `run`), its progress then counting those seconds instead of the epochs."""

    def __init__(self, seconds: float | None, ctx: JobContext | None = None, lab: LabProgress | None = None,
                 run: str = ""):
        self.ctx, self.seconds = ctx, seconds
        self.phase = phase_monitor(ctx, lab, run) if lab is not None else None
        self.start: float | None = None  # the clock starts at the first step, after the one-off set-up
        self.waited_before = 0.0
        self.out_of_time = False

    def trained(self) -> float:
        """Seconds of training so far: since the first step, less the time spent waiting."""
        return 0.0 if self.start is None else time.perf_counter() - self.start - (self.waited - self.waited_before)

    def should_stop(self) -> bool:
        if super().should_stop():
            return True
        if self.start is None:
            self.start, self.waited_before = time.perf_counter(), self.waited
        if self.seconds is not None and self.trained() >= self.seconds:
            self.out_of_time = True
            return True
        return False

    def update(self, progress: Progress, history: History, state: dict | None) -> None:
        if self.phase is None:
            return
        share = min(1.0, self.trained() / self.seconds) if self.seconds else 0.0
        if share > 0:  # the steps this kind will have taken when its seconds are up, at its pace so far
            progress = replace(progress, total_steps=max(progress.step, round(progress.step / share)))
        self.phase.update(progress, history, state)


@dataclass
class KindResult:
    kind: str  # key of KINDS
    spec: ArchSpec  # its architecture
    model: Autoencoder  # trained, CPU, eval mode
    history: History  # its loss curves
    seconds: float  # training wall time
    epochs: float  # epochs done (fractional when the deadline fell mid-epoch)
    measure: sparse.CodeMeasure  # held-out error, active units, pass-through, probe
    recon: np.ndarray  # (N_EXAMPLES, D) reconstructions of the example images
    health: vae_health.Health | None = None  # the VAE's: does it use its code (None for the other kinds)

    @property
    def label(self) -> str:
        return KINDS[self.kind]


@dataclass
class CompareResult:
    settings: CompareSettings
    dataset: str  # data set key
    image_shape: tuple[int, int]
    roughness: float  # median roughness of the data's own images (inside.data_roughness), for filter captions
    mask: np.ndarray  # (D,) pixels the training images ever ink (the encoder filters' roughness is measured there)
    results: list[KindResult]  # in KINDS order
    examples: np.ndarray  # (N_EXAMPLES, D) the held-out images shown
    example_labels: list[str]
    status: str  # "done", or "stopped" when the learner stopped it
    message: str
    seconds: float  # wall time of the whole comparison
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def get(self, kind: str) -> KindResult | None:
        return next((r for r in self.results if r.kind == kind), None)


def run(bundle: DataBundle, settings: CompareSettings, ctx: JobContext | None = None) -> CompareResult:
    """Train every chosen kind one after the other (each gets the CPU alone) and measure them all."""
    start = time.perf_counter()
    data = bundle.subset(settings.n_train, seed=settings.seed)
    test_idx = torch.as_tensor(analysis.subsample(len(bundle.x_test), MAX_TEST))
    x_test, y_test = bundle.x_test[test_idx], bundle.y_test[test_idx]  # (M', D), (M',)
    show = torch.as_tensor(analysis.subsample(len(x_test), N_EXAMPLES, seed=3))
    examples = x_test[show]  # (N_EXAMPLES, D)
    results, status, message = [], "done", "All kinds trained and measured."
    for i, kind in enumerate(settings.kinds):
        lab = LabProgress(KINDS[kind], i + 1, len(settings.kinds), unit="Kind",
                          histories={r.label: r.history for r in results})
        spec, cfg = settings.spec(kind, bundle.input_dim), settings.config(kind)
        model = build_seeded(spec, cfg.seed)
        budget = TimeBudget(settings.seconds if settings.budget == "seconds" else None, ctx, lab, KINDS[kind])
        fit_result = fit(model, data.x_train, x_test, cfg, monitor=budget)
        model.cpu().eval()
        if fit_result.status == "stopped" and not budget.out_of_time:  # the learner pressed Stop
            status, message = "stopped", f"stopped by you while training the {KINDS[kind]}"
            break
        if fit_result.status == "diverged":  # measured anyway: it kept its last finite weights
            status, message = "diverged", f"the {KINDS[kind]} diverged and kept its last finite weights"
        h = fit_result.history
        epochs = h.step_x[-1] if h.step_x else 0.0
        results.append(KindResult(kind, spec, model, h, fit_result.seconds, epochs,
                                  sparse.measure(model, data.x_train, data.y_train, x_test, y_test),
                                  analysis.reconstruct(model, examples).numpy(),
                                  vae_health.health(model, data.x_train, x_test) if model.is_vae else None))
    labels = [bundle.class_names[int(y)] for y in y_test[show]]
    return CompareResult(settings, bundle.name, bundle.image_shape, inside.data_roughness(x_test, bundle.image_shape),
                         inside.pixel_mask(data.x_train), results, examples.numpy(), labels, status, message, time.perf_counter() - start)


# -- what the numbers say ---------------------------------------------------------------------------
def _rel(a: float, b: float) -> float:
    """How much larger a is than b, relatively (0.1 = 10% larger)."""
    return a / b - 1 if b > 0 else float("inf")


def verdict(result: CompareResult, input_dim: int) -> list[str]:
    """Sentences computed from the measured numbers, one branch per outcome."""
    rs = result.results
    if not rs:
        return ["No kind finished training, so there is nothing to compare yet."]
    s = result.settings
    best = min(rs, key=lambda r: r.measure.test_mse)
    lines = [f"Lowest held-out error: **{best.label}** ({best.measure.test_mse:.4f} per pixel)."]
    if s.budget == "seconds":
        fast, slow = max(rs, key=lambda r: r.epochs), min(rs, key=lambda r: r.epochs)
        lines.append(f"Each kind had {s.seconds:g} s: {fast.label} got through {fast.epochs:.0f} epochs, "
                     f"{slow.label} {slow.epochs:.0f}" + (" — a cheaper model sees the data more often in the same "
                                                         "time." if fast.epochs > 1.5 * slow.epochs else "."))
    else:
        fast, slow = min(rs, key=lambda r: r.seconds), max(rs, key=lambda r: r.seconds)
        lines.append(f"Each kind had {s.epochs} epochs: {fast.label} needed {fast.seconds:.2f} s, {slow.label} "
                     f"{slow.seconds:.2f} s.")
    dense, cnn, vae = result.get("dense"), result.get("conv"), result.get("vae")
    if dense and cnn:
        d, c = dense.measure.test_mse, cnn.measure.test_mse
        pd, pc = dense.spec.param_count, cnn.spec.param_count
        size = f" with {pc:,} parameters against the dense AE's {pd:,}"
        if _rel(d, c) > CLOSE:
            lines.append(f"The convolutional AE reconstructs better than the dense one ({c:.4f} vs {d:.4f}){size}: "
                         "filters that slide over the image reuse what they learn at every position.")
        elif _rel(c, d) > CLOSE:
            lines.append(f"The dense AE reconstructs better than the convolutional one ({d:.4f} vs {c:.4f}){size}"
                         + (": on images this small, sliding filters have little room to pay off." if input_dim <= 64
                            else ": within this budget the convolutions did not pay off; try more seconds or "
                                 "more channels."))
        else:
            lines.append(f"The dense and the convolutional AE reconstruct about equally well ({d:.4f} and "
                         f"{c:.4f}){size}.")
    if dense and vae:
        d, v = dense.measure.test_mse, vae.measure.test_mse
        if _rel(v, d) > CLOSE:
            lines.append(f"The VAE's reconstructions are worse than the dense AE's ({v:.4f} vs {d:.4f}) with the same "
                         f"layers: its KL term (β = {s.beta:g}) pulls every code towards a standard normal, which "
                         "buys an orderly code space for sampling at the cost of detail.")
        elif _rel(d, v) > CLOSE:
            lines.append(f"The VAE reconstructs better than the dense AE here ({v:.4f} vs {d:.4f}): with β = "
                         f"{s.beta:g} its KL term barely constrains the code.")
        else:
            lines.append(f"The VAE reconstructs about as well as the dense AE ({v:.4f} vs {d:.4f}).")
    if vae and vae.health is not None and vae.health.ignores_input:
        lines.append(vae_health.health_text(vae.health, s.beta)[1])
    sp, wide = result.get("sparse"), result.get("wide")
    if sp and wide:
        lines += sparse.verdict(sp.measure, wide.measure, input_dim)
    elif sp:
        lines.append(f"The sparse AE's {sp.measure.code_size}-number code uses {sp.measure.active:.0%} of its units "
                     "per input; add 'Wide code, no penalty' to see what the penalty changes.")
    if dense and wide and wide.measure.test_mse < dense.measure.test_mse:
        lines.append(f"A code as wide as {wide.measure.code_size} numbers reconstructs better than the "
                     f"{dense.spec.bottleneck}-number bottleneck ({wide.measure.test_mse:.4f} vs "
                     f"{dense.measure.test_mse:.4f}): a low error alone does not show that a network learned "
                     "something about the data.")
    if result.status == "stopped":
        lines.append(f"The run ended early ({result.message}); the kinds after it were not trained.")
    elif result.status == "diverged":
        lines.append(f"Note: {result.message}; its numbers are those of its last finite weights.")
    return lines


def table(result: CompareResult) -> list[dict]:
    """One row per kind (the page shows it as a table)."""
    return [{"kind": r.label, "architecture": r.spec.describe(), "parameters": r.spec.param_count,
             "epochs": round(r.epochs, 1), "seconds": round(r.seconds, 2), "test MSE": round(r.measure.test_mse, 5),
             "active code units": round(r.measure.active, 3), "noise passed through": round(r.measure.pass_through, 3),
             "kNN probe": round(r.measure.probe, 3)} for r in result.results]


def error_bars(result: CompareResult, height: int = 300) -> go.Figure:
    """Held-out error per kind."""
    rs = result.results
    fig = go.Figure(go.Bar(x=[r.label for r in rs], y=[r.measure.test_mse for r in rs],
                           text=[f"{r.measure.test_mse:.4f}" for r in rs], textposition="outside",
                           marker_color=[figures.PALETTE[list(KINDS).index(r.kind)] for r in rs],
                           hovertemplate="%{x}: %{y:.5f}<extra></extra>"))
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=height, title="Held-out error (lower is better)")
    fig.update_yaxes(title="MSE per pixel")
    return fig


def recon_grid(result: CompareResult) -> go.Figure:
    """The same held-out images and every kind's reconstruction of them."""
    rows = [result.examples] + [r.recon for r in result.results]
    return figures.image_grid(rows, result.image_shape, row_labels=["input"] + [r.label for r in result.results],
                              col_labels=result.example_labels, title="Reconstructions of the same held-out images")


def filters(result: CompareResult, kind: str, max_filters: int = 32):
    """The first-layer filters of one kind as (figure, caption) — None when that kind was not trained."""
    r = result.get(kind)
    if r is None:
        return None
    fig, captions = inside.weights_view(r.model.state_dict(), r.spec.input_dim, result.mask, result.roughness,
                                        max_filters, title=f"{r.label}: weights as images")
    return fig, " ".join(captions)
