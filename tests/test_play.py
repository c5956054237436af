"""Continuing a run (issue 16): runs.continue_run / cannot_continue / budget_left in the library, a slowed run that
rests off its CPU slot (jobs.JobContext.rest), and Build & Train's Play, one step, one epoch, more epochs, speed,
reset, the loss overlay and the conv / sparse settings on the page.

Timing bounds are generous and only prove properties ("the other student trains while this one rests").
Run: python -m pytest -q tests/test_play.py
"""
from __future__ import annotations

import json
import time

import pytest
import torch
from conftest import ROOT, set_field, wait_for_jobs
from session_tabs import wait_until
from streamlit.testing.v1 import AppTest

from aelab import checkpoint, jobs, limits, runs, scheduler, train
from aelab.settings import BUILD_TRAIN
from aelab.spec import ArchSpec, TrainConfig

SPEC = ArchSpec(64, (32,), 4)
CFG = TrainConfig(epochs=2, batch_size=64, n_train=320, seed=1)


@pytest.fixture(scope="module")
def trained(digits):
    return runs.train_run(digits, SPEC, CFG)


# -- the library ----------------------------------------------------------------------------------------------
def test_continuing_keeps_the_lineage_and_appends_the_curves(digits, trained):
    """One step, one epoch and more epochs go on from the run's weights: the same lineage, the history extended."""
    step = runs.continue_run(digits, trained, runs.STEP)
    assert step.lineage == trained.lineage and step.status == "done" and "One more step" in step.message
    assert len(step.history.train) == len(trained.history.train) + 1 and step.history.test == trained.history.test
    assert step.position == pytest.approx(2 + 64 / 320) and step.epochs_done == 2
    epoch = runs.continue_run(digits, step, runs.EPOCH)
    assert epoch.epochs_done == 3 and epoch.history.epoch_x == [0, 1, 2, 3] and epoch.position == 3
    more = runs.continue_run(digits, epoch, runs.MORE, more=4)
    assert more.epochs_done == 7 and more.cfg.epochs == 7 and more.lineage == trained.lineage
    assert trained.epochs_done == 2 and len(trained.history.test) == 3  # the continued run keeps its own state


def test_continuing_equals_training_longer(digits, trained):
    """2 epochs, then 2 more, give the same weights and test losses as 4 epochs at once."""
    more = runs.continue_run(digits, trained, runs.MORE, more=2)
    whole = runs.train_run(digits, SPEC, TrainConfig(epochs=4, batch_size=64, n_train=320, seed=1))
    x = digits.x_test[:16]
    with torch.no_grad():
        assert torch.equal(more.model(x), whole.model(x))
    assert more.history.test == pytest.approx(whole.history.test, rel=1e-6)


def test_a_new_learning_rate_and_batch_size_apply_to_a_continuation(digits, trained):
    """Continue takes the page's learning rate and batch size; the run's other settings stay its own."""
    page = TrainConfig(epochs=99, batch_size=32, n_train=320, seed=1, lr=0.01)
    run = runs.continue_run(digits, trained, runs.EPOCH, cfg=page)
    assert run.cfg.lr == 0.01 and run.cfg.batch_size == 32 and run.cfg.epochs == 3 and run.cfg.seed == 1


def test_cannot_continue_names_what_changed(digits, trained):
    """A different data set, network or fixed training setting means a new model; lr and batch size do not."""
    n = len(digits.x_train)
    assert runs.cannot_continue(trained, SPEC, CFG, "digits", n) == ""
    assert runs.cannot_continue(trained, SPEC, TrainConfig(epochs=9, batch_size=16, n_train=320, seed=1, lr=0.1),
                             "digits", n) == ""
    assert runs.cannot_continue(None, SPEC, CFG, "digits", n) == "there is no model yet"
    assert runs.cannot_continue(trained, SPEC, CFG, "mnist", n) == "the data set changed"
    assert runs.cannot_continue(trained, ArchSpec(64, (32,), 5), CFG, "digits", n) == "the network changed"
    assert runs.cannot_continue(trained, SPEC, TrainConfig(epochs=2, batch_size=64, n_train=320, seed=2), "digits",
                             n) == "the seed changed"


