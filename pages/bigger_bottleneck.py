"""Does a bigger bottleneck memorize? One model per code size, same data and seed, measured side by side."""
import streamlit as st

from aelab import data, share, sweep, sweep_figures, sweep_text, ui
from aelab.jobs import Job
from aelab.spec import Check, SpecError, parse_float, parse_int, parse_widths

JOB = "bottleneck"  # key of this page's job in the session registry
RESULT = "bn_result"  # session key: the last finished sweep.SweepResult
ANSWER = "bn_answer"  # session key: the learner's committed prediction (a key of sweep_text.TRENDS)
META = "bn_meta"  # session key: the settings of the experiment that is running
_D = sweep.SweepConfig()
DEFAULTS = {
    "cfg_bn_n_train": str(_D.n_train), "cfg_bn_hidden": ", ".join(map(str, _D.hidden)),
    "cfg_bn_epochs": str(_D.epochs), "cfg_bn_seed": str(_D.seed), "cfg_bn_batch": str(_D.batch_size),
    "cfg_bn_lr": str(_D.lr), "cfg_bn_sizes": ", ".join(map(str, _D.sizes)),
}


def sizes_text(sizes) -> str:
    return ", ".join(str(s) for s in sizes)


def init_state(bundle: data.DataBundle | None) -> None:
    """Defaults once; the size list follows the data set until the learner edits it."""
    for k, v in DEFAULTS.items():
        st.session_state.setdefault(k, v)
    if bundle is None:
        return
    previous = st.session_state.get("bn_sizes_for")
    if previous != bundle.input_dim:
        old_default = sizes_text(sweep.default_sizes(previous)) if previous else DEFAULTS["cfg_bn_sizes"]
        if st.session_state["cfg_bn_sizes"] in (old_default, DEFAULTS["cfg_bn_sizes"]):
            st.session_state["cfg_bn_sizes"] = sizes_text(sweep.default_sizes(bundle.input_dim))
        st.session_state["bn_sizes_for"] = bundle.input_dim


def read_config(bundle: data.DataBundle) -> tuple[sweep.SweepConfig | None, Check]:
    """The experiment's settings from the widgets, every problem as a message."""
    check = Check()
    values = {}
    c1, c2 = st.columns(2)
    fields = [
        (c1, "cfg_bn_n_train", "Training-set size", "n_train",
         "Images every model trains on (the same ones for all). Small sets make memorization easier to see."),
        (c2, "cfg_bn_hidden", "Hidden widths", "hidden",
         "Encoder hidden layers, e.g. 256 or 256, 64; the decoder mirrors them."),
        (c1, "cfg_bn_epochs", "Epochs", "epochs", "Passes over the training set, the same for every model."),
        (c2, "cfg_bn_seed", "Seed", "seed", "Same seed = same subset, same starting weights, same batches."),
    ]
    for col, key, label, name, help_text in fields:
        text = col.text_input(label, key=key, help=help_text)
        try:
            if name == "hidden":
                values[name] = parse_widths(text, "Hidden width", field=name)
            elif name == "seed":
                values[name] = parse_int(text, label, low=0, high=2**31 - 1, field=name)
            elif name == "epochs":
                values[name] = parse_int(text, label, high=sweep.MAX_SWEEP_EPOCHS, field=name)
            else:
                values[name] = parse_int(text, label, low=2, field=name)
        except SpecError as exc:
            check.errors.append(exc)
    text = st.text_input("Bottleneck sizes", key="cfg_bn_sizes",
                         help=f"Comma-separated code sizes, one model each (at most {sweep.MAX_RUNS}). "
                              f"This data set's images have {bundle.input_dim} pixels.")
    try:
        values["sizes"] = sweep.parse_sizes(text)
    except SpecError as exc:
        check.errors.append(exc)
    with st.expander("Optimizer settings"):
        c1, c2 = st.columns(2)
        try:
            values["batch_size"] = parse_int(c1.text_input("Batch size", key="cfg_bn_batch"), "Batch size",
                                             high=65536, field="batch_size")
        except SpecError as exc:
            check.errors.append(exc)
        try:
            lr = parse_float(c2.text_input("Learning rate (Adam)", key="cfg_bn_lr"), "The learning rate")
            if not 0 < lr <= 1:
                raise SpecError("The learning rate must be above 0 and at most 1 (0.001 is typical for Adam).")
            values["lr"] = lr
        except SpecError as exc:
            check.errors.append(exc)
    if check.errors:
        return None, check
    cfg = sweep.SweepConfig(dataset=bundle.name, **values)
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
        st.session_state[RESULT] = result


def commit_box() -> None:
    st.markdown("**Commit your answer first.** As the bottleneck grows from the smallest to the largest size, "
                "what happens to the reconstruction error on *held-out* images the models never trained on?")
    c1, c2 = st.columns([4, 1])
    guess = c1.radio("Your prediction", list(sweep_text.TRENDS), format_func=sweep_text.TRENDS.get, index=None,
                     key="bn_guess", label_visibility="collapsed")
    if c2.button("Commit", key="bn_commit", disabled=guess is None, width="stretch"):
        st.session_state[ANSWER] = guess
    if st.session_state.get(ANSWER):
        st.caption(f"Your committed answer: **{sweep_text.TRENDS[st.session_state[ANSWER]]}**")


