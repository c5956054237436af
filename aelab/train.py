"""The training loop: full data in memory, a random permutation per epoch, no DataLoader.

`fit` is a plain function. An optional `monitor` (see jobs.JobContext) is told the progress,
the loss history and a copy of the weights a few times a second, and can pause or stop the loop.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import torch
import torch.nn.functional as F

from aelab.limits import MAX_HISTORY_POINTS, POINTS_PER_EPOCH
from aelab.model import Autoencoder, pick_device
from aelab.spec import TrainConfig

STOPPED_BY_YOU = "Stopped by you"  # how the message of a run the learner stopped begins
_INIT_LOCK = threading.Lock()  # seeding + building must not interleave between job threads


@dataclass
class History:
    """Losses as they were measured; x values are in epochs so curves of any run line up."""

    step_x: list[float] = field(default_factory=list)  # fractional epoch of each logged train point
    train: list[float] = field(default_factory=list)  # mean training loss over the steps since the last point
    epoch_x: list[int] = field(default_factory=list)  # 0 (before training), 1, 2, ...
    test: list[float] = field(default_factory=list)  # loss on the fixed held-out set at epoch_x
    terms: dict[str, list[float]] = field(default_factory=dict)  # VAE: 'recon', 'kl'; sparse AE: 'recon', 'l1'
    test_terms: dict[str, list[float]] = field(default_factory=dict)  # the same terms per test point
    seconds: list[float] = field(default_factory=list)  # wall time since start at epoch_x

    def copy(self) -> "History":
        return History(list(self.step_x), list(self.train), list(self.epoch_x), list(self.test),
                       {k: list(v) for k, v in self.terms.items()},
                       {k: list(v) for k, v in self.test_terms.items()}, list(self.seconds))

    def as_dict(self) -> dict:
        return {"step_x": self.step_x, "train": self.train, "epoch_x": self.epoch_x, "test": self.test,
                "terms": self.terms, "test_terms": self.test_terms, "seconds": self.seconds}

    def thin(self) -> None:
        """Halve the training curve's resolution: each pair of neighbouring points becomes their mean, at the
        later x. A run continued again and again stays within the points a checkpoint holds (MAX_HISTORY_POINTS)."""
        def pairs(values: list[float], mean: bool) -> list[float]:
            out = [(a + b) / 2 if mean else b for a, b in zip(values[0::2], values[1::2])]
            return out + values[-1:] if len(values) % 2 else out

        self.step_x, self.train = pairs(self.step_x, False), pairs(self.train, True)
        self.terms = {k: pairs(v, True) for k, v in self.terms.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**{k: d.get(k, v) for k, v in cls().as_dict().items()})


@dataclass(frozen=True)
class Progress:
    epoch: int  # completed epochs
    step: int  # optimizer steps done so far
    total_steps: int  # steps for the whole run
    samples_per_s: float  # training throughput so far (evaluation time excluded)
    elapsed: float  # seconds since the run started

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


@dataclass
class Cursor:
    """Where training stands between two calls of `fit`: enough to continue exactly where it ended."""

    epoch: int  # completed epochs
    offset: int  # samples of the current epoch already trained on (0 at an epoch boundary)
    perm: torch.Tensor | None  # (N,) the current epoch's sample order; None at a boundary (the next epoch draws one)
    shuffle: torch.Tensor  # state of the shuffling generator (torch.Generator.get_state())
    noise: torch.Tensor  # state of the VAE noise generator
    optimizer: dict  # the optimizer's state_dict (Adam's moment estimates), a private copy
    step: int  # optimizer steps done so far
    samples: int  # training samples trained on so far (x parameters = the compute used, spec.compute_units)
    seconds: float  # wall time of every call so far

    @property
    def position(self) -> float:
        """Epochs trained, with the current epoch's fraction: 12.5 = halfway through epoch 13."""
        return self.epoch + (self.offset / len(self.perm) if self.perm is not None and len(self.perm) else 0.0)


@dataclass
class FitResult:
    status: str  # "done", "stopped" or "diverged"
    message: str
    history: History
    seconds: float
    cursor: Cursor | None = None  # where training stands, to continue it (None after a divergence)


