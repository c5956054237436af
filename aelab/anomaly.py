"""The anomaly-detection lab: train only on "normal" classes, score held-out images by reconstruction error.

A threshold on the score turns it into a detector (confusion counts); the ROC curve and its area
(AUC) summarise every threshold at once; a few code sizes show how the bottleneck changes the AUC.
"""
from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from scipy.stats import rankdata
from sklearn.metrics import roc_curve

from aelab import analysis, colors, figures
from aelab.data import DataBundle
from aelab.jobs import JobContext
from aelab.model import Autoencoder
from aelab.fields import build, parse_values
from aelab.limits import MAX_SIZES  # noqa: F401 - re-exported
from aelab.progress import LabProgress, PhaseMonitor, phase_monitor
from aelab.settings import ANOMALY
from aelab.spec import ArchSpec, Check, SpecError, TrainConfig, check_compute, check_model
from aelab.train import History, Monitor, build_seeded, fit

_D = ANOMALY.dataclass_default  # the page's defaults (aelab/settings.py) are the lab's
BIG_RUN = 3_000_000  # images pushed through all models (normal images x epochs x models) before we warn
N_WORST = 8  # worst-reconstructed held-out images shown
INTRO = (  # the page's question, asked before anything is measured
    "**The question:** if an autoencoder only ever sees *normal* data, can its reconstruction error tell "
    "normal from unusual? No labels of anomalies are used for training: the model learns to rebuild the "
    "normal classes, and every held-out image is scored by how badly it comes back. Afterwards the class "
    "labels only serve to *check* the scores."
)
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))
NORMAL_COLOR, ANOMALY_COLOR = figures.PALETTE[0], figures.PALETTE[3]


@dataclass(frozen=True)
class AnomalySettings:
    normal: tuple[int, ...] = _D("normal")  # class labels treated as normal (the only ones trained on)
    encoder: tuple[int, ...] = _D("encoder")  # hidden widths from the input to the code (the decoder mirrors them)
    bottleneck: int = _D("bottleneck")  # code size of the main model, e.g. 8
    layout: str = _D("layout")  # "dense", or "conv": stride-2 convs before the hidden layers (a key of LAYOUTS)
    channels: tuple[int, ...] = _D("channels")  # conv layout: channels of each conv, image side first, e.g. (16, 32)
    sizes: tuple[int, ...] = _D("sizes")  # code sizes compared by AUC (the main size is always included)
    epochs: int = _D("epochs")  # passes over the normal training images, for every model, e.g. 60
    n_train: int | None = _D("n_train")  # training images drawn before keeping the normal ones (None = all)
    lr: float = 3e-3  # Adam learning rate
    batch_size: int = 64  # images per optimizer step
    seed: int = 0  # seeds weights and shuffling (the same for every code size)
    quantile: float = 0.95  # starting threshold: this quantile of the training images' errors

    def spec(self, input_dim: int, bottleneck: int | None = None) -> ArchSpec:
        return ArchSpec(input_dim, self.encoder, bottleneck or self.bottleneck, layout=self.layout,
                        channels=self.channels)

    def train_config(self) -> TrainConfig:
        return TrainConfig(loss="mse", optimizer="adam", lr=self.lr, batch_size=self.batch_size,
                           epochs=self.epochs, seed=self.seed)

    @property
    def all_sizes(self) -> tuple[int, ...]:
        """The compared code sizes, smallest first, including the main one."""
        return tuple(sorted(set(self.sizes) | {self.bottleneck}))


@dataclass
class Detector:
    """One trained model and its scores: per-image reconstruction error (MSE) on held-out images."""

    bottleneck: int  # code size
    model: Autoencoder  # trained on normal images only (CPU, eval mode)
    history: History  # loss curves (test = normal held-out images)
    train_errors: np.ndarray  # (N,) errors of the normal training images
    test_errors: np.ndarray  # (M,) errors of all held-out images: the anomaly scores
    is_anomaly: np.ndarray  # (M,) bool, True where the held-out image's class is not normal
    auc: float  # area under the ROC curve of test_errors
    status: str  # how its training ended: "done", "stopped" or "diverged"

    @property
    def normal_error(self) -> float:
        return float(self.test_errors[~self.is_anomaly].mean())

    @property
    def anomaly_error(self) -> float:
        return float(self.test_errors[self.is_anomaly].mean())


