"""The bottleneck experiment: one autoencoder per code size, identical data, seed and settings, measured side by side.

All sizes train at once as ONE stacked network (every layer of all K models is one batched matmul);
measurements (train/test error, out-of-distribution error, probes on the codes) are made per model.
"""
from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots
from torch import nn

from aelab import analysis, data
from aelab.data import DataBundle
from aelab.figures import PALETTE, image_grid
from aelab.model import Autoencoder, pick_device
from aelab.fields import parse
from aelab.limits import MAX_BOTTLENECK, MAX_RUNS  # noqa: F401 - re-exported: the page's limits are in aelab/limits
from aelab.settings import BOTTLENECK, sweep_sizes
from aelab.spec import ArchSpec, Check, SpecError, TrainConfig, check_arch
from aelab.train import History, Progress, build_seeded, fit, make_optimizer

_D = BOTTLENECK.dataclass_default  # the page's defaults (aelab/settings.py) are the experiment's
OTHER = {data.MNIST: data.FASHION, data.FASHION: data.MNIST}  # data set -> the one used as "never seen"
OOD_LABELS = {"shuffled": "shuffled pixels", "noise": "uniform noise", data.MNIST: "MNIST digits",
              data.FASHION: "Fashion-MNIST clothing", data.DIGITS: "8x8 digits"}
TRENDS = {  # answer key -> what the learner can predict about the held-out (test) error as the code grows
    "falls": "It keeps falling: a bigger code is better on new images too",
    "levels": "It falls, then levels off",
    "rises": "It falls, then rises again: the big codes memorize and get worse on new images",
    "flat": "The code size makes little difference",
}
_ACT = {"relu": F.relu, "leaky_relu": F.leaky_relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "gelu": F.gelu, "identity": lambda h: h}


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


# -- K autoencoders as one network -------------------------------------------------------------
def _linears(model: Autoencoder) -> list[nn.Linear]:
    return [m for m in [*model.encoder, *model.decoder] if isinstance(m, nn.Linear)]


