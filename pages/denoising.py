"""Denoising: does an autoencoder trained on noisy inputs with clean targets clean images better than a plain one?"""
import streamlit as st

from aelab import data, denoise, fields, figures, noise, settings, ui
from aelab.jobs import Job
from aelab.spec import Check

JOB = "denoise"  # key of this page's job in the session registry
RESULT = "dn_result"  # session key: the last finished denoise.DenoiseResult
FORM = settings.DENOISING  # this page's settings (widgets, URL, defaults, denoise.DenoiseSettings)
QUESTION = "denoising"  # this page's predict-first question (aelab/questions.py)


def read_settings(bundle: data.DataBundle) -> tuple[denoise.DenoiseSettings | None, Check]:
    """The lab's settings from the widgets; every problem comes back as a message."""
    check = Check()
    c1, c2 = st.columns([1.4, 1])
    kind = ui.field(FORM, "cfg_dn_noise", check, c1)
    values = {"cfg_dn_noise": kind, "cfg_dn_level": ui.field(FORM, "cfg_dn_level", check, c2, help=(
        f"Above 0 and at most {noise.MAX_LEVEL:g}: {noise.LEVEL_MEANING[kind]}."))}
    with st.expander("Model and training"):
        c1, c2, c3 = st.columns(3)
        layout = {"cfg_dn_hidden": c1, "cfg_dn_bottleneck": c2, "cfg_dn_epochs": c3, "cfg_dn_copies": c1}
        values |= {key: ui.field(FORM, key, check, where) for key, where in layout.items()}
        values["cfg_dn_n_train"] = ui.field(FORM, "cfg_dn_n_train", check, c2, help=f"At most {len(bundle.x_train):,}.")
        values |= ui.layout_fields(FORM, "cfg_dn_layout", "cfg_dn_channels", check)
    return fields.build(FORM, denoise.DenoiseSettings, values, check.errors, lambda s: denoise.check(s, bundle))


def preview(bundle: data.DataBundle, settings: denoise.DenoiseSettings) -> None:
    """What the chosen corruption does, before anything is trained."""
    clean, noisy, err = denoise.noise_preview(bundle, settings)
    ui.chart(figures.image_grid([clean, noisy], bundle.image_shape, row_labels=["clean", "noisy"], height=200,
                                title="Preview of the noise"), width="stretch", key="dn_preview")
    st.caption(f"Mean squared error of these noisy images against the clean ones: {err:.4f}.")


def start(bundle: data.DataBundle, settings: denoise.DenoiseSettings) -> None:
    ui.start_job(JOB, lambda ctx: denoise.run_lab(bundle, settings, ctx), "denoise", "training")


def draw_live(view) -> None:
    """Progress of the model being trained, and the loss curves of both models so far."""
    ui.lab_progress(view, "dn", height=260, curves=ui.predicted(QUESTION) is not None)


def on_done(job: Job) -> None:
    """Keep the finished comparison (a failed run leaves the previous results in place)."""
    if isinstance(job.result, denoise.DenoiseResult):
        st.session_state[RESULT] = job.result


def draw_results(result: denoise.DenoiseResult) -> None:
    s, dim = result.settings, result.examples["clean"].shape[1]
    ui.measured(f"{data.DATASETS.get(result.dataset, result.dataset)} · {s.describe(dim)} · seed {s.seed} · "
                f"both models trained and measured in {result.seconds:.1f} s.", result)
    ui.reveal(QUESTION, denoise.measured_answer(result), result)
    st.markdown("\n".join(f"- {line}" for line in denoise.summary(result)))
    ui.share_to_class(result, key="dn", question=QUESTION)
    ui.chart(denoise.example_grid(result), width="stretch", key="dn_grid")
    c1, c2 = st.columns(2)
    ui.chart(denoise.error_bars(result), width="stretch", key="dn_bars", where=c1)
    ui.chart(denoise.level_curve(result), width="stretch", key="dn_levels", where=c2)
    ui.terms("denoising", "mse", "held_out")
    st.caption("Errors are the mean squared difference per pixel between a model's output (or the noisy input) and "
               "the clean held-out image. Bars show 95% confidence intervals over the held-out images; the grey bar is "
               "the plain AE fed the clean image, the price of the bottleneck alone. The right chart feeds the same "
               "two trained models other amounts of the same kind of noise.")
    with st.expander("Loss curves of both models"):
        c1, c2 = st.columns(2)
        ui.chart(figures.loss_curves(result.plain_history, title="Plain AE (clean → clean)", height=280,
                                     loss="mse"),
                 width="stretch", key="dn_loss_plain", where=c1)
        ui.chart(figures.loss_curves(result.denoiser_history, title="Denoising AE (noisy → clean)",
                                     height=280, loss="mse"), width="stretch", key="dn_loss_dae", where=c2)
        st.caption("The test curve of each model uses its own task: clean inputs for the plain AE, noisy inputs "
                   "for the denoising AE; both are scored against clean images.")


def main() -> None:
    col_set, col_run = ui.open_lab(FORM, "denoising", "🧽 Denoising", denoise.INTRO)
    with col_set:
        bundle, settings, check = ui.lab_settings("cfg_dn_dataset", read_settings)
    with col_run:
        if bundle is not None and settings is not None:
            preview(bundle, settings)
        ui.predict_first(QUESTION)
        ready = bundle is not None and settings is not None and check.ok
        ui.run_controls(JOB, "🧽 Train both models", "dn_run", ready,
                        "Train the plain and the denoising autoencoder in the background.",
                        lambda: start(bundle, settings), page="denoising")
    ui.live_job(JOB, draw_live, on_done=on_done, every=0.5)
    result = st.session_state.get(RESULT)
    if result is None:
        if not ui.job_is_active(JOB):
            st.info("Press **Train both models**. With the built-in digits it takes a few seconds.", icon="👆")
        return
    if ui.job_is_active(JOB):
        st.caption("Below: the previous results, until the new run finishes.")
    if ui.await_prediction(QUESTION, result):
        draw_results(result)


main()
