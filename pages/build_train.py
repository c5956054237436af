"""Build & Train: pick data, design the network, train it live in the background, watch it learn.

Layout (issue 16): a sticky bar of run controls under the title (Train, Play/Pause, Stop, one step, one epoch,
more epochs, speed, reset), the settings on the left and everything live on the right, in one fragment: at the top
a compact summary (progress, loss curves with the last runs overlaid, reconstructions), then inside the network
(the code space with trails, the weights as images), all redrawn while training.

First visit fast: everything up to the run controls is torch-free (the modules imported here; data set sizes from
aelab.catalog), so on a fresh server Train shows before torch is imported; the modules that need torch are imported
where they are used, after the controls are drawn.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from aelab import catalog, diagram, presets, settings, share, text, ui
from aelab.limits import CONTINUATIONS, STEPS_PER_S
from aelab.spec import ArchSpec, Check, TrainConfig, check_arch, check_train, from_settings, to_settings

if TYPE_CHECKING:  # these import torch: loaded once the run controls are drawn (see above)
    from aelab import data

JOB = "train"  # key of this page's job in the session registry
LATENT_KEY = "_train_latent_run"  # session key: the run whose code space the live view has started drawing
EARLIER_KEY = "_train_earlier"  # session key: the last few session models, newest first, for the loss overlay
FORM = settings.BUILD_TRAIN  # this page's settings: widgets, URL, defaults and TrainConfig/ArchSpec all come from it
PRESETS = [p for p in presets.PRESETS if not p.noise]  # the denoising preset belongs to the Denoising page
CONTROLS = "bt_controls"  # key of the sticky bar of run controls


def apply_preset() -> None:
    """Fill the page's settings from the chosen preset (its data set only when it is available)."""
    from aelab import data

    preset = presets.get(st.session_state["cfg_preset"])
    dataset = preset.dataset if data.is_available(preset.dataset) else st.session_state.get("cfg_dataset", data.DIGITS)
    spec, cfg = presets.apply(preset, catalog.INPUT_DIMS[dataset])
    st.session_state.update(share.state_updates(FORM, to_settings(spec, cfg, dataset)))


def advanced():
    """Where the less essential controls go: folded away in classroom mode, inline otherwise."""
    return st.expander("Advanced settings") if ui.classroom_mode() else st.container()


def read_arch(input_dim: int) -> tuple[ArchSpec | None, Check]:
    """Build the ArchSpec from the widgets, collecting every message."""
    check, values = Check(), {}
    st.selectbox("Preset", [p.name for p in PRESETS], key="cfg_preset",
                 help=" ".join(f"**{p.name}**: {p.description}" for p in PRESETS))
    with st.container(horizontal=True, gap="small"):  # wraps instead of cutting a label on a narrow column
        st.button("Apply preset", key="apply_preset", on_click=apply_preset,
                  help="Fill the data, network and training settings from the preset")
        st.button("↺ Reset", key="train_reset", on_click=ui.reset_form, args=(FORM, ("cfg_dataset",)),
                  help="Every setting back to its default for this data set (your model stays).")
    values["cfg_kind"] = ui.field(FORM, "cfg_kind", check)
    values["cfg_layout"] = ui.field(FORM, "cfg_layout", check)
    if values["cfg_layout"] == "conv":
        values["cfg_channels"] = ui.field(FORM, "cfg_channels", check)
    values["cfg_enc"] = ui.field(FORM, "cfg_enc", check)
    code = st.session_state.get("cfg_bottleneck")  # a link's size joins the slider's stops
    stops = settings.code_choices(input_dim, code if isinstance(code, int) else None)
    values["cfg_bottleneck"] = ui.field(FORM, "cfg_bottleneck", check, options=stops)
    with advanced():
        values["cfg_asym"] = ui.field(FORM, "cfg_asym", check)
        if values["cfg_asym"]:
            values["cfg_dec"] = ui.field(FORM, "cfg_dec", check)
        c1, c2 = st.columns(2)
        values["cfg_activation"] = ui.field(FORM, "cfg_activation", check, c1)
        values["cfg_output"] = ui.field(FORM, "cfg_output", check, c2)
        if values["cfg_kind"] != "vae":
            values["cfg_code_act"] = ui.field(FORM, "cfg_code_act", check)
    if not check.ok:
        return None, check
    spec, _ = from_settings(values, input_dim)
    return spec, check_arch(spec)