class StackedAutoencoders(nn.Module):
    """K autoencoders with the same hidden widths and different code sizes, computed together.

    Layer j holds the K weight matrices as one (K, in, out) tensor, so a forward pass is one
    `torch.baddbmm` per layer (the first layer, whose input all models share, is one plain matmul
    with K times the outputs). The code layer is padded to the largest size and multiplied by a 0/1
    mask: padded units are always 0, their weights get zero gradient, and Adam leaves them at 0, so
    each slot computes exactly its own-size model.
    """

    def __init__(self, models: list[Autoencoder]):
        super().__init__()
        specs = [m.spec for m in models]
        self.sizes = [s.bottleneck for s in specs]
        self.activation, self.output = specs[0].activation, specs[0].output
        self.code_layer = len(specs[0].encoder)  # index of the Linear that produces the code
        per_model = [_linears(m) for m in models]
        shapes = [(max(ls[j].in_features for ls in per_model), max(ls[j].out_features for ls in per_model))
                  for j in range(len(per_model[0]))]  # (in, out) of layer j, padded to the widest model
        n = len(models)
        # Layer 0 sees the same input in every model, so its weights are stored (D, K, out) and used
        # as ONE ordinary matmul with K*out outputs; later layers are (K, in, out) for baddbmm.
        self.weights = nn.ParameterList([nn.Parameter(torch.zeros(i, n, o) if j == 0 else torch.zeros(n, i, o))
                                         for j, (i, o) in enumerate(shapes)])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n, o) if j == 0 else torch.zeros(n, 1, o))
                                        for j, (_, o) in enumerate(shapes)])
        mask = torch.zeros(n, 1, max(self.sizes))  # (K, 1, kmax)
        for k, size in enumerate(self.sizes):
            mask[k, :, :size] = 1.0
        self.register_buffer("mask", mask)
        self._copy_in(per_model)

    @torch.no_grad()
    def _copy_in(self, per_model: list[list[nn.Linear]]) -> None:
        for k, layers in enumerate(per_model):
            for j, lin in enumerate(layers):
                w, b = self._slot(j, k, lin.in_features, lin.out_features)
                w.copy_(lin.weight.T)  # (out, in) -> (in, out)
                b.copy_(lin.bias)

    def _slot(self, j: int, k: int, n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of model k's weight (in, out) and bias (out,) inside layer j's stacked tensors."""
        w, b = self.weights[j], self.biases[j]
        if j == 0:
            return w[:n_in, k, :n_out], b[k, :n_out]
        return w[k, :n_in, :n_out], b[k, 0, :n_out]

    def _act(self, j: int, h: torch.Tensor) -> torch.Tensor:
        if j == self.code_layer:
            return h * self.mask  # (K, B, kmax): each model keeps only its own code units
        if j == len(self.weights) - 1:
            return torch.sigmoid(h) if self.output == "sigmoid" else h
        return _ACT[self.activation](h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (K, B, D): every model's reconstruction of the same batch."""
        w0 = self.weights[0]  # (D, K, out)
        h = torch.addmm(self.biases[0].flatten(), x, w0.flatten(1))  # (B, D) @ (D, K*out) -> (B, K*out)
        h = self._act(0, h.view(len(x), len(self.sizes), -1).transpose(0, 1))  # -> (K, B, out)
        for j in range(1, len(self.weights)):
            h = self._act(j, torch.baddbmm(self.biases[j], h, self.weights[j]))  # (K, B, in) @ (K, in, out)
        return h

    @torch.no_grad()
    def extract(self, k: int, spec: ArchSpec) -> Autoencoder:
        """Model k as a standalone CPU Autoencoder (same function, unpadded weights)."""
        model = Autoencoder(spec)
        for j, lin in enumerate(_linears(model)):
            w, b = self._slot(j, k, lin.in_features, lin.out_features)
            lin.weight.copy_(w.T)
            lin.bias.copy_(b)
        return model.eval()


def group_sizes(sizes: list[int], penalty: int = 256) -> list[list[int]]:
    """Split ascending code sizes into runs that share one padded stack.

    Padding a 2-unit code to 784 wastes work, so sizes are cut into consecutive groups minimizing
    sum(len(group) * max(group)) + penalty per group (a group costs a few extra kernel calls per step).
    """
    n = len(sizes)
    best, cut = [0.0] + [math.inf] * n, [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            cost = best[i] + (j - i) * sizes[j - 1] + penalty
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(list(sizes[cut[j]:j]))
        j = cut[j]
    return groups[::-1]


class SweepNetwork(nn.Module):
    """All models of the experiment: a few StackedAutoencoders (see group_sizes), trained as one module."""

    def __init__(self, models: list[Autoencoder], penalty: int = 256):
        super().__init__()
        sizes = sorted(m.spec.bottleneck for m in models)
        by_size = {m.spec.bottleneck: m for m in models}
        self.stacks = nn.ModuleList([StackedAutoencoders([by_size[s] for s in g])
                                     for g in group_sizes(sizes, penalty)])
        self.sizes = [s for stack in self.stacks for s in stack.sizes]

    def losses(self, x: torch.Tensor) -> torch.Tensor:
        """Each model's mean squared error on the batch x: (B, D) -> (K,)."""
        return torch.cat([_per_model_loss(stack(x), x) for stack in self.stacks])

    def extract(self, k: int, spec: ArchSpec) -> Autoencoder:
        """Model k (in `sizes` order) as a standalone CPU Autoencoder."""
        for stack in self.stacks:
            if k < len(stack.sizes):
                return stack.extract(k, spec)
            k -= len(stack.sizes)
        raise IndexError("no such model")


def _per_model_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each model: (K, B, D), (B, D) -> (K,)."""
    return (out - target).pow(2).mean(dim=(1, 2))


@torch.no_grad()
def _eval_stacked(net: SweepNetwork, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Each model's mean squared error on x: (N, D) -> (K,)."""
    total = torch.zeros(len(net.sizes), device=x.device)
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk]  # (b, D)
        total += net.losses(xb) * len(xb)
    return total / max(len(x), 1)


class _Reporter:
    """Forwards progress, live curves and finished rows to a job context (or nowhere)."""

    def __init__(self, ctx, total_steps: int, every: float = 0.25):
        self.ctx, self.total, self.every = ctx, total_steps, every
        self.start = time.perf_counter()
        self.last = -math.inf

    def should_stop(self) -> bool:
        return self.ctx is not None and self.ctx.should_stop()

    def progress(self, epoch: int, step: int, samples: int, histories: dict | None, force: bool = False) -> None:
        now = time.perf_counter()
        if self.ctx is None or (not force and now - self.last < self.every):
            return
        self.last = now
        elapsed = now - self.start
        self.ctx.update(Progress(epoch, step, self.total, samples / elapsed if elapsed > 0 else 0.0, elapsed),
                        History(), None)
        if histories is not None:
            self.ctx.publish(phase="training", histories={k: h.copy() for k, h in histories.items()})

    def publish(self, **kw) -> None:
        if self.ctx is not None:
            self.ctx.publish(**kw)


def _eval_epochs(epochs: int, points: int) -> set[int]:
    every = max(1, math.ceil(epochs / max(points, 1)))
    return {e for e in range(epochs + 1) if e % every == 0} | {epochs}


def train_stacked(net: SweepNetwork, x: torch.Tensor, x_curve: torch.Tensor, cfg: SweepConfig,
                  reporter: _Reporter) -> tuple[list[History], int, str]:
    """Train all K models at once with identical batches; returns (histories, epochs done, status).

    The loss is the SUM of the K models' mean errors, so each model's gradient is exactly the one
    it would get alone; Adam works element by element, so each model takes its own steps.
    """
    tcfg = cfg.train_config()
    opt = make_optimizer(net, tcfg)  # fused Adam where available
    g = torch.Generator().manual_seed(cfg.seed)  # the same batch order train.fit would use
    n, bs = len(x), max(1, min(cfg.batch_size, len(x)))
    evals = _eval_epochs(cfg.epochs, cfg.curve_points)
    hists = {s: History() for s in net.sizes}
    step, status = 0, "done"

    def record(epoch: int) -> None:
        for s, loss in zip(net.sizes, _eval_stacked(net, x_curve).tolist()):
            hists[s].epoch_x.append(epoch)
            hists[s].test.append(loss)
            hists[s].seconds.append(time.perf_counter() - reporter.start)

    record(0)
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=g).to(x.device)  # (N,)
        acc, batches = torch.zeros(len(net.sizes), device=x.device), 0
        for i in range(0, n, bs):
            if reporter.should_stop():
                return list(hists.values()), epoch, "stopped"
            xb = x[perm[i:i + bs]]  # (B, D)
            losses = net.losses(xb)  # (K,)
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
            acc += losses.detach()
            batches, step = batches + 1, step + 1
        means = (acc / batches).tolist()
        if not all(math.isfinite(m) for m in means):
            return list(hists.values()), epoch, "diverged"
        for s, m in zip(net.sizes, means):
            hists[s].step_x.append(epoch + 1)
            hists[s].train.append(m)
        if epoch + 1 in evals:
            record(epoch + 1)
        reporter.progress(epoch + 1, step, step * bs, hists, force=epoch + 1 == cfg.epochs)
    return list(hists.values()), cfg.epochs, status


