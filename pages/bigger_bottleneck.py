"""Does a bigger bottleneck memorize? One model per code size, same data and seed, measured side by side."""
import streamlit as st

from aelab import data, settings, sweep, sweep_figures, sweep_text, ui
from aelab.jobs import Job
from aelab.spec import Check

JOB = "bottleneck"  # key of this page's job in the session registry
RESULT = "bn_result"  # session key: the last finished sweep.SweepResult
PREVIOUS = "bn_previous"  # session key: the finished sweep before it with another training-set size
QUESTION = "bottleneck"  # this page's predict-first question (aelab/questions.py; options: sweep_text.TRENDS)
META = "bn_meta"  # session key: the settings of the experiment that is running
FORM = settings.BOTTLENECK  # this page's settings (widgets, URL, defaults, sweep.SweepConfig)


def sizes_text(sizes) -> str:
    return ", ".join(str(s) for s in sizes)


def read_config(bundle: data.DataBundle) -> tuple[sweep.SweepConfig | None, Check]:
    """The experiment's settings from the widgets, every problem as a message."""
    check = Check()
    c1, c2 = st.columns(2)
    layout = {"cfg_bn_n_train": c1, "cfg_bn_hidden": c2, "cfg_bn_epochs": c1, "cfg_bn_seed": c2}
    values = {key: ui.field(FORM, key, check, where) for key, where in layout.items()}
    values["cfg_bn_sizes"] = ui.field(FORM, "cfg_bn_sizes", check, help=f"{FORM['cfg_bn_sizes'].help} This data "
                                                                         f"set's images have {bundle.input_dim} pixels.")
    with st.expander("Optimizer settings"):
        c1, c2 = st.columns(2)
        values |= {key: ui.field(FORM, key, check, where) for key, where in (("cfg_bn_batch", c1), ("cfg_bn_lr", c2))}
    if not check.ok:
        return None, check
    cfg = sweep.SweepConfig(**FORM.kwargs(values | {"cfg_bn_dataset": bundle.name}))
    return cfg, sweep.check_config(cfg, bundle)


def other_bundle(name: str) -> data.DataBundle | None:
    """The other MNIST-style set, used as never-seen inputs, when its files are here."""
    other = sweep.OTHER.get(name)
    if other is None or not data.is_available(other):
        return None
    try:
        return ui.get_bundle(other)
    except Exception:  # noqa: BLE001 - unreadable files: fall back to shuffled pixels and noise
        return None


def start(bundle: data.DataBundle, cfg: sweep.SweepConfig) -> None:
    if not ui.job_is_active(JOB):
        st.session_state[META] = cfg
    other = other_bundle(bundle.name)
    ui.start_job(JOB, lambda ctx: sweep.run_sweep(bundle, cfg, other=other, ctx=ctx), "bottleneck", "experiment")


def on_done(job: Job) -> None:
    """Keep a finished experiment; a failed or empty one leaves the previous results in place."""
    result = job.result
    if isinstance(result, sweep.SweepResult) and result.rows:
        last = st.session_state.get(RESULT)
        if last is not None and last.config.n_train != result.config.n_train:  # kept to compare set sizes
            st.session_state[PREVIOUS] = last
        st.session_state[RESULT] = result


def draw_live(view) -> None:
    """Progress per model while the experiment runs (and the curves, once an answer is committed)."""
    committed = ui.predicted(QUESTION) is not None
    ui.lab_progress(view, "bn", curves=committed)
    if view is None or not view.active:
        return
    cfg = st.session_state.get(META)
    if cfg is not None:
        st.dataframe(sweep_figures.progress_table(list(cfg.sizes), view.lab, view.extra.get("rows", []), cfg.epochs),
                     hide_index=True, width="stretch")
    if not committed:
        st.info("Commit your prediction above to watch the results arrive; they stay hidden until you do.",
                icon="🤔")


def size_comparison(result: sweep.SweepResult) -> None:
    """The previous experiment with another training-set size beside this one: does a smaller set memorize?"""
    previous = st.session_state.get(PREVIOUS)
    if previous is None or previous is result:
        return
    line = sweep_text.compare_runs(previous.rows, previous.config.n_train, result.rows, result.config.n_train)
    if line:
        st.markdown(f"**Compared with your previous run:** {line}")


def draw_grids(result: sweep.SweepResult) -> None:
    shape, rows = result.image_shape, result.rows
    c1, c2 = st.columns(2)
    for col, key, title in ((c1, "test", "Held-out images (never trained on)"),
                            (c2, "train", "Training images (seen every epoch)")):
        fig = sweep_figures.recon_figure(result.originals.get(key), rows, key, shape, title)
        if fig is not None:
            ui.chart(fig, width="stretch", key=f"bn_grid_{key}", where=col)