class Monitor(Protocol):
    def should_stop(self) -> bool: ...  # blocks while paused; True when the learner pressed Stop
    def update(self, progress: Progress, history: History, state: dict | None) -> None: ...
    # optional (jobs.JobContext has both; fit checks with getattr):
    #   charge(units) -> str: count parameters x samples trained; a non-empty answer stops the run with it
    #   waited: float: seconds spent blocked in should_stop (paused, or waiting for a turn), left out of samples/s


def recon_loss(out: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean reconstruction error per feature (MSE, BCE or L1)."""
    if loss == "bce":
        return F.binary_cross_entropy(out, target)
    if loss == "l1":
        return F.l1_loss(out, target)
    return F.mse_loss(out, target)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per sample, summed over code dimensions: (B, k) -> (B,)."""
    # Kingma & Welling, "Auto-Encoding Variational Bayes" (2014), Appendix B:
    # -KL = 1/2 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def l1_activity(code: torch.Tensor) -> torch.Tensor:
    """The sparse autoencoder's penalty: mean absolute code value over the batch and the code units (B, k) -> ()."""
    # Ng, "Sparse autoencoder" (CS294A lecture notes, 2011) penalizes average activity; the L1 form is the
    # activity_regularizer=l1 of Chollet, "Building Autoencoders in Keras" (2016), here a mean instead of a sum
    return code.abs().mean()


def loss_terms(model: Autoencoder, x: torch.Tensor, target: torch.Tensor, cfg: TrainConfig,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss and its parts. VAE: recon + beta * KL / D (both per feature, so scales match the AE)."""
    if not model.is_vae and cfg.sparsity > 0:  # issue 14: sparse AE, recon + sparsity * mean |code|
        code = model.encode(x)  # (B, k)
        rec, l1 = recon_loss(model.decode(code), target, cfg.loss), l1_activity(code)
        return rec + cfg.sparsity * l1, {"recon": rec, "l1": l1}
    if not model.is_vae:
        rec = recon_loss(model(x), target, cfg.loss)
        return rec, {}
    mu, logvar = model.encode_stats(x)  # (B, k), (B, k)
    if model.training:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)  # reparameterization trick: gradients flow through mu, logvar
    else:
        z = mu
    rec = recon_loss(model.decode(z), target, cfg.loss)
    kl = kl_to_standard_normal(mu, logvar).mean() / x.shape[1]
    return rec + cfg.beta * kl, {"recon": rec, "kl": kl}


@torch.no_grad()
def evaluate(model: Autoencoder, x: torch.Tensor, target: torch.Tensor, cfg: TrainConfig,
             chunk: int = 8192) -> dict[str, float]:
    """Loss (and VAE terms) on a whole set, in eval mode, in chunks."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    sums: dict[str, float] = {}
    for i in range(0, len(x), chunk):
        xb, tb = x[i:i + chunk].to(device), target[i:i + chunk].to(device)
        total, terms = loss_terms(model, xb, tb, cfg)
        for k, v in {"loss": total, **terms}.items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(xb)
    model.train(was_training)
    return {k: v / max(len(x), 1) for k, v in sums.items()}


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
    try:  # fused Adam: one kernel for all parameters, ~2x faster on small CPU models
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)


def build_seeded(spec, seed: int) -> Autoencoder:
    """Build a model whose initial weights depend only on the seed (thread-safe)."""
    with _INIT_LOCK:
        torch.manual_seed(seed)
        return Autoencoder(spec)


def weights_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the weights (what the UI thread draws from)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _finite(state: dict[str, torch.Tensor]) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in state.values())


