"""Encoder | Decoder: the trained network as one Sequential, cut anywhere; what every layer represents."""
import streamlit as st

from aelab import board_share, data, figures, layers, runs, settings, ui
from aelab.spec import Check

QUICK_JOB = "split_quick"  # job key: the quick default model trained on this page
QUICK_KEY = "split_quick_run"  # session key of that model (a runs.Run)
PAIR_JOB = "split_pair"  # job key: the two asymmetric models
PAIR_KEY = "split_pair_result"  # session key: {"runs": {label: Run}, "message": str}
VIEWS_KEY = "split_views"  # session key: cached per-layer statistics, per model
GAPS_KEY = "split_gaps"  # session key: measured output differences per cut, for the current model
FORM = settings.SPLIT  # this page's settings (widgets, URL, defaults)
GAP_LABEL = "max |out − dec(enc(x))|"
QUESTION = "split"  # the per-layer section's predict-first question (aelab/questions.py)


# -- which model this page looks at ---------------------------------------------------------------
def pick_subject() -> tuple[runs.Run | None, data.DataBundle | None]:
    """The session's plain autoencoder, else the quick model from this page, else explain and offer one."""
    run = ui.current_run()
    if run is not None and run.spec.kind != "vae":
        bundle, problem = ui.session_bundle(run)
        if bundle is not None:
            return run, bundle
        st.error(problem, icon="📁")
    elif run is not None:
        st.info(layers.TEXT["vae"], icon="🎲")
    quick = st.session_state.get(QUICK_KEY)
    if quick is None:
        if run is None:
            ui.no_model_notice(", or train a quick one right here")
        ui.quick_model(QUICK_JOB, layers.QUICK_SPEC, layers.QUICK_CFG,
                       "✂️ Train a quick model here (8x8 digits, a few seconds)", "Quick model", store=QUICK_KEY,
                       draw=lambda view: ui.live_weights(view, ui.get_bundle(data.DIGITS), "split_quick_weights"))
        quick = st.session_state.get(QUICK_KEY)
    if quick is None:
        return None, None
    if quick is not ui.current_run():
        st.caption(f"Showing the quick model trained on this page: {quick.spec.describe()} on digits.")
    return quick, ui.get_bundle(data.DIGITS)


# -- 1 · the split ----------------------------------------------------------------------------------
def split_gaps(run: runs.Run, seq, x, at: int) -> tuple[float, float, int]:
    """(gap at this cut on all of x, largest gap over every cut on a smaller batch, that batch size), cached."""
    cache = ui.memo(GAPS_KEY, run)
    if "all" not in cache:
        cache["all"] = layers.worst_split_gap(run.model, seq, x)
    if at not in cache:
        cache[at] = layers.split_gap(run.model, seq, at, x)
    return cache[at], *cache["all"]


def split_section(run: runs.Run, seq, x, widths: list[int], bottleneck: int) -> int:
    """The split slider, its measured proof of invariance and the module table; returns the split point."""
    st.header("1 · One network, one chain of modules: cut it anywhere")
    n, k = len(seq), widths[bottleneck]
    ui.forget_on_change(["split_at"], run, "split")  # a new model starts at its bottleneck
    linked = st.session_state.get("split_at")
    if linked is not None and linked not in range(n + 1):  # e.g. a link made with a deeper model
        st.info(f"The link's split point {linked} does not exist in this model (its points are 0 to {n}): "
                "starting at the bottleneck instead.", icon="🔗")
        st.session_state.pop("split_at", None)
    st.session_state.setdefault("split_at", bottleneck)
    shapes = layers.point_shapes(seq, widths[0])  # a conv model's points are feature maps: C×H×W
    at = ui.field(FORM, "split_at", Check(), options=list(range(n + 1)),
                  format_func=lambda point: layers.point_label(widths, point, bottleneck, shapes))
    gap, worst, n_all = split_gaps(run, seq, x, at)
    ui.metrics([("Encoder", f"{at} modules"), ("Decoder", f"{n - at} modules"),
                ("Code width at the split", f"{widths[at]}", "Numbers per input at this cut.",
                 f"{widths[at] - k:+d} vs bottleneck" if at != bottleneck else None),
                (GAP_LABEL, f"{gap:.1e}", f"max |output − decoder(encoder(x))| over {len(x):,} held-out inputs, "
                                          "against the model's own forward pass.")])
    st.caption(f"Largest difference over all {n + 1} possible cuts (on {n_all:,} held-out inputs): {worst:.1e}. "
               "Cutting changes the names, not the function: the same modules run in the same order.")
    kind, text = layers.cut_message(widths, at, bottleneck)
    ui.say(kind, text, icon="⭐" if kind == "success" else "✂️")
    st.dataframe(layers.split_table(seq, widths[0], at, bottleneck, layers.PART), hide_index=True, width="stretch",
                 key="split_table")
    return at


