"""PCA is the linear autoencoder: PCA's error for k components beside a linear and a nonlinear AE.

A linear autoencoder (no activations) trained with MSE can at best learn to project onto the top-k
principal subspace, so its error falls towards PCA's and stops there; a nonlinear one can go lower.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go
import torch

from aelab import analysis, figures, pca
from aelab.colors import PALETTE
from aelab.data import DataBundle
from aelab.jobs import JobContext, Relay
from aelab.limits import MAX_PCA_K
from aelab.pca import Pca
from aelab.progress import LabProgress, phase_monitor
from aelab.runs import Run
from aelab.settings import PCA
from aelab.spec import ArchSpec, Check, TrainConfig, check_arch, check_train
from aelab.train import FitResult, History, Monitor, Progress, build_seeded, evaluate, fit

INTRO = (  # the page's question, asked before anything is measured (it gives no answer away)
    "Take away every activation function and an autoencoder becomes two matrices: one squeezes each input into "
    "**k** numbers, the other spreads them back out. **PCA** (principal component analysis) does a related job "
    "directly: it finds the k directions along which the data varies most and keeps the coordinates along them. "
    "Here PCA is computed directly (an eigendecomposition), a linear autoencoder learns by gradient descent with no "
    "idea what PCA is, and a nonlinear autoencoder gets the same k for comparison. Predict where the linear one "
    "ends, then train and watch its held-out error against PCA's line."
)
LINEAR, NONLINEAR = "linear AE", "nonlinear AE"  # names of the two models (keys in histories)
COLORS = {"PCA": PALETTE[3], LINEAR: PALETTE[0], NONLINEAR: PALETTE[2]}
CONVERGED = 0.05  # a linear AE within 5% of PCA's test error counts as "arrived"


_D = PCA.dataclass_default  # the page's defaults (aelab/settings.py) are the lab's


@dataclass(frozen=True)
class PcaLabConfig:
    k: int = _D("k")  # code size: principal components kept = bottleneck width of both autoencoders, e.g. 8
    epochs: int = _D("epochs")  # epochs for each autoencoder, e.g. 120
    lr: float = _D("lr")  # Adam's starting learning rate, e.g. 0.01
    batch_size: int = 64  # samples per optimizer step
    decay: bool = _D("decay")  # divide the learning rate by 3 after each third of the epochs
    hidden: int = _D("hidden")  # width of the nonlinear AE's one hidden layer on each side, e.g. 64
    activation: str = _D("activation")  # the nonlinear AE's activation
    n_train: int | None = _D("n_train")  # training-set size (a fixed subset; None = all), e.g. 2000
    seed: int = _D("seed")  # seeds weights and shuffling


@dataclass
class PcaLabResult:
    cfg: PcaLabConfig  # what was asked for
    dataset: str  # data set key
    pca: Pca  # PCA fitted on the same training samples
    pca_train: float  # PCA's mean squared error per feature on the training set
    pca_test: float  # ... and on the held-out set
    linear: Run | None  # the linear AE (None if stopped before it trained)
    nonlinear: Run | None  # the nonlinear AE (None if stopped before it trained)
    linear_train: float  # the linear AE's final error on the whole training set (nan if missing)
    status: str  # "done", "stopped" or "diverged" (read by jobs.Job)
    message: str  # one sentence for the learner


# -- PCA ---------------------------------------------------------------------------------------
def pca_reconstruct(p: Pca, x: torch.Tensor) -> torch.Tensor:
    """PCA's reconstruction of a tensor (computed in float64 by aelab.pca): (N, D) -> (N, D) float32."""
    return torch.from_numpy(p.reconstruct(x.numpy())).float()


def discarded_variance(p: Pca, k: int | None = None) -> float:
    """PCA's training MSE per feature = (sum of the eigenvalues left out) / D.

    Eckart-Young: the best rank-k approximation keeps the top k eigen-directions and loses exactly
    the variance along the others (e.g. Bishop, Pattern Recognition and Machine Learning, eq. 12.18).
    """
    k = p.k if k is None else k
    return float(p.eigenvalues[k:].sum() / len(p.eigenvalues))