@dataclass(frozen=True)
class SweepRow:
    bottleneck: int  # code size
    auc: float  # area under the ROC curve
    normal_error: float  # mean error of normal held-out images
    anomaly_error: float  # mean error of anomalous held-out images
    status: str  # how its training ended

    @property
    def separation(self) -> float:
        """How many times larger the anomalies' mean error is than the normal images'."""
        return self.anomaly_error / self.normal_error if self.normal_error > 0 else math.inf


@dataclass
class AnomalyResult:
    settings: AnomalySettings  # what was trained
    dataset: str  # data set key
    image_shape: tuple[int, int] | None  # (H, W) for drawing
    class_names: tuple[str, ...]  # label -> name
    test_labels: np.ndarray  # (M,) class of every held-out image
    main: Detector  # the model at settings.bottleneck
    rows: list[SweepRow]  # one per code size trained, smallest first
    worst: np.ndarray  # (N_WORST,) held-out indices with the largest errors, worst first
    worst_images: np.ndarray  # (N_WORST, D) those images
    worst_recon: np.ndarray  # (N_WORST, D) their reconstructions
    status: str  # "done", "stopped" or "diverged"
    message: str  # a sentence for the learner
    seconds: float  # wall time of the whole lab run
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # identifies this result (widget keys)

    @property
    def default_threshold(self) -> float:
        return default_threshold(self.main.train_errors, self.settings.quantile)


# -- scores, thresholds, ROC -------------------------------------------------------------------------
def auc(scores: np.ndarray, is_anomaly: np.ndarray) -> float:
    """Area under the ROC curve, as the chance that a random anomaly outscores a random normal sample.

    Mann-Whitney form (Hanley & McNeil 1982): AUC = (R_a - n_a (n_a + 1) / 2) / (n_a n_n), with R_a the
    sum of the anomalies' ranks among all scores; tied scores share their average rank (count as 1/2).
    """
    scores, pos = np.asarray(scores, dtype=np.float64), np.asarray(is_anomaly, dtype=bool)
    n_a, n_n = int(pos.sum()), int((~pos).sum())
    if n_a == 0 or n_n == 0:
        return float("nan")
    ranks = rankdata(scores)  # (M,) 1-based, ties averaged
    return float((ranks[pos].sum() - n_a * (n_a + 1) / 2) / (n_a * n_n))