def draw_ood(result: sweep.SweepResult) -> None:
    st.subheader("Does it just copy anything?")
    st.caption("Inputs unlike anything in training. A model that learned the data maps them towards what it "
               "knows (high error); a model that learned to copy reproduces them (low error).")
    ui.chart(sweep_figures.ood_figure(result.rows), width="stretch", key="bn_ood")
    keys = result.ood_keys
    cols = st.columns(len(keys)) if keys else []
    for col, key in zip(cols, keys):
        fig = sweep_figures.recon_figure(result.originals.get(key), result.rows, key, result.image_shape,
                                 sweep.OOD_LABELS.get(key, key))
        if fig is not None:
            ui.chart(fig, width="stretch", key=f"bn_ood_grid_{key}", where=col)


def draw_results(result: sweep.SweepResult) -> None:
    cfg = result.config
    ui.measured(f"{data.DATASETS.get(cfg.dataset, cfg.dataset)} · {cfg.n_train:,} training images · hidden "
                f"{sizes_text(cfg.hidden) or 'none'} · {result.rows[0].epochs} epochs · seed {cfg.seed} · "
                f"{len(result.rows)} models trained together in {result.train_seconds:.1f} s "
                f"({result.seconds:.1f} s with measurements). {result.message}", result)
    ui.reveal(QUESTION, sweep_text.measured_trend(result.rows), result)
    st.markdown("\n".join(f"- {line}" for line in sweep_text.explain(result.rows, cfg.n_train)))
    ui.share_to_class(result, key="bn", question=QUESTION)
    size_comparison(result)
    ui.terms("held_out", "memorization", "knn", "linear_probe", "code")
    c1, c2 = st.columns(2)
    ui.chart(sweep_figures.error_figure(result.rows), width="stretch", key="bn_errors", where=c1)
    ui.chart(sweep_figures.curves_figure(result.rows), width="stretch", key="bn_curves", where=c2)
    st.caption("Errors are mean squared error per pixel, in eval mode, on the whole training subset and the whole "
               "test set. The solid held-out curves use a fixed sample of held-out images.")
    st.subheader("The same images through every model")
    draw_grids(result)
    draw_ood(result)
    st.subheader("Are the codes useful?")
    st.caption("A classifier that sees only the code, fitted on the training images' codes and scored on the "
               "held-out codes. kNN (5 nearest neighbours) has no weights that grow with the code size.")
    ui.chart(sweep_figures.probe_figure(result.rows), width="stretch", key="bn_probe")
    key = result.ood_keys[0] if result.ood_keys else None
    st.dataframe(sweep_figures.results_table(result.rows, key), hide_index=True, width="stretch")
    st.download_button("Download the results (CSV)", sweep.to_csv(result.rows), file_name="bottleneck_sweep.csv",
                       mime="text/csv", key="bn_csv")


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM)  # defaults first, so the URL holds every setting from the first run on
    ui.sync_query_params(FORM, "bigger_bottleneck")  # settings <-> URL, so a link reproduces them
    st.title("🔬 Does a bigger bottleneck memorize?")
    st.markdown(
        "A common claim: *a bigger bottleneck lets an autoencoder memorize its training images instead of "
        "learning features.* Test it. Each size below gets its own model, trained on the **same** images with "
        "the **same** seed and settings; then every model is measured on images it saw, images it never saw, "
        "and inputs unlike anything it learned."
    )
    col_set, col_q = st.columns([1.2, 1], gap="large")
    with col_set:
        st.header("Settings")
        bundle, cfg, check = ui.lab_settings("cfg_bn_dataset", read_config, FORM)  # the sizes follow the data set
    with col_q:
        st.header("Predict")
        ui.predict_first(QUESTION)
        ready = bundle is not None and cfg is not None and check.ok
        ui.run_controls(JOB, "🔬 Run experiment", "bn_run", ready,
                        "Train one model per bottleneck size in the background.", lambda: start(bundle, cfg),
                        label="experiment", page="bigger_bottleneck")
    ui.live_job(JOB, draw_live, on_done=on_done, every=0.5)
    result = st.session_state.get(RESULT)
    if ui.job_is_active(JOB):
        return
    if result is None:
        st.info("Press **Run experiment**. With the built-in digits it takes a few seconds.", icon="👆")
    elif ui.await_prediction(QUESTION, result):
        draw_results(result)


main()
