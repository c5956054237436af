"""Anomaly detection: an autoencoder trained only on "normal" classes flags the rest by their reconstruction error."""
import streamlit as st

from aelab import anomaly, data, fields, figures, settings, ui
from aelab.jobs import Job
from aelab.spec import Check

JOB = "anomaly"  # key of this page's job in the session registry
RESULT = "an_result"  # session key: the last finished anomaly.AnomalyResult
FORM = settings.ANOMALY  # this page's settings (widgets, URL, defaults, anomaly.AnomalySettings)
QUESTION = "anomaly"  # this page's predict-first question (aelab/questions.py)


def read_settings(bundle: data.DataBundle) -> tuple[anomaly.AnomalySettings | None, Check]:
    """The lab's settings from the widgets; every problem comes back as a message."""
    check = Check()
    names = bundle.class_names
    values = {"cfg_an_normal": ui.field(FORM, "cfg_an_normal", check, options=range(len(names)),
                                        format_func=lambda c: names[c])}
    with st.expander("Model and training"):
        c1, c2, c3 = st.columns(3)
        layout = {"cfg_an_hidden": c1, "cfg_an_bottleneck": c2, "cfg_an_epochs": c3, "cfg_an_sizes": c1}
        values |= {key: ui.field(FORM, key, check, where) for key, where in layout.items()}
        values["cfg_an_n_train"] = ui.field(FORM, "cfg_an_n_train", check, c2, help=(
            f"Drawn from all {len(bundle.x_train):,} before keeping the normal ones."))
        values |= ui.layout_fields(FORM, "cfg_an_layout", "cfg_an_channels", check)
    return fields.build(FORM, anomaly.AnomalySettings, values, check.errors, lambda s: anomaly.check(s, bundle))


def start(bundle: data.DataBundle, settings: anomaly.AnomalySettings) -> None:
    ui.start_job(JOB, lambda ctx: anomaly.run_lab(bundle, settings, ctx), "anomaly", "training")


def draw_live(view) -> None:
    """Progress of the model being trained, its loss curves, and the AUC of each code size as it arrives."""
    committed = ui.predicted(QUESTION) is not None
    ui.lab_progress(view, "an", height=240, curves=committed)
    rows = view.extra.get("rows") if view is not None and view.active and committed else None
    if rows:
        ui.chart(anomaly.auc_figure(rows, height=240), width="stretch", key="an_live_auc")


def on_done(job: Job) -> None:
    """Keep the finished run (a failed one leaves the previous results in place)."""
    if isinstance(job.result, anomaly.AnomalyResult):
        st.session_state[RESULT] = job.result


def draw_threshold(result: anomaly.AnomalyResult) -> float:
    """The threshold slider and the confusion counts it implies; returns the threshold."""
    det = result.main
    low, top, step = anomaly.threshold_range(result)
    threshold = st.slider("Threshold: flag images whose error is above", low, top, result.default_threshold,
                          step=step, format="%.4f", key=f"cfg_an_threshold_{result.token}")
    conf = anomaly.confusion(det.test_errors, det.is_anomaly, threshold)
    cols = st.columns(6)
    cols[0].metric("Caught (TP)", conf.tp, help="Anomalies above the threshold.")
    cols[1].metric("False alarms (FP)", conf.fp, help="Normal images above the threshold.")
    cols[2].metric("Passed (TN)", conf.tn, help="Normal images below the threshold.")
    cols[3].metric("Missed (FN)", conf.fn, help="Anomalies below the threshold.")
    cols[4].metric("Precision", anomaly.percent(conf.precision), help="Share of flagged images that are anomalies.")
    cols[5].metric("Recall", anomaly.percent(conf.recall), help="Share of anomalies that are flagged.")
    st.markdown(anomaly.threshold_text(conf, threshold))
    st.caption(anomaly.threshold_origin_text(result))
    return threshold


def draw_results(result: anomaly.AnomalyResult) -> None:
    s, det = result.settings, result.main
    ui.measured(f"{data.DATASETS.get(result.dataset, result.dataset)} · normal: "
                f"{anomaly.class_list(s.normal, result.class_names)} · network "
                f"{s.spec(result.worst_images.shape[1]).describe()} · {s.epochs} epochs · seed {s.seed} · "
                f"{len(result.rows)} model(s) trained and measured in {result.seconds:.1f} s.", result)
    ui.reveal(QUESTION, anomaly.measured_answer(result), result)
    st.subheader("1 · Normal and anomalous images get different errors")
    st.markdown(anomaly.histogram_text(result))
    ui.share_to_class(result, key="an", question=QUESTION)
    st.subheader("2 · A threshold turns the error into a detector")
    threshold = draw_threshold(result)
    c1, c2 = st.columns(2)
    ui.chart(anomaly.histogram(result, threshold), width="stretch", key="an_hist", where=c1)
    ui.chart(anomaly.roc_figure(result, threshold), width="stretch", key="an_roc", where=c2)
    st.markdown(anomaly.auc_text(det.auc))
    ui.terms("roc", "auc", "threshold", "precision_recall")
    st.caption("The ROC curve moves the threshold from the top to the bottom: each point is one threshold's "
               "recall against its false-alarm rate. The ✕ is your threshold.")
    st.subheader("3 · The worst-reconstructed held-out images")
    ui.chart(anomaly.worst_grid(result), width="stretch", key="an_worst")
    st.markdown(anomaly.worst_text(result))
    st.subheader("4 · How the code size changes the AUC")
    c1, c2 = st.columns(2)
    ui.chart(anomaly.auc_figure(result.rows, s.bottleneck), width="stretch", key="an_auc", where=c1)
    ui.chart(anomaly.sweep_errors_figure(result.rows), width="stretch", key="an_sweep_err", where=c2)
    st.markdown("\n".join(f"- {line}" for line in anomaly.sweep_text(result.rows)))
    with st.expander("Loss curve of the main model"):
        ui.chart(figures.loss_curves(det.history, title="Main model (test = normal held-out images)",
                                     height=280, loss="mse"), width="stretch", key="an_loss")


def main() -> None:
    col_set, col_run = ui.open_lab(FORM, "anomaly", "🚨 Anomaly detection", anomaly.INTRO)
    with col_set:
        bundle, settings, check = ui.lab_settings("cfg_an_dataset", read_settings)
    with col_run:
        if settings is not None:
            st.caption(f"{len(settings.all_sizes)} models will be trained (code sizes "
                       f"{', '.join(map(str, settings.all_sizes))}); the main one, size {settings.bottleneck}, "
                       "drives sections 1-3.")
        ui.predict_first(QUESTION)
        ready = bundle is not None and settings is not None and check.ok
        ui.run_controls(JOB, "🚨 Train on the normal classes", "an_run", ready,
                        "Train the detectors in the background.", lambda: start(bundle, settings), page="anomaly")
    ui.live_job(JOB, draw_live, on_done=on_done, every=0.5)
    result = st.session_state.get(RESULT)
    if result is None:
        if not ui.job_is_active(JOB):
            st.info("Press **Train on the normal classes**. With the built-in digits it takes a few seconds.",
                    icon="👆")
        return
    if ui.job_is_active(JOB):
        st.caption("Below: the previous results, until the new run finishes.")
    if ui.await_prediction(QUESTION, result):
        draw_results(result)


main()
