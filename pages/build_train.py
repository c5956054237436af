"""Build & Train: pick data, design the network, train it live in the background, watch it learn."""

import streamlit as st

from aelab import analysis, catalog, data, diagram, figures, presets, runs, settings, share, text, ui
from aelab.model import pytorch_code
from aelab.spec import ArchSpec, Check, TrainConfig, check_arch, check_train, from_settings, to_settings

JOB = "train"  # key of this page's job in the session registry
LATENT_KEY = "_train_latent_run"  # session key: the run whose code space the live view has started drawing
FORM = settings.BUILD_TRAIN  # this page's settings: widgets, URL, defaults and TrainConfig/ArchSpec all come from it
PRESETS = [p for p in presets.PRESETS if not p.noise]  # the denoising preset belongs to the Denoising page


def apply_preset() -> None:
    """Fill the page's settings from the chosen preset (its data set only when it is available)."""
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
    st.button("Apply preset", on_click=apply_preset, help="Fill the data, network and training settings from "
                                                           "the preset")
    for key in ("cfg_kind", "cfg_enc", "cfg_bottleneck"):
        values[key] = ui.field(FORM, key, check)
    with advanced():
        values["cfg_asym"] = ui.field(FORM, "cfg_asym", check)
        if values["cfg_asym"]:
            values["cfg_dec"] = ui.field(FORM, "cfg_dec", check)
        c1, c2 = st.columns(2)
        values["cfg_activation"] = ui.field(FORM, "cfg_activation", check, c1)
        values["cfg_output"] = ui.field(FORM, "cfg_output", check, c2)
    if not check.ok:
        return None, check
    spec, _ = from_settings(values, input_dim)
    return spec, check_arch(spec)


def read_train(bundle: data.DataBundle, spec: ArchSpec | None) -> tuple[TrainConfig | None, Check]:
    check, values = Check(), {}
    n_total = len(bundle.x_train)
    values["cfg_n_train"] = ui.field(FORM, "cfg_n_train", check, options=[
        n for n in FORM["cfg_n_train"].choices if n == "all" or n < n_total],
        format_func=lambda v: f"all {n_total:,}" if v == "all" else f"{v:,}")
    c1, c2 = st.columns(2)
    layout = {"cfg_lr": c1, "cfg_epochs": c2}
    with advanced():
        c3, c4 = st.columns(2)
        c5, c6 = st.columns(2)
    layout |= {"cfg_loss": c3, "cfg_optimizer": c4, "cfg_batch": c5, "cfg_seed": c6}
    if st.session_state["cfg_kind"] == "vae":
        st.caption("β trades sharp reconstructions against an orderly code space. With a large β the KL "
                   "term wins: the encoder ignores the image and every code looks like noise (measured on "
                   "Digits: β=1 left the mean codes almost constant, β=0.1 kept them informative).")
        layout["cfg_beta"] = st.container()
    values |= {key: ui.field(FORM, key, check, where) for key, where in layout.items()}
    if not check.ok:
        return None, check
    _, cfg = from_settings(values, bundle.input_dim)
    return cfg, check_train(cfg, spec, n_total)


def arch_readout(spec: ArchSpec) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Parameters", f"{spec.param_count:,}")
    c2.metric("Compression", f"{spec.compression:.1f} : 1", help="Input numbers per code number")
    c3.metric("Layers", f"{len(spec.widths) - 1} Linear")
    ui.chart(diagram.sandglass(spec, height=230), width="stretch", key="sandglass")
    with st.expander("The same network in PyTorch", expanded=False):
        code = pytorch_code(spec)
        st.code(code, language="python")
        st.download_button("Download autoencoder.py", code, file_name="autoencoder.py", mime="text/x-python")


def start(bundle: data.DataBundle, spec: ArchSpec, cfg: TrainConfig) -> None:
    if not ui.job_is_active(JOB):
        st.session_state["train_meta"] = {"spec": spec, "cfg": cfg, "dataset": bundle.name}
    # wait (up to 0.5 s) for the first training-loss point and its weights, so the first drawing shows them
    ui.start_job(JOB, lambda ctx: runs.train_run(bundle, spec, cfg, ctx), "train", "training",
                 ready=lambda view: view.state is not None and len(view.history.train) > 0, rerun=False)


def on_done(job) -> None:
    """A finished run becomes the session model; a stopped or diverged one is offered beside the previous model."""
    run = job.result
    if isinstance(run, runs.Run):
        ui.settle_run(run)


def _ui_model(spec: ArchSpec, state: dict):
    """A model for drawing, reused between polls (weights reloaded from the job's snapshot)."""
    model = runs.model_from_state(spec, state, into=st.session_state.get("_train_ui_model"))
    st.session_state["_train_ui_model"] = model
    return model