# -- 2 · every layer ----------------------------------------------------------------------------------
def cached_views(run: runs.Run, seq, x, y, points: list[int]) -> list[layers.LayerView]:
    """Per-layer statistics, computed once per model and point."""
    cache = ui.memo(VIEWS_KEY, run)
    missing = [p for p in points if p not in cache]
    if missing:
        with st.spinner(f"Measuring {len(missing)} layers on {len(x):,} held-out samples…"):
            for view in layers.layer_views(seq, x, y, missing):
                cache[view.stats.point] = view
    return [cache[p] for p in points]


def layers_section(run: runs.Run, bundle: data.DataBundle, seq, x, y, at: int, bottleneck: int) -> None:
    st.header("2 · What every layer represents")
    st.markdown(layers.TEXT["every layer"])
    ui.terms("knn", "linear_probe", "dims95", "pca", "held_out")
    pre = not ui.classroom_mode() and ui.field(FORM, "cfg_split_preact", Check())
    if ui.predict_first(QUESTION) is None:
        st.info("Commit your prediction to measure every layer.", icon="🤔")
        return
    points = layers.shown_points(seq, pre, at, bottleneck)
    try:
        views = cached_views(run, seq, x, y, points)
    except ValueError as exc:  # also numpy's LinAlgError
        st.warning(f"Could not measure the layers: {exc}", icon="⚠️")
        return
    if not ui.await_prediction(QUESTION, run):
        return
    ui.reveal(QUESTION, layers.measured_answer(views, bottleneck), run)
    text = layers.describe_views(views, bottleneck)
    if text:
        st.markdown(text)
    st.caption("Each panel: one layer's held-out activations, PCA to 2D, colored by class. Frames: blue = "
               "encoder side of your cut, red = the code at your cut, green = decoder side; ★ = bottleneck.")
    ui.chart(layers.pca_grid(views, y, bundle.class_names, at, bottleneck,
                             row_height=ui.figure_height(280)), width="stretch", key="split_pca_grid")
    ui.chart(layers.stats_chart(views, at, bottleneck, height=ui.figure_height(480)), width="stretch",
             key="split_stats_chart")
    slowest = max(views, key=lambda v: v.stats.seconds).stats
    st.caption(f"{len(x):,} held-out samples (a fixed subset of {len(bundle.x_test):,}). Slowest layer: "
               f"{slowest.label} ({slowest.width} wide) in {slowest.seconds:.2f} s.")
    with st.expander("The numbers"):
        st.dataframe(layers.stats_rows(views), hide_index=True, width="stretch", key="split_stats_table")


# -- 3 · asymmetric pair ---------------------------------------------------------------------------
def read_pair(run: runs.Run, bundle: data.DataBundle) -> tuple[dict | None, object, Check]:
    """Specs of the two asymmetric models and their shared settings, from the widgets."""
    check = Check()
    ui.follow_defaults(FORM, {"cfg_split_code": run.spec.bottleneck}, "split_code")  # starts at the model's code
    ui.follow_dataset(FORM, bundle.name)
    values = {key: ui.field(FORM, key, check, where) for key, where in zip(
        ("cfg_split_deep", "cfg_split_shallow", "cfg_split_code", "cfg_split_epochs", "cfg_split_n"),
        st.columns([1.3, 1, 0.7, 0.7, 0.9]))}
    if not check.ok:
        return None, None, check
    return layers.pair_setup(run, values, len(bundle.x_train))


def _pair_done(job) -> None:
    if isinstance(job.result, layers.PairResult) and job.result.runs:
        st.session_state[PAIR_KEY] = {"runs": job.result.runs, "message": job.result.message}


def _draw_pair(view, bundle: data.DataBundle) -> None:
    ui.lab_progress(view, PAIR_JOB, loss=None)  # the pair trains with the session model's loss
    for name, r in (view.extra.get("finished", {}) if view is not None else {}).items():
        st.caption(f"✓ {name}: {r.spec.describe()}, held-out loss {r.test_loss:.4f} after {r.seconds:.1f} s")
    if view is not None and view.active:
        ui.live_weights(view, bundle, "split_pair_weights")


