"""The denoising lab: a plain autoencoder (clean in, clean out) against a denoising one (noisy in, clean out).

Both get the same architecture, images and number of steps; only their inputs differ. Each is then
fed the same noisy held-out images and scored against the clean originals.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch

from aelab import analysis, colors, figures, noise
from aelab.data import DataBundle
from aelab.jobs import JobContext
from aelab.model import Autoencoder
from aelab.fields import build, parse_values
from aelab.limits import MAX_COPIES  # noqa: F401 - re-exported
from aelab.progress import LabProgress, phase_monitor
from aelab.settings import DENOISING
from aelab.spec import ArchSpec, Check, TrainConfig, check_compute, check_model
from aelab.train import History, build_seeded, fit

_D = DENOISING.dataclass_default  # the page's defaults (aelab/settings.py) are the lab's
MAX_PAIR_BYTES = 512 * 2**20  # memory for the copied training pairs (noisy inputs + clean targets, float32)
BIG_RUN = 3_000_000  # samples seen (images x copies x epochs x 2 models) above which we warn it takes minutes
SWEEP_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)  # test noise levels for the error-vs-level curve
TRAIN_NOISE = 101  # seed offset of the training noise
TEST_NOISE = 202  # seed offset of the held-out noise (never seen in training)
N_EXAMPLES = 8  # images shown in the clean / noisy / plain / denoising grid
INTRO = (  # the page's question, asked before anything is measured
    "**The question:** if you want an autoencoder that cleans up corrupted images, does it help to *train* "
    "it on corrupted inputs, asking for the clean image as the output? Two models with the same network, "
    "data and number of steps are trained side by side: a **plain AE** (clean in, clean out) and a "
    "**denoising AE** (noisy in, clean out). Then both get the same noisy held-out images, and each output "
    "is compared with the clean original."
)
ROWS = {  # key of DenoiseResult.errors -> label
    "noisy": "noisy input",
    "plain": "plain AE",
    "denoiser": "denoising AE",
    "plain_clean": "plain AE, clean input",
}


@dataclass(frozen=True)
class DenoiseSettings:
    noise: str = _D("noise")  # kind of corruption (a key of noise.KINDS), e.g. "gaussian"
    level: float = _D("level")  # its strength: Gaussian std, or the fraction of corrupted pixels, e.g. 0.3
    encoder: tuple[int, ...] = _D("encoder")  # hidden widths from the input to the code (the decoder mirrors them)
    bottleneck: int = _D("bottleneck")  # code size of both models, e.g. 16
    layout: str = _D("layout")  # "dense", or "conv": stride-2 convs before the hidden layers (a key of LAYOUTS)
    channels: tuple[int, ...] = _D("channels")  # conv layout: channels of each conv, image side first, e.g. (16, 32)
    epochs: int = _D("epochs")  # passes over the copied training set, e.g. 40
    copies: int = _D("copies")  # versions of each image per epoch: fresh noise (denoiser) or clean repeats (plain AE)
    n_train: int | None = _D("n_train")  # training images used (None = all)
    lr: float = 3e-3  # Adam learning rate
    batch_size: int = 128  # images per optimizer step
    seed: int = 0  # seeds the weights, the shuffling and the noise

    def spec(self, input_dim: int) -> ArchSpec:
        """The architecture both models share."""
        return ArchSpec(input_dim, self.encoder, self.bottleneck, layout=self.layout, channels=self.channels)

    def train_config(self) -> TrainConfig:
        return TrainConfig(loss="mse", optimizer="adam", lr=self.lr, batch_size=self.batch_size,
                           epochs=self.epochs, seed=self.seed)

    def describe(self, input_dim: int) -> str:
        return (f"{noise.KINDS[self.noise].split(' (')[0]} noise at level {self.level:g} · "
                f"{self.spec(input_dim).describe()} · {self.epochs} epochs × {self.copies} copies")


@dataclass
class DenoiseResult:
    settings: DenoiseSettings  # what was trained
    dataset: str  # data set key
    image_shape: tuple[int, int] | None  # (H, W) for drawing
    plain: Autoencoder  # trained on clean inputs, clean targets
    denoiser: Autoencoder  # trained on noisy inputs, clean targets
    plain_history: History  # the plain AE's loss curves
    denoiser_history: History  # the denoising AE's loss curves (test: noisy held-out in, clean out)
    errors: dict[str, np.ndarray]  # key of ROWS -> (M,) per-image MSE against the clean test image
    examples: dict[str, np.ndarray]  # "clean" / "noisy" / "plain" / "denoiser" -> (N_EXAMPLES, D)
    example_labels: list[str]  # class name of each example column
    sweep: list[dict]  # per test level: level, noisy, plain, denoiser (mean errors)
    status: str  # "done", or how the first unfinished fit ended ("stopped" / "diverged")
    message: str  # a sentence for the learner
    seconds: float  # wall time of the whole lab run
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # identifies this result (widget keys)

    def mean(self, key: str) -> float:
        return float(self.errors[key].mean())


# -- settings --------------------------------------------------------------------------------------
def check(settings: DenoiseSettings, bundle: DataBundle) -> Check:
    """Validate the lab settings against the data set; errors say what to change, notes only inform.

    Every setting is checked by its page field (settings.DENOISING), so the page, a link and this check agree."""
    input_dim, n_available = bundle.input_dim, len(bundle.x_train)
    out = Check(errors=DENOISING.check(settings, {"input_dim": input_dim, "n_available": n_available}))
    if bundle.image_shape is None:
        out.error("The denoising lab draws images: pick an image data set.", "dataset")
    if out.errors:
        return out
    out.add(check_model(settings.spec(input_dim), settings.train_config()))
    n = min(settings.n_train or n_available, n_available)
    per_image = 2 * settings.copies * input_dim * 4  # bytes of one image's noisy copies and clean targets
    if n * per_image > MAX_PAIR_BYTES:
        out.error(f"{n:,} images x {settings.copies} copies would hold {n * per_image / 2**20:,.0f} MB of training "
                  f"pairs in memory: use at most {MAX_PAIR_BYTES // per_image:,} training images, or fewer copies.",
                  "n_train")
    if not out.errors:  # two models, each trained on every image's copies
        out.errors += check_compute(2 * settings.spec(input_dim).param_count, n * settings.copies, settings.epochs,
                                    "training pairs (images × copies)")
    seen = 2 * n * settings.copies * settings.epochs
    if seen > BIG_RUN:
        out.notes.append(f"This run pushes {seen:,} images through the two models and may take minutes: "
                         "use fewer training images, copies or epochs for a quick look.")
    return out


def parse_settings(bundle: DataBundle, kind: str, level: str, hidden: str, bottleneck: str, epochs: str,
                   copies: str, n_train: str) -> tuple[DenoiseSettings | None, Check]:
    """Typed texts (as the page's boxes hold them) -> settings, or collect learner-facing errors."""
    raws = {"cfg_dn_noise": kind, "cfg_dn_level": level, "cfg_dn_hidden": hidden, "cfg_dn_bottleneck": bottleneck,
            "cfg_dn_epochs": epochs, "cfg_dn_copies": copies, "cfg_dn_n_train": n_train}
    return build(DENOISING, DenoiseSettings, *parse_values(DENOISING, raws), lambda settings: check(settings, bundle))


# -- the experiment --------------------------------------------------------------------------------
def training_pairs(x: torch.Tensor, settings: DenoiseSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """(noisy inputs, clean targets) with `copies` fresh corruptions of every image."""
    clean = x.repeat(settings.copies, 1)  # (N, D) -> (copies * N, D)
    noisy = noise.corrupt(clean, settings.noise, settings.level, seed=settings.seed + TRAIN_NOISE)
    return noisy, clean


def level_sweep(plain: Autoencoder, denoiser: Autoencoder, clean: torch.Tensor, settings: DenoiseSettings,
                levels: tuple[float, ...] = SWEEP_LEVELS) -> list[dict]:
    """Mean error against `clean` of the noisy input and both models, at several test noise levels."""
    rows = []
    for level in sorted(set(levels) | {settings.level}):
        noisy = clean if level == 0 else noise.corrupt(clean, settings.noise, level, seed=settings.seed + TEST_NOISE)
        rows.append({"level": level,
                     "noisy": analysis.mean_error(clean, noisy),
                     "plain": analysis.model_error(plain, noisy, clean),
                     "denoiser": analysis.model_error(denoiser, noisy, clean)})
    return rows


def noise_preview(bundle: DataBundle, settings: DenoiseSettings) -> tuple[np.ndarray, np.ndarray, float]:
    """What the chosen corruption does before anything trains: (clean, noisy) example images (n, D) and the noisy
    images' mean squared error against the clean ones (the same held-out noise the lab scores with)."""
    clean = bundle.x_test[example_indices(bundle.y_test)]  # (n, D)
    noisy = noise.corrupt(clean, settings.noise, settings.level, seed=settings.seed + TEST_NOISE)
    return clean.numpy(), noisy.numpy(), float(analysis.per_sample_error(clean, noisy).mean())


def example_indices(labels: torch.Tensor, n: int = N_EXAMPLES) -> list[int]:
    """The first held-out image of each class, then the next ones, up to n (fixed, so reruns compare)."""
    labels = labels.numpy()
    order = []
    for rank in range(len(labels)):
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            if rank < len(idx):
                order.append(int(idx[rank]))
            if len(order) == n:
                return order
    return order


def run_lab(bundle: DataBundle, settings: DenoiseSettings, ctx: JobContext | None = None) -> DenoiseResult:
    """Train the plain and the denoising autoencoder, then measure both on noisy held-out images."""
    start = time.perf_counter()
    data = bundle.subset(settings.n_train, seed=settings.seed)
    spec, cfg = settings.spec(data.input_dim), settings.train_config()
    noisy_train, clean_train = training_pairs(data.x_train, settings)  # (copies * N, D) each
    clean_test = data.x_test  # (M, D)
    noisy_test = noise.corrupt(clean_test, settings.noise, settings.level, seed=settings.seed + TEST_NOISE)

    fits = []
    models = []
    phases = [("Plain autoencoder (clean inputs)", ROWS["plain"], clean_train, clean_test),
              ("Denoising autoencoder (noisy inputs)", ROWS["denoiser"], noisy_train, noisy_test)]
    for i, (phase, run, x_in, x_test_in) in enumerate(phases):
        done = {name: f.history for (_, name, _, _), f in zip(phases, fits)}
        monitor = phase_monitor(ctx, LabProgress(phase, i + 1, len(phases), histories=done), run)
        model = build_seeded(spec, settings.seed)
        fits.append(fit(model, x_in, x_test_in, cfg, target_train=clean_train, target_test=clean_test,
                        monitor=monitor))
        models.append(model.cpu().eval())
    plain, denoiser = models

    outputs = {"plain": analysis.reconstruct(plain, noisy_test), "denoiser": analysis.reconstruct(denoiser, noisy_test)}
    errors = {
        "noisy": analysis.per_sample_error(clean_test, noisy_test),
        "plain": analysis.per_sample_error(clean_test, outputs["plain"]),
        "denoiser": analysis.per_sample_error(clean_test, outputs["denoiser"]),
        "plain_clean": analysis.per_sample_error(clean_test, analysis.reconstruct(plain, clean_test)),
    }
    idx = example_indices(data.y_test)
    examples = {"clean": clean_test[idx].numpy(), "noisy": noisy_test[idx].numpy(),
                "plain": outputs["plain"][idx].numpy(), "denoiser": outputs["denoiser"][idx].numpy()}
    labels = [data.class_names[int(data.y_test[i])] for i in idx]
    bad = [f for f in fits if f.status != "done"]
    status = bad[0].status if bad else "done"
    message = ("Both models trained: " + fits[0].message if not bad else
               f"{bad[0].message} The numbers below describe partly trained models.")
    return DenoiseResult(settings, bundle.name, bundle.image_shape, plain, denoiser, fits[0].history,
                         fits[1].history, errors, examples, labels, level_sweep(plain, denoiser, clean_test, settings),
                         status, message, time.perf_counter() - start)


# -- what the numbers say --------------------------------------------------------------------------
def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (normal approximation, 1.96 standard errors)."""
    values = np.asarray(values, dtype=np.float64)
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(half)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "infinitely"


def clearly_below(result: DenoiseResult, a: str, b: str) -> bool:
    """Whether `a`'s per-image errors are below `b`'s beyond chance: the 95% interval of the paired difference
    (same held-out images) lies below 0."""
    mean, half = mean_ci(result.errors[a] - result.errors[b])
    return mean + half < 0


CANDIDATES = ("denoiser", "plain", "noisy")  # DenoiseResult.errors keys = the page question's option keys


def measured_answer(result: DenoiseResult) -> str | None:
    """Which output is closest to the clean images (an option of the page's question), or None when the two
    closest are not clearly apart (their paired difference is within its 95% interval of 0)."""
    best, second = sorted(CANDIDATES, key=result.mean)[:2]
    return best if clearly_below(result, best, second) else None


def summary(result: DenoiseResult) -> list[str]:
    """Sentences that state what the measured errors show (all numbers are computed, none typed in)."""
    n, p, d, r = (result.mean(k) for k in ("noisy", "plain", "denoiser", "plain_clean"))
    b = result.settings.bottleneck
    out = []
    closest = measured_answer(result)
    if closest is None:
        first, second = sorted(CANDIDATES, key=result.mean)[:2]
        out.append(f"No clear winner: the {ROWS[first]} ({result.mean(first):.4f}) and the {ROWS[second]} "
                   f"({result.mean(second):.4f}) cannot be told apart, given how much the error varies over the "
                   f"{len(result.errors['noisy'])} held-out images (noisy input {n:.4f}, plain AE {p:.4f}, denoising "
                   f"AE {d:.4f}). Try more epochs or copies, or a stronger noise level.")
    elif closest == "denoiser":
        out.append(f"Against the clean images, the denoising AE's error is **{d:.4f}**: {_ratio(n, d)} lower than "
                   f"the noisy input's {n:.4f} and {_ratio(p, d)} lower than the plain AE's {p:.4f}.")
    elif closest == "noisy":
        why = (f"Squeezing an image through {b} numbers costs more than this noise does: even clean inputs come "
               f"back with error {r:.4f}. More epochs or a larger code lower that cost." if r >= n else
               f"Clean inputs come back with error {r:.4f}, so the bottleneck is not the obstacle: the denoiser has "
               "not yet learned to undo this noise. Try more epochs or copies.")
        out.append(f"At this noise level the noisy input itself is closest to the clean image (error {n:.4f}); "
                   f"the denoising AE reaches {d:.4f} and the plain AE {p:.4f}. " + why)
    else:
        out.append(f"Here the plain AE ({p:.4f}) came closer to the clean images than the denoising AE ({d:.4f})"
                   + (f" and the noisy input ({n:.4f})" if p < n else "") + ": the opposite of what training on noise "
                   "is for. Try more epochs or copies, or a stronger noise level.")
    if p < 0.9 * n:
        out.append(f"The plain AE never saw noise, yet its output is {_ratio(n, p)} closer to the clean image than "
                   f"its input was ({n:.4f} → {p:.4f}): a {b}-number code has little room for random pixels.")
    elif p < n:
        out.append(f"The plain AE, trained only on clean images, barely helps ({n:.4f} → {p:.4f}): it passes much "
                   "of the noise through, because nothing in its training told it what noise is.")
    else:
        out.append(f"The plain AE, trained only on clean images, makes things worse ({n:.4f} → {p:.4f}): noisy "
                   "inputs are unlike anything it was trained on.")
    out.extend(_sweep_sentences(result))
    return out


def _sweep_sentences(result: DenoiseResult) -> list[str]:
    rows = result.sweep
    out = []
    clean = next((row for row in rows if row["level"] == 0), None)
    if clean is not None:
        who = "plain" if clean["plain"] <= clean["denoiser"] else "denoising"
        out.append(f"On clean inputs (level 0) the {who} AE is the better one (plain {clean['plain']:.4f}, "
                   f"denoising {clean['denoiser']:.4f})"
                   + (": learning to remove noise costs a little accuracy on clean images." if who == "plain"
                      else "."))
    wins = [row["level"] for row in rows if row["level"] > 0 and row["denoiser"] < row["noisy"]]
    if wins:
        out.append(f"The denoising AE (trained at level {result.settings.level:g}) beats its noisy input at test "
                   f"levels {', '.join(f'{lv:g}' for lv in wins)}.")
    elif any(row["level"] > 0 for row in rows):
        out.append(f"The denoising AE (trained at level {result.settings.level:g}) beats its noisy input at no test "
                   "level above 0.")
    return out


# -- figures -----------------------------------------------------------------------------------------
def example_grid(result: DenoiseResult) -> go.Figure:
    """Rows clean / noisy / plain AE / denoising AE for the same held-out images."""
    ex = result.examples
    rows = [ex["clean"], ex["noisy"], ex["plain"], ex["denoiser"]]
    labels = ["clean", "noisy", "plain AE", "denoising AE"]
    return figures.image_grid(rows, result.image_shape, row_labels=labels, col_labels=result.example_labels,
                              title="Same held-out images: clean, corrupted, and what each model made of them")


def error_bars(result: DenoiseResult) -> go.Figure:
    """Mean per-image error against the clean images, with 95% confidence intervals."""
    stats = [mean_ci(result.errors[k]) for k in ROWS]
    bars = [figures.PALETTE[9], figures.PALETTE[0], figures.PALETTE[2], colors.NEUTRAL]
    fig = go.Figure(go.Bar(x=list(ROWS.values()), y=[m for m, _ in stats], marker_color=bars,
                           error_y=dict(type="data", array=[h for _, h in stats], visible=True),
                           text=[f"{m:.4f}" for m, _ in stats], textposition="outside",
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=340,
                      title=f"Error against the clean image ({len(result.errors['noisy'])} held-out images)")
    fig.update_yaxes(title="mean squared error per pixel", rangemode="tozero")
    return fig


def level_curve(result: DenoiseResult) -> go.Figure:
    """Mean error against the clean image as the test noise level changes (models stay fixed)."""
    rows = result.sweep
    x = [row["level"] for row in rows]
    fig = go.Figure()
    for key, color in (("noisy", figures.PALETTE[9]), ("plain", figures.PALETTE[0]), ("denoiser", figures.PALETTE[2])):
        fig.add_trace(go.Scatter(x=x, y=[row[key] for row in rows], mode="lines+markers", name=ROWS[key],
                                 line=dict(color=color, width=2.5)))
    fig.add_vline(x=result.settings.level, line_dash="dot", line_color=colors.NEUTRAL,
                  annotation_text="trained at", annotation_position="top")
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=340,
                      title="Error against the clean image at other test noise levels",
                      legend=figures.LEGEND_BELOW)
    fig.update_xaxes(title=f"test noise level ({noise.LEVEL_MEANING[result.settings.noise]})")
    fig.update_yaxes(title="mean squared error per pixel", rangemode="tozero")
    return fig