def read_train(dataset: str, spec: ArchSpec | None) -> tuple[TrainConfig | None, Check]:
    check, values = Check(), {}
    n_total = catalog.SIZES[dataset][0]
    values["cfg_n_train"] = ui.field(FORM, "cfg_n_train", check, options=[
        n for n in FORM["cfg_n_train"].choices if n == "all" or n < n_total],
        format_func=lambda v: f"all {n_total:,}" if v == "all" else f"{v:,}")
    values["cfg_lr"] = ui.field(FORM, "cfg_lr", check)
    c1, c2 = st.columns(2)
    layout = {"cfg_epochs": c1, "cfg_batch": c2}
    with advanced():
        c3, c4 = st.columns(2)
        c5, c6 = st.columns(2)
    layout |= {"cfg_loss": c3, "cfg_optimizer": c4, "cfg_seed": c5}
    kind = st.session_state["cfg_kind"]
    if kind == "vae":
        layout["cfg_beta"] = c6
    else:
        layout["cfg_sparsity"] = c6
    values |= {key: ui.field(FORM, key, check, where) for key, where in layout.items()}
    if kind == "vae":
        st.caption("β trades sharp reconstructions against an orderly code space. With a large β the KL "
                   "term wins: the encoder ignores the image and every code looks like noise.")
    if not check.ok:
        return None, check
    _, cfg = from_settings(values | {"cfg_kind": kind}, catalog.INPUT_DIMS[dataset])
    return cfg, check_train(cfg, spec, n_total)


def arch_readout(spec: ArchSpec) -> None:
    ui.metrics([("Parameters", f"{spec.param_count:,}"),
                ("Compression", f"{spec.compression:.1f} : 1", "Input numbers per code number"),
                ("Layers", spec.layer_text, "Layers with weights, encoder and decoder together")])
    st.caption(diagram.shape_sentence(spec))  # computed from the widths (issue 12, finding 9)
    ui.chart(ui.sandglass(spec, ui.figure_height(230)), "sandglass")
    code_box = st.expander("The same network in PyTorch", key="bt_code", on_change="rerun")
    if code_box.open is not False:  # written only while open (it builds the model; None: a Streamlit that runs all)
        from aelab.model import pytorch_code

        with code_box:
            code = pytorch_code(spec)
            st.code(code, language="python")
            st.download_button("Download autoencoder.py", code, file_name="autoencoder.py", mime="text/x-python")


# -- starting and continuing runs ---------------------------------------------------------------------------
def pace() -> float:
    """Seconds per step at the chosen speed (0: full speed)."""
    steps = STEPS_PER_S.get(st.session_state.get("cfg_speed"), 0.0)
    return 1.0 / steps if steps else 0.0


def start(bundle, spec: ArchSpec, cfg: TrainConfig) -> None:
    """Train a new model with the page's settings."""
    from aelab import runs

    st.session_state["train_meta"] = {"spec": spec, "cfg": cfg, "dataset": bundle.name, "mode": "train"}
    # wait (up to 0.5 s) for the first training-loss point and its weights, so the first drawing shows them
    speed = pace()
    ui.start_job(JOB, lambda ctx: runs.train_run(bundle, spec, cfg, ctx, pace=speed), "train", "training",
                 ready=lambda view: view.state is not None and len(view.history.train) > 0, rerun=False)


