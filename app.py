"""aelab entry point: page config, shared sidebar, and the st.navigation router over pages/."""
import os

# Idle OpenMP workers must sleep, not spin: training threads share 2 cores with the UI (see jobs.pin_threads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from aelab import ui  # noqa: E402 - torch is imported in the background (ui.warm_up_in_background)

ui.skip_bare_mode_check()
st.set_page_config(page_title="aelab · autoencoder lab", page_icon=":material/hourglass_top:", layout="wide")
ui.keep_widget_state()
ui.guard_uploads()  # the server itself refuses uploads over aelab's limits and releases a session's files
ui.pin_threads_if_torch()  # this script thread draws with torch too (once it is loaded)

# Material icons, not emoji: the first emoji icon makes Streamlit compile its emoji catalog (0.1-0.16 s
# of the first page on a fresh server; see benchmarks/startup.py).
PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/build_train.py", title="Build & Train", icon=":material/construction:"),
        st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
        st.Page("pages/board.py", title="Class board", icon=":material/groups:"),
    ],
    "Experiments": [
        st.Page("pages/bigger_bottleneck.py", title="Bigger bottleneck?", icon=":material/science:"),
        st.Page("pages/split.py", title="Encoder | Decoder", icon=":material/content_cut:"),
        st.Page("pages/latent.py", title="Latent space", icon=":material/scatter_plot:"),
        st.Page("pages/compare.py", title="Kinds side by side", icon=":material/compare:"),
    ],
    "What autoencoders are for": [
        st.Page("pages/denoising.py", title="Denoising", icon=":material/auto_fix_high:"),
        st.Page("pages/anomaly.py", title="Anomaly detection", icon=":material/crisis_alert:"),
        st.Page("pages/pca.py", title="PCA = linear AE", icon=":material/straighten:"),
        st.Page("pages/signals.py", title="Not only images", icon=":material/show_chart:"),
    ],
    "Your model": [
        st.Page("pages/model_io.py", title="Save & load", icon=":material/save:"),
        st.Page("pages/draw.py", title="Draw your own input", icon=":material/draw:"),
    ],
}

ui.page_run_activity()  # the background warm-up waits while pages are being drawn
nav = st.navigation(PAGES)
with st.sidebar:
    ui.classroom_toggle()
    ui.restore_saved_run()  # once per session: the model this browser had before a reload or a server restart
    run = ui.current_run()
    if run is not None:
        st.caption(f"Session model: **{run.spec.describe()}** on {run.dataset}, "
                   f"{run.epochs_done} epochs, test loss {run.test_loss:.4f}")
    else:
        st.caption("No model trained yet in this session.")
    ui.session_model_notes()
    ui.remember_browser()  # the browser's token cookie: its next tabs and visits are the same student
nav.run()
ui.page_run_activity()
# after the page is drawn: pandas, torch, an optimizer, first figures, sklearn; once per server (at once when the
# first page opened is not Home: it is about to need them)
ui.warm_up_in_background(ui.WARM_UP_DELAY_S if nav.url_path == "" else 0.0)
