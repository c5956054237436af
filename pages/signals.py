"""Not only images: the same autoencoder machinery on generated sensor signals (glitch detection) and on a CSV."""
import streamlit as st

from aelab import analysis, figures, limits, runs, settings, signals, text, ui
from aelab.jobs import Job
from aelab.spec import Check

SIG_JOB, CSV_JOB = "signals", "signals_csv"  # job keys in the session registry
SIG_RESULT, CSV_DATA, CSV_RESULT = "signals_result", "signals_csv_data", "signals_csv_result"  # session keys
FORM = settings.SIGNALS  # this page's settings (widgets, URL, defaults, signals.SignalConfig and each tab's model)
QUESTION = "signals"  # the built-in signals tab's predict-first question (aelab/questions.py)


def read_model(tab: str, input_dim: int, n_rows: int):
    """A tab's model settings from its widgets -> ((ArchSpec, TrainConfig) or None, Check); `n_rows` (training
    rows) for the compute budget."""
    check = Check()
    values = {key: ui.field(FORM, key, check, col) for key, col in zip(settings.SIGNAL_MODELS[tab], st.columns(4))}
    if not check.ok:
        return None, check
    return signals.model_from_values(values, tab, input_dim, n_rows)


def start(key: str, bundle, spec, cfg, source) -> None:
    """Train in the background; the job's result is a signals.LabRun (the Run and what it was trained on)."""
    if not ui.job_is_active(key):
        st.session_state[f"{key}_epochs"] = cfg.epochs
    ui.start_job(key, lambda ctx: signals.LabRun(runs.train_run(bundle, spec, cfg, ctx), source), key, "training",
                 ready=lambda view: view.progress is not None)  # wait for the first loss point


def train_controls(key: str, label: str, button_key: str, model, check: Check, bundle, source) -> bool:
    """A tab's messages, its Train button and Pause/Stop; True while the tab's job runs."""
    ui.show_check(check)
    return ui.job_button(key, label, button_key, model is not None and check.ok,
                         lambda: start(key, bundle, *model, source))


def draw_progress(key: str, view, idle: str) -> None:
    """Progress and the live loss curve of a tab's job; `idle` when nothing was trained yet."""
    if view is None:
        if idle:
            st.info(idle, icon="👆")
        return
    ui.lab_progress(view, key, total_epochs=st.session_state.get(f"{key}_epochs"))


def store(result_key: str):
    """An on_done callback that keeps the finished LabRun in the session."""
    def on_done(job: Job) -> None:
        if isinstance(job.result, signals.LabRun):
            st.session_state[result_key] = job.result
    return on_done


# -- generated signals -------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner=False)
def _signal_set(cfg: signals.SignalConfig) -> signals.SignalSet:
    return signals.make_signals(cfg)


def signals_tab() -> None:
    st.markdown(
        "Each sample is a **window of sensor readings**: several channels over 64 time steps, sines sharing one "
        "frequency with their own amplitude and phase, plus noise. There is no picture anywhere: the "
        "autoencoder sees one long row of numbers, exactly like a flattened image. It trains on normal windows "
        "only; a quarter of the held-out windows carry one injected glitch (a **spike**, a **flat-line** where "
        "the sensor froze, or a slow **drift**). A window the model rebuilds badly is suspicious; the numbers "
        "below measure how often that suspicion is right."
    )
    c1, c2 = st.columns(2)
    channels = ui.field(FORM, "cfg_sig_channels", Check(), c1)
    noise = ui.field(FORM, "cfg_sig_noise", Check(), c2)
    sig_cfg = signals.SignalConfig(channels=channels, noise=noise)
    sigset = _signal_set(sig_cfg)
    bundle = sigset.bundle
    st.caption(f"{len(bundle.x_train):,} normal training windows and {len(bundle.x_test):,} held-out windows "
               f"({int(bundle.y_test.sum())} glitched) of {channels} × {sig_cfg.length} = {bundle.input_dim} "
               "numbers each, scaled into [0, 1].")
    model, check = read_model("sig", bundle.input_dim, len(bundle.x_train))
    ui.predict_first(QUESTION)
    running = train_controls(SIG_JOB, "🚀 Train on signals", "sig_train_btn", model, check, bundle, sig_cfg)
    ui.live_job(SIG_JOB, lambda v: draw_progress(SIG_JOB, v, "" if st.session_state.get(SIG_RESULT) else
                                                 "Press **Train on signals**: it takes a few seconds."),
                on_done=store(SIG_RESULT))
    result = st.session_state.get(SIG_RESULT)
    if result is not None and not running:
        if ui.await_prediction(QUESTION, result):
            signal_results(result)
    else:
        idx, titles, spans = signals.examples(sigset)
        ui.chart(signals.signals_figure(bundle.x_test[idx].numpy(), None, channels, titles, spans),
                 width="stretch", key="sig_preview")


