"""The bottleneck experiment: one autoencoder per code size, identical data, seed and settings, measured side by side.

All sizes train at once as ONE stacked network (aelab.stacked); measurements (train/test error,
out-of-distribution error, probes on the codes) are made per model. Words: sweep_text; figures: sweep_figures.
"""
from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from aelab import analysis, data
from aelab.data import DataBundle
from aelab.model import Autoencoder, pick_device
from aelab.fields import parse
from aelab.limits import MAX_BOTTLENECK, MAX_RUNS  # noqa: F401 - re-exported: the page's limits are in aelab/limits
from aelab.progress import LabProgress, Relay
from aelab.settings import BOTTLENECK, sweep_sizes
from aelab.spec import ArchSpec, Check, SpecError, TrainConfig, check_arch, check_compute
from aelab.stacked import SweepNetwork, train_stacked
from aelab.train import History, Progress, build_seeded, fit

_D = BOTTLENECK.dataclass_default  # the page's defaults (aelab/settings.py) are the experiment's
OTHER = {data.MNIST: data.FASHION, data.FASHION: data.MNIST}  # data set -> the one used as "never seen"
TRAINING, MEASURING = "Training all models together", "Measuring each model"  # a batched run's two phases
OOD_LABELS = {"shuffled": "shuffled pixels", "noise": "uniform noise", data.MNIST: "MNIST digits",
              data.FASHION: "Fashion-MNIST clothing", data.DIGITS: "8x8 digits"}


@dataclass(frozen=True)
class SweepConfig:
    dataset: str = _D("dataset")  # data set key (see data.DATASETS)
    sizes: tuple[int, ...] = _D("sizes")  # bottleneck sizes, one model each (ascending), e.g. 2, 4, ..., 128
    n_train: int = _D("n_train")  # training images (a fixed random subset; the same for every model), e.g. 500
    hidden: tuple[int, ...] = _D("hidden")  # encoder hidden widths; the decoder mirrors them, e.g. (256,)
    epochs: int = _D("epochs")  # full passes over the training subset, e.g. 150
    batch_size: int = _D("batch_size")  # images per optimizer step, e.g. 64
    lr: float = _D("lr")  # Adam learning rate, e.g. 0.001
    seed: int = _D("seed")  # seeds the subset, the weights, the batch order and the out-of-distribution images
    activation: str = "relu"  # hidden nonlinearity (a key of spec.ACTIVATIONS)
    n_examples: int = 8  # images per reconstruction grid
    n_ood: int = 1000  # images per out-of-distribution set
    curve_test: int = 1000  # held-out images behind the test loss curve (the final test error uses all)
    curve_points: int = 40  # how many times the test curve is measured during training

    def spec(self, size: int, input_dim: int) -> ArchSpec:
        """The architecture of the model with code size `size`."""
        return ArchSpec(input_dim, self.hidden, size, None, self.activation, "sigmoid", "ae")

    def train_config(self) -> TrainConfig:
        return TrainConfig(loss="mse", optimizer="adam", lr=self.lr, batch_size=self.batch_size,
                           epochs=self.epochs, seed=self.seed, n_train=self.n_train)


@dataclass(frozen=True)
class SizeResult:
    """What was measured for one bottleneck size (errors are mean squared error per pixel)."""

    bottleneck: int  # code size of this model
    epochs: int  # epochs it was trained for
    train_error: float  # on the whole training subset, eval mode
    test_error: float  # on the whole held-out test set, eval mode
    ood: dict[str, float]  # out-of-distribution set key -> error; the first key is the headline one
    knn_accuracy: float  # 5-nearest-neighbour class accuracy on test codes (train codes as reference)
    linear_accuracy: float  # ridge linear classifier on standardized codes, trained on train codes
    seconds: float  # seconds from the start of the experiment until this row was ready
    history: History | None = field(default=None, compare=False)  # loss curves (not in the CSV)
    recon: dict[str, np.ndarray] | None = field(default=None, compare=False)  # example key -> (n, D)

    @property
    def gap(self) -> float:
        """test error / train error: 1 means no difference between seen and new images."""
        return self.test_error / self.train_error if self.train_error > 0 else math.inf

    @property
    def ood_error(self) -> float:
        return next(iter(self.ood.values())) if self.ood else math.nan


@dataclass
class SweepResult:
    config: SweepConfig  # what was asked for
    input_dim: int  # pixels per image
    image_shape: tuple[int, int] | None  # (H, W) for drawing
    rows: list[SizeResult]  # one per bottleneck size, ascending
    originals: dict[str, np.ndarray]  # example key ("test", "train", OOD keys) -> (n, D) inputs
    status: str  # "done", "stopped" or "diverged"
    message: str  # one sentence for the learner
    seconds: float  # wall time of the whole experiment
    train_seconds: float  # of which training
    mode: str  # "batched" (one stacked network) or "sequential" (train.fit per size)

    @property
    def ood_keys(self) -> list[str]:
        return list(self.rows[0].ood) if self.rows else []