@dataclass(frozen=True)
class Confusion:
    tp: int  # anomalies flagged (caught)
    fp: int  # normal images flagged (false alarms)
    tn: int  # normal images passed
    fn: int  # anomalies passed (missed)

    @property
    def precision(self) -> float:
        """Share of flagged images that are anomalies (NaN when nothing is flagged)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        """Share of anomalies that are flagged (the true-positive rate)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def false_positive_rate(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")


def percent(x: float) -> str:
    """A share as a percentage, or a dash when it is undefined (NaN: nothing flagged, no anomalies)."""
    return "—" if math.isnan(x) else f"{x:.0%}"


def confusion(scores: np.ndarray, is_anomaly: np.ndarray, threshold: float) -> Confusion:
    """Counts when every image whose score is above `threshold` is flagged as an anomaly."""
    flagged = np.asarray(scores) > threshold  # (M,) bool
    pos = np.asarray(is_anomaly, dtype=bool)
    return Confusion(tp=int((flagged & pos).sum()), fp=int((flagged & ~pos).sum()),
                     tn=int((~flagged & ~pos).sum()), fn=int((~flagged & pos).sum()))


def threshold_range(result: AnomalyResult, steps: int = 500) -> tuple[float, float, float]:
    """The threshold slider's (lowest, highest, step): from 0 to just above the largest held-out error."""
    top = max(float(result.main.test_errors.max()), result.default_threshold) * 1.02
    return 0.0, top, top / steps


def default_threshold(train_errors: np.ndarray, quantile: float = 0.95) -> float:
    """A threshold chosen without looking at any anomaly: flags (1 - quantile) of the normal training images."""
    return float(np.quantile(np.asarray(train_errors), quantile))


# -- settings ------------------------------------------------------------------------------------------
def check_classes(normal: tuple[int, ...], n_classes: int) -> list[SpecError]:
    """Errors about the choice of normal classes (none, all, or unknown ones)."""
    chosen = set(normal)
    if not chosen:
        return [SpecError("Pick at least one class as normal: the model trains on those classes only, and every "
                          "other class counts as an anomaly.", "normal")]
    if not chosen <= set(range(n_classes)):  # a data set with fewer classes than the field allows
        return [SpecError(f"Classes go from 0 to {n_classes - 1}.", "normal")]
    if len(chosen) == n_classes:
        return [SpecError("Every class is marked normal, so no held-out image is an anomaly and there is nothing "
                          "to detect. Leave at least one class out.", "normal")]
    return []


def check(settings: AnomalySettings, bundle: DataBundle) -> Check:
    """Validate the lab settings against the data set; errors say what to change, notes only inform.

    Every setting is checked by its page field (settings.ANOMALY), so the page, a link and this check agree."""
    n_classes, input_dim = len(bundle.class_names), bundle.input_dim
    out = Check(errors=ANOMALY.check(settings, {"input_dim": input_dim, "n_available": len(bundle.x_train)}))
    if not out.errors:
        out.errors += check_classes(settings.normal, n_classes)
    if out.errors:
        return out
    out.add(check_model(settings.spec(input_dim), settings.train_config()))
    if not out.errors:
        labels = bundle.subset(settings.n_train, seed=settings.seed).y_train  # (N,) the run's training labels
        n_normal = int(torch.isin(labels, torch.tensor(settings.normal)).sum())
        seen = n_normal * settings.epochs * len(settings.all_sizes)
        params = sum(settings.spec(input_dim, b).param_count for b in settings.all_sizes)  # one model per size
        budget = check_compute(params, n_normal, settings.epochs, "normal training images")
        if n_normal < 10:
            out.error(f"Only {n_normal} training images belong to the normal classes: pick more classes or use "
                      "more training images.", "normal")
        elif budget:
            out.errors += budget
        elif seen > BIG_RUN:
            out.notes.append(f"This run pushes about {seen:,} images through {len(settings.all_sizes)} models and "
                             "may take minutes: use fewer training images, epochs or code sizes for a quick look.")
    return out


def parse_settings(bundle: DataBundle, normal: list[int], hidden: str, bottleneck: str, epochs: str, sizes: str,
                   n_train: str) -> tuple[AnomalySettings | None, Check]:
    """Typed texts (as the page's boxes hold them) and the chosen classes -> settings, or learner-facing errors."""
    raws = {"cfg_an_hidden": hidden, "cfg_an_bottleneck": bottleneck, "cfg_an_epochs": epochs, "cfg_an_sizes": sizes,
            "cfg_an_n_train": n_train}
    values, errors = parse_values(ANOMALY, raws)
    return build(ANOMALY, AnomalySettings, values | {"cfg_an_normal": tuple(normal)}, errors,
                 lambda settings: check(settings, bundle))


# -- the experiment --------------------------------------------------------------------------------------
def split(bundle: DataBundle, normal: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Normal training images (N, D), all held-out images (M, D), and which held-out images are anomalies (M,)."""
    keep = torch.isin(bundle.y_train, torch.tensor(normal))  # (N_all,) bool
    is_anomaly = ~torch.isin(bundle.y_test, torch.tensor(normal))  # (M,) bool
    return bundle.x_train[keep], bundle.x_test, is_anomaly.numpy()


def train_detector(x_normal: torch.Tensor, x_test: torch.Tensor, is_anomaly: np.ndarray, settings: AnomalySettings,
                   bottleneck: int, monitor: Monitor | None = None) -> Detector:
    """Train one autoencoder on normal images only and score every held-out image by its error."""
    spec = settings.spec(x_normal.shape[1], bottleneck)
    model = build_seeded(spec, settings.seed)
    normal_test = x_test[torch.from_numpy(~is_anomaly)]  # (M_normal, D): the loss curve's held-out set
    res = fit(model, x_normal, normal_test, settings.train_config(), monitor=monitor)
    model.cpu().eval()
    train_err = analysis.per_sample_error(x_normal, analysis.reconstruct(model, x_normal))  # (N,)
    test_err = analysis.per_sample_error(x_test, analysis.reconstruct(model, x_test))  # (M,)
    return Detector(bottleneck, model, res.history, train_err, test_err, is_anomaly, auc(test_err, is_anomaly),
                    res.status)


def run_name(bottleneck: int) -> str:
    """How a model is named in the live curves."""
    return f"code size {bottleneck}"


def row_of(det: Detector) -> SweepRow:
    return SweepRow(det.bottleneck, det.auc, det.normal_error, det.anomaly_error, det.status)


def run_lab(bundle: DataBundle, settings: AnomalySettings, ctx: JobContext | None = None) -> AnomalyResult:
    """Train the main detector, then one per other code size (publishing each finished row)."""
    start = time.perf_counter()
    data = bundle.subset(settings.n_train, seed=settings.seed)
    x_normal, x_test, is_anomaly = split(data, settings.normal)
    others = [b for b in settings.all_sizes if b != settings.bottleneck]
    phases = 1 + len(others)
    curves: dict[str, History] = {}  # model name -> loss curves of the models trained so far

    def phase(i: int, b: int) -> PhaseMonitor | None:
        lab = LabProgress(f"Code size {b}" + (" (main model)" if i == 1 else ""), i, phases, histories=dict(curves))
        return phase_monitor(ctx, lab, run_name(b))

    main = train_detector(x_normal, x_test, is_anomaly, settings, settings.bottleneck, phase(1, settings.bottleneck))
    curves[run_name(main.bottleneck)] = main.history
    rows = {main.bottleneck: row_of(main)}
    if ctx is not None:
        ctx.publish(rows=sorted(rows.values(), key=lambda r: r.bottleneck))
    status = main.status
    for i, b in enumerate(others, start=2):
        if status != "done":
            break
        det = train_detector(x_normal, x_test, is_anomaly, settings, b, phase(i, b))
        curves[run_name(b)] = det.history
        status = det.status
        if status != "done":  # a partly trained size would distort the comparison: leave it out
            break
        rows[b] = row_of(det)
        if ctx is not None:
            ctx.publish(rows=sorted(rows.values(), key=lambda r: r.bottleneck))
    worst = np.argsort(-main.test_errors, kind="stable")[:N_WORST]
    recon = analysis.reconstruct(main.model, x_test[torch.from_numpy(worst)])  # (N_WORST, D)
    n_models = len(rows)
    if status == "done":
        message = f"Trained {n_models} model{'s' * (n_models > 1)} on {len(x_normal):,} normal images."
    elif main.status != "done":
        message = "Stopped while training the main model: the numbers below describe a partly trained model."
    else:
        message = (f"Stopped during the code-size comparison: {n_models} of {phases} sizes were fully trained and "
                   "are shown; the interrupted one is left out.")
    return AnomalyResult(settings, bundle.name, bundle.image_shape, bundle.class_names, data.y_test.numpy(), main,
                         sorted(rows.values(), key=lambda r: r.bottleneck), worst, x_test[worst].numpy(),
                         recon.numpy(), status, message, time.perf_counter() - start)


# -- what the numbers say ------------------------------------------------------------------------------
def class_list(classes, names: tuple[str, ...]) -> str:
    return ", ".join(names[int(c)] for c in classes)


def anomaly_classes(result: AnomalyResult) -> list[int]:
    return [c for c in range(len(result.class_names)) if c not in result.settings.normal]


CLEAR = 1.2  # medians this many times apart count as clearly larger (or smaller)


def median_ratio(result: AnomalyResult) -> tuple[float, float, float]:
    """(median error of normal held-out images, of anomalous ones, anomalous ÷ normal)."""
    det = result.main
    normal = float(np.median(det.test_errors[~det.is_anomaly]))
    anomalous = float(np.median(det.test_errors[det.is_anomaly]))
    return normal, anomalous, anomalous / normal if normal > 0 else math.inf


def measured_answer(result: AnomalyResult) -> str:
    """The page question's option the medians support: "larger", "same" or "smaller" (by the factor CLEAR)."""
    ratio = median_ratio(result)[2]
    return "larger" if ratio >= CLEAR else "smaller" if ratio <= 1 / CLEAR else "same"


def histogram_text(result: AnomalyResult) -> str:
    det = result.main
    normal, anomalous, ratio = median_ratio(result)
    classes = anomaly_classes(result)
    more = "higher" if ratio >= 1 else "lower"
    factor = ratio if ratio >= 1 else 1 / ratio
    answer = measured_answer(result)
    return (f"The median error of the {int((~det.is_anomaly).sum())} normal held-out images is **{normal:.4f}**; "
            f"of the {int(det.is_anomaly.sum())} anomalous ones (class{'es' * (len(classes) > 1)} "
            f"{class_list(classes, result.class_names)}) it is **{anomalous:.4f}**, "
            f"{factor:.1f}x {more}. "
            + ("The model never saw an anomaly, so it rebuilds them from the parts it knows, and worse."
               if answer == "larger" else
               "Here the anomalies are rebuilt *better* than normal images: the normal classes are the harder ones "
               "to draw, so a high error would flag the wrong images." if answer == "smaller" else
               "Here the anomalies are not rebuilt clearly worse than normal images, so their error alone can "
               "hardly single them out."))


def _pct(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.0%}"


def threshold_text(conf: Confusion, threshold: float) -> str:
    flagged = conf.tp + conf.fp
    if flagged == 0:
        return (f"At threshold {threshold:.4f} no image is flagged: all {conf.fn} anomalies slip through. "
                "Move the threshold left.")
    return (f"At threshold {threshold:.4f}, {flagged} images are flagged: {conf.tp} of the {conf.tp + conf.fn} "
            f"anomalies (recall {_pct(conf.recall)}) and {conf.fp} of the {conf.fp + conf.tn} normal images "
            f"(false alarms), so {_pct(conf.precision)} of the flags are right (precision). {conf.fn} "
            f"anomal{'y' if conf.fn == 1 else 'ies'} slip{'s' if conf.fn == 1 else ''} through. A lower threshold "
            "catches more anomalies and raises more false alarms.")


def threshold_origin_text(result: AnomalyResult) -> str:
    """Where the starting threshold comes from, and how it behaves on new normal images."""
    det, thr = result.main, result.default_threshold
    on_train = float((det.train_errors > thr).mean())
    on_test = float((det.test_errors[~det.is_anomaly] > thr).mean())
    why = (" Images the model trained on come back better than new ones, so new normal images cross it more often."
           if on_test > on_train + 0.02 else "")
    return (f"The slider starts at {thr:.4f}, the error exceeded by {on_train:.0%} of the normal *training* images: "
            f"a choice made without seeing a single anomaly. It flags {on_test:.0%} of the normal held-out "
            f"images.{why}")


def auc_text(value: float) -> str:
    if math.isnan(value):
        return "The AUC is undefined: the held-out set needs both normal and anomalous images."
    quality = ("close to perfect" if value >= 0.97 else "good" if value >= 0.9 else "useful but far from perfect"
               if value >= 0.7 else "barely better than guessing" if value > 0.55 else "no better than guessing"
               if value >= 0.45 else "worse than guessing: the anomalies tend to come back *better* than normal images")
    return (f"**AUC = {value:.3f}** ({quality}): pick one anomalous and one normal held-out image at random, and "
            f"{value:.0%} of the time the anomaly has the larger reconstruction error. Guessing gives 0.5, a "
            "perfect detector 1.0. Unlike precision and recall it does not depend on the threshold.")


def worst_text(result: AnomalyResult) -> str:
    det = result.main
    n_bad = int(det.is_anomaly[result.worst].sum())
    base = det.is_anomaly.mean()
    return (f"{n_bad} of the {len(result.worst)} worst-reconstructed held-out images are anomalies, although "
            f"anomalies are only {base:.0%} of the held-out set.")


def sweep_text(rows: list[SweepRow]) -> list[str]:
    """What the AUC-vs-code-size measurements show, computed from the rows."""
    done = [r for r in rows if not math.isnan(r.auc)]
    if len(done) < 2:
        return ["Train at least two code sizes to compare them."]
    best = max(done, key=lambda r: r.auc)
    worst = min(done, key=lambda r: r.auc)
    small, large = done[0], done[-1]
    out = [f"The AUC ranges from **{worst.auc:.3f}** (code size {worst.bottleneck}) to **{best.auc:.3f}** "
           f"(code size {best.bottleneck})."]
    if best.auc - worst.auc < 0.02:
        out.append("Differences this small may change with the seed: here the code size hardly matters.")
        return out
    if best is not small:
        out.append(_small_code_sentence(small, best))
    if best is not large:
        out.append(_large_code_sentence(large, best))
    else:
        out.append(f"Here the largest size was best: within these sizes a roomier code did not yet learn to "
                   f"rebuild the anomalies (their mean error is {large.separation:.1f}x the normal images'). Try larger sizes "
                   "or more epochs.")
    return out


def _small_code_sentence(small: SweepRow, best: SweepRow) -> str:
    if small.normal_error > best.normal_error and small.separation < best.separation:
        return (f"With {small.bottleneck} numbers even normal images come back poorly (mean error "
                f"{small.normal_error:.4f} against {best.normal_error:.4f} at size {best.bottleneck}), so they overlap "
                f"with the anomalies: anomalies score only {small.separation:.1f}x higher, against "
                f"{best.separation:.1f}x at size {best.bottleneck}.")
    return (f"With {small.bottleneck} numbers the AUC is {small.auc:.3f}: anomalies score {small.separation:.1f}x "
            f"higher than normal images on average, against {best.separation:.1f}x at size {best.bottleneck}.")


def _large_code_sentence(large: SweepRow, best: SweepRow) -> str:
    if large.anomaly_error < best.anomaly_error and large.separation < best.separation:
        return (f"With {large.bottleneck} numbers the code is roomy enough to rebuild anomalies too: their mean "
                f"error falls to {large.anomaly_error:.4f} (from {best.anomaly_error:.4f} at size {best.bottleneck}) "
                f"and they score only {large.separation:.1f}x higher than normal images. A detector needs a code "
                "too small to copy what it has not learned.")
    return (f"With {large.bottleneck} numbers the AUC is {large.auc:.3f}: anomalies score {large.separation:.1f}x "
            f"higher than normal images on average, against {best.separation:.1f}x at size {best.bottleneck}.")


# -- figures --------------------------------------------------------------------------------------------
def histogram(result: AnomalyResult, threshold: float | None = None, height: int = 340) -> go.Figure:
    """Per-image error histograms of normal and anomalous held-out images (each normalised to 1)."""
    det = result.main
    top = float(np.quantile(det.test_errors, 0.995))
    bins = dict(start=0.0, end=top, size=top / 40 if top > 0 else 1.0)
    fig = go.Figure()
    for mask, name, color in ((~det.is_anomaly, "normal", NORMAL_COLOR), (det.is_anomaly, "anomalous", ANOMALY_COLOR)):
        fig.add_trace(go.Histogram(x=det.test_errors[mask], name=f"{name} ({int(mask.sum())})", xbins=bins,
                                   histnorm="probability", marker_color=color, opacity=0.6))
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#333", annotation_text="threshold")
    fig.update_layout(**_LAYOUT, height=height, barmode="overlay", title="Reconstruction error of held-out images",
                      legend=figures.LEGEND_BELOW)
    fig.update_xaxes(title="per-image error (MSE)")
    fig.update_yaxes(title="share of the group")
    return fig


def roc_figure(result: AnomalyResult, threshold: float | None = None, height: int = 340) -> go.Figure:
    """The ROC curve (sklearn.metrics.roc_curve) with the current threshold marked."""
    det = result.main
    fpr, tpr, _ = roc_curve(det.is_anomaly, det.test_errors)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="guessing",
                             line=dict(color=colors.NEUTRAL, dash="dot")))
    fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"AUC {det.auc:.3f}",
                             line=dict(color=ANOMALY_COLOR, width=2.5), fill="tozeroy",
                             fillcolor=colors.rgba(ANOMALY_COLOR, 0.1)))
    if threshold is not None:
        c = confusion(det.test_errors, det.is_anomaly, threshold)
        fig.add_trace(go.Scatter(x=[c.false_positive_rate], y=[c.recall], mode="markers", name="your threshold",
                                 marker=dict(size=12, color="#333", symbol="x")))
    fig.update_layout(**_LAYOUT, height=height, title=f"ROC curve · AUC = {det.auc:.3f}",
                      legend=figures.LEGEND_BELOW)
    fig.update_xaxes(title="false-alarm rate (normal images flagged)", range=[0, 1])
    fig.update_yaxes(title="recall (anomalies caught)", range=[0, 1.02])
    return fig