def test_cannot_continue_refuses_at_the_epoch_limit_and_the_compute_limit(digits, trained, monkeypatch):
    """A run at MAX_EPOCHS, or one that used its compute, cannot go on (the reason says which limit)."""
    monkeypatch.setattr(runs, "MAX_EPOCHS", 2)
    assert "2 epochs, the most one run may" in runs.cannot_continue(trained, SPEC, CFG, "digits", 1438)
    monkeypatch.setattr(runs, "MAX_EPOCHS", limits.MAX_EPOCHS)
    used = runs.compute_used(trained, len(digits.x_train))
    assert used == SPEC.param_count * 2 * 320
    monkeypatch.setenv("AELAB_MAX_COMPUTE", str(used))
    assert runs.budget_left(trained, 1438) == 0
    assert "units of compute" in runs.cannot_continue(trained, SPEC, CFG, "digits", 1438)


def test_play_ends_at_the_epoch_limit(digits, trained, monkeypatch):
    """Play trains until stopped, at most MAX_EPOCHS in all, and says so when it gets there."""
    monkeypatch.setattr(runs, "MAX_EPOCHS", 4)
    run = runs.continue_run(digits, trained, runs.PLAY)
    assert run.epochs_done == 4 and run.status == "done" and "Reached 4 epochs" in run.message


def test_pausing_a_play_job_keeps_the_model_and_the_next_play_goes_on(digits, trained):
    """Stopping a Play job ends it as 'done' ("Paused at ..."), and a second Play continues the same curves."""
    job = jobs.Job(lambda ctx: runs.continue_run(digits, trained, runs.PLAY, ctx), name="play").start()
    assert wait_until(lambda: job.view().progress is not None and job.view().progress.step > trained.cursor.step + 5)
    job.stop()
    assert job.join(20)
    paused = job.result
    assert paused.status == "done" and paused.message.startswith("Paused at epoch") and paused.cursor is not None
    assert runs.settle(paused, trained).use
    again = runs.continue_run(digits, paused, runs.STEP)
    assert again.history.step_x[:len(paused.history.step_x)] == paused.history.step_x


def test_a_continuation_stopped_or_over_budget_replaces_its_parent_a_diverged_one_is_offered(digits, trained):
    """settle: a stopped continuation is the same model trained more (kept); a diverged one is offered."""
    budget = SPEC.param_count * 100  # about a third of a batch of 320 images: stops at its first logged point
    job = jobs.Job(lambda ctx: runs.continue_run(digits, trained, runs.EPOCH, ctx), name="budget", budget=budget)
    assert job.start().join(30)
    over = job.result
    assert over.status == "stopped" and "compute limit" in over.message and over.lineage == trained.lineage
    assert runs.settle(over, trained).use
    linear = ArchSpec(64, (32,), 4, activation="identity", output="none")  # tests/test_app_persist.py's DIVERGE
    calm = runs.train_run(digits, linear, TrainConfig(optimizer="sgd", lr=0.01, epochs=1, batch_size=64))
    blown = runs.continue_run(digits, calm, runs.EPOCH, cfg=TrainConfig(lr=1.0, batch_size=1))
    assert blown.status == "diverged" and blown.lineage == calm.lineage and blown.cursor is None
    assert not runs.settle(blown, calm).use


def test_a_budget_left_for_the_continuation_job(digits, trained):
    """budget_left is the server limit minus what the run used; a fresh untrained model has used nothing."""
    fresh = runs.untrained(SPEC, CFG, "digits")
    assert runs.compute_used(fresh, 1438) == 0 and fresh.lineage not in (0, trained.lineage)
    assert runs.budget_left(trained, 1438) == pytest.approx(1e13 - SPEC.param_count * 640)


def test_playing_an_untrained_model_is_training_from_scratch(digits):
    """A new model continued for 2 epochs is exactly train_run's model (same weights, same curves)."""
    fresh = runs.untrained(SPEC, CFG, "digits")
    played = runs.continue_run(digits, fresh, runs.MORE, more=2)
    plain = runs.train_run(digits, SPEC, CFG)
    assert played.history.test == pytest.approx(plain.history.test, rel=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(played.model.state_dict().values(),
                                                 plain.model.state_dict().values()))