class _FitMonitor:
    """Lets train.fit report one model's progress as part of the whole sequential experiment."""

    def __init__(self, reporter: _Reporter, offset: int, batch_size: int):
        self.reporter, self.offset, self.bs = reporter, offset, batch_size

    def should_stop(self) -> bool:
        return self.reporter.should_stop()

    def update(self, progress: Progress, history: History, state) -> None:
        step = self.offset + progress.step
        self.reporter.progress(progress.epoch, step, step * self.bs, None)


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


def mean_error(model: Autoencoder, x: torch.Tensor) -> float:
    """Mean squared error per pixel over a whole set (eval mode)."""
    return float(analysis.per_sample_error(x, analysis.reconstruct(model, x)).mean())


def measure(model: Autoencoder, train: DataBundle, ood: dict[str, torch.Tensor], examples: dict[str, torch.Tensor],
            epochs: int, history: History | None, started: float) -> SizeResult:
    """Every number of one row, on the CPU, in eval mode."""
    model = model.cpu().eval()
    knn, lin = probe_scores(analysis.encode(model, train.x_train), train.y_train.numpy(),
                            analysis.encode(model, train.x_test), train.y_test.numpy())
    recon = {k: analysis.reconstruct(model, v).numpy() for k, v in examples.items()}
    return SizeResult(bottleneck=model.spec.bottleneck, epochs=epochs,
                      train_error=mean_error(model, train.x_train), test_error=mean_error(model, train.x_test),
                      ood={k: mean_error(model, v) for k, v in ood.items()}, knn_accuracy=knn,
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

    `ctx` (a jobs.JobContext) gets progress, live curves and every finished row via `publish`.
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
    reporter.publish(phase="training", rows=[], originals={k: v.numpy() for k, v in examples.items()})
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
    hists, done, status = train_stacked(net, x, x_curve, cfg, reporter)
    t_train = time.perf_counter() - started
    rows: list[SizeResult] = []
    for k, spec in enumerate(specs):
        rows.append(measure(net.extract(k, spec), train, ood, examples, done, hists[k], started))
        reporter.publish(phase="measuring", rows=list(rows))
    return rows, status, done, t_train


def _run_sequential(specs, x, x_curve, train, ood, examples, cfg, reporter, device, started):
    tcfg = cfg.train_config()
    rows: list[SizeResult] = []
    status, done, t_train, per_model = "done", cfg.epochs, 0.0, reporter.total // max(len(specs), 1)
    for k, spec in enumerate(specs):
        model = build_seeded(spec, cfg.seed)
        res = fit(model, x, x_curve, tcfg, monitor=_FitMonitor(reporter, k * per_model, cfg.batch_size), device=device,
                  points_per_epoch=1)
        t_train += res.seconds
        done = res.history.epoch_x[-1] if res.history.epoch_x else 0
        rows.append(measure(model, train, ood, examples, done, res.history, started))
        reporter.publish(phase="measuring", rows=list(rows))
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


# -- what the numbers say ----------------------------------------------------------------------
def _finite_rows(rows: list[SizeResult]) -> list[SizeResult]:
    ok = [r for r in rows if math.isfinite(r.train_error) and math.isfinite(r.test_error) and r.train_error > 0]
    return sorted(ok, key=lambda r: r.bottleneck)


def classify_trend(errors: list[float], tol: float = 0.05) -> str:
    """Shape of an error curve over growing sizes: a key of TRENDS."""
    lo, hi = min(errors), max(errors)
    if hi <= lo * 1.1:
        return "flat"
    best = errors.index(lo)
    if best < len(errors) - 1 and errors[-1] > lo * (1 + tol):
        return "rises"
    near = [i for i, e in enumerate(errors) if e <= errors[-1] * (1 + tol)]
    return "levels" if near and near[0] < len(errors) - 1 else "falls"


def measured_trend(rows: list[SizeResult]) -> str | None:
    rows = _finite_rows(rows)
    return classify_trend([r.test_error for r in rows]) if len(rows) >= 2 else None


def _change(a: float, b: float) -> str:
    if b <= 0 or a <= 0:
        return f"from {a:.4f} to {b:.4f}"
    ratio = a / b
    if ratio >= 1.05:
        return f"from {a:.4f} to {b:.4f} ({ratio:.1f}× lower)"
    if ratio <= 1 / 1.05:
        return f"from {a:.4f} to {b:.4f} ({1 / ratio:.1f}× higher)"
    return f"from {a:.4f} to {b:.4f} (about the same)"


def _gap_sentence(first: SizeResult, last: SizeResult, biggest: SizeResult, n_train: int | None) -> str:
    text = (f"The gap (test ÷ train error) went from {first.gap:.1f}× at b={first.bottleneck} to "
            f"{last.gap:.1f}× at b={last.bottleneck}")
    if biggest is not last:
        text += f" (largest: {biggest.gap:.1f}× at b={biggest.bottleneck})"
    if biggest.gap >= 2 and biggest.gap >= 1.5 * first.gap:
        return text + (": the wide codes are far better on images they trained on than on new ones. "
                       "That is memorization.")
    if biggest.gap >= 1.2 * first.gap:
        return text + ": a mild sign of memorization."
    more = f" with {n_train:,} training images" if n_train else ""
    return text + (f": no real sign of memorization{more} at these settings. Try a smaller training set or "
                   "more epochs.")


def _ood_sentence(rows: list[SizeResult], key: str) -> str:
    """What the never-seen inputs show: does a wide code reproduce them, and does it still flag them?"""
    first, last = rows[0], rows[-1]
    label = OOD_LABELS.get(key, key)
    o0, o1 = first.ood[key], last.ood[key]
    r0, r1 = o0 / first.test_error, o1 / last.test_error  # how many times worse than normal test images
    text = f"On {label}, which no model ever saw, the error went {_change(o0, o1)}. "
    if o1 < o0 / 1.1:
        text += "The wider codes reproduce even inputs unlike their training data better: they copy more. "
    elif o1 > o0 * 1.1:
        text += "The wider codes did not learn to copy such inputs: they still fail on them. "
    else:
        text += "Code size hardly changed how badly they are reproduced. "
    ratios = f"{r0:.1f}× the error of normal test images at b={first.bottleneck} and {r1:.1f}× at b={last.bottleneck}"
    if r1 < r0 / 1.1:
        return text + f"As an alarm for unusual inputs, the wide codes are weaker: unusual inputs scored {ratios}."
    if r1 > r0 * 1.1:
        return text + (f"Measured against normal test images, though, unusual inputs stand out MORE at the wide "
                       f"codes ({ratios}): as an alarm for unusual inputs, they did not get worse here.")
    return text + f"Unusual inputs stand out about equally at every size ({ratios})."


def _probe_sentence(rows: list[SizeResult]) -> str:
    """Are wider codes more useful as features, or only better for reconstruction?"""
    accs = [r.knn_accuracy for r in rows]
    best = rows[int(np.argmax(accs))]
    first, last = rows[0], rows[-1]
    plateau = next(r for r in rows if r.knn_accuracy >= best.knn_accuracy - 0.02)
    text = (f"Are the codes useful? A 5-nearest-neighbour classifier on the codes scored {first.knn_accuracy:.0%} "
            f"at b={first.bottleneck}, {best.knn_accuracy:.0%} at best (b={best.bottleneck}) and "
            f"{last.knn_accuracy:.0%} at b={last.bottleneck}.")
    if best.knn_accuracy - last.knn_accuracy > 0.02:
        return text + (" The most useful code for telling classes apart is not the widest one: extra code "
                       "numbers bought sharper reconstructions, not better features.")
    if plateau is not last:
        return text + (f" From b={plateau.bottleneck} on it stayed within 2 points of its best, while the test "
                       f"error still went {_change(plateau.test_error, last.test_error)}: wider codes reconstruct "
                       "better without telling classes apart any better.")
    return text + " Here wider codes kept getting more useful, up to the largest size."


def _slogan_sentence(trend: str, best: SizeResult, gap_grew: bool) -> str:
    """Does "a bigger bottleneck memorizes" hold for these numbers, and in which sense?"""
    if trend == "rises":
        return f"So here the slogan holds: past b={best.bottleneck}, a bigger code made new images worse."
    if trend == "flat":
        return "The code size made little difference at these settings, so they cannot test the slogan."
    if gap_grew:
        return ("Yet the bigger codes did not get worse on new images. The slogan \"a bigger bottleneck "
                "memorizes\" is too simple: a wide code fits the images it saw much better (the gap grows), "
                "while its error on new images still falls or levels off instead of rising.")
    return "Here the bigger codes were simply better, on seen and new images alike."


def explain(rows: list[SizeResult], n_train: int | None = None) -> list[str]:
    """Markdown sentences stating what THESE measurements show (computed, never canned)."""
    rows = _finite_rows(rows)
    if len(rows) < 2:
        return ["Run at least two bottleneck sizes to compare them."]
    first, last = rows[0], rows[-1]
    best = min(rows, key=lambda r: r.test_error)
    trend = classify_trend([r.test_error for r in rows])
    out = [f"Training error fell {_change(first.train_error, last.train_error)} as the code grew from "
           f"b={first.bottleneck} to b={last.bottleneck}." if last.train_error < first.train_error else
           f"Training error did not fall with the code size ({_change(first.train_error, last.train_error)}): "
           "the models may need more epochs.",
           f"Held-out error went {_change(first.test_error, last.test_error)}; the best was "
           f"{best.test_error:.4f} at b={best.bottleneck}. Verdict: \"{TRENDS[trend]}\"."]
    out.append(_gap_sentence(first, last, max(rows, key=lambda r: r.gap), n_train))
    out.append(_slogan_sentence(trend, best, first.gap < max(r.gap for r in rows) / 1.2))
    if first.ood:
        out.append(_ood_sentence(rows, next(iter(first.ood))))
    if all(math.isfinite(r.knn_accuracy) for r in rows):
        out.append(_probe_sentence(rows))
    return out


# -- figures -----------------------------------------------------------------------------------
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=10),
               legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))


