"""PCA = linear AE: PCA's error for k components, a linear AE converging to it, and a nonlinear AE beside them."""

import streamlit as st

from aelab import data, figures, linear, settings, ui
from aelab.jobs import Job
from aelab.spec import ACTIVATIONS, Check

JOB = "pca"  # key of this page's job in the session registry
RESULT = "pca_result"  # session_state key of the finished linear.PcaLabResult
FORM = settings.PCA  # this page's settings (widgets, URL, defaults, linear.PcaLabConfig)
QUESTION = "pca"  # this page's predict-first question (aelab/questions.py)


def read_settings(bundle: data.DataBundle) -> tuple[linear.PcaLabConfig | None, Check]:
    """The lab's settings from the widgets, with every problem as a message."""
    check = Check()
    n_total = len(bundle.x_train)
    values = {
        "cfg_pca_k": ui.field(FORM, "cfg_pca_k", check, high=linear.max_k(bundle.input_dim)),
        "cfg_pca_n_train": ui.field(FORM, "cfg_pca_n_train", check, options=[
            n for n in FORM["cfg_pca_n_train"].choices if n == "all" or n < n_total],
            format_func=lambda v: f"all {n_total:,}" if v == "all" else f"{v:,}"),
    }
    c1, c2, c3 = st.columns(3)
    layout = {"cfg_pca_epochs": c1, "cfg_pca_lr": c2, "cfg_pca_hidden": c3}
    c1, c2, c3 = st.columns(3)
    layout |= {"cfg_pca_decay": c1, "cfg_pca_activation": c2, "cfg_pca_seed": c3}
    values |= {key: ui.field(FORM, key, check, where) for key, where in layout.items()}
    if not check.ok:
        return None, check
    cfg = linear.PcaLabConfig(**{k: v for k, v in FORM.kwargs(values).items() if k != "dataset"})
    return cfg, check.add(linear.check_config(cfg, bundle))


def start(bundle: data.DataBundle, cfg: linear.PcaLabConfig) -> None:
    if not ui.job_is_active(JOB):
        st.session_state["pca_meta"] = cfg
    # wait for PCA's line and the first points, so the first drawing shows them
    ui.start_job(JOB, lambda ctx: linear.run_lab(bundle, cfg, ctx), "pca", "training",
                 ready=lambda view: "pca_test" in view.extra)


def on_done(job: Job) -> None:
    if isinstance(job.result, linear.PcaLabResult):
        st.session_state[RESULT] = job.result


def draw_live(view) -> None:
    """While training: progress and the curves so far, beside PCA's line; afterwards how the job ended."""
    if view is None:
        if st.session_state.get(RESULT) is None:
            st.info("Press **Train** to compute PCA and train both autoencoders. The curves appear at once and "
                    "grow while they learn.", icon="👆")
        return
    cfg = st.session_state.get("pca_meta")
    ui.lab_progress(view, "pca", height=360, curves=ui.predicted(QUESTION) is not None,
                    figure=lambda hists: linear.curves_figure(view.extra.get("pca_test"), hists,
                                                              cfg.epochs if cfg else 1, height=ui.figure_height(360)))


def draw_result(result: linear.PcaLabResult, cfg_now: linear.PcaLabConfig | None) -> None:
    """The finished lab: numbers, curves, what they show, the spectrum and the reconstructions."""
    st.header("What the measurements show")
    if cfg_now is not None and cfg_now != result.cfg:
        st.caption(f"These results are for k = {result.cfg.k}, {result.cfg.epochs} epochs. You changed settings: "
                   "press Train to measure again.")
    comp = linear.compare(result)
    lin, nonlin = result.linear, result.nonlinear
    c1, c2, c3 = st.columns(3)
    c1.metric("PCA error (held out)", f"{result.pca_test:.5f}", help="Mean squared error per feature, k components")
    if comp is not None:
        c2.metric("Linear AE error", f"{lin.test_loss:.5f}", f"{comp.gap:+.1%} vs PCA", delta_color="off")
    if nonlin is not None and comp is not None:
        c3.metric("Nonlinear AE error", f"{nonlin.test_loss:.5f}", f"{comp.nonlinear_gap:+.1%} vs PCA",
                  delta_color="off")
    histories = {linear.LINEAR: lin.history if lin else None, linear.NONLINEAR: nonlin.history if nonlin else None}
    ui.chart(linear.curves_figure(result.pca_test, histories, result.cfg.epochs, height=ui.figure_height(380)),
             width="stretch", key="pca_curves")
    if comp is None:
        st.info("The linear autoencoder was stopped before it trained; press Train to run the lab.")
        return
    ui.reveal(QUESTION, linear.measured_answer(comp), result)
    st.markdown("\n".join(f"- {line}" for line in linear.explain(result, comp)))
    ui.share_to_class(result, key="pca", question=QUESTION)
    ui.terms("pca", "principal_angles", "held_out")
    try:
        bundle = ui.get_bundle(result.dataset)
    except Exception as exc:  # noqa: BLE001 - data removed after training
        st.warning(f"The data set of these results is not available any more: {exc}")
        return
    left, right = st.columns([3, 2])
    with left:
        if bundle.image_shape is not None:
            idx = data.sample_indices(bundle.y_test, per_class=1, n=10)
            rows, labels = linear.reconstruction_rows(result, bundle.x_test[idx])
            ui.chart(figures.image_grid(rows, bundle.image_shape, row_labels=labels,
                                        col_labels=[bundle.class_names[int(bundle.y_test[i])] for i in idx],
                                        title="Held-out images rebuilt from k numbers"),
                     width="stretch", key="pca_recon")
    with right:
        ui.chart(linear.spectrum_figure(result.pca.eigenvalues, result.cfg.k, height=ui.figure_height(300)),
                 width="stretch", key="pca_spectrum")
        st.caption("PCA's training error is exactly the sum of the red bars divided by the number of features: "
                   f"{linear.discarded_variance(result.pca):.5f} here, measured {result.pca_train:.5f}.")


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM)
    ui.sync_query_params(FORM, "pca")  # settings <-> URL, so a link reproduces them
    st.title("📐 PCA and the linear autoencoder")
    st.markdown(linear.INTRO)
    col_set, col_run = st.columns([1, 1], gap="medium")
    with col_set:
        bundle, cfg, check = ui.lab_settings("cfg_pca_dataset", read_settings)
    ready = bundle is not None and cfg is not None and check.ok
    with col_run:
        if cfg is not None:
            st.markdown(f"**Linear AE** {linear.linear_spec(bundle.input_dim, cfg.k).describe()}, no activations · "
                        f"**Nonlinear AE** {linear.nonlinear_spec(bundle.input_dim, cfg.k, cfg.hidden).describe()} "
                        f"({ACTIVATIONS[cfg.activation]}, sigmoid output) · both: Adam, batch {cfg.batch_size}, "
                        f"MSE loss, same samples as PCA.")
        ui.predict_first(QUESTION)
        ui.run_controls(JOB, "🚀 Train", "pca_train_btn", ready, "Compute PCA and train both autoencoders.",
                        lambda: start(bundle, cfg), label="lab", page="pca")
    ui.live_job(JOB, draw_live, on_done=on_done, every=0.5)
    result = st.session_state.get(RESULT)
    if result is not None and not ui.job_is_active(JOB) and ui.await_prediction(QUESTION, result):
        draw_result(result, cfg)


main()
