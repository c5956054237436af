"""A Run: one trained model with its spec, settings, data set name and history, and how to start or continue one.

`start_training` wraps `train.fit` in a background `jobs.Job`; the job's result is a Run, which
is what every page reuses ("the session's model"); `settle` decides whether a finished Run replaces it.
`continue_run` trains a Run further from its current weights (Build & Train's Play, one step, one epoch, more
epochs): the curves are appended and the result belongs to the same lineage, so it replaces the run it continued.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field, replace

import torch

from aelab import config
from aelab.data import DataBundle
from aelab.fields import format_value
from aelab.jobs import Job, JobContext
from aelab.limits import CONTINUATIONS, MAX_EPOCHS
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig, compute_text, compute_units
from aelab.train import STOPPED_BY_YOU, Cursor, History, build_seeded, fit

_lineages = itertools.count(1)


@dataclass
class Run:
    spec: ArchSpec  # the architecture that was trained
    cfg: TrainConfig  # the settings it was trained with
    dataset: str  # data set key (see data.DATASETS)
    model: Autoencoder  # trained weights, on the CPU, in eval mode
    history: History  # the loss curves
    status: str  # "done", "stopped" or "diverged"
    message: str  # a sentence for the learner
    seconds: float  # wall time of training
    cursor: Cursor | None = None  # where training stands, to continue it exactly (None: loaded from a file)
    lineage: int = field(default_factory=lambda: next(_lineages))  # a new number per run, kept by its continuations

    @property
    def epochs_done(self) -> int:
        return self.history.epoch_x[-1] if self.history.epoch_x else 0

    @property
    def position(self) -> float:
        """Epochs trained including the current epoch's fraction (a run stopped mid-epoch: 12.5)."""
        return self.cursor.position if self.cursor is not None else float(self.epochs_done)

    @property
    def test_loss(self) -> float:
        return self.history.test[-1] if self.history.test else float("nan")


def model_from_state(spec: ArchSpec, state: dict, into: Autoencoder | None = None) -> Autoencoder:
    """An eval-mode CPU model holding `state` (reuses `into` when its spec matches)."""
    model = into if into is not None and into.spec == spec else Autoencoder(spec)
    model.load_state_dict(state)
    return model.eval()


def train_run(bundle: DataBundle, spec: ArchSpec, cfg: TrainConfig, ctx: JobContext | None = None,
              device: torch.device | None = None, pace: float = 0.0) -> Run:
    """Train one model on `bundle` (a fixed `cfg.n_train` subset) and return it as a Run (`pace`: see train.fit)."""
    data = bundle.subset(cfg.n_train, seed=cfg.seed)
    model = build_seeded(spec, cfg.seed)
    res = fit(model, data.x_train, data.x_test, cfg, monitor=ctx, device=device, pace=pace)
    model.cpu().eval()
    return Run(spec, cfg, bundle.name, model, res.history, res.status, res.message, res.seconds, res.cursor)


# -- continuing a run: Play, one step, one epoch, more epochs (issue 16) ------------------------------------
STEP, EPOCH, MORE, PLAY = CONTINUATIONS  # how far a continuation trains (limits.CONTINUATIONS)
CONTINUE_ARGS = ("lr", "batch_size")  # settings a continuation takes from the page; the others stay the run's


def untrained(spec: ArchSpec, cfg: TrainConfig, dataset: str) -> Run:
    """A new model at epoch 0 (its seeded starting weights): continuing it is training it from scratch, exactly as
    train_run would (the same weights, batches and curves)."""
    return Run(spec, cfg, dataset, build_seeded(spec, cfg.seed), History(), "done", "Not trained yet.", 0.0)


def compute_used(run: Run, n_available: int) -> int:
    """The compute a run has used (parameters x samples trained on; see spec.compute_units)."""
    n = min(run.cfg.n_train or n_available, n_available)
    samples = run.cursor.samples if run.cursor is not None else int(round(run.position * n))
    return compute_units(run.spec.param_count, samples, 1)


def budget_left(run: Run, n_available: int) -> float:
    """The compute a continuation of `run` may still use: the server's per-run limit minus what it used."""
    return float(config.get("max_compute")) - compute_used(run, n_available)


