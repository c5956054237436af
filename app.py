"""aelab entry point: page config, shared sidebar, and the st.navigation router over pages/."""
import streamlit as st

from aelab import ui

st.set_page_config(page_title="aelab · autoencoder lab", page_icon="⏳", layout="wide")
ui.restore_widget_state()

PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/build_train.py", title="Build & Train", icon="🏗️"),
    ],
}

nav = st.navigation(PAGES)
with st.sidebar:
    run = ui.current_run()
    if run is not None:
        st.caption(f"Session model: **{run.spec.describe()}** on {run.dataset}, "
                   f"{run.epochs_done} epochs, test loss {run.test_loss:.4f}")
    else:
        st.caption("No model trained yet in this session.")
nav.run()
ui.save_widget_state()