def fit(model: Autoencoder, x_train: torch.Tensor, x_test: torch.Tensor, cfg: TrainConfig, *,
        target_train: torch.Tensor | None = None, target_test: torch.Tensor | None = None,
        monitor: Monitor | None = None, snapshot_every: float = 0.2, points_per_epoch: int = POINTS_PER_EPOCH,
        device: torch.device | None = None, resume: Cursor | None = None, history: History | None = None,
        max_steps: int | None = None, pace: float = 0.0) -> FitResult:
    """Train `model` in place until `cfg.epochs` epochs are complete. Targets default to the inputs.

    Continuing: with `resume` (the `cursor` of an earlier FitResult for the same model and data) and `history`
    (its curves), training goes on exactly where that call ended: the same optimizer state, batch order and VAE
    noise, the curves appended. 10 epochs at once and 4 + 6 give the same weights (tests/test_train.py). A history
    without a cursor (a model loaded from a file) continues from its last epoch with a fresh optimizer.
    `max_steps`: stop after this many optimizer steps (one batch each), at the latest at `cfg.epochs`.
    `pace`: at least this many seconds per step, a slowed-down run to watch; the rest is spent in `monitor.rest`
    (jobs.JobContext.rest gives the CPU slot to a waiting student meanwhile), else in time.sleep.
    """
    torch.set_flush_denormal(True)  # denormal floats make CPU matmuls crawl as weights shrink
    device = device or pick_device()
    model.to(device).train()
    x = x_train.to(device)  # (N, D)
    t = x if target_train is None else target_train.to(device)
    xt = x_test
    tt = x_test if target_test is None else target_test
    opt = make_optimizer(model, cfg)
    hist = History() if history is None else history.copy()
    epoch = hist.epoch_x[-1] if hist.epoch_x else 0  # completed epochs
    g = torch.Generator().manual_seed(cfg.seed + epoch)  # shuffling
    g_noise = torch.Generator(device=device).manual_seed(cfg.seed + 1 + epoch)  # VAE sampling noise
    offset, perm, step, samples, seconds0 = 0, None, 0, 0, (hist.seconds[-1] if hist.seconds else 0.0)
    if resume is not None:
        opt.load_state_dict(copy.deepcopy(resume.optimizer))  # a copy: the cursor can be continued again
        for group in opt.param_groups:
            group["lr"] = cfg.lr  # a learning rate changed between the calls applies from now on
        g.set_state(resume.shuffle)
        g_noise.set_state(resume.noise)
        epoch, offset, perm = resume.epoch, resume.offset, resume.perm
        step, samples, seconds0 = resume.step, resume.samples, resume.seconds
    n, bs = len(x), max(1, min(cfg.batch_size, len(x)))
    steps_per_epoch = math.ceil(n / bs)
    total = step + max(0, (cfg.epochs - epoch) * steps_per_epoch - offset // bs)
    if max_steps is not None:
        total = min(total, step + max_steps)
    log_every = max(1, steps_per_epoch // points_per_epoch)
    start = time.perf_counter()
    train_time = 0.0  # seconds spent training (evaluation, waiting and resting excluded)
    rested = 0.0  # seconds spent resting between steps (pace)
    step0 = step
    last_good = weights_copy(model)
    charge = getattr(monitor, "charge", None)
    rest = getattr(monitor, "rest", time.sleep)
    n_params = sum(p.numel() for p in model.parameters())
    charged = samples  # samples charged so far (a continuation's earlier samples were charged by its own job)
    losses, acc_terms = [], {}  # detached step losses since the last logged point

    def waited() -> float:
        return getattr(monitor, "waited", 0.0)

    def busy(t0: float, w0: float, r0: float) -> float:
        """Seconds since t0 spent training (not waiting for a turn, not paused, not resting)."""
        return time.perf_counter() - t0 - (waited() - w0) - (rested - r0)

    def record_test(epoch: int) -> None:
        res = evaluate(model, xt, tt, cfg)
        hist.epoch_x.append(epoch)
        hist.test.append(res["loss"])
        for k in res.keys() - {"loss"}:  # VAE: recon, kl; sparse AE: recon, l1
            hist.test_terms.setdefault(k, []).append(res[k])
        hist.seconds.append(seconds0 + time.perf_counter() - start)

    def log_point(x_at: float) -> None:
        """The mean loss of the steps since the last point, as one point of the training curve."""
        nonlocal losses, acc_terms
        acc_n = len(losses)
        hist.step_x.append(x_at)
        hist.train.append(float(torch.stack(losses).sum()) / acc_n)
        for k, v in acc_terms.items():
            hist.terms.setdefault(k, []).append(float(v) / acc_n)
        losses, acc_terms = [], {}
        if len(hist.train) > MAX_HISTORY_POINTS:  # a long continued run: keep what a checkpoint may hold
            hist.thin()

    def publish(epoch: int, with_weights: bool) -> None:
        if monitor is not None:
            rate = (step - step0) * bs / train_time if train_time > 0 else 0.0
            prog = Progress(epoch, step, total, rate, time.perf_counter() - start)
            monitor.update(prog, hist.copy(), weights_copy(model) if with_weights else None)

    def cursor(epoch: int, at: int) -> Cursor:
        return Cursor(epoch, at, perm if at else None, g.get_state(), g_noise.get_state(),
                      copy.deepcopy(opt.state_dict()), step, samples, seconds0 + time.perf_counter() - start)

    def ended(status: str, epoch: int, at: int, message: str) -> FitResult:
        """A stop with `at` samples of the epoch done (0 <= at <= n; at n only its test loss is still to come):
        the open training-loss point is logged."""
        if losses:
            log_point(epoch + at / n)
        publish(epoch, True)
        return FitResult(status, message, hist, time.perf_counter() - start, cursor(epoch, at))

    def diverged(epoch: int) -> FitResult:
        model.load_state_dict(last_good)
        publish(epoch, True)
        msg = (f"The loss became NaN/infinite at epoch {epoch + 1}: training stopped by itself and kept "
               "the last finite weights. Lower the learning rate (or use Adam) and train again.")
        return FitResult("diverged", msg, hist, time.perf_counter() - start)

    if not hist.epoch_x:
        record_test(0)
    publish(epoch, True)
    last_snap = time.perf_counter()
    while epoch < cfg.epochs and (max_steps is None or step - step0 < max_steps):
        if perm is None:
            perm = torch.randperm(n, generator=g).to(device)  # (N,)
        t0, w0, r0 = time.perf_counter(), waited(), rested
        for i in range(offset, n, bs):
            if monitor is not None and monitor.should_stop():
                train_time += busy(t0, w0, r0)
                return ended("stopped", epoch, i, f"{STOPPED_BY_YOU} after {step} steps.")
            t_step = time.perf_counter()
            idx = perm[i:i + bs]
            xb = x[idx]  # (B, D)
            tb = xb if t is x else t[idx]  # a plain autoencoder's target is its input: gather once
            loss, terms = loss_terms(model, xb, tb, cfg, g_noise)  # scalar
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            samples += len(idx)
            losses.append(loss.detach())  # no extra tensor op per step: summed once per point
            for k, v in terms.items():
                acc_terms[k] = acc_terms.get(k, 0.0) + v.detach()
            last_of_epoch = i + bs >= n
            if len(losses) == log_every or last_of_epoch:
                log_point(epoch + (i + len(idx)) / n)
                if not math.isfinite(hist.train[-1]):
                    return diverged(epoch)
                if charge is not None:  # the compute budget, once per logged point (never per step)
                    over = charge(n_params * (samples - charged))
                    charged = samples
                    if over:
                        train_time += busy(t0, w0, r0)
                        return ended("stopped", epoch, i + len(idx), over)  # at n: the epoch's test is next
                now = time.perf_counter()
                if now - last_snap >= snapshot_every or len(hist.train) == 1:  # the first point at once
                    state = weights_copy(model)
                    if not _finite(state):
                        return diverged(epoch)
                    last_good, last_snap = state, now
                    if monitor is not None:
                        busy_now = train_time + busy(t0, w0, r0)
                        rate = (step - step0) * bs / busy_now if busy_now > 0 else 0.0
                        monitor.update(Progress(epoch, step, total, rate, now - start), hist.copy(), state)
            if pace > 0:
                wait = pace - (time.perf_counter() - t_step)
                if wait > 0:
                    t_rest = time.perf_counter()
                    rest(wait)
                    rested += time.perf_counter() - t_rest
            if max_steps is not None and step - step0 >= max_steps and not last_of_epoch:
                train_time += busy(t0, w0, r0)
                state = weights_copy(model)
                if not _finite(state):
                    return diverged(epoch)
                return ended("done", epoch, i + len(idx), _steps_text(step - step0))
        train_time += busy(t0, w0, r0)
        state = weights_copy(model)
        if not _finite(state):
            return diverged(epoch)
        last_good, perm, offset = state, None, 0
        record_test(epoch + 1)
        epoch += 1
        if not math.isfinite(hist.test[-1]):
            return diverged(epoch - 1)
        publish(epoch, True)
    message = f"Finished {cfg.epochs} epochs." if epoch >= cfg.epochs else _steps_text(step - step0)
    return FitResult("done", message, hist, time.perf_counter() - start, cursor(epoch, 0))


def _steps_text(steps: int) -> str:
    return f"Trained {steps:,} more step{'s' if steps != 1 else ''}."