def go_on(bundle, spec: ArchSpec, cfg: TrainConfig, mode: str) -> None:
    """Play, one step, one epoch or more epochs: the session model trained further when the settings still describe
    it, else a new model from the settings trained that far (runs.cannot_continue says why; a toast tells it)."""
    from aelab import runs

    run = ui.current_run()
    why_new = runs.cannot_continue(run, spec, cfg, bundle.name, len(bundle.x_train))
    if why_new:
        ui.toast_later(f"A new model from your settings: {why_new}.", "🆕")
    base = runs.untrained(spec, cfg, bundle.name) if why_new else run
    train_cfg, _ = runs.continue_config(base, cfg, mode, cfg.epochs)
    st.session_state["train_meta"] = {"spec": base.spec, "cfg": train_cfg, "dataset": bundle.name, "mode": mode}
    speed = pace()
    ui.start_job(JOB, lambda ctx: runs.continue_run(bundle, base, mode, ctx, cfg=cfg, more=cfg.epochs, pace=speed),
                 "train", "training", ready=lambda view: view.state is not None, rerun=False,
                 budget=runs.budget_left(base, len(bundle.x_train)))


def on_done(job) -> None:
    """A finished run becomes the session model (a stopped or diverged one is offered beside the previous model);
    the previous model's curves join the overlay; a toast says how it ended."""
    from aelab import runs

    run, before = job.result, ui.current_run()
    if isinstance(run, runs.Run):
        ui.settle_run(run)
        if before is not None and ui.current_run() is run and before.lineage != run.lineage:
            st.session_state[EARLIER_KEY] = [before, *st.session_state.get(EARLIER_KEY, [])][:3]
        icon = {"done": "✅", "stopped": "⏹️", "diverged": "⚠️"}.get(run.status, "ℹ️")
        ui.toast_later(f"{run.message} Test loss {run.test_loss:.4f}.", icon)
    else:
        ui.toast_later(job.view().message or "The run ended.", "⚠️")


STEP, EPOCH, MORE, PLAY = CONTINUATIONS  # how far the buttons below train the current model further
STEPS = {"train_play": PLAY, "train_step": STEP, "train_epoch": EPOCH, "train_more": MORE}


def pressed() -> str | None:
    """The run control pressed in this run, if any (read before the buttons are drawn)."""
    return next((key for key in ("train_btn", *STEPS, "train_pause", "train_stop") if st.session_state.get(key)),
                None)


def act(key: str | None, bundle, spec, cfg, ready: bool) -> None:
    """Carry out a press of the run controls before they are drawn, so they show the new state at once."""
    job = ui.get_job(JOB)
    running = job is not None and job.alive
    plays = running and (st.session_state.get("train_meta") or {}).get("mode") == PLAY
    if key is None:
        return
    if key in ("train_stop", "train_play") and (plays or (key == "train_stop" and running)):
        job.stop()  # Stop, or Pause of Play: the model keeps what it learned, and goes on from there next time
        job.join(5)
    elif key == "train_pause" and running:
        job.resume() if job.pause_requested else job.pause()
    elif not running and ready and key == "train_btn":
        start(bundle, spec, cfg)
    elif not running and ready and key in STEPS:
        go_on(bundle, spec, cfg, STEPS[key])


def controls(cfg, ready: bool) -> None:
    """The bar of run controls: Train, Play/Pause, Stop, one step, one epoch, more epochs, speed, reset, link."""
    job = ui.get_job(JOB)
    running = job is not None and job.alive
    plays = running and (st.session_state.get("train_meta") or {}).get("mode") == PLAY
    why = "" if ready else "Fix the messages below first."
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.button("🚀 Train", key="train_btn", type="primary", disabled=running or not ready,
                  help=why or "Train a new model with these settings for the epochs set below.")
        if running and not plays:  # a Train run pauses in place (its slot goes to others) and resumes
            st.button("▶ Resume" if job.pause_requested else "⏸ Pause", key="train_pause",
                      help="Pause or resume the training; nothing is lost.")
        else:
            st.button("⏸ Pause" if plays else "▶ Play", key="train_play", disabled=not plays and not ready,
                      help="Stop here and keep the model; Play, one step or one epoch go on from it." if plays
                      else why or "Train until you pause, from the current weights (a new model when the settings "
                                  "changed the network or the data).")
        st.button("⏹ Stop", key="train_stop", disabled=not running,
                  help="Stop now and keep what the model has learned so far.")
        more = f"⏩ +{cfg.epochs:,} epochs" if cfg is not None else "⏩ More epochs"
        for label, key, tip in (("+1 step", "train_step", "Train on one batch, then stop."),
                                ("+1 epoch", "train_epoch", "Train to the end of the current epoch, then measure the "
                                                            "held-out loss."),
                                (more, "train_more", "Continue training the current model for the epochs set "
                                                     "below.")):
            st.button(label, key=key, disabled=running or not ready, help=why or tip)
        ui.field(FORM, "cfg_speed", Check(), label_visibility="collapsed", width=120)