def cannot_continue(run: Run | None, spec: ArchSpec | None, cfg: TrainConfig | None, dataset: str,
                 n_available: int) -> str:
    """Why `run` cannot be trained further with the page's settings, in words that follow "a new model:" ("" when
    it can). Play, one step and one epoch then start a new model from the settings instead (as TensorFlow Playground
    does after a change)."""
    if run is None:
        return "there is no model yet"
    if run.status == "diverged":
        return "the last run diverged"
    if run.dataset != dataset:
        return "the data set changed"
    if spec is not None and spec != run.spec:
        return "the network changed"
    if cfg is not None:
        changed = [f for f in ("loss", "optimizer", "seed", "n_train", "beta", "sparsity")
                   if getattr(cfg, f) != getattr(run.cfg, f)]
        if changed:
            return "the " + ", ".join(f.replace("_", " ").replace("n train", "training-set size") for f in changed) + \
                " changed"
    if run.position >= MAX_EPOCHS:
        return f"it has trained {MAX_EPOCHS:,} epochs, the most one run may"
    if budget_left(run, n_available) <= 0:
        return f"it has used the {compute_text(config.get('max_compute'))} units of compute one run may use"
    return ""


def continue_config(run: Run, cfg: TrainConfig | None, mode: str, more: int = 0) -> tuple[TrainConfig, int | None]:
    """The settings a continuation trains with (the run's own, with CONTINUE_ARGS from `cfg`) and its step limit.

    STEP: one batch; EPOCH: to the end of the current epoch (a whole one at its start); MORE: `more` epochs more
    (to the end of that epoch); PLAY: until stopped, at most MAX_EPOCHS in all."""
    at = run.cursor.epoch if run.cursor is not None else run.epochs_done
    target = {STEP: MAX_EPOCHS, EPOCH: at + 1, MORE: at + max(1, more), PLAY: MAX_EPOCHS}[mode]
    taken = {f: getattr(cfg, f) for f in CONTINUE_ARGS} if cfg is not None else {}
    return replace(run.cfg, **taken, epochs=min(MAX_EPOCHS, target)), (1 if mode == STEP else None)


def continue_run(bundle: DataBundle, run: Run, mode: str, ctx: JobContext | None = None, *,
                 cfg: TrainConfig | None = None, more: int = 0, pace: float = 0.0,
                 device: torch.device | None = None) -> Run:
    """Train `run`'s model further from its current weights (see continue_config); returns the continued Run.

    The given Run keeps its own weights (it stays the session model until this one ends). A stop by the learner
    ends a Play as planned ("Paused ..."); the result belongs to `run`'s lineage, so runs.settle keeps it."""
    data = bundle.subset(run.cfg.n_train, seed=run.cfg.seed)
    model = copy.deepcopy(run.model)
    train_cfg, max_steps = continue_config(run, cfg, mode, more)
    res = fit(model, data.x_train, data.x_test, train_cfg, monitor=ctx, device=device, resume=run.cursor,
              history=run.history, max_steps=max_steps, pace=pace)
    model.cpu().eval()
    cursor = res.cursor
    position = cursor.position if cursor is not None else float(res.history.epoch_x[-1] if res.history.epoch_x else 0)
    status, message = res.status, res.message
    where = f"epoch {position:.2f}".rstrip("0").rstrip(".") + (f", step {cursor.step:,}" if cursor else "")
    if status == "stopped" and res.message.startswith(STOPPED_BY_YOU):
        status, message = "done", f"Paused at {where}."
    elif status == "done" and cursor is not None and cursor.epoch >= MAX_EPOCHS:
        message = f"Reached {MAX_EPOCHS:,} epochs, the most one run may train: press Train to start a new one."
    elif status == "done":
        message = {STEP: f"One more step: now at {where}.", EPOCH: f"Trained to the end of epoch {cursor.epoch:,}.",
                   MORE: f"Trained to the end of epoch {cursor.epoch:,}.", PLAY: f"Played to {where}."}[mode]
    kept = replace(train_cfg, epochs=min(MAX_EPOCHS, max(1, run.cfg.epochs, math.ceil(position))))
    seconds = cursor.seconds if cursor is not None else run.seconds + res.seconds
    return Run(run.spec, kept, run.dataset, model, res.history, status, message, seconds, cursor, run.lineage)