def run_name(size: int) -> str:
    """How the model with this code size is named in the live curves and tables."""
    return f"b={size}"


# -- input -------------------------------------------------------------------------------------
def parse_sizes(text: str) -> tuple[int, ...]:
    """'2, 4, 8' -> (2, 4, 8), sorted; raises SpecError saying what to fix (the page's field, settings.BOTTLENECK)."""
    return tuple(sorted(parse(BOTTLENECK["cfg_bn_sizes"], text)))


default_sizes = sweep_sizes  # powers of two up to 128, plus the input width when larger (a code that could copy)


def check_config(cfg: SweepConfig, bundle: DataBundle) -> Check:
    """Errors that block the experiment and notes that explain it, in the learner's words.

    Every setting is checked by its page field (settings.BOTTLENECK), so the page, a link and this check agree."""
    check = Check()
    check.errors += BOTTLENECK.check(cfg, {"n_available": len(bundle.x_train)})
    if check.errors:
        return check
    for err in check_arch(cfg.spec(max(cfg.sizes), bundle.input_dim)).errors:
        check.errors.append(err)
    if not check.errors:  # every size trains its own model on the same images
        params = sum(cfg.spec(s, bundle.input_dim).param_count for s in cfg.sizes)
        check.errors += check_compute(params, cfg.n_train, cfg.epochs, "training images")
    d = bundle.input_dim
    if max(cfg.sizes) < d:
        check.notes.append(f"Every size is below the input width ({d}); add {d} to include a code wide "
                           "enough to copy the input.")
    if cfg.hidden and min(cfg.hidden) < max(cfg.sizes):
        check.notes.append(f"The hidden layer of {min(cfg.hidden)} units is narrower than the largest codes: "
                           "for those, the hidden layer is the real bottleneck.")
    return check


# -- data --------------------------------------------------------------------------------------
def ood_sets(bundle: DataBundle, other: DataBundle | None, n: int, seed: int) -> dict[str, torch.Tensor]:
    """Inputs the models never learned: the other data set (when given), shuffled pixels, uniform noise.

    Shuffling each test image's pixels keeps its brightness histogram but destroys every stroke.
    """
    g = torch.Generator().manual_seed(seed + 7)
    sets: dict[str, torch.Tensor] = {}
    if other is not None and other.input_dim == bundle.input_dim:
        pick = torch.randperm(len(other.x_test), generator=g)[:n]
        sets[other.name] = other.x_test[pick]  # (n, D)
    pick = torch.randperm(len(bundle.x_test), generator=g)[:n]
    x = bundle.x_test[pick]  # (n, D)
    order = torch.argsort(torch.rand(x.shape, generator=g), dim=1)  # (n, D) one permutation per image
    sets["shuffled"] = torch.gather(x, 1, order)
    sets["noise"] = torch.rand((n, bundle.input_dim), generator=g)  # (n, D) in [0, 1)
    return sets