# -- the live view ------------------------------------------------------------------------------------------
def _ui_model(spec: ArchSpec, state: dict):
    """A model for drawing, reused between polls (weights reloaded only when the job published a new snapshot)."""
    from aelab import runs

    model = st.session_state.get("_train_ui_model")
    if model is None or st.session_state.get("_train_ui_state") is not state:
        model = runs.model_from_state(spec, state, into=model)
        st.session_state["_train_ui_model"], st.session_state["_train_ui_state"] = model, state
    return model


def shown(bundle: data.DataBundle | None, view):
    """What the live view draws: (spec, cfg, data set, history, weights or None, the finished run or None, mode),
    from the live job or the session model; None before any."""
    meta = st.session_state.get("train_meta")
    run = ui.current_run()
    if view is not None and view.active and meta and (view.state is not None or run is None):
        return meta["spec"], meta["cfg"], meta["dataset"], view.history, view.state, None, meta["mode"]
    if run is not None:
        return run.spec, run.cfg, run.dataset, run.history, None, run, "train"
    return None


def show_bundle(bundle: data.DataBundle | None, dataset: str) -> data.DataBundle | None:
    try:
        return bundle if bundle is not None and bundle.name == dataset else ui.get_bundle(dataset)
    except Exception as exc:  # noqa: BLE001 - data removed after training
        st.warning(f"The data set this model was trained on is not available: {exc}")
        return None


def draw_summary(bundle: data.DataBundle | None, view) -> None:
    """The panel: progress, the loss curves (the last runs behind them), a row of reconstructions, then how the run
    ended (below the figures, so they keep their place on a small screen)."""
    what = shown(bundle, view)
    if what is None:
        ui.status_message(view)  # a first run that failed or was stopped still says what happened
        st.info("Press **Train** (or **▶ Play**). The loss curve and reconstructions appear here within a second "
                "and update while the network learns.", icon="👆")
        return
    from aelab import analysis, data, figures, runs

    spec, cfg, dataset, history, state, run, mode = what
    until_paused = mode == PLAY and view is not None and view.active
    ui.progress_bar(view, "Playing until you pause" if until_paused else "Training", until_paused=until_paused,
                    compact=True)
    if state is None and run is None:  # the job has not published its first weights yet
        return
    show = show_bundle(bundle, dataset)
    if show is None:
        return
    model = run.model if state is None else _ui_model(spec, state)
    earlier = []
    if st.session_state.get("cfg_overlay", True):
        current = run or ui.current_run()
        earlier = [(runs.label_against(old, spec, cfg, dataset), old.history)
                   for old in st.session_state.get(EARLIER_KEY, []) if old is not current]
    total = cfg.epochs if mode in ("train", MORE) else None
    floor = None
    if cfg.loss == "bce":  # BCE cannot reach 0 on grey pixels: draw what a perfect copy scores (issue 12, finding 8)
        floors = ui.memo("_train_bce_floor", show)
        floor = floors.setdefault("floor", analysis.bce_floor(show.x_test))
    # at least 240 px: the title, the axis titles and the legend take ~135 px; at 150 px the plot was 35 px and its
    # y-axis title (90 px) ran over the chart's title (Chromium, 1280x720, plain mode, BCE; at 240 the plot is 106 px)
    height = max(ui.figure_height(150), 240)
    if view is not None and view.active and ui.classroom_mode():
        # while the progress bar shows above it, at most 184 px: at 225 px Classroom mode's larger text put the
        # reconstructions 31 px past a 1280x720 screen's bottom (tests/test_browser_train_layout.py); the finished
        # run's has room (240 px: their bottom at 709 px)
        height = min(height, 184)
    ui.chart(ui.kept("loss", history, (total, cfg.loss, floor, height, [(label, id(h)) for label, h in earlier]),
                     lambda: figures.loss_curves(history, total_epochs=total, title="Loss (lower is better)",
                                                 loss=cfg.loss, floor=floor, height=height, earlier=earlier)),
             "loss_chart")
    picked = ui.memo("_train_shown_idx", show)  # the same ten held-out images for as long as the data set stays
    if "idx" not in picked:
        picked["idx"] = data.sample_indices(show.y_test, per_class=1, n=10)
    idx = picked["idx"]
    x = show.x_test[idx]  # (10, D)
    recon = ui.kept("recon_values", model if state is None else state, (show.name,),  # once per snapshot
                    lambda: analysis.reconstruct(model, x))
    height = ui.figure_height(120)
    ui.chart(ui.kept("recon", recon, (show.name, height), lambda: figures.image_grid(
        [x.numpy(), recon.numpy()], show.image_shape, row_labels=["in", "out"],
        col_labels=[show.class_names[int(show.y_test[i])] for i in idx],
        title="Held-out images and their reconstructions", height=height)), "recon_grid")
    ui.status_message(view)
    if run is not None:
        st.caption(f"Showing the session model: {run.spec.describe()} on {data.DATASETS.get(run.dataset)}, "
                   f"{run.epochs_done} epochs, {run.seconds:.1f} s. {text.md(run.message)}")


