"""A Run: one trained model with its spec, settings, data set name and history, and how to start one.

`start_training` wraps `train.fit` in a background `jobs.Job`; the job's result is a Run, which
is what every page reuses ("the session's model"); `settle` decides whether a finished Run replaces it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aelab.data import DataBundle
from aelab.jobs import Job, JobContext
from aelab.model import Autoencoder
from aelab.spec import ArchSpec, TrainConfig
from aelab.train import History, build_seeded, fit


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

    @property
    def epochs_done(self) -> int:
        return self.history.epoch_x[-1] if self.history.epoch_x else 0

    @property
    def test_loss(self) -> float:
        return self.history.test[-1] if self.history.test else float("nan")


def model_from_state(spec: ArchSpec, state: dict, into: Autoencoder | None = None) -> Autoencoder:
    """An eval-mode CPU model holding `state` (reuses `into` when its spec matches)."""
    model = into if into is not None and into.spec == spec else Autoencoder(spec)
    model.load_state_dict(state)
    return model.eval()


def train_run(bundle: DataBundle, spec: ArchSpec, cfg: TrainConfig, ctx: JobContext | None = None,
              device: torch.device | None = None) -> Run:
    """Train one model on `bundle` (a fixed `cfg.n_train` subset) and return it as a Run."""
    data = bundle.subset(cfg.n_train, seed=cfg.seed)
    model = build_seeded(spec, cfg.seed)
    res = fit(model, data.x_train, data.x_test, cfg, monitor=ctx, device=device)
    model.cpu().eval()
    return Run(spec, cfg, bundle.name, model, res.history, res.status, res.message, res.seconds)


def start_training(bundle: DataBundle, spec: ArchSpec, cfg: TrainConfig, name: str = "train",
                   student: str = "") -> Job:
    """Start training in a background thread; poll `job.view()`, collect `job.result` (a Run).

    `student` (ui.student_key()) is whose turn the job takes with the scheduler."""
    return Job(lambda ctx: train_run(bundle, spec, cfg, ctx), name=name, student=student).start()
# -- a finished run and the session model ------------------------------------------------------
@dataclass(frozen=True)
class Settlement:
    use: bool  # True: the new run becomes the session model now; False: it is offered beside the previous one
    note: str  # a sentence for the learner ("" when the run's own message says it all)


def settle(new: Run, previous: Run | None) -> Settlement:
    """What a finished run does to the session model: a run that finished all its epochs replaces it; a stopped or
    diverged one replaces it only when there is none (it is better than nothing), else the learner chooses."""
    if new.status == "done":
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