def pair_section(run: runs.Run, bundle: data.DataBundle) -> None:
    st.header("3 · Same code size, depth on opposite sides")
    st.markdown(layers.TEXT["pair"])
    specs, cfg, check = read_pair(run, bundle)
    ui.show_check(check)
    if specs is not None:
        st.caption(" · ".join(f"**{k}**: {s.describe()} ({s.param_count:,} parameters)" for k, s in specs.items())
                   + f" · trained on {cfg.n_train:,} {bundle.label} images with your model's loss and optimizer.")
    ui.job_button(PAIR_JOB, "Train both", "split_pair_train", specs is not None and check.ok,
                  lambda: ui.start_and_rerun(PAIR_JOB, layers.start_pair(bundle, specs, cfg, student=ui.student_key())),
                  "training of both models")
    if ui.get_job(PAIR_JOB) is not None:
        ui.live_job(PAIR_JOB, lambda view: _draw_pair(view, bundle), _pair_done)
    result = st.session_state.get(PAIR_KEY)
    if result:
        pair_results(result["runs"], bundle)


def pair_results(pair: dict, bundle: data.DataBundle) -> None:
    """Loss curves, reconstructions and per-layer statistics of the two asymmetric models."""
    trained_on = next(iter(pair.values())).dataset
    if trained_on != bundle.name:  # trained earlier, for another model: show them on their own data
        try:
            bundle = ui.get_bundle(trained_on)
        except Exception as exc:  # noqa: BLE001 - the data went missing: keep the page alive
            st.warning(f"The asymmetric models were trained on {trained_on}, which is not available: {exc}")
            return
        st.caption(f"These two models were trained earlier on {bundle.label}; train again to compare on the "
                   "current model's data.")
    st.markdown(layers.describe_pair(pair))
    ui.chart(layers.compare_losses(pair, height=ui.figure_height(340)), "split_pair_losses", width="stretch")
    if bundle.image_shape is not None:
        rows, row_labels, col_labels = layers.pair_reconstructions(pair, bundle)
        ui.chart(figures.image_grid(rows, bundle.image_shape, row_labels=row_labels, col_labels=col_labels,
                                    title="Held-out images and both reconstructions",
                                    height=ui.figure_height(60 + 70 * len(rows))),
                 width="stretch", key="split_pair_recon")
    x, y = layers.held_out(bundle)
    for col, (label, r) in zip(st.columns(len(pair)), pair.items()):
        cache = ui.memo(f"split_pair_views_{label}", r)
        try:
            if "views" not in cache:
                with st.spinner(f"Measuring the layers of the {label} model…"):
                    cache["views"] = layers.model_views(r.model, x, y)
        except ValueError as exc:  # also numpy's LinAlgError
            col.warning(f"Could not measure the layers of the {label} model: {exc}", icon="⚠️")
            continue
        views, bn = cache["views"]
        ui.chart(layers.stats_chart(views, bn, bn, title=label, height=ui.figure_height(420)),
                 width="stretch", key=f"split_pair_stats_{label}", where=col)


# -- 4 · code -----------------------------------------------------------------------------------------
def code_section(seq, at: int, input_dim: int) -> None:
    st.header("4 · The same network in PyTorch, cut where you chose")
    exports = layers.code_exports(seq, at, input_dim)
    for tab, export in zip(st.tabs([e.title for e in exports]), exports):
        with tab:
            st.code(export.code, language="python")
            c1, c2 = st.columns(2)
            c1.download_button(f"Download {export.code_file}", export.code, file_name=export.code_file,
                               mime="text/x-python", key=f"{export.key}_dl_code")
            c2.download_button(f"Download {export.weights_file}", export.weights, file_name=export.weights_file,
                               key=f"{export.key}_dl_weights")  # serialized only when pressed


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM, skip=("split_at",))  # the split point starts at the model's bottleneck
    ui.sync_query_params(FORM, "split")  # settings <-> URL, so a link reproduces them
    st.title("✂️ Encoder | Decoder: where does the encoder end?")
    st.markdown(layers.TEXT["intro"])
    with st.expander("Where does the encoder end? Three points"):
        st.markdown(layers.TEXT["three points"])
    ui.copy_link_button("split")
    run, bundle = pick_subject()
    if run is None:
        return
    picked = st.session_state.get("cfg_dataset")
    if picked and picked != run.dataset:
        st.caption(f"You picked {data.DATASETS.get(picked, picked)} on Build & Train; this model was trained on "
                   f"{bundle.label}, so this page uses that data set's held-out images.")
    seq, widths, bottleneck = layers.chain(run.model)
    x, y = layers.held_out(bundle)
    at = split_section(run, seq, x, widths, bottleneck)
    layers_section(run, bundle, seq, x, y, at, bottleneck)
    st.markdown(layers.TEXT["weights"])
    ui.weights_images(run.model.state_dict(), bundle, "split_weights")
    pair_section(run, bundle)
    ui.share_to_class(board_share.Layers(run, st.session_state.get(PAIR_KEY)), key="split", question=QUESTION)
    code_section(seq, at, run.spec.input_dim)


main()
