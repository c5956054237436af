"""A tiny Streamlit app for tests/test_plain_text.py: hostile strings through aelab.text in every element kind that
renders Markdown, and in a plotly label, so a real browser can show what Streamlit's renderer makes of them."""
import json
import os

import plotly.graph_objects as go
import streamlit as st

from aelab import text

SAMPLES = json.loads(os.environ["AELAB_TEST_SAMPLES"])
for i, s in enumerate(SAMPLES):
    with st.container(key=f"sample_{i}"):
        st.markdown(f"Name: {text.md(s)} (end)")
        st.caption(f"Caption {text.md(s)}")
        st.error(text.md(s))
        st.warning(f"- {text.md(s)}")  # as ui.sync_query_params lists link notes
with st.container(key="chart"):
    st.plotly_chart(go.Figure(go.Bar(x=[text.label(s) for s in SAMPLES], y=list(range(1, len(SAMPLES) + 1)))))