def start_training(bundle: DataBundle, spec: ArchSpec, cfg: TrainConfig, name: str = "train",
                   student: str = "") -> Job:
    """Start training in a background thread; poll `job.view()`, collect `job.result` (a Run).

    `student` (ui.student_key()) is whose turn the job takes with the scheduler."""
    return Job(lambda ctx: train_run(bundle, spec, cfg, ctx), name=name, student=student).start()
def settings_changed(spec: ArchSpec, cfg: TrainConfig, dataset: str, spec_now: ArchSpec, cfg_now: TrainConfig,
                     dataset_now: str) -> bool:
    """Whether the page's settings differ from a running job's (its epoch target aside: Play has none)."""
    return (spec, replace(cfg, epochs=cfg_now.epochs), dataset) != (spec_now, cfg_now, dataset_now)


def label_against(earlier: Run, spec: ArchSpec, cfg: TrainConfig, dataset: str, most: int = 2) -> str:
    """A short name for an earlier run beside the current settings: the settings it had that differ (at most
    `most` of them), e.g. "before: learning rate 0.001, epochs 30"."""
    from aelab.settings import BUILD_TRAIN
    from aelab.spec import to_settings

    old, new = to_settings(earlier.spec, earlier.cfg, earlier.dataset), to_settings(spec, cfg, dataset)
    diffs = [f"{BUILD_TRAIN[k].name} {format_value(BUILD_TRAIN[k], v)}" for k, v in old.items()
             if new.get(k) != v and BUILD_TRAIN[k].param]
    if not diffs:
        return "before: the same settings"
    return "before: " + ", ".join(diffs[:most]) + (f" (+{len(diffs) - most} more)" if len(diffs) > most else "")


# -- a finished run and the session model ------------------------------------------------------
@dataclass(frozen=True)
class Settlement:
    use: bool  # True: the new run becomes the session model now; False: it is offered beside the previous one
    note: str  # a sentence for the learner ("" when the run's own message says it all)


def settle(new: Run, previous: Run | None) -> Settlement:
    """What a finished run does to the session model: a run that finished all its epochs replaces it, and so does a
    continuation of the session model that did not diverge (it is the same model, trained more); another stopped or
    diverged one replaces it only when there is none (it is better than nothing), else the learner chooses."""
    if new.status == "done":
        return Settlement(True, "")
    if previous is not None and new.status != "diverged" and new.lineage == previous.lineage:
        return Settlement(True, "")
    if previous is not None:
        return Settlement(False, offer_text(previous, new))
    if new.status == "stopped":
        return Settlement(True, f"You had no model yet, so this run, stopped after {new.epochs_done} of "
                                f"{new.cfg.epochs} epochs, is your session model now.")
    return Settlement(True, "You had no model yet, so this diverged run is your session model for now: its weights "
                            "are the last finite ones, which reconstruct poorly. Follow the advice above and train "
                            "again.")


def _ended(run: Run) -> str:
    if run.status == "diverged":
        return f"diverged after {run.epochs_done} of {run.cfg.epochs} epochs"
    return f"was stopped after {run.epochs_done} of {run.cfg.epochs} epochs"


def offer_text(previous: Run, new: Run) -> str:
    """Why the learner is asked, and what the two models' held-out losses say (a branch for every outcome)."""
    head = f"This run {_ended(new)}, so your previous model is still the session model on every page. "
    a, b = previous.test_loss, new.test_loss
    if previous.dataset != new.dataset or previous.cfg.loss != new.cfg.loss or previous.spec.kind != new.spec.kind:
        verdict = ("The two were trained on different data or with a different loss, so their test losses cannot "
                   "be compared directly.")
    elif not math.isfinite(b):
        verdict = "This run has no finite test loss: it learned nothing usable."
    elif not math.isfinite(a):
        verdict = f"Your previous model has no finite test loss; this run's is {b:.4f}."
    elif b < a:
        verdict = f"This run reconstructs held-out data better ({b:.4f} < {a:.4f})."
    elif b > a:
        verdict = f"Your previous model reconstructs held-out data better ({a:.4f} < {b:.4f})."
    else:
        verdict = f"Both have the same test loss ({a:.4f})."
    return head + verdict