def draw_live(bundle: data.DataBundle | None, view) -> None:
    """Progress, curves, reconstructions and latent space: from the live job or the finished run."""
    meta = st.session_state.get("train_meta")
    run = ui.current_run()
    if view is not None and view.active and meta and (view.state is not None or run is None):
        spec, cfg, dataset, history, state = meta["spec"], meta["cfg"], meta["dataset"], view.history, view.state
    elif run is not None:
        spec, cfg, dataset, history, state = run.spec, run.cfg, run.dataset, run.history, None
    else:
        ui.status_message(view)  # a first run that failed or was stopped still says what happened
        st.info("Press **Train** to start. Curves, reconstructions and the code space appear here within a "
                "second and update while the network learns.", icon="👆")
        return
    ui.progress_bar(view)
    ui.status_message(view)
    if state is None and run is None:  # the job has not published its first weights yet
        return
    if run is not None and not (view is not None and view.active):
        st.caption(f"Showing the session model: {run.spec.describe()} on {data.DATASETS.get(run.dataset)}, "
                   f"{run.epochs_done} epochs, {run.seconds:.1f} s. {text.md(run.message)}")
    try:
        show = bundle if bundle is not None and bundle.name == dataset else ui.get_bundle(dataset)
    except Exception as exc:  # noqa: BLE001 - data removed after training
        st.warning(f"The data set this model was trained on is not available: {exc}")
        return
    model = run.model if state is None else _ui_model(spec, state)
    left, right = st.columns(2)
    with left:
        ui.chart(figures.loss_curves(history, total_epochs=cfg.epochs, title="Loss (lower is better)",
                                                  height=ui.figure_height(320)),
                 width="stretch", key="loss_chart")
        if spec.kind == "vae" and history.terms:
            ui.chart(figures.vae_terms(history), width="stretch", key="vae_terms")
        idx = data.sample_indices(show.y_test, per_class=1, n=10)
        x = show.x_test[idx]  # (10, D)
        recon = analysis.reconstruct(model, x)
        ui.chart(figures.image_grid([x.numpy(), recon.numpy()], show.image_shape,
                                    row_labels=["input", "output"],
                                    col_labels=[show.class_names[int(show.y_test[i])] for i in idx],
                                    title="Held-out images and their reconstructions"),
                 width="stretch", key="recon_grid")
    with right:
        draw_latent(model, spec, show, live=state is not None)


def latent_figure(model, spec: ArchSpec, show: data.DataBundle, dims: int):
    sub = analysis.subsample(len(show.x_test), 1000)
    codes = analysis.encode(model, show.x_test[sub])  # (n, k)
    points, how = analysis.project(codes, dims)
    note = f" (1,000 of {len(show.x_test):,} held-out points)" if len(show.x_test) > 1000 else ""
    return figures.latent_scatter(points, show.y_test[sub].numpy(), show.class_names,
                                  title=f"Code space: {how}{note}", indices=sub, height=ui.figure_height(560))


def draw_latent(model, spec: ArchSpec, show: data.DataBundle, live: bool = False) -> None:
    """The code space, redrawn with every update while training (a 2D or rotatable 3D scatter)."""
    k = spec.bottleneck
    dims = k if k <= 3 else (3 if st.session_state.get("cfg_latent_dims") == "3D" else 2)
    if k > 3:
        ui.field(FORM, "cfg_latent_dims", Check(),
                 help=f"The code has {k} numbers; PCA shows its two or three main directions.")
    job = ui.get_job(JOB)
    run_id = job.id if job is not None else None  # unique per Train press
    if live and st.session_state.get(LATENT_KEY) != run_id:
        # the first live drawing leaves the code space to the next update, half a second later: the curves
        # and reconstructions then reach the screen first (a first 3D drawing can hold the browser ~1 s)
        st.session_state[LATENT_KEY] = run_id
        with st.container(height=ui.figure_height(560), border=False):
            st.caption("Code space: drawing with the next update…")
        return
    ui.chart(latent_figure(model, spec, show, dims), width="stretch", key="latent_chart")


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM)
    ui.sync_query_params(FORM, "build_train")  # settings <-> URL, so a link reproduces them
    st.title("🏗️ Build & Train")
    st.caption("Design an autoencoder, press Train, and watch it learn. Training runs in the background: "
               "the page stays usable, and Pause/Stop work at any moment.")
    col_data, col_net, col_train = st.columns([1, 1.3, 1.1], gap="medium")
    with col_data:
        st.subheader("1 · Data")
        bundle = ui.dataset_picker("cfg_dataset")
        if bundle is not None:
            st.caption(f"{len(bundle.x_train):,} training and {len(bundle.x_test):,} held-out images of "
                       f"{bundle.image_shape[0]}×{bundle.image_shape[1]} = {bundle.input_dim} pixels.")
    input_dim = bundle.input_dim if bundle is not None else 64
    with col_net:
        st.subheader("2 · Network")
        spec, arch_check = read_arch(input_dim)
        ui.show_check(arch_check)
    with col_train:
        st.subheader("3 · Training")
        if bundle is not None:
            cfg, train_check = read_train(bundle, spec)
            ui.show_check(train_check)
        else:
            cfg, train_check = None, Check()
            st.info("Choose an available data set to set up training.")
    if spec is not None and arch_check.ok:
        arch_readout(spec)
    ready = bundle is not None and spec is not None and cfg is not None and arch_check.ok and train_check.ok
    if st.session_state.get("train_btn") and ready:  # pressed: start before drawing, so no extra rerun
        start(bundle, spec, cfg)
    running = ui.job_is_active(JOB)
    c1, c2 = st.columns([1, 2])
    with c1:
        st.button("🚀 Train", key="train_btn", type="primary", disabled=running or not ready, width="stretch",
                  help="Fix the messages above first." if not ready else "Train with these settings.")
    with c2:
        ui.job_controls(JOB)
    ui.copy_link_button("build_train")
    ui.share_to_class(None if running else ui.current_run(), key="train")
    meta = st.session_state.get("train_meta")
    if running and meta and ready and (meta["spec"], meta["cfg"], meta["dataset"]) != (spec, cfg, bundle.name):
        st.info("You changed settings while training: they apply the next time you press Train.", icon="✏️")
    choice = st.container()  # above the live view, filled after it: on_done may have just offered a run
    ui.live_job(JOB, lambda view: draw_live(bundle, view), on_done=on_done, every=0.5)
    with choice:
        ui.offered_run_choice()


main()