def _log_x(fig: go.Figure, sizes: list[int], **kw) -> None:
    fig.update_xaxes(type="log", tickvals=sizes, ticktext=[str(s) for s in sizes], title="bottleneck size (log)",
                     **kw)


def error_figure(rows: list[SizeResult], height: int = 380) -> go.Figure:
    """Train and test error against the bottleneck (log x, log y), with the test/train gap on the right axis."""
    rows = sorted(rows, key=lambda r: r.bottleneck)
    b = [r.bottleneck for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=b, y=[r.train_error for r in rows], mode="lines+markers", name="train error",
                             line=dict(color=PALETTE[0], width=2.5)), secondary_y=False)
    fig.add_trace(go.Scatter(x=b, y=[r.test_error for r in rows], mode="lines+markers", name="test error",
                             line=dict(color=PALETTE[1], width=2.5)), secondary_y=False)
    fig.add_trace(go.Scatter(x=b, y=[r.gap for r in rows], mode="lines+markers+text", name="gap (test ÷ train)",
                             text=[f"{r.gap:.1f}×" for r in rows], textposition="top center",
                             line=dict(color=PALETTE[3], dash="dot")), secondary_y=True)
    _log_x(fig, b)
    fig.update_yaxes(type="log", title="mean squared error per pixel", secondary_y=False)
    fig.update_yaxes(title="gap (×)", secondary_y=True, rangemode="tozero", showgrid=False)
    fig.update_layout(**_LAYOUT, height=height, title="Train vs test error")
    return fig


