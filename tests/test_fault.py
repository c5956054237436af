"""Fault injection: a background job whose thread raises mid-training leaves the page usable (no exception, the
button works again), says what happened (the job's error is shown) and keeps what the learner had: the
session's model on Build & Train, the previous results on every lab page. Pages run through app.py.

Run: python -m pytest -q tests/test_fault.py
"""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from streamlit.testing.v1 import AppTest

from aelab import lessons, runs, train
from aelab.spec import ArchSpec, TrainConfig
from conftest import set_field, ROOT, wait_for_jobs

APP = str(ROOT / "app.py")
FAULT = "simulated fault in the training step"
SPEC, CFG = ArchSpec(64, (32,), 3), TrainConfig(epochs=2, batch_size=64)


@pytest.fixture(scope="module")
def previous(digits):
    """The model the learner trained before the failing run."""
    return runs.train_run(digits, SPEC, CFG)


def fail_in_loss_terms(monkeypatch, after: int) -> list[int]:
    """Make train.loss_terms raise in training step `after + 1` (evaluation, under no_grad, is not counted)."""
    real, calls = train.loss_terms, [0]

    def flaky(*args, **kwargs):
        if torch.is_grad_enabled():  # a training step, not an evaluation batch
            calls[0] += 1
            if calls[0] > after:
                raise RuntimeError(FAULT)
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "loss_terms", flaky)
    return calls


def fail_in_backward(monkeypatch, after: int) -> list[int]:
    """Make every loss.backward() raise from call `after + 1` on: hits each lab's own training loop too."""
    real, calls = torch.Tensor.backward, [0]

    def flaky(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] > after:
            raise RuntimeError(FAULT)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", flaky)
    return calls


def open_page(page: str, state: dict | None = None, **texts: str) -> AppTest:
    """The page through app.py with `state` in the session and small settings typed into its text inputs."""
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    for key, value in texts.items():
        set_field(at, key, value)
    at.run()
    assert not at.exception, at.exception[0].value
    return at


def press_and_wait(at: AppTest, button: str) -> None:
    """Press the button, join the job thread, rerun (run_every fragments do not fire in AppTest)."""
    at.button(key=button).click().run()
    wait_for_jobs()
    at.run()
    at.run()


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


# -- Build & Train ----------------------------------------------------------------------------------------------
def test_a_job_that_raises_mid_epoch_keeps_the_page_the_message_and_the_previous_model(monkeypatch, previous, digits):
    """A raise in training step 6 of 23 (mid first epoch): no exception, the error shown, the old model kept."""
    calls = fail_in_loss_terms(monkeypatch, after=5)
    at = open_page("build_train", {"aelab_run": previous}, cfg_epochs="3")
    press_and_wait(at, "train_btn")
    job = at.session_state["_aelab_jobs"]["train"]
    assert job.status == "error" and FAULT in job.error
    steps_per_epoch = math.ceil(len(digits.x_train) / CFG.batch_size)
    assert calls[0] == 6 < steps_per_epoch, "the fault hits inside the first epoch"
    assert not at.exception
    assert FAULT in texts(at.error), "the page must say what went wrong"
    assert at.session_state["aelab_run"] is previous
    assert "Showing the session model" in texts(at.caption)
    assert f"test loss {previous.test_loss:.4f}" in texts(at.sidebar.caption)
    assert not at.button(key="train_btn").disabled, "the learner can train again"


def test_after_a_fault_training_again_works_and_replaces_the_model(monkeypatch, previous):
    """Once the fault is gone, the next Train press finishes and becomes the session model."""
    fail_in_loss_terms(monkeypatch, after=5)
    at = open_page("build_train", {"aelab_run": previous}, cfg_epochs="3")
    press_and_wait(at, "train_btn")
    monkeypatch.undo()
    press_and_wait(at, "train_btn")
    assert not at.exception
    assert at.session_state["_aelab_jobs"]["train"].status == "done"
    run = at.session_state["aelab_run"]
    assert run is not previous and run.status == "done" and run.epochs_done == 3
    assert "Finished 3 epochs." in texts(at.success)


