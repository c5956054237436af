"""A Run: one trained model with its spec, settings, data set name and history, and how to start one.

`start_training` wraps `train.fit` in a background `jobs.Job`; the job's result is a Run, which
is what every page reuses ("the session's model").
"""
from __future__ import annotations

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