def draw_live(view) -> None:
    """Progress per model while the experiment runs (and the curves, once an answer is committed)."""
    committed = bool(st.session_state.get(ANSWER))
    ui.lab_progress(view, "bn", curves=committed)
    if view is None or not view.active:
        return
    cfg = st.session_state.get(META)
    if cfg is not None:
        st.dataframe(sweep_figures.progress_table(list(cfg.sizes), view.lab, view.extra.get("rows", []), cfg.epochs),
                     hide_index=True, width="stretch")
    if not committed:
        st.info("Commit your answer above to watch the results arrive; they also appear when the run ends.",
                icon="🤔")


def answer_echo(result: sweep.SweepResult) -> None:
    measured = sweep_text.measured_trend(result.rows)
    guess = st.session_state.get(ANSWER)
    if measured is None:
        return
    said = f"You predicted: **{sweep_text.TRENDS[guess]}**. " if guess else "You ran it without committing an answer. "
    text = said + f"Measured: **{sweep_text.TRENDS[measured]}**."
    (st.success if guess == measured else st.info)(text, icon="✅" if guess == measured else "🔎")


def draw_grids(result: sweep.SweepResult) -> None:
    shape, rows = result.image_shape, result.rows
    c1, c2 = st.columns(2)
    for col, key, title in ((c1, "test", "Held-out images (never trained on)"),
                            (c2, "train", "Training images (seen every epoch)")):
        fig = sweep_figures.recon_figure(result.originals.get(key), rows, key, shape, title)
        if fig is not None:
            col.plotly_chart(fig, width="stretch", key=f"bn_grid_{key}")


def draw_ood(result: sweep.SweepResult) -> None:
    st.subheader("Does it just copy anything?")
    st.caption("Inputs unlike anything in training. A model that learned the data maps them towards what it "
               "knows (high error); a model that learned to copy reproduces them (low error).")
    st.plotly_chart(sweep_figures.ood_figure(result.rows), width="stretch", key="bn_ood")
    keys = result.ood_keys
    cols = st.columns(len(keys)) if keys else []
    for col, key in zip(cols, keys):
        fig = sweep_figures.recon_figure(result.originals.get(key), result.rows, key, result.image_shape,
                                 sweep.OOD_LABELS.get(key, key))
        if fig is not None:
            col.plotly_chart(fig, width="stretch", key=f"bn_ood_grid_{key}")


def draw_results(result: sweep.SweepResult) -> None:
    cfg = result.config
    st.header("What was measured")
    st.caption(f"{data.DATASETS.get(cfg.dataset, cfg.dataset)} · {cfg.n_train:,} training images · hidden "
               f"{sizes_text(cfg.hidden) or 'none'} · {result.rows[0].epochs} epochs · seed {cfg.seed} · "
               f"{len(result.rows)} models trained together in {result.train_seconds:.1f} s "
               f"({result.seconds:.1f} s with measurements). {result.message}")
    if result.status != "done":
        st.warning(result.message, icon="⚠️")
    answer_echo(result)
    st.markdown("\n".join(f"- {line}" for line in sweep_text.explain(result.rows, cfg.n_train)))
    c1, c2 = st.columns(2)
    c1.plotly_chart(sweep_figures.error_figure(result.rows), width="stretch", key="bn_errors")
    c2.plotly_chart(sweep_figures.curves_figure(result.rows), width="stretch", key="bn_curves")
    st.caption("Errors are mean squared error per pixel, in eval mode, on the whole training subset and the whole "
               "test set. The solid held-out curves use a fixed sample of held-out images.")
    st.subheader("The same images through every model")
    draw_grids(result)
    draw_ood(result)
    st.subheader("Are the codes useful?")
    st.caption("A classifier that sees only the code, fitted on the training images' codes and scored on the "
               "held-out codes. kNN (5 nearest neighbours) has no weights that grow with the code size.")
    st.plotly_chart(sweep_figures.probe_figure(result.rows), width="stretch", key="bn_probe")
    key = result.ood_keys[0] if result.ood_keys else None
    st.dataframe(sweep_figures.results_table(result.rows, key), hide_index=True, width="stretch")
    st.download_button("Download the results (CSV)", sweep.to_csv(result.rows), file_name="bottleneck_sweep.csv",
                       mime="text/csv", key="bn_csv")


def main() -> None:
    ui.route_through_app()
    init_state(None)  # defaults first, so the URL holds every setting from the first run on
    st.session_state.setdefault("cfg_bn_dataset", data.DIGITS)
    ui.sync_query_params(share.BOTTLENECK, "bigger_bottleneck")  # settings <-> URL, so a link reproduces them
    st.title("🔬 Does a bigger bottleneck memorize?")
    st.markdown(
        "A common claim: *a bigger bottleneck lets an autoencoder memorize its training images instead of "
        "learning features.* Test it. Each size below gets its own model, trained on the **same** images with "
        "the **same** seed and settings; then every model is measured on images it saw, images it never saw, "
        "and inputs unlike anything it learned."
    )
    col_set, col_q = st.columns([1.2, 1], gap="large")
    with col_set:
        st.subheader("Settings")
        bundle = ui.dataset_picker("cfg_bn_dataset")
        init_state(bundle)
        cfg, check = (read_config(bundle) if bundle is not None else (None, Check()))
        ui.show_check(check)
    with col_q:
        st.subheader("Predict")
        commit_box()
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
    else:
        draw_results(result)


main()