def test_a_fault_in_the_first_step_without_a_model_is_reported(monkeypatch):
    """A raise in the first training step with no model yet: no exception, no model invented, the error shown."""
    fail_in_loss_terms(monkeypatch, after=0)
    at = open_page("build_train", cfg_epochs="3")
    press_and_wait(at, "train_btn")
    assert at.session_state["_aelab_jobs"]["train"].status == "error"
    assert not at.exception
    assert "aelab_run" not in at.session_state
    assert not at.button(key="train_btn").disabled
    assert FAULT in texts(at.error), "the page must say what went wrong"


# -- the labs ---------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Lab:
    page: str  # file name under pages/
    button: str  # the button that starts the lab's job
    result: str  # session key of the finished result, kept when a later run fails
    settings: dict  # text input key -> a small value, so the first (good) run takes a second or two


LABS = [
    Lab("bigger_bottleneck", "bn_run", "bn_result",
        {"cfg_bn_n_train": "100", "cfg_bn_epochs": "2", "cfg_bn_sizes": "2, 8"}),
    Lab("split", "split_pair_train", "split_pair_result", {"cfg_split_epochs": "2", "cfg_split_n": "200"}),
    Lab("denoising", "dn_run", "dn_result", {"cfg_dn_epochs": "2", "cfg_dn_copies": "1", "cfg_dn_n_train": "200"}),
    Lab("anomaly", "an_run", "an_result", {"cfg_an_epochs": "2", "cfg_an_sizes": "", "cfg_an_n_train": "300"}),
    Lab("pca", "pca_train_btn", "pca_result", {"cfg_pca_epochs": "2"}),
    Lab("signals", "sig_train_btn", "signals_result", {"cfg_sig_epochs": "2"}),
]


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.page)
def test_a_lab_job_that_raises_keeps_the_page_usable_and_the_previous_results(monkeypatch, previous, lab):
    """A good run, then a run whose 3rd backward pass raises: the error shows, the first results and model stay."""
    at = open_page(lab.page, {"aelab_run": previous}, **lab.settings)
    press_and_wait(at, lab.button)
    first = at.session_state[lab.result]
    fail_in_backward(monkeypatch, after=2)
    press_and_wait(at, lab.button)
    assert not at.exception, at.exception[0].value if at.exception else ""
    assert FAULT in texts(at.error), f"{lab.page} must say what went wrong"
    assert at.session_state[lab.result] is first, "the previous results stay"
    assert at.session_state["aelab_run"] is previous
    assert not at.button(key=lab.button).disabled, "the learner can run it again"


def test_the_latent_twin_job_that_raises_is_reported_and_stores_nothing(monkeypatch, previous):
    """Latent space, AE vs VAE: a failing twin run shows its error, stores no twin, and can be started again."""
    fail_in_backward(monkeypatch, after=2)
    at = open_page("latent", {"aelab_run": previous, "cfg_latent_tab": "⚖️ AE vs VAE"}, latent_other_epochs="2")
    press_and_wait(at, "latent_other_train")
    assert not at.exception
    assert FAULT in texts(at.error)
    assert "latent_other_run" not in at.session_state
    assert at.session_state["aelab_run"] is previous
    assert not at.button(key="latent_other_train").disabled


def test_a_lesson_experiment_that_raises_is_reported_and_keeps_earlier_outcomes(monkeypatch):
    """Lessons: a step's experiment that raises shows 'failed' with the reason; other steps' outcomes stay."""
    step = lessons.STEPS[0]

    def broken(bundle):
        raise RuntimeError(FAULT)

    steps = (dataclasses.replace(step, experiment=broken), *lessons.STEPS[1:])
    monkeypatch.setattr(lessons, "steps", lambda: steps)
    earlier = object()  # stands for another step's finished outcome
    state = {"_predictions": {f"lesson_{step.key}": step.expected}, "lessons_results": {"other-step": earlier}}
    at = open_page("lessons", state)
    press_and_wait(at, f"lesson_run_{step.key}")
    assert not at.exception
    assert FAULT in texts(at.error)
    assert at.session_state["lessons_results"] == {"other-step": earlier}
    assert not at.button(key=f"lesson_run_{step.key}").disabled