def test_a_long_continued_run_still_exports(digits, trained, monkeypatch):
    """Many single steps (one training point each) stay within the history limit, and the run round-trips through a
    checkpoint (the limit made small here, in the training loop and in the checkpoint check alike)."""
    monkeypatch.setattr(train, "MAX_HISTORY_POINTS", 24)
    monkeypatch.setattr(limits, "MAX_HISTORY_POINTS", 24)
    run = trained
    for _ in range(30):
        run = runs.continue_run(digits, run, runs.STEP)
    assert len(run.history.train) <= 24 and run.history.step_x == sorted(run.history.step_x)
    back = checkpoint.from_bytes(checkpoint.to_bytes(run))
    assert back.history.train == run.history.train and back.spec == SPEC


def test_a_slowed_run_rests_off_its_slot_so_another_student_trains(monkeypatch, digits):
    """A run at 2 steps/s gives its slot back while it rests: another student's job waiting for the only slot
    trains meanwhile, although the time slice (10 s) has not ended."""
    monkeypatch.setattr(jobs, "_slots", scheduler.Scheduler(1, "fair", slice_s=10.0))
    slow = jobs.Job(lambda ctx: runs.train_run(digits, SPEC, TrainConfig(epochs=50, batch_size=8), ctx, pace=0.5),
                    name="slow", student="a").start()
    assert wait_until(lambda: slow.view().progress is not None)
    steps = []

    def other(ctx):
        while not ctx.should_stop():
            steps.append(1)
            time.sleep(0.01)

    fast = jobs.Job(other, name="other", student="b").start()
    assert wait_until(lambda: len(steps) > 3, 5.0)
    fast.stop()
    slow.stop()
    assert fast.join(10) and slow.join(10)


# -- the page -------------------------------------------------------------------------------------------------
def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "build_train.py"), default_timeout=90)
    at.run()
    assert not at.exception
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception
    wait_for_jobs()
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest, *kinds: str) -> str:
    return " ".join(str(e.value) for kind in kinds or ("success", "info", "caption") for e in getattr(at, kind))


def chart_json(at: AppTest, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)


def small(at: AppTest, epochs: int = 2) -> AppTest:
    """A quick model: 2 epochs of the default network on 300 images."""
    set_field(at, "cfg_epochs", str(epochs))
    at.select_slider(key="cfg_n_train").set_value(200).run()
    return at


def test_step_epoch_and_more_continue_the_session_model():
    """Train, then +1 step, +1 epoch and +N epochs: one lineage, the history appended, the model replaced."""
    at = small(page())
    press(at, "train_btn")
    first = at.session_state["aelab_run"]
    press(at, "train_step")
    step = at.session_state["aelab_run"]
    assert step.lineage == first.lineage and len(step.history.train) == len(first.history.train) + 1
    assert "One more step" in texts(at)
    press(at, "train_epoch")
    assert at.session_state["aelab_run"].epochs_done == 3
    press(at, "train_more")  # the epochs box says 2: two more
    run = at.session_state["aelab_run"]
    assert run.epochs_done == 5 and run.lineage == first.lineage and "+2 epochs" in at.button(key="train_more").label


def test_play_trains_until_paused_then_goes_on():
    """▶ Play starts a run without an end; its button becomes ⏸ Pause, which stops it and keeps the model."""
    at = small(page())
    at.button(key="train_play").click().run()
    assert not at.exception
    job = at.session_state["_aelab_jobs"]["train"]
    assert job.alive and at.button(key="train_play").label == "⏸ Pause"
    assert wait_until(lambda: job.view().progress is not None and job.view().progress.epoch >= 1, 60)
    at.button(key="train_play").click().run()
    wait_for_jobs()
    at.run()
    run = at.session_state["aelab_run"]
    assert run.status == "done" and run.message.startswith("Paused at epoch") and run.epochs_done >= 1
    assert at.button(key="train_play").label == "▶ Play" and not at.exception
    press(at, "train_step")
    assert at.session_state["aelab_run"].lineage == run.lineage


def test_changed_network_makes_play_and_step_start_a_new_model():
    """After the network changes, one step trains a new model (TensorFlow Playground's reset on a change)."""
    at = small(page())
    press(at, "train_btn")
    first = at.session_state["aelab_run"]
    at.select_slider(key="cfg_bottleneck").set_value(3).run()
    at.button(key="train_step").click().run()
    toasts = [str(t.value) for t in at.toast]
    wait_for_jobs()
    at.run()
    toasts += [str(t.value) for t in at.toast]
    assert "A new model from your settings: the network changed." in toasts
    run = at.session_state["aelab_run"]
    assert run.lineage != first.lineage and run.spec.bottleneck == 3 and run.history.step_x[-1] < 1