def example_inputs(train: DataBundle, ood: dict[str, torch.Tensor], cfg: SweepConfig) -> dict[str, torch.Tensor]:
    """The fixed images shown in the grids: held-out and training images (one per class), a few OOD ones."""
    test_idx = data.sample_indices(train.y_test, per_class=1, n=cfg.n_examples, seed=cfg.seed)
    train_idx = data.sample_indices(train.y_train, per_class=1, n=cfg.n_examples, seed=cfg.seed)
    out = {"test": train.x_test[test_idx], "train": train.x_train[train_idx]}
    out.update({k: v[:max(1, cfg.n_examples // 2)] for k, v in ood.items()})
    return out


class _Reporter(Relay):
    """Forwards progress, live curves and finished rows to a job context (or nowhere)."""

    def __init__(self, ctx, total_steps: int, every: float = 0.25):
        self.ctx, self.total, self.every = ctx, total_steps, every
        self.start = time.perf_counter()
        self.last = -math.inf

    def progress(self, epoch: int, step: int, samples: int, histories: dict[int, History] | None,
                 force: bool = False, live: History | None = None, lab: LabProgress | None = None) -> None:
        """Steps done (at most every `every` s), with every stacked model's `histories`, or with one fit's `live`
        history and the phase `lab` to report."""
        now = time.perf_counter()
        if self.ctx is None or (not force and now - self.last < self.every):
            return
        self.last = now
        elapsed = now - self.start
        trained = elapsed - self.waited  # time off the CPU (paused, waiting for a turn) is not training time
        self.ctx.update(Progress(epoch, step, self.total, samples / trained if trained > 0 else 0.0, elapsed),
                        live if live is not None else History(), None)
        if histories is not None:
            curves = {run_name(s): h.copy() for s, h in histories.items()}
            lab = LabProgress(TRAINING, 1, 2, unit="Step", histories=curves)
        if lab is not None:
            self.report(lab)

    def report(self, lab: LabProgress) -> None:
        if self.ctx is not None:
            self.ctx.report(lab)

    def publish(self, **kw) -> None:
        if self.ctx is not None:
            self.ctx.publish(**kw)


class _FitMonitor(Relay):
    """Lets train.fit report one model's progress as part of the whole sequential experiment."""

    def __init__(self, reporter: _Reporter, offset: int, batch_size: int, lab: LabProgress, run: str):
        self.reporter, self.offset, self.bs, self.lab, self.run = reporter, offset, batch_size, lab, run
        self.ctx = reporter.ctx  # Relay: stop/pause, turns and the compute budget go to the job
        reporter.report(lab)

    def update(self, progress: Progress, history: History, state) -> None:
        step = self.offset + progress.step
        lab = replace(self.lab, histories={**self.lab.histories, self.run: history})
        self.reporter.progress(progress.epoch, step, step * self.bs, None, live=history, lab=lab)


# -- measurements ------------------------------------------------------------------------------
def probe_scores(train_codes: np.ndarray, train_y: np.ndarray, test_codes: np.ndarray,
                 test_y: np.ndarray) -> tuple[float, float]:
    """(kNN accuracy, linear accuracy) of predicting the class from the code; fair across code sizes.

    kNN has no weights that grow with the code size. The linear probe is a ridge (least-squares)
    classifier on standardized codes: one linear solve, so it is quick even for 784-number codes.
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    knn = analysis.knn_accuracy(train_codes, train_y, test_codes, test_y, k=5)
    if len(np.unique(train_y)) < 2:
        return knn, math.nan
    clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0))
    clf.fit(train_codes, train_y)
    return knn, float(clf.score(test_codes, test_y))


def measure(model: Autoencoder, train: DataBundle, ood: dict[str, torch.Tensor], examples: dict[str, torch.Tensor],
            epochs: int, history: History | None, started: float) -> SizeResult:
    """Every number of one row, on the CPU, in eval mode."""
    model = model.cpu().eval()
    knn, lin = probe_scores(analysis.encode(model, train.x_train), train.y_train.numpy(),
                            analysis.encode(model, train.x_test), train.y_test.numpy())
    recon = {k: analysis.reconstruct(model, v).numpy() for k, v in examples.items()}
    return SizeResult(bottleneck=model.spec.bottleneck, epochs=epochs,
                      train_error=analysis.model_error(model, train.x_train),
                      test_error=analysis.model_error(model, train.x_test),
                      ood={k: analysis.model_error(model, v) for k, v in ood.items()}, knn_accuracy=knn,
                      linear_accuracy=lin, seconds=time.perf_counter() - started, history=history, recon=recon)


# -- the experiment ----------------------------------------------------------------------------
def _message(status: str, epochs_done: int, cfg: SweepConfig, n_rows: int, seconds: float) -> str:
    if status == "done":
        return f"Trained and measured {n_rows} models ({cfg.epochs} epochs each) in {seconds:.1f} s."
    if status == "diverged":
        return (f"A loss became NaN/infinite at epoch {epochs_done + 1}; training stopped there. "
                "Lower the learning rate and run again.")
    return (f"Stopped by you after {epochs_done} of {cfg.epochs} epochs: {n_rows} models measured as they were "
            "(only partly trained).")


def run_sweep(bundle: DataBundle, cfg: SweepConfig, other: DataBundle | None = None, ctx=None,
              mode: str = "batched", device: torch.device | None = None) -> SweepResult:
    """Train one model per size on the same subset with the same seed; measure each one.

    `ctx` (a jobs.JobContext) gets the steps (`update`), the phase and live curves (`report`, a LabProgress) and
    every measured row (`publish(rows=...)`).
    """
    torch.set_flush_denormal(True)  # denormal floats make CPU matmuls crawl as weights shrink
    started = time.perf_counter()
    device = device or pick_device()
    cfg = replace(cfg, sizes=tuple(sorted(cfg.sizes)), dataset=bundle.name)
    train = bundle.subset(cfg.n_train, seed=cfg.seed)
    curve_idx = analysis.subsample(len(train.x_test), cfg.curve_test, seed=cfg.seed)
    ood = ood_sets(train, other, cfg.n_ood, cfg.seed)
    examples = example_inputs(train, ood, cfg)
    specs = [cfg.spec(s, train.input_dim) for s in cfg.sizes]
    steps = math.ceil(len(train.x_train) / max(1, min(cfg.batch_size, len(train.x_train)))) * cfg.epochs
    reporter = _Reporter(ctx, steps * (len(specs) if mode == "sequential" else 1))
    reporter.publish(rows=[], originals={k: v.numpy() for k, v in examples.items()})
    x, x_curve = train.x_train.to(device), train.x_test[curve_idx].to(device)
    if mode == "sequential":
        rows, status, done, t_train = _run_sequential(specs, x, x_curve, train, ood, examples, cfg, reporter,
                                                      device, started)
    else:
        rows, status, done, t_train = _run_batched(specs, x, x_curve, train, ood, examples, cfg, reporter, started)
    seconds = time.perf_counter() - started
    return SweepResult(cfg, train.input_dim, train.image_shape, rows,
                       {k: v.numpy() for k, v in examples.items()}, status,
                       _message(status, done, cfg, len(rows), seconds), seconds, t_train, mode)


def _run_batched(specs, x, x_curve, train, ood, examples, cfg, reporter, started):
    net = SweepNetwork([build_seeded(s, cfg.seed) for s in specs]).to(x.device)
    hists, done, status = train_stacked(net, x, x_curve, cfg.train_config(), cfg.curve_points, reporter)
    t_train = time.perf_counter() - started
    rows: list[SizeResult] = []
    curves = {run_name(size): h for size, h in zip(net.sizes, hists)}
    measuring = LabProgress(MEASURING, 2, 2, unit="Step", item_total=len(specs), histories=curves)
    reporter.report(measuring)
    for k, spec in enumerate(specs):
        rows.append(measure(net.extract(k, spec), train, ood, examples, done, hists[k], started))
        reporter.publish(rows=list(rows))
        reporter.report(replace(measuring, item_index=len(rows)))
    return rows, status, done, t_train


def _run_sequential(specs, x, x_curve, train, ood, examples, cfg, reporter, device, started):
    tcfg = cfg.train_config()
    rows: list[SizeResult] = []
    status, done, t_train, per_model = "done", cfg.epochs, 0.0, reporter.total // max(len(specs), 1)
    for k, spec in enumerate(specs):
        name = run_name(spec.bottleneck)
        lab = LabProgress(f"{name}: training, then measuring", k + 1, len(specs),
                          histories={run_name(r.bottleneck): r.history for r in rows})
        model = build_seeded(spec, cfg.seed)
        res = fit(model, x, x_curve, tcfg, monitor=_FitMonitor(reporter, k * per_model, cfg.batch_size, lab, name),
                  device=device, points_per_epoch=1)
        t_train += res.seconds
        done = res.history.epoch_x[-1] if res.history.epoch_x else 0
        rows.append(measure(model, train, ood, examples, done, res.history, started))
        reporter.publish(rows=list(rows))
        if res.status != "done":
            status = res.status
            break
    return rows, status, done, t_train


# -- CSV ---------------------------------------------------------------------------------------
CSV_COLUMNS = ["bottleneck", "train_error", "test_error", "gap", "ood_error", "probe_accuracy",
               "linear_probe_accuracy", "seconds", "epochs"]


def to_csv(rows: list[SizeResult]) -> str:
    """One line per size; OOD errors of every set follow as ood_<key> columns."""
    keys = list(rows[0].ood) if rows else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS + [f"ood_{k}" for k in keys])
    for r in rows:
        w.writerow([r.bottleneck, repr(r.train_error), repr(r.test_error), repr(r.gap), repr(r.ood_error),
                    repr(r.knn_accuracy), repr(r.linear_accuracy), repr(r.seconds), r.epochs]
                   + [repr(r.ood[k]) for k in keys])
    return buf.getvalue()


def from_csv(text: str) -> list[SizeResult]:
    """Rows back from `to_csv` (numbers only: no curves or images)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SpecError(f"This CSV lacks the column(s) {', '.join(missing)}; export it from this page.", "csv")
    rows = []
    for rec in reader:
        ood = {k[4:]: float(v) for k, v in rec.items() if k.startswith("ood_") and k != "ood_error"}
        rows.append(SizeResult(int(rec["bottleneck"]), int(rec["epochs"]), float(rec["train_error"]),
                               float(rec["test_error"]), ood, float(rec["probe_accuracy"]),
                               float(rec["linear_probe_accuracy"]), float(rec["seconds"])))
    return rows
