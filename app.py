"""aelab entry point: page config, shared sidebar, and the st.navigation router over pages/."""
import os

# Idle OpenMP workers must sleep, not spin: training threads share 2 cores with the UI (see jobs.pin_threads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from aelab import theme, ui  # noqa: E402 - torch is imported in the background (ui.warm_up_in_background)

ui.skip_bare_mode_check()
# The tab's icon is a local SVG (theme.icon_svg). It must come before st.navigation: Streamlit otherwise shows the
# page's Material icon as the tab icon, fetched from fonts.gstatic.com (which an offline classroom cannot reach).
# Streamlit reads an image icon with numpy imported: 0.05 s, once per server process.
st.set_page_config(layout="wide", page_icon=theme.icon_svg())
ui.keep_widget_state()
ui.guard_uploads()  # the server itself refuses uploads over aelab's limits and releases a session's files
ui.guard_reruns()  # a live view's poll that meets a just-ended page run waits for it (Streamlit 1.67 dropped the run)
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
st.set_page_config(page_title=f"{nav.title} · aelab")  # each page names itself in the tab (screen readers read it)
with st.sidebar:
    ui.classroom_toggle()
    ui.page_style()  # after the toggle: Classroom mode's larger text starts on the run that switched it on
    ui.restore_saved_run()  # once per session: the model this browser had before a reload or a server restart
    run = ui.current_run()
    if run is not None:
        st.caption(f"Session model: **{run.spec.describe()}** on {run.dataset}, "
                   f"{run.epochs_done} epochs, test loss {run.test_loss:.4f}")
    else:
        st.caption("No model trained yet in this session.")
    ui.session_model_notes()
    score = st.empty()  # the session's predict-first score: filled after the page has run
    ui.remember_browser()  # the browser's token cookie: its next tabs and visits are the same student
nav.run()
ui.prediction_score_caption(score)  # after the page, so this run's reveal is counted
ui.page_run_activity()
# after the page is drawn: pandas, torch, an optimizer, first figures, sklearn; once per server (at once when the
# first page opened is not Home: it is about to need them)
ui.warm_up_in_background(ui.WARM_UP_DELAY_S if nav.url_path == "" else 0.0)
