"""Save & load: download the session model (checkpoint, PyTorch code, loss history) or load a checkpoint file."""
import streamlit as st

from aelab import checkpoint, data, limits, text, ui
from aelab.checkpoint import CheckpointError
from aelab.runs import Run

UPLOAD_KEY = "model_io_upload"
CHECKED = "model_io_checked"  # (file id, file name, Run or refusal message) for the last uploaded file
LOADED = "model_io_loaded"  # confirmation shown after a checkpoint became the session model


def check_upload(upload) -> Run | str:
    """Validate an uploaded file; returns the Run, or the message saying why it was refused."""
    try:
        checkpoint.check_size(upload.size)  # before reading the bytes
        run = checkpoint.from_bytes(upload.getvalue())
        if not data.is_available(run.dataset):
            raise CheckpointError(f"This model was trained on {data.DATASETS[run.dataset]}, which is not on this "
                                  "machine: download it on Build & Train first, then load the file again.")
        checkpoint.check_dataset(run.dataset, run.spec.input_dim, run.spec, expected=ui.get_bundle(run.dataset))
        return run
    except CheckpointError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever else goes wrong, the page and the model survive
        return f"The file could not be loaded ({type(exc).__name__}: {str(exc)[:200]})."


def describe(run: Run) -> str:
    return (f"**{run.spec.describe()}** ({'VAE' if run.spec.kind == 'vae' else 'autoencoder'}, "
            f"{run.spec.param_count:,} parameters) trained on {data.DATASETS.get(run.dataset, run.dataset)} for "
            f"{run.epochs_done} epochs with {run.cfg.loss.upper()} loss; held-out loss {run.test_loss:.4f}.")


def downloads(run: Run) -> None:
    st.header("Download the session model")
    st.markdown(describe(run))
    stem = checkpoint.file_stem(run)
    c1, c2, c3 = st.columns(3)
    c1.download_button("💾 Checkpoint (.pt)", data=lambda: checkpoint.to_bytes(run), file_name=f"{stem}.pt",
                       mime="application/octet-stream", key="model_io_dl_ckpt", width="stretch",
                       help="Weights, architecture, training settings and loss history in one file; load it here "
                            "again, or in plain PyTorch.")
    code = checkpoint.runnable_code(run, f"{stem}.pt")
    c2.download_button("🐍 PyTorch code (.py)", data=code, file_name=f"{stem}.py", mime="text/x-python",
                       key="model_io_dl_code", width="stretch",
                       help="Rebuilds the architecture and loads the checkpoint's weights.")
    c3.download_button("📈 Loss history (.csv)", data=checkpoint.history_csv(run.history),
                       file_name=f"{stem}_history.csv", mime="text/csv", key="model_io_dl_csv", width="stretch")
    with st.expander("The PyTorch code", expanded=False):
        st.code(code, language="python")


def uploads() -> None:
    st.header("Load a checkpoint")
    st.caption(f"A file saved from this page (at most {limits.CHECKPOINT_MB} MB, enough for the largest model "
               "this lab trains). It is checked before anything is used: only weights are read (no code runs), and "
               "the architecture, every tensor's shape and the data set must fit. A refused file leaves your current "
               "model as it is.")
    upload = ui.file_uploader("Checkpoint file", "checkpoint", key=UPLOAD_KEY, type=["pt", "pth", "ckpt"])
    if upload is None:
        return
    cached = st.session_state.get(CHECKED)
    if cached is None or cached[0] != upload.file_id:
        # a new file: replace what the last one said at once (its check can take seconds on a large file)
        slot = st.empty()
        slot.info(f"Checking {text.md(upload.name)}…", icon="⏳")
        cached = (upload.file_id, upload.name, check_upload(upload))
        st.session_state[CHECKED] = cached
        slot.empty()
    _, name, result = cached
    # the message names its file: a newer file the browser itself refused (too large, wrong type) is not sent to
    # the page, so the uploader keeps the old one and this message stays about that one
    if isinstance(result, str):
        st.error(f"Refused {text.md(name)}: {text.md(result)}", icon="🛑")
        if ui.current_run() is not None:
            st.caption("Your session model is unchanged.")
        return
    st.markdown(f"The file {text.md(name)} holds " + describe(result))
    if result is ui.current_run():
        st.caption("This file's model is the session model now.")
        return
    if ui.job_is_active("train"):
        st.warning("A model is training on Build & Train; when it finishes it replaces the session model again.")
    if st.button("Use this model", key="model_io_use", type="primary",
                 help="It replaces the session model on every page."):
        ui.set_run(result)
        st.session_state[LOADED] = f"Loaded {result.spec.describe()}: it is now the session model on every page."
        st.rerun()


def main() -> None:
    ui.route_through_app()
    st.title("💾 Save & load")
    st.caption("Take a trained model with you, or hand one out: a teacher can pre-train a model and learners "
               "load it here.")
    if st.session_state.get(LOADED):
        st.success(st.session_state.pop(LOADED), icon="✅")
    run = ui.current_run()
    if run is None:
        st.info("No model in this session yet: train one on Build & Train, or load a checkpoint below.", icon="🧪")
        ui.page_link_or_note("pages/build_train.py", "Go to Build & Train", icon="🏗️")
    else:
        downloads(run)
    st.divider()
    uploads()


main()
