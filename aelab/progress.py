"""Typed progress of a lab's job: which phase runs, how far along it is, and every model's loss curves so far.

Labs report a LabProgress through jobs.JobContext.report (or through `phase_monitor`, which reports it with
the curve of the model training now); pages read it as JobView.lab and draw it with ui.lab_progress.
(train.Progress, the epoch and step of the one fit running inside a phase, comes beside it.)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # train and jobs import torch; this module stays light so that ui can import it at the top
    from aelab.jobs import JobContext
    from aelab.train import History, Progress


@dataclass(frozen=True)
class LabProgress:
    phase: str  # what the job does now, in the learner's words: "Denoising autoencoder (noisy inputs)"
    phase_index: int = 1  # 1-based number of this phase
    phase_total: int = 1  # phases in the whole job (a denoising run has 2: the plain and the denoising model)
    unit: str = "Model"  # what one phase is, for the label: "Model 2 of 3: ..."
    item_index: int = 0  # items of this phase done so far, e.g. models measured (counted when item_total > 0)
    item_total: int = 0  # items in this phase; 0 when the phase is not counted in items
    histories: Mapping[str, History] = field(default_factory=dict)  # model name -> its loss curves so far

    def __post_init__(self) -> None:
        if not 1 <= self.phase_index <= self.phase_total:
            raise ValueError(f"phase {self.phase_index} of {self.phase_total}")
        if not 0 <= self.item_index <= max(self.item_total, 0):
            raise ValueError(f"item {self.item_index} of {self.item_total}")

    @property
    def label(self) -> str:
        """The progress bar's text, e.g. 'Model 2 of 2: Denoising autoencoder' or 'Step 2 of 2: Measuring · 3 of 7'."""
        text = f"{self.unit} {self.phase_index} of {self.phase_total}: {self.phase}" if self.phase_total > 1 \
            else self.phase
        return text + (f" · {self.item_index} of {self.item_total}" if self.item_total else "")


class Relay:
    """Base of the monitors labs hand to train.fit around a job context (`self.ctx`, may be None): passes
    should_stop, charge and waited through, so pausing, turns and the compute budget work inside them too
    (a context without charge/waited, such as a test's stand-in, is charged nothing and never waits)."""

    ctx: "JobContext | None" = None

    def should_stop(self) -> bool:
        return self.ctx is not None and self.ctx.should_stop()

    def charge(self, units: float) -> str:
        charge = getattr(self.ctx, "charge", None)
        return charge(units) if charge is not None else ""

    @property
    def waited(self) -> float:
        return getattr(self.ctx, "waited", 0.0)


class PhaseMonitor(Relay):
    """A train.fit monitor for one phase of a lab: passes fit's updates to the job and reports the phase with the
    curve of the model it trains (`run`) beside the curves it started with, so one report holds every curve."""

    def __init__(self, ctx: JobContext, progress: LabProgress, run: str):
        self.ctx, self.progress, self.run = ctx, progress, run
        ctx.report(progress)  # the phase begins, before its model has a curve

    def update(self, progress: Progress, history: History, state: dict | None) -> None:
        self.ctx.update(progress, history, state)
        self.ctx.report(replace(self.progress, histories={**self.progress.histories, self.run: history}))


def phase_monitor(ctx: JobContext | None, progress: LabProgress, run: str) -> PhaseMonitor | None:
    """A PhaseMonitor for a job, or None without one (then train.fit copies no weights for anyone)."""
    return None if ctx is None else PhaseMonitor(ctx, progress, run)
