"""Draw your own input: the session model reconstructs it, places it among the test codes, and ranks its error.

The canvas is a small st.components.v2 component with inline JavaScript (aelab/ui.py, drawing_canvas) rather
than the `streamlit-drawable-canvas` package. That package is maintained (0.13.0 on PyPI, September 2026, now on
components v2, requires streamlit>=1.53, so it should run on 1.67), but its author calls it "best effort"; it
ships a 412 kB Fabric.js bundle, returns the whole canvas as an RGBA PNG (decoding it needs Pillow, its "image"
extra) and would be a new dependency. About sixty lines of canvas code need no dependency and no npm build, and
send exactly the 112x112 ink bitmap that aelab/drawing.py preprocesses (and its tests check).
"""
import streamlit as st

from aelab import data, drawing, latent, runs, settings, ui

CANVAS_KEY = "draw_canvas"  # widget key of the canvas (its value: the last bitmap it sent)
QUICK_JOB = "draw_quick"  # job key: the small model this page trains when the session has none
REF_KEY = "draw_reference"  # session key: drawing.Reference of the session model, per projection
SOURCE = "draw_source"  # session key: {"test": index} while a test image is shown instead of the canvas
SEEN = "draw_seen_ink"  # session key: the canvas bitmap that was current when a test image was picked
LAST = "draw_last_payload"  # session key: the canvas's last bitmap (painted back after a page switch)
FORM = settings.DRAW  # this page's settings (widgets, URL, defaults)


def offer_model() -> None:
    """No session model: say so, and offer a small Digits autoencoder trained right here (a few seconds)."""
    st.info("Your drawing is shown to the model trained in this session, and there is none yet. Train one on "
            "**Build & Train**, or train a small Digits autoencoder here in a few seconds.", icon="🧪")
    ui.quick_model(QUICK_JOB, latent.QUICK_SPEC, latent.QUICK_CFG, "✏️ Train a small Digits autoencoder",
                   "Small Digits autoencoder")


def usable_bundle(run: runs.Run) -> data.DataBundle | None:
    """The run's image data set, or None after a message (non-image data, missing files)."""
    if run.spec.input_dim not in drawing.PREPROCESS or run.dataset not in data.DATASETS:
        st.warning(f"The session model reads {run.spec.input_dim} numbers per sample from "
                   f"'{run.dataset}', not 8x8 or 28x28 images, so a drawing cannot be fed to it. It stays your "
                   "session model; train a model on Digits, MNIST or Fashion-MNIST on **Build & Train** to "
                   "draw for it.", icon="🖼️")
        return None
    try:
        return ui.get_bundle(run.dataset)
    except Exception as exc:  # noqa: BLE001 - data removed after training: say so, keep the model
        st.error(f"The model's data set {data.DATASETS[run.dataset]} cannot be read here: {exc}", icon="📁")
        return None


def reference_for(run: runs.Run, bundle: data.DataBundle, dims: int) -> drawing.Reference:
    """The test set's errors and codes for this model, projected to `dims`, computed once per model and projection."""
    cache = ui.memo(REF_KEY, run)
    if dims not in cache:
        with st.spinner("Measuring the test images once for this model…"):
            cache[dims] = drawing.reference(run, run.model, bundle.x_test, bundle.y_test, dims)
    return cache[dims]


def pick_test_image(n: int) -> None:
    """Show a random held-out image through the same path instead of the canvas (until the next stroke)."""
    st.session_state[SOURCE] = {"test": drawing.random_test_index(n)}
    st.session_state[SEEN] = (st.session_state.get(LAST) or {}).get("ink")


def current_ink(payload: dict | None, bundle: data.DataBundle):
    """The ink to judge, (GRID, GRID), and where it came from; DrawingError when there is nothing usable."""
    source = st.session_state.get(SOURCE)
    if source and (payload or {}).get("ink") == st.session_state.get(SEEN):  # no new stroke since the pick
        return drawing.test_image_ink(bundle, source["test"])
    st.session_state.pop(SOURCE, None)
    return drawing.decode(payload), "your drawing"


def show(run: runs.Run, bundle: data.DataBundle, ink, what: str, dims: int) -> None:
    """Reconstruction, percentile, sentence, code space (projected to `dims`) and error histogram."""
    ref = reference_for(run, bundle, dims)
    v = drawing.judge(ink, run.model, ref, bundle.class_names)
    c1, c2 = st.columns([1, 1.2])
    ui.chart(drawing.images_figure(v, bundle.image_shape), width="stretch", key="draw_images", where=c1)
    c2.metric("More unusual than", f"{int(v.percentile)}% of test images",
              help="The share of held-out images that this model reconstructs better than your input.")
    c2.metric("Reconstruction error", f"{v.error:.4f}", help="Mean squared error per pixel.")
    st.markdown(v.sentence)
    st.caption(f"Showing {what}.")
    ui.chart(drawing.code_figure(ref, v, bundle.class_names, height=ui.figure_height(420)), width="stretch",
             key="draw_code")
    ui.chart(drawing.error_figure(ref, v), width="stretch", key="draw_errors")


def main() -> None:
    ui.route_through_app()
    ui.init_form(FORM)
    ui.sync_query_params(FORM, "draw")  # settings <-> URL, so a link reproduces them
    st.title("✏️ Draw your own input")
    st.markdown("Draw a digit, or anything else, and see what the session model makes of it: its reconstruction, "
                "where its code lands among the test images' codes, and how unusual its reconstruction error is. "
                "Your drawing is prepared exactly as the data set's images were (cropped to its ink, scaled, "
                "centred, brought to the same resolution), so the model sees it as it saw its training images. "
                "Draw a letter, and watch it get flagged.")
    run = ui.current_run()
    bundle = usable_bundle(run) if run is not None else None  # None after a message saying why
    if run is None:
        offer_model()
    if bundle is None:
        return
    st.caption(f"Session model: {run.spec.describe()} on {data.DATASETS[run.dataset]}, {run.epochs_done} epochs.")
    left, right = st.columns([1, 1.6], gap="large")
    with left:
        payload = ui.drawing_canvas(CANVAS_KEY, restore=st.session_state.get(LAST))
        if payload is not None:
            st.session_state[LAST] = payload
        st.button("🎲 Try a test image instead", key="draw_test_image", on_click=pick_test_image,
                  args=(len(bundle.x_test),), help="A real held-out image goes through the same preprocessing: it "
                                                   "comes back (nearly) unchanged, and its error is typical.")
        ui.copy_link_button("draw")
    with right:
        wide = run.spec.bottleneck >= 3  # a code of 3 or more numbers can be shown in 2D or 3D
        dims = 3 if wide and ui.field(FORM, "cfg_draw_view") == "3D" else 2
        try:
            ink, what = current_ink(payload, bundle)
            show(run, bundle, ink, what, dims)
        except drawing.DrawingError as err:
            st.info(str(err), icon="✏️")


main()