def test_speed_slows_a_run_down():
    """At 1 step/s a run takes at most a few steps in 1.5 s (full speed takes hundreds)."""
    at = small(page(), epochs=50)
    at.selectbox(key="cfg_speed").set_value("slowest").run()
    at.button(key="train_btn").click().run()
    job = at.session_state["_aelab_jobs"]["train"]
    assert wait_until(lambda: job.view().progress is not None, 30)
    time.sleep(1.5)
    assert job.view().progress.step <= 4
    at.button(key="train_stop").click().run()
    wait_for_jobs()


def test_reset_puts_every_setting_back_to_the_data_sets_default():
    """↺ Reset restores the Digits defaults (network, learning rate, epochs, layout) and keeps the data set."""
    at = page()
    set_field(at, "cfg_epochs", "7")
    at.select_slider(key="cfg_lr").set_value(0.05)
    at.radio(key="cfg_layout").set_value("conv").run()
    at.button(key="train_reset").click().run()
    assert not at.exception
    assert at.number_input(key="cfg_epochs").value == BUILD_TRAIN["cfg_epochs"].default_for("digits")
    assert at.select_slider(key="cfg_lr").value == 0.002
    assert at.radio(key="cfg_layout").value == "dense" and at.session_state["cfg_dataset"] == "digits"


def test_the_loss_chart_overlays_the_last_runs_with_what_changed():
    """After a second run with another learning rate, the first run's curve is drawn behind, named by its rate."""
    at = small(page())
    press(at, "train_btn")
    at.select_slider(key="cfg_lr").set_value(0.01).run()
    press(at, "train_btn")
    names = [t.get("name") for t in chart_json(at, "loss_chart")["data"]]
    assert "before: learning rate 0.002" in names and "test (held out)" in names
    at.toggle(key="cfg_overlay").set_value(False).run()
    assert not any(n and n.startswith("before") for n in (t.get("name") for t in chart_json(at, "loss_chart")["data"]))


def test_a_conv_model_trains_shows_its_shapes_and_round_trips_through_save_and_load():
    """The conv layout trains from the page, its sandglass and shape sentence name C×H×W, and its checkpoint
    loads back through the Save & load page with identical outputs."""
    at = small(page())
    at.radio(key="cfg_layout").set_value("conv").run()
    at.text_input(key="cfg_channels").set_value("8, 16").run()
    labels = [a["text"] for a in chart_json(at, "sandglass")["layout"]["annotations"]]
    assert "8×4×4" in labels and "16×2×2" in labels and not at.exception
    press(at, "train_btn")
    run = at.session_state["aelab_run"]
    assert run.spec.is_conv and run.spec.channels == (8, 16) and run.status == "done"
    assert any("weights_chart" in c.proto.id for c in at.get("plotly_chart"))
    io_page = AppTest.from_file(str(ROOT / "pages" / "model_io.py"), default_timeout=60)
    io_page.session_state["aelab_run"] = run
    io_page.run()
    io_page.file_uploader(key="model_io_upload").set_value(("m.pt", checkpoint.to_bytes(run), "application/x")).run()
    io_page.button(key="model_io_use").click().run()
    back = io_page.session_state["aelab_run"]
    assert back is not run and back.spec == run.spec
    x = torch.rand(3, 64)
    with torch.no_grad():
        assert torch.equal(back.model(x), run.model(x))


def test_sparsity_trains_with_its_l1_term_and_a_link_too_large_is_refused():
    """A sparsity weight trains a sparse AE (its L1 term recorded); a link asking for 50 gets the default and a note;
    either way the session model stays."""
    at = small(page())
    at.select_slider(key="cfg_sparsity").set_value(0.01).run()
    press(at, "train_btn")
    run = at.session_state["aelab_run"]
    assert run.cfg.sparsity == 0.01 and "l1" in run.history.terms
    linked = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    linked.query_params.update({"sparse": "50", "ch": "16,999", "layout": "conv"})
    linked.run()
    linked.switch_page("pages/build_train.py").run()
    assert not linked.exception
    notes = " ".join(str(w.value) for w in linked.warning)
    assert "sparsity weight" in notes and "conv channels" in notes
    assert linked.select_slider(key="cfg_sparsity").value == 0.0