def curves_figure(rows: list[SizeResult], height: int = 380) -> go.Figure:
    """Every model's loss curves overlaid: train solid, test dashed, one color per bottleneck size."""
    fig = go.Figure()
    for i, r in enumerate(sorted(rows, key=lambda r: r.bottleneck)):
        if r.history is None:
            continue
        color, group = PALETTE[i % len(PALETTE)], f"b{r.bottleneck}"
        fig.add_trace(go.Scatter(x=r.history.step_x, y=r.history.train, mode="lines", name=f"b={r.bottleneck}",
                                 legendgroup=group, line=dict(color=color, width=1.8)))
        fig.add_trace(go.Scatter(x=r.history.epoch_x, y=r.history.test, mode="lines", legendgroup=group,
                                 name=f"b={r.bottleneck} test", showlegend=False,
                                 line=dict(color=color, width=1.8, dash="dash")))
    fig.update_layout(**_LAYOUT, height=height, title="Loss curves: train (solid) and test (dashed)")
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title="mean squared error per pixel", type="log")
    return fig


def live_rows(histories: dict[int, History]) -> list[SizeResult]:
    """Rows that carry only curves (numbers are NaN), so curves_figure can draw models still training."""
    return [SizeResult(s, h.epoch_x[-1] if h.epoch_x else 0, math.nan, math.nan, {}, math.nan, math.nan, 0.0,
                       history=h) for s, h in sorted(histories.items())]


