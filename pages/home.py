"""Home: what an autoencoder is, the sandglass of the current architecture, and where to go next."""
import streamlit as st

from aelab import diagram, ui
from aelab.spec import ArchSpec

ui.route_through_app()

# The sandglass is sent first (drawn below the text): the browser then starts loading its plotting code
# while the rest of the page is still being sent, which shortens start-up by a fraction of a second.
intro, chart, rest = st.container(), st.container(), st.container()
run = ui.current_run()
spec = run.spec if run is not None else ArchSpec(input_dim=784, encoder=(128, 64, 12), bottleneck=3)
caption = "your session's model" if run is not None else "the seed document's 784-128-64-12-3 network"
with chart:
    ui.chart(ui.sandglass(spec), width="stretch")
    st.caption(f"The sandglass of {caption}. Bar heights follow the layer widths on a log scale; red is the code.")

intro.title("⏳ aelab — learn autoencoders by building one")
intro.markdown(
    """
An **autoencoder** is a neural network trained to output its own input. That sounds pointless —
until you force the data through a narrow middle layer, the **bottleneck** (or *code*). To copy an
image through a handful of numbers, the network must discover what matters about the data.

* The **encoder** squeezes the input down to the code.
* The **decoder** rebuilds the input from the code alone.
* The **reconstruction loss** (for example the mean squared difference between input and output)
  is all it learns from — no labels needed.
"""
)
intro.markdown(diagram.shape_sentence(spec) + f" ({caption})")
rest.header("Where to go")
rest.page_link("pages/build_train.py", label="**Build & Train** — design a network, train it live, watch it learn",
              icon=":material/construction:")
rest.markdown(
    "Everything runs on your machine; the built-in *Digits* data set needs no download. "
    "Every result a page states is computed from a measurement made on that page, which you can repeat and change: "
    "predict first, then run it and see whether the numbers agree. The fixed texts are definitions (see the "
    "glossary on the Lessons page)."
)