def signal_results(result: signals.LabRun) -> None:
    run, sig_cfg = result.run, result.source
    sigset = _signal_set(sig_cfg)
    bundle = sigset.bundle
    st.caption(f"Trained {run.spec.describe()} for {run.epochs_done} epochs in {run.seconds:.1f} s on "
               f"{sig_cfg.channels}-channel windows with noise {sig_cfg.noise:g}. {run.message}")
    how = ui.field(FORM, "cfg_sig_score", Check())
    recon_test = analysis.reconstruct(run.model, bundle.x_test)  # (M, D)
    recon_train = analysis.reconstruct(run.model, bundle.x_train)  # (N, D)
    test_scores = signals.scores(bundle.x_test, recon_test, how)
    det = signals.detect(test_scores, bundle.y_test.numpy(), sigset.kind_of(),
                         signals.scores(bundle.x_train, recon_train, how))
    c1, c2, c3 = st.columns(3)
    c1.metric("ROC AUC", f"{det.auc:.3f}")
    c2.metric("Glitches caught", f"{det.caught} / {det.n_glitch}")
    c3.metric("False alarms", f"{det.false_alarms} / {det.n_normal}")
    ui.reveal(QUESTION, signals.measured_answer(det), result)
    st.markdown("\n".join(f"- {line}" for line in signals.explain_detection(det, how)))
    ui.share_to_class(result, key="sig", question=QUESTION)
    ui.terms("roc", "auc", "threshold", "held_out")
    idx, titles, spans = signals.examples(sigset)
    ui.chart(signals.signals_figure(bundle.x_test[idx].numpy(), recon_test[idx].numpy(), sig_cfg.channels,
                                    titles, spans), width="stretch", key="sig_recon")
    st.caption("Solid: the window; dotted: the autoencoder's reconstruction; red band: where the glitch was put. "
               "The model learned what normal windows look like, so look inside the red band: how much of the glitch "
               "made it into the reconstruction?")
    left, right = st.columns(2)
    ui.chart(signals.histogram_figure(test_scores, bundle.y_test.numpy(), det.threshold,
                                      height=ui.figure_height(320)), width="stretch", key="sig_hist", where=left)
    ui.chart(signals.roc_figure(det.fpr, det.tpr, det.auc, height=ui.figure_height(320)),
             width="stretch", key="sig_roc", where=right)
    with st.expander("Loss curves"):
        ui.chart(figures.loss_curves(run.history, total_epochs=run.cfg.epochs, loss=run.cfg.loss), width="stretch",
                 key="sig_loss")


# -- uploaded CSV ------------------------------------------------------------------------------------
def load_table(raw: bytes, name: str) -> None:
    """Validate bytes into session state: the CsvData, or the message saying what to fix."""
    try:
        st.session_state[CSV_DATA] = signals.read_csv(raw, name)
        st.session_state["csv_error"] = None
    except signals.CsvError as exc:
        st.session_state[CSV_DATA] = None
        st.session_state["csv_error"] = str(exc)


def csv_tab() -> None:
    st.markdown(
        "Bring your own table: a CSV file whose columns are numbers (measurements, prices, sensor logs). Each "
        "row is one sample; every column is scaled into [0, 1] by its smallest and largest value. Up to "
        f"{signals.MAX_ROWS:,} rows and {limits.CSV_MB} MB; a fifth of the rows is held out."
    )
    up = ui.file_uploader("CSV file", "csv", key="csv_upload", type=["csv", "txt", "tsv"])
    c1, c2 = st.columns(2)
    if c1.button("Use a sample table (wine measurements)", key="csv_sample_btn"):
        load_table(signals.sample_csv(), "wine.csv")
    c2.download_button("Download the sample CSV", signals.sample_csv(), file_name="wine.csv", mime="text/csv")
    if up is not None and st.session_state.get("csv_upload_seen") != up.file_id:  # a new upload, even of the
        st.session_state["csv_upload_seen"] = up.file_id  # same name and size (a corrected file)
        load_table(up.getvalue(), up.name)
    if st.session_state.get("csv_error"):
        st.error(text.md(st.session_state["csv_error"]), icon="⚠️")
    table: signals.CsvData | None = st.session_state.get(CSV_DATA)
    if table is None:
        return
    b = table.bundle
    st.success(f"{text.md(table.file_name)}: {len(table.values):,} rows × {len(table.columns)} numeric columns "
               f"({len(b.x_train):,} to train on, {len(b.x_test):,} held out).")
    for note in table.notes:
        st.warning(text.md(note), icon="✂️")
    with st.expander("The first rows as the model sees them (scaled to [0, 1])"):
        st.dataframe({c: b.x_train[:8, j].numpy() for j, c in enumerate(table.columns)})
    model, check = read_model("csv", b.input_dim, len(b.x_train))
    running = train_controls(CSV_JOB, "🚀 Train on the table", "csv_train_btn", model, check, b, table)
    ui.live_job(CSV_JOB, lambda v: draw_progress(CSV_JOB, v, ""), on_done=store(CSV_RESULT))
    result = st.session_state.get(CSV_RESULT)
    if result is not None and not running:
        csv_results(result)


def csv_results(result: signals.LabRun) -> None:
    run, table = result.run, result.source
    st.caption(f"Trained {run.spec.describe()} on {text.md(table.file_name)} for {run.epochs_done} epochs in "
               f"{run.seconds:.1f} s. {run.message}")
    recon = analysis.reconstruct(run.model, table.bundle.x_test)  # (M, D)
    col_mse = signals.column_errors(table.bundle.x_test, recon)
    st.markdown("\n".join(f"- {text.md(line)}" for line in signals.explain_columns(table.columns, col_mse,
                                                                                     table.scaler)))
    left, right = st.columns(2)
    ui.chart(signals.column_error_figure(table.columns, col_mse, height=ui.figure_height(320)),
             width="stretch", key="csv_columns", where=left)
    ui.chart(figures.loss_curves(run.history, total_epochs=run.cfg.epochs, height=ui.figure_height(320),
                                 loss=run.cfg.loss),
             width="stretch", key="csv_loss", where=right)
    st.markdown("**Held-out rows the model rebuilds worst** (in the file's units): candidates for a closer look.")
    st.dataframe(signals.worst_rows(table, recon))


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM)
    ui.sync_query_params(FORM, "signals")  # settings <-> URL (not the uploaded CSV itself)
    st.title("📈 Not only images")
    ui.copy_link_button("signals")
    tab_sig, tab_csv = st.tabs(["Sensor signals (built in)", "Your CSV table"])
    with tab_sig:
        signals_tab()
    with tab_csv:
        csv_tab()


main()