def draw_live(bundle: data.DataBundle | None, spec, cfg, ready: bool, view) -> None:
    """Everything live, in one fragment (one rerun per update): the summary, what to do next, inside the network."""
    draw_summary(bundle, view)
    from aelab import runs

    meta = st.session_state.get("train_meta")
    if view is not None and view.active and meta and ready and \
            runs.settings_changed(meta["spec"], meta["cfg"], meta["dataset"], spec, cfg, bundle.name):
        st.info("You changed settings while training: they apply the next time you press Train (the learning rate "
                "and batch size also to Play, one step and one epoch, which go on from this model).", icon="✏️")
    ui.offered_run_choice()
    with st.container(horizontal=True, vertical_alignment="center"):
        ui.field(FORM, "cfg_overlay")
        ui.copy_link_button("build_train")
    ui.share_to_class(None if view is not None and view.active else ui.current_run(), key="train")
    draw_inside(bundle, view)


def draw_inside(bundle: data.DataBundle | None, view) -> None:
    """Inside the network, redrawn with every update: the code space (with trails while training) and the weights
    as images; the VAE's loss terms."""
    what = shown(bundle, view)
    if what is None:
        return
    from aelab import figures

    spec, cfg, dataset, history, state, run, _ = what
    if state is None and run is None:
        return
    show = show_bundle(bundle, dataset)
    if show is None:
        return
    model = run.model if state is None else _ui_model(spec, state)
    st.header("Inside the network")
    # one trail frame per weights snapshot: the step it was taken at, not the view's version, which also counts the
    # job's status changes (queued <-> running at every turn on a shared server: repeated frames, and an encoding and
    # a new figure on each redraw of a job waiting for its turn)
    at_step = view.progress.step if view is not None and view.progress is not None else 0
    draw_latent(model, spec, show, live=state is not None, at_step=at_step)
    ui.weights_images(model.state_dict() if state is None else state, show, "weights_chart",
                      height=ui.figure_height(420), owner=model if state is None else None)
    if spec.kind == "vae" and history.terms:
        ui.chart(figures.vae_terms(history, height=ui.figure_height(260)), "vae_terms")
    if spec.kind == "vae" and run is not None and state is None:  # the finished VAE: does it use its code?
        ui.vae_health(run, show)