def auc_figure(rows: list[SweepRow], main: int | None = None, height: int = 320) -> go.Figure:
    """AUC against code size (log x axis); the main model's size is ringed."""
    fig = go.Figure(go.Scatter(x=[r.bottleneck for r in rows], y=[r.auc for r in rows], mode="lines+markers",
                               name="AUC", line=dict(color=ANOMALY_COLOR, width=2.5), marker_size=9,
                               hovertemplate="code size %{x}: AUC %{y:.3f}<extra></extra>"))
    picked = [r for r in rows if r.bottleneck == main]
    if picked:
        fig.add_trace(go.Scatter(x=[picked[0].bottleneck], y=[picked[0].auc], mode="markers", name="main model",
                                 marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color="#333", width=2)),
                                 hoverinfo="skip"))
    fig.update_layout(**_LAYOUT, height=height, title="AUC against code size", showlegend=bool(picked),
                      legend=figures.LEGEND_BELOW)
    fig.update_xaxes(title="code size (bottleneck)", type="log", tickvals=[r.bottleneck for r in rows])
    fig.update_yaxes(title="AUC")
    return fig


def sweep_errors_figure(rows: list[SweepRow], height: int = 320) -> go.Figure:
    """Mean held-out error of normal and anomalous images against code size."""
    fig = go.Figure()
    for attr, name, color in (("normal_error", "normal", NORMAL_COLOR), ("anomaly_error", "anomalous", ANOMALY_COLOR)):
        fig.add_trace(go.Scatter(x=[r.bottleneck for r in rows], y=[getattr(r, attr) for r in rows],
                                 mode="lines+markers", name=name, line=dict(color=color, width=2.5)))
    fig.update_layout(**_LAYOUT, height=height, title="Mean error against code size",
                      legend=figures.LEGEND_BELOW)
    fig.update_xaxes(title="code size (bottleneck)", type="log", tickvals=[r.bottleneck for r in rows])
    fig.update_yaxes(title="mean per-image error", rangemode="tozero")
    return fig


def worst_grid(result: AnomalyResult) -> go.Figure:
    """The worst-reconstructed held-out images (top row) and what the model made of them (bottom row)."""
    labels = [f"{result.class_names[int(result.test_labels[i])]}{' ⚠' if result.main.is_anomaly[i] else ''}"
              for i in result.worst]
    return figures.image_grid([result.worst_images, result.worst_recon], result.image_shape,
                              row_labels=["held-out image", "reconstruction"], col_labels=labels,
                              title="Largest reconstruction errors (⚠ = anomalous class)")