# -- the two autoencoders -----------------------------------------------------------------------
def linear_spec(input_dim: int, k: int) -> ArchSpec:
    """D -> k -> D with no activation anywhere: encoder and decoder are one matrix (plus bias) each."""
    return ArchSpec(input_dim, encoder=(), bottleneck=k, decoder=(), activation="identity", output="none")


def nonlinear_spec(input_dim: int, k: int, hidden: int, activation: str = "relu") -> ArchSpec:
    """D -> hidden -> k -> hidden -> D with an activation and a sigmoid output (values stay in [0, 1])."""
    return ArchSpec(input_dim, encoder=(hidden,), bottleneck=k, activation=activation, output="sigmoid")


def train_config(cfg: PcaLabConfig) -> TrainConfig:
    return TrainConfig(loss="mse", optimizer="adam", lr=cfg.lr, batch_size=cfg.batch_size, epochs=cfg.epochs,
                       seed=cfg.seed, n_train=cfg.n_train)


def max_k(input_dim: int) -> int:
    """The largest code size offered: at most MAX_PCA_K, and at most half the input (PCA must discard something)."""
    return max(1, min(MAX_PCA_K, input_dim // 2))


def check_config(cfg: PcaLabConfig, bundle: DataBundle) -> Check:
    """Errors and notes about the lab's settings on this data set: its page fields (settings.PCA), both networks and
    their training settings."""
    d = bundle.input_dim
    out = Check(errors=PCA.check(cfg))
    if cfg.k > max_k(d):
        out.error(f"The code size k may be at most {max_k(d)} here (half the {d} input values).", "k")
    if out.errors:
        return out
    specs = (linear_spec(d, cfg.k), nonlinear_spec(d, cfg.k, cfg.hidden, cfg.activation))
    for spec in specs:
        out.errors += check_arch(spec).errors
    # both autoencoders train: the compute budget counts both
    return out.add(check_train(train_config(cfg), None, len(bundle.x_train), sum(s.param_count for s in specs)))


def lr_stages(cfg: TrainConfig, decay: bool, n_stages: int = 3, factor: float = 3.0) -> list[TrainConfig]:
    """Split a run into up to `n_stages` parts, each with the learning rate divided by `factor` (step decay)."""
    n = min(n_stages, cfg.epochs) if decay else 1
    sizes = [cfg.epochs // n + (1 if i < cfg.epochs % n else 0) for i in range(n)]
    return [replace(cfg, lr=cfg.lr / factor ** i, epochs=e, seed=cfg.seed + i) for i, e in enumerate(sizes)]


def _append(total: History, part: History, epoch0: int, seconds0: float) -> History:
    """`part` shifted by epoch0 epochs and seconds0 s, appended to `total` (part's epoch-0 point is a repeat)."""
    out = total.copy()
    skip = 1 if total.epoch_x else 0
    out.step_x += [epoch0 + s for s in part.step_x]
    out.train += part.train
    out.epoch_x += [epoch0 + e for e in part.epoch_x[skip:]]
    out.test += part.test[skip:]
    out.seconds += [seconds0 + s for s in part.seconds[skip:]]
    return out


class _StageRelay(Relay):
    """A fit() monitor that turns the stages of one model into one continuous run for the job's view."""

    def __init__(self, ctx: Monitor | None, total_steps: int):
        self.ctx, self.total_steps = ctx, total_steps
        self.done, self.epoch0, self.step0, self.seconds0 = History(), 0, 0, 0.0

    def merged(self, part: History) -> History:
        return _append(self.done, part, self.epoch0, self.seconds0)

    def update(self, progress: Progress, history: History, state: dict | None) -> None:
        if self.ctx is None:
            return
        hist = self.merged(history)
        prog = Progress(self.epoch0 + progress.epoch, self.step0 + progress.step, self.total_steps,
                        progress.samples_per_s, self.seconds0 + progress.elapsed)
        self.ctx.update(prog, hist, state)

    def finish_stage(self, res: FitResult, stage: TrainConfig, steps: int) -> None:
        self.done = self.merged(res.history)
        self.epoch0 += stage.epochs
        self.step0 += steps
        self.seconds0 += res.seconds


def fit_in_stages(model, x_train: torch.Tensor, x_test: torch.Tensor, stages: list[TrainConfig],
                  ctx: Monitor | None = None) -> FitResult:
    """Train with train.fit once per stage (fresh Adam, lower lr); the histories join into one."""
    steps = [math.ceil(len(x_train) / max(1, min(s.batch_size, len(x_train)))) * s.epochs for s in stages]
    relay = _StageRelay(ctx, sum(steps))
    res = FitResult("done", "", History(), 0.0)
    for stage, n_steps in zip(stages, steps):
        res = fit(model, x_train, x_test, stage, monitor=relay)
        relay.finish_stage(res, stage, n_steps)
        if res.status != "done":
            break
    epochs = relay.done.epoch_x[-1]  # completed epochs over all stages
    message = {"done": f"Finished {epochs} epochs.",
               "stopped": f"Stopped by you after {epochs} complete epochs.",
               "diverged": f"The loss became NaN/infinite after {epochs} epochs: training stopped by itself and kept "
                           "the last finite weights. Lower the learning rate and train again."}.get(res.status,
                                                                                                   res.message)
    return FitResult(res.status, message, relay.done, relay.seconds0)


def train_one(bundle: DataBundle, spec: ArchSpec, cfg: PcaLabConfig, ctx: Monitor | None = None) -> Run:
    """Train one of the two autoencoders on the lab's training subset and wrap it as a runs.Run."""
    base = train_config(cfg)
    model = build_seeded(spec, cfg.seed)
    res = fit_in_stages(model, bundle.x_train, bundle.x_test, lr_stages(base, cfg.decay), ctx)
    model.cpu().eval()
    return Run(spec, base, bundle.name, model, res.history, res.status, res.message, res.seconds)


def run_lab(bundle: DataBundle, cfg: PcaLabConfig, ctx: JobContext | None = None) -> PcaLabResult:
    """PCA, then the linear AE, then the nonlinear AE, all with the same k on the same training samples."""
    data = bundle.subset(cfg.n_train, seed=cfg.seed)
    p = pca.fit(data.x_train.numpy(), cfg.k)
    pca_train = analysis.mean_error(data.x_train, pca_reconstruct(p, data.x_train))
    pca_test = analysis.mean_error(data.x_test, pca_reconstruct(p, data.x_test))
    if ctx is not None:
        ctx.publish(pca_test=pca_test, pca_train=pca_train)
    result = PcaLabResult(cfg, bundle.name, p, pca_train, pca_test, None, None, float("nan"), "done", "")
    lin = train_one(data, linear_spec(bundle.input_dim, cfg.k), cfg,
                    phase_monitor(ctx, LabProgress(f"the {LINEAR}", 1, 2), LINEAR))
    result.linear = lin
    result.linear_train = evaluate(lin.model, data.x_train, data.x_train, lin.cfg)["loss"]
    if lin.status == "done":
        nonlin = train_one(data, nonlinear_spec(bundle.input_dim, cfg.k, cfg.hidden, cfg.activation), cfg,
                           phase_monitor(ctx, LabProgress(f"the {NONLINEAR}", 2, 2, histories={LINEAR: lin.history}),
                                         NONLINEAR))
        result.nonlinear = nonlin
        result.status, result.message = nonlin.status, nonlin.message
    else:
        result.status, result.message = lin.status, lin.message
    if result.status == "done":
        result.message = f"Trained both autoencoders for {cfg.epochs} epochs with k = {cfg.k}."
    return result


# -- comparing the linear AE with PCA ---------------------------------------------------------------
def subspace_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles in degrees between the column spans of a (D, k) and b (D, k), largest first."""
    from scipy.linalg import subspace_angles as angles

    return np.degrees(angles(a, b))


def decoder_matrix(model) -> np.ndarray:
    """The linear AE's decoder weight (D, k): its columns span the plane reconstructions live in."""
    return model.decoder[0].weight.detach().cpu().double().numpy()


def max_column_cosine(w: np.ndarray) -> float:
    """Largest |cosine| between two different columns of w (D, k): 0 means orthogonal axes like PCA's."""
    if w.shape[1] < 2:
        return 0.0
    unit = w / np.linalg.norm(w, axis=0, keepdims=True).clip(min=1e-12)
    gram = np.abs(unit.T @ unit)  # (k, k)
    np.fill_diagonal(gram, 0.0)
    return float(gram.max())


@dataclass(frozen=True)
class Comparison:
    gap: float  # linear AE test error / PCA test error - 1 (0.018 = 1.8% above PCA)
    train_gap: float  # the same on the training set (never below 0 beyond rounding: Eckart-Young)
    nonlinear_gap: float  # nonlinear AE test error / PCA test error - 1 (nan if not trained)
    max_angle: float  # largest principal angle between the decoder's span and PCA's subspace, degrees
    mean_angle: float  # mean principal angle, degrees
    column_cosine: float  # largest |cos| between two decoder columns (PCA's axes have 0)
    eig_k: float  # k-th eigenvalue (last one kept)
    eig_next: float  # (k+1)-th eigenvalue (first one dropped); close to eig_k = a loosely defined subspace


def compare(result: PcaLabResult) -> Comparison | None:
    """Numbers that say how close the linear AE came to PCA (None before the linear AE trained)."""
    lin = result.linear
    if lin is None or not lin.history.test:
        return None
    nonlin = result.nonlinear
    nl_gap = nonlin.test_loss / result.pca_test - 1 if nonlin is not None and nonlin.history.test else float("nan")
    w = decoder_matrix(lin.model)
    angles = subspace_angles(w, result.pca.components.T)
    ev, k = result.pca.eigenvalues, result.pca.k
    return Comparison(lin.test_loss / result.pca_test - 1, result.linear_train / result.pca_train - 1, nl_gap,
                      float(angles.max()), float(angles.mean()), max_column_cosine(w), float(ev[k - 1]),
                      float(ev[k]) if k < len(ev) else 0.0)


def measured_answer(c: Comparison) -> str:
    """The PCA page question's option the run supports: the linear AE ends "below", "at" or "above" PCA's held-out
    error (within CONVERGED counts as at)."""
    return "at" if abs(c.gap) <= CONVERGED else "below" if c.gap < 0 else "above"


def _pct(gap: float) -> str:
    return f"{abs(gap):.1%} {'above' if gap >= 0 else 'below'}"


def explain(result: PcaLabResult, c: Comparison) -> list[str]:
    """What the measured numbers show, in sentences built from them."""
    lin, k = result.linear, result.cfg.k
    epochs = lin.epochs_done
    lines = [f"After {epochs} epochs the linear AE's held-out error is {lin.test_loss:.5f}, "
             f"{_pct(c.gap)} PCA's {result.pca_test:.5f} for the same k = {k}."]
    answer = measured_answer(c)
    if answer == "at":
        lines.append(f"That is within {CONVERGED:.0%}: trained by gradient descent, with no eigenvectors "
                     "computed anywhere, the linear autoencoder has arrived at PCA's answer.")
    elif answer == "above":
        lines.append(f"It has not reached PCA yet (more than {CONVERGED:.0%} above): train for more epochs, "
                     "keep the learning-rate decay on, or start from a larger learning rate. The directions "
                     "with the smallest variance are learned last, so large k needs the longest.")
    else:
        lines.append(f"That is more than {CONVERGED:.0%} below PCA on held-out images, although no linear map can "
                     "beat PCA on the training images: PCA's directions are the best for the images it was fitted "
                     "on, and with few training samples other directions can happen to suit new images better.")
    d = len(result.pca.eigenvalues)
    lines.append(f"On the training set the linear AE reaches {result.linear_train:.5f} against PCA's "
                 f"{result.pca_train:.5f} ({_pct(c.train_gap)}). No linear encoder and decoder with a code of "
                 f"{k} numbers can go below PCA there: PCA's error is the variance of the {d - k} discarded "
                 f"directions, divided by the {d} features.")
    how = "nearly the same subspace as" if c.mean_angle < 5 else "a subspace still tilted away from"
    lines.append(f"The decoder's {k} columns span {how} PCA's top {k} directions (angles between the two "
                 f"subspaces: largest {c.max_angle:.1f}°, mean {c.mean_angle:.1f}°).")
    if k > 1 and c.column_cosine >= 0.05:
        lines.append(f"What matches PCA is at most the subspace, not the axes: the two most similar decoder columns "
                     f"have |cos| = {c.column_cosine:.2f}, while PCA's axes are at right angles. Any mix of the axes "
                     "spans the same subspace and reconstructs equally well, so gradient descent has no reason "
                     "to find the ordered, orthogonal ones.")
    elif k > 1:
        lines.append(f"The decoder's columns are close to orthogonal (largest |cos| {c.column_cosine:.2f}), like PCA's "
                     "axes; nothing in the training asks for that, so with another seed they may not be.")
    if c.max_angle > 10 and abs(c.gap) <= CONVERGED:
        lines.append(f"The largest angle stays visible because eigenvalue {k} (the last one kept) and eigenvalue "
                     f"{k + 1} (the first one dropped) are close, {c.eig_k:.4f} vs {c.eig_next:.4f}: tilting "
                     "towards the dropped direction costs almost nothing in error.")
    nonlin = result.nonlinear
    if nonlin is not None and nonlin.history.test and math.isfinite(c.nonlinear_gap):
        head = (f"The nonlinear AE ({nonlin.spec.describe()}) ends at {nonlin.test_loss:.5f}, "
                f"{_pct(c.nonlinear_gap)} PCA")
        if c.nonlinear_gap < -CONVERGED:
            lines.append(f"{head} with the same {k} code numbers: a curved code surface keeps more of the data "
                         "than any flat subspace can.")
        elif c.nonlinear_gap <= CONVERGED:
            lines.append(f"{head}: about level with it, so its curved code has not paid off yet. Try more "
                         "epochs or a wider hidden layer and see whether it pulls ahead.")
        else:
            lines.append(f"{head}: here its extra freedom did not pay off on held-out data (too few epochs, too "
                         "few samples, or a code so large that PCA already keeps almost everything).")
    return lines


# -- figures -----------------------------------------------------------------------------------------
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10))


def curves_figure(pca_test: float | None, histories: dict[str, History | None], total_epochs: int,
                  height: int = 360) -> go.Figure:
    """Held-out error per epoch of each autoencoder against PCA's error as a horizontal line (log y)."""
    pca_label = f"PCA ({pca_test:.4f})" if pca_test is not None else "PCA"
    return figures.run_curves({name: h for name, h in histories.items() if h is not None and h.epoch_x},
                              "Held-out reconstruction error", total_epochs, height, train=False, loss="mse",
                              colors={**COLORS, pca_label: COLORS["PCA"]},
                              levels={pca_label: pca_test} if pca_test is not None else None)


def reconstruction_rows(result: PcaLabResult, x: torch.Tensor) -> tuple[list[np.ndarray], list[str]]:
    """Rows (original, PCA, linear AE, nonlinear AE) of flattened samples for figures.image_grid."""
    rows, labels = [x.numpy(), pca_reconstruct(result.pca, x).numpy()], ["original", f"PCA (k={result.cfg.k})"]
    for name, run in ((LINEAR, result.linear), (NONLINEAR, result.nonlinear)):
        if run is not None:
            with torch.no_grad():
                rows.append(run.model(x).numpy())  # (n, D) -> (n, D)
            labels.append(name)
    return rows, labels


def spectrum_figure(eigenvalues: np.ndarray, k: int, height: int = 280) -> go.Figure:
    """Eigenvalues of the training covariance: the first k are kept, the rest are PCA's error (times D)."""
    ev = np.asarray(eigenvalues)
    idx = np.arange(1, len(ev) + 1)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=idx[:k], y=ev[:k], name=f"kept (top {k})", marker_color=COLORS[LINEAR]))
    fig.add_trace(go.Bar(x=idx[k:], y=ev[k:], name=f"dropped: sum / {len(ev)} = {ev[k:].sum() / len(ev):.4f}",
                         marker_color=COLORS["PCA"]))
    fig.update_layout(**_LAYOUT, height=height, barmode="overlay", title="Variance along each principal direction",
                      legend=figures.LEGEND_BELOW)
    fig.update_xaxes(title="principal direction (largest variance first)")
    fig.update_yaxes(title="eigenvalue", type="log")
    return fig