def recon_figure(originals: np.ndarray, rows: list[SizeResult], key: str, shape: tuple[int, int],
                 title: str, row_labels: list[str] | None = None) -> go.Figure | None:
    """Images (rows) through every model (columns), the original first. None without images."""
    rows = [r for r in sorted(rows, key=lambda r: r.bottleneck) if r.recon is not None and key in r.recon]
    if shape is None or not rows or originals is None or len(originals) == 0:
        return None
    grid = [np.stack([originals[i], *[r.recon[key][i] for r in rows]]) for i in range(len(originals))]  # (C, D)
    cols = ["original", *[f"b={r.bottleneck}" for r in rows]]
    return image_grid(grid, shape, row_labels=row_labels, col_labels=cols, title=title,
                      height=max(160, 70 + 55 * len(grid)))


def ood_figure(rows: list[SizeResult], height: int = 360) -> go.Figure:
    """Error on held-out images and on each never-seen kind of input, against the bottleneck."""
    rows = sorted(rows, key=lambda r: r.bottleneck)
    b = [r.bottleneck for r in rows]
    fig = go.Figure(go.Scatter(x=b, y=[r.test_error for r in rows], mode="lines+markers",
                               name="test images (same kind as training)", line=dict(color=PALETTE[1], width=2.5)))
    for i, key in enumerate(rows[0].ood if rows else []):
        fig.add_trace(go.Scatter(x=b, y=[r.ood.get(key, math.nan) for r in rows], mode="lines+markers",
                                 name=OOD_LABELS.get(key, key), line=dict(color=PALETTE[(4 + i) % len(PALETTE)])))
    _log_x(fig, b)
    fig.update_yaxes(type="log", title="mean squared error per pixel")
    fig.update_layout(**_LAYOUT, height=height, title="Does it just copy anything? Error on inputs it never learned")
    return fig