def test_bad_conv_settings_keep_the_model_and_say_what_to_change():
    """Too many conv layers for an 8x8 image: a message, Train disabled, the session model untouched."""
    at = small(page())
    press(at, "train_btn")
    run = at.session_state["aelab_run"]
    at.radio(key="cfg_layout").set_value("conv").run()
    at.text_input(key="cfg_channels").set_value("4, 4, 4, 4").run()
    assert "halved 3 times" in texts(at, "error") and at.button(key="train_btn").disabled
    assert at.button(key="train_play").disabled and at.button(key="train_step").disabled
    assert at.session_state["aelab_run"] is run and not at.exception


# -- the defaults and the words about shape (issues 12 and 16) -------------------------------------------------
@pytest.mark.parametrize("dataset", ["digits", "mnist", "fashion"])
def test_every_data_sets_default_network_is_a_sandglass_within_the_budget(dataset, monkeypatch):
    """Build & Train's default network on each data set narrows at every encoder layer and widens back at every
    decoder layer (finding 9 of issue 12), and its default run fits the server's compute budget."""
    from aelab import catalog, settings
    from aelab.spec import check_train, from_settings

    monkeypatch.delenv("AELAB_MAX_COMPUTE", raising=False)
    defaults = settings.BUILD_TRAIN.defaults(dataset)
    spec, cfg = from_settings(defaults, catalog.INPUT_DIMS[dataset])
    widths, k = spec.widths, len(spec.encoder) + 1  # k: the code's place
    assert all(b < a for a, b in zip(widths[:k + 1], widths[1:k + 1])), widths
    assert all(b > a for a, b in zip(widths[k:], widths[k + 1:])), widths
    assert check_train(cfg, spec, catalog.SIZES[dataset][0]).ok


def test_the_bottleneck_slider_offers_small_codes_wide_codes_and_a_links_value():
    """Every size to 8, then about a quarter more per stop up to 4x the input; a link's odd size is kept."""
    from aelab import settings

    stops = settings.code_choices(64)
    assert stops[:8] == list(range(1, 9)) and stops[-1] == 256 and 64 in stops
    assert all(b / a <= 1.25 for a, b in zip(stops[8:], stops[9:]))
    assert 17 in settings.code_choices(784, 17) and 17 not in settings.code_choices(784)


def test_a_links_learning_rate_off_the_slider_stops_is_kept():
    """A link's learning rate of 0.0375 (not a 1-2-5 stop) opens on the slider and stays in the URL."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update({"lr": "0.0375", "data": "digits", "epochs": "300"})
    at.run()
    at.switch_page("pages/build_train.py").run()
    at.run()
    assert not at.exception and at.select_slider(key="cfg_lr").value == 0.0375
    assert at.query_params["lr"] == "0.0375"
    assert at.number_input(key="cfg_epochs").value == 300


def test_a_finished_run_brings_a_toast():
    """When a run ends, the next full drawing of the page shows a toast with how it ended and its test loss."""
    at = small(page())
    at.button(key="train_btn").click().run()  # a short run may already end within this drawing
    toasts = [str(t.value) for t in at.toast]
    wait_for_jobs()
    at.run()
    toasts += [str(t.value) for t in at.toast]
    run = at.session_state["aelab_run"]
    assert [t for t in toasts if f"Test loss {run.test_loss:.4f}" in t and "Finished 2 epochs" in t]


def test_a_model_loaded_from_a_checkpoint_continues_with_a_fresh_optimizer(digits, trained):
    """A run read back from a checkpoint has no cursor: it continues from its last epoch (a fresh optimizer), its
    curves appended, and the continuation replaces it as the session model."""
    loaded = checkpoint.from_bytes(checkpoint.to_bytes(trained))
    assert loaded.cursor is None and loaded.lineage != trained.lineage
    more = runs.continue_run(digits, loaded, runs.EPOCH)
    assert more.epochs_done == 3 and more.history.epoch_x == [0, 1, 2, 3] and more.lineage == loaded.lineage
    assert more.history.test[:3] == loaded.history.test and runs.settle(more, loaded).use
