"""aelab entry point: page config, shared sidebar, and the st.navigation router over pages/."""
import os

# Idle OpenMP workers must sleep, not spin: training threads share 2 cores with the UI (see jobs.pin_threads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from aelab import ui  # noqa: E402 - torch is imported in the background (ui.warm_up_in_background)

st.set_page_config(page_title="aelab · autoencoder lab", page_icon="⏳", layout="wide")
ui.keep_widget_state()
ui.pin_threads_if_torch()  # this script thread draws with torch too (once it is loaded)

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/build_train.py", title="Build & Train", icon="🏗️"),
        st.Page("pages/lessons.py", title="Lessons", icon="🎓"),
    ],
    "Experiments": [
        st.Page("pages/bigger_bottleneck.py", title="Bigger bottleneck?", icon="🔬"),
        st.Page("pages/split.py", title="Encoder | Decoder", icon="✂️"),
        st.Page("pages/latent.py", title="Latent space", icon="🌌"),
    ],
    "What autoencoders are for": [
        st.Page("pages/denoising.py", title="Denoising", icon="🧽"),
        st.Page("pages/anomaly.py", title="Anomaly detection", icon="🚨"),
        st.Page("pages/pca.py", title="PCA = linear AE", icon="📐"),
        st.Page("pages/signals.py", title="Not only images", icon="📈"),
    ],
    "Your model": [
        st.Page("pages/model_io.py", title="Save & load", icon="💾"),
    ],
}

nav = st.navigation(PAGES)
with st.sidebar:
    ui.classroom_toggle()
    run = ui.current_run()
    if run is not None:
        st.caption(f"Session model: **{run.spec.describe()}** on {run.dataset}, "
                   f"{run.epochs_done} epochs, test loss {run.test_loss:.4f}")
    else:
        st.caption("No model trained yet in this session.")
nav.run()
ui.warm_up_in_background()  # after the page is drawn: torch, sklearn, an optimizer; once per server