def draw_latent(model, spec: ArchSpec, show: data.DataBundle, live: bool = False, at_step: int = 0) -> None:
    """The code space: while training, a fixed set of points with the trails of their last positions; after
    training, up to 1,000 held-out points (a 2D or rotatable 3D scatter)."""
    from aelab import inside

    k = spec.bottleneck
    dims = k if k <= 3 else (3 if st.session_state.get("cfg_latent_dims") == "3D" else 2)
    if k > 3:
        ui.field(FORM, "cfg_latent_dims", Check(),
                 help=f"The code has {k} numbers; PCA shows its two or three main directions.")
    job = ui.get_job(JOB)
    run_id = job.id if job is not None else None  # unique per Train press
    height = ui.figure_height(420)
    if live and st.session_state.get(LATENT_KEY) != run_id:
        # the first live drawing leaves the code space to the next update, half a second later: the curves
        # and reconstructions then reach the screen first (a first 3D drawing can hold the browser ~1 s)
        st.session_state[LATENT_KEY] = run_id
        with st.container(height=height, border=False):
            st.caption("Code space: drawing with the next update…")
        return
    if live:
        trails = ui.code_trails(model, show, run_id, at_step)
        fig = ui.kept("trails", trails, (trails.last_key, dims, height),
                      lambda: inside.trails_figure(trails, show.class_names, dims, height=height))
    else:
        fig = ui.kept("latent", model, (show.name, dims, height), lambda: latent_figure(model, show, dims, height))
    ui.chart(fig, "latent_chart")


def latent_figure(model, show: data.DataBundle, dims: int, height: int):
    from aelab import analysis, figures

    sub = analysis.subsample(len(show.x_test), 1000)
    codes = analysis.encode(model, show.x_test[sub])  # (n, k)
    points, how = analysis.project(codes, dims)
    note = f" (1,000 of {len(show.x_test):,} held-out points)" if len(show.x_test) > 1000 else ""
    return figures.latent_scatter(points, show.y_test[sub].numpy(), show.class_names,
                                  title=f"Code space: {how}{note}", indices=sub, height=height)


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM)
    ui.sync_query_params(FORM, "build_train")  # settings <-> URL, so a link reproduces them
    ui.pending_toast()
    st.title("🏗️ Build & Train")
    bar = st.container(key=CONTROLS)  # the run controls, drawn once the settings are read (they need them)
    ui.sticky(CONTROLS)
    col_set, col_live = st.columns([1, 1.2], gap="medium")
    with col_set:
        st.caption("Design an autoencoder, press Train or Play, and watch it learn. Training runs in the "
                   "background: the page stays usable.")
        st.header("1 · Data")
        dataset = ui.dataset_select("cfg_dataset")
        ui.follow_dataset(FORM, dataset)
        loading = st.container()  # the data set itself: loaded after the controls (a missing one offers a download)
        n_train, n_test = catalog.SIZES[dataset]
        side = int(catalog.INPUT_DIMS[dataset] ** 0.5)
        st.caption(f"{n_train:,} training and {n_test:,} held-out images of {side}×{side} = "
                   f"{catalog.INPUT_DIMS[dataset]} pixels.")
        st.header("2 · Network")
        spec, arch_check = read_arch(catalog.INPUT_DIMS[dataset])
        ui.show_check(arch_check)
        st.header("3 · Training")
        cfg, train_check = read_train(dataset, spec)
        ui.show_check(train_check)
    key = pressed()
    bundle = None
    if dataset != catalog.DIGITS or key is not None:  # a 28x28 set must be on this machine; a press needs its data
        with loading:
            bundle = ui.dataset_bundle(dataset)
    usable = bundle is not None or dataset == catalog.DIGITS
    ready = usable and spec is not None and cfg is not None and arch_check.ok and train_check.ok
    act(key, bundle, spec, cfg, ready and bundle is not None)  # before the controls: they show its effect at once
    with bar:
        controls(cfg, ready)
    ui.wait_until_warm()  # a fresh server: torch and its optimizer load now, so the first Train starts at once
    if bundle is None and usable:
        with loading:
            bundle = ui.dataset_bundle(dataset)
    if spec is not None and arch_check.ok:
        with col_set:
            arch_readout(spec)
    with col_live:
        ui.live_job(JOB, lambda view: draw_live(bundle, spec, cfg, ready, view), on_done=on_done, every=0.5)
    ui.pending_toast()  # one this run queued (a new model started); a run that ends reruns the page first
    job = ui.get_job(JOB)
    if job is not None and not job.alive:
        ui.focus_button("train_btn", job.id, area=CONTROLS)  # after a run, the keyboard focus returns to Train


main()