def probe_figure(rows: list[SizeResult], height: int = 360) -> go.Figure:
    """Probe accuracy on the codes (left axis) next to the test reconstruction error (right axis)."""
    rows = sorted(rows, key=lambda r: r.bottleneck)
    b = [r.bottleneck for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=b, y=[r.knn_accuracy for r in rows], mode="lines+markers", name="kNN accuracy",
                             line=dict(color=PALETTE[2], width=2.5)), secondary_y=False)
    fig.add_trace(go.Scatter(x=b, y=[r.linear_accuracy for r in rows], mode="lines+markers",
                             name="linear probe accuracy", line=dict(color=PALETTE[6], width=2)), secondary_y=False)
    fig.add_trace(go.Scatter(x=b, y=[r.test_error for r in rows], mode="lines+markers", name="test error",
                             line=dict(color=PALETTE[1], dash="dash")), secondary_y=True)
    _log_x(fig, b)
    fig.update_yaxes(title="class accuracy from the code", tickformat=".0%", range=[0, 1.02], secondary_y=False)
    fig.update_yaxes(title="test error", type="log", showgrid=False, secondary_y=True)
    fig.update_layout(**_LAYOUT, height=height, title="Are the codes useful? Probe accuracy vs reconstruction error")
    return fig


def progress_table(sizes: list[int], histories: dict[int, History], rows: list[SizeResult], epochs: int,
                   phase: str) -> list[dict]:
    """Per-model progress for the page: state, latest train and test loss, measured errors once done."""
    done = {r.bottleneck: r for r in rows}
    table = []
    for s in sizes:
        h, r = histories.get(s), done.get(s)
        if r is not None:
            state = "measured ✓"
        elif phase == "measuring":
            state = "trained, measuring…"
        else:
            state = f"training: epoch {h.step_x[-1] if h and h.step_x else 0:g} of {epochs}"
        table.append({"bottleneck": s, "state": state,
                      "train loss": r.train_error if r else (h.train[-1] if h and h.train else None),
                      "test loss": r.test_error if r else (h.test[-1] if h and h.test else None)})
    return table


def results_table(rows: list[SizeResult], ood_key: str | None = None) -> list[dict]:
    """Rows as plain dicts for st.dataframe, in the CSV's units."""
    label = OOD_LABELS.get(ood_key, "out of distribution") if ood_key else "out of distribution"
    return [{"bottleneck": r.bottleneck, "train error": r.train_error, "test error": r.test_error,
             "gap (test ÷ train)": r.gap, f"error on {label}": r.ood_error, "kNN accuracy": r.knn_accuracy,
             "linear probe accuracy": r.linear_accuracy, "ready after (s)": r.seconds, "epochs": r.epochs}
            for r in sorted(rows, key=lambda r: r.bottleneck)]
