"""Latent space: see, click, decode, walk and sample the code space of the session's model; AE vs VAE."""
from functools import partial

import streamlit as st

from aelab import analysis, board_share, figures, latent, runs, settings, ui
from aelab.spec import Check

QUICK_JOB = "latent_quick"  # job key: the small 2-D autoencoder trained on this page
OTHER_JOB = "latent_other"  # job key: the other model type (a VAE for an AE session, an AE for a VAE)
OTHER_KEY = "latent_other_run"  # session key: {"base": the session Run, "run": the other Run}
CODES_KEY = "latent_codes"  # session key: {"main": CodeCache, "other": CodeCache}
SELECTED = "latent_selected"  # session key: held-out index of the image being looked at
LAST_EVENT = "_latent_selected_event"  # session key: the last chart selection copied into SELECTED (ui.clicked)
CHART_KEY = "latent_scatter"  # widget key of the clickable code scatter (its state holds the selection)
SLIDER_ORIGIN = "_latent_slider_origin"  # session key: which point the decode sliders start from (ui.start_sliders)
TABS = ("🗺️ Code space", "🎚️ Decode & grid", "↔️ Interpolate", "🎲 Generate", "⚖️ AE vs VAE")
TAB_KEY = "cfg_latent_tab"  # widget key of the tabs: the open tab (kept while other pages are open)
FORM = settings.LATENT  # this page's settings (widgets, URL, defaults)
TAB_WIDGETS = (*(k for k in FORM if not k.startswith("cfg_")), "latent_slider_#", "latent_grid_x", "latent_grid_y")
MODEL_DEFAULTS = ("latent_sampler", "latent_other_epochs", "latent_other_beta")  # their defaults follow the model
field = partial(ui.field, FORM)  # one of this page's settings; without a Check its message shows under it
QUESTION = "latent"  # the AE-vs-VAE tab's predict-first question (aelab/questions.py)


def codes_for(slot: str, run: runs.Run, bundle) -> latent.CodeCache:
    """The run's codes, computed once per model and kept while the page reruns."""
    store = st.session_state.setdefault(CODES_KEY, {})
    if store.get(slot) is None or store[slot].owner is not run:
        with st.spinner("Encoding the images…"):
            store[slot] = latent.encode_run(run, bundle)
    return store[slot]


# -- 1 · the code space --------------------------------------------------------------------------
def code_space(run: runs.Run, bundle, cache: latent.CodeCache) -> None:
    n, k = cache.test.shape
    shown = analysis.subsample(n, latent.MAX_POINTS)
    if n > latent.MAX_POINTS:
        st.caption(latent.subsample_text(n, len(shown)))
    options = latent.view_options(k)
    view = field("cfg_latent_view", options=options, disabled=len(options) == 1)
    ui.terms("code", "pca", "tsne", "held_out")
    check = Check()
    requested = field("cfg_latent_tsne_n", check, help=latent.tsne_help()) if "t-SNE" in view else None
    with st.spinner("Running t-SNE (a few seconds)…"):
        cv = latent.code_view(cache, shown, view, requested, str(check.errors[0]) if check.errors else "")
    ui.say("error", cv.error, icon="⚠️")
    ui.say("info", cv.note, icon="✂️")
    picked = ui.clicked(CHART_KEY, n, SELECTED)
    ui.chart(figures.latent_scatter(cv.points, bundle.y_test.numpy()[cv.indices], bundle.class_names, title=cv.title,
                                    axis_title=cv.axis, indices=cv.indices, height=ui.figure_height(460),
                                    ring=st.session_state.get(SELECTED)),
             CHART_KEY, png=f"latent_{run.dataset}_k{k}", on_select="rerun", selection_mode="points")
    st.caption(latent.click_text(picked, "3D" in view))
    ui.index_box(FORM, "latent_index_text", n, SELECTED, "latent_show_index")  # type an index instead of clicking
    if (idx := latent.valid_index(st.session_state.get(SELECTED), n)) is not None:
        point_details(run, bundle, idx)
    st.download_button(key="latent_csv", **latent.codes_download(cache, bundle, run.dataset))


def point_details(run: runs.Run, bundle, idx: int) -> None:
    """The selected image, its reconstruction and its code values."""
    point = latent.point_view(run.model, bundle.x_test[idx:idx + 1])  # (1, D)
    name = bundle.class_names[int(bundle.y_test[idx])]
    c1, c2 = st.columns([2, 3])
    c1.markdown(f"**#{idx}** · class {name} · reconstruction error {point.error:.4f}")
    ui.images([point.images], bundle, "latent_detail", c1, png=f"image_{idx}", col_labels=["image", "reconstruction"],
              height=240)
    c2.markdown(f"**Image #{idx}** (class {name}): its code")
    c2.dataframe(point.code, hide_index=True, height=min(36 * (len(point.code["value"]) + 1) + 4, 300),
                 width="stretch")


# -- 2 · decode any point, the manifold grid -------------------------------------------------------
@st.fragment
def decode_panel(run: runs.Run, bundle, cache: latent.CodeCache) -> None:
    """Sliders per code dimension (or principal direction) that start at the selected point and decode live."""
    dirs = cache.extra["dirs"] = cache.extra.get("dirs") or latent.slider_directions(cache.train)
    idx = latent.valid_index(st.session_state.get(SELECTED), len(cache.test))
    base = cache.test[idx] if idx is not None else cache.train.mean(axis=0)
    start, lo, hi = latent.slider_range(dirs, base, cache.train)
    st.markdown(latent.TEXT["raw sliders"] if dirs.is_raw else latent.pca_sliders_text(dirs, len(base)))
    ui.start_sliders("latent_slider", start, (idx, id(cache)), st.button("↺ Back to the selected point",
                                                                         key="latent_slider_reset"))
    cols = st.columns(min(4, len(start)))
    values = [cols[i % len(cols)].slider(name, float(lo[i]), float(hi[i]), key=f"latent_slider_{i}",
                                         step=float(hi[i] - lo[i]) / 200, format="%.2f")
              for i, name in enumerate(dirs.names)]
    z = dirs.to_code(values, base)  # (k,)
    images, labels = latent.decoded_with(run.model, z, bundle.x_test, idx)
    ui.images([images], bundle, "latent_decoded", png="decoded_code", col_labels=labels, height=280)
    st.caption(latent.code_text(z))


def manifold_grid(run: runs.Run, bundle, cache: latent.CodeCache) -> None:
    """Decode a regular lattice over the code range (2-D codes) or over two principal directions."""
    k = cache.train.shape[1]
    size = field("cfg_latent_grid_n")
    pair, span = (0, 1), FORM["cfg_latent_span"].default
    if k <= 2:
        st.caption(latent.TEXT["line grid" if k == 1 else "plane grid"])
    else:
        names = [f"PC{i + 1}" for i in range(min(k, latent.PCA_SLIDERS))]
        c1, c2, c3 = st.columns(3)
        pair = (c1.selectbox("Across", range(len(names)), 0, format_func=names.__getitem__, key="latent_grid_x"),
                c2.selectbox("Down", range(len(names)), 1, format_func=names.__getitem__, key="latent_grid_y"))
        span = field("cfg_latent_span", where=c3)
        if pair[0] == pair[1]:
            st.warning("Pick two different directions for the grid.", icon="⚠️")
            return
        st.caption(latent.lattice_text(span, names[pair[0]], names[pair[1]]))
    lat, images = latent.lattice(run.model, cache.train, size, size, pair, span)
    st.markdown(f"**Decoded lattice**: {lat.x_name} across, {lat.y_name} down")
    ui.images(latent.rows_of(images, lat.cols), bundle, "latent_grid", png=f"manifold_{run.dataset}",
              row_labels=[f"{y:.2g}" for y in lat.y_values], col_labels=[f"{x:.2g}" for x in lat.x_values],
              height=ui.figure_height(100 + 48 * size))


# -- 3 · interpolation ------------------------------------------------------------------------------
def interpolation(run: runs.Run, bundle, cache: latent.CodeCache) -> None:
    n = len(cache.test)
    if st.button("Use the selected image as the start", key="latent_use_selected",
                 disabled=st.session_state.get(SELECTED) is None):
        st.session_state["latent_from"] = str(st.session_state[SELECTED])
    c1, c2, c3 = st.columns(3)
    a, b = (field(key, where=col, context={"n_test": n - 1}, help=f"A held-out index, 0 to {n - 1:,}.")
            for key, col in (("latent_from", c1), ("latent_to", c2)))
    steps = field("cfg_latent_steps", where=c3)
    if a is None or b is None:
        return
    if a == b:
        st.info("Start and end are the same image: pick two different indices to see a path.", icon="💡")
    path = latent.walk(run.model, cache.test, bundle.x_test, a, b, steps)
    st.markdown(latent.walk_title(bundle, a, b))
    ui.images([path.through_code, path.cross_fade], bundle, "latent_interp", png=f"interpolation_{a}_{b}",
              row_labels=["through the code", "pixel cross-fade"], col_labels=[f"{v:.2f}" for v in path.t],
              height=ui.figure_height(280))
    st.caption(latent.walk_text(path))


# -- 4 · generation -------------------------------------------------------------------------------
def generation(run: runs.Run, bundle, cache: latent.CodeCache) -> None:
    is_vae = run.spec.kind == "vae"
    options = ["prior", "fitted"] if is_vae else ["fitted", "prior"]
    st.session_state.setdefault("latent_sampler", options[0])  # a VAE samples its prior first
    c1, c2, c3 = st.columns([2, 1, 1])
    sampler = field("latent_sampler", where=c1, options=options)
    n, seed = field("cfg_latent_n_samples", where=c2), field("latent_seed", where=c3)
    said = FORM["latent_sampler"].show(sampler)
    rows = latent.sample_images(run.model, cache, sampler, n, seed)
    ui.images(rows, bundle, "latent_samples", png=f"samples_{sampler}", title=f"{n} decoded samples from {said}",
              height=ui.figure_height(60 + 70 * len(rows)))
    h = latent.sample_holes(cache, sampler, seed)
    ui.metrics(latent.holes_metrics(h))
    st.markdown(latent.holes_sentence(h, said))
    ui.terms("holes", "prior", "active_units", "vae")
    st.caption(latent.active_text(cache.train) if is_vae else latent.TEXT["ae samples"])
    overlay = latent.overlay_points(cache, latent.draw_samples(cache, sampler, n, seed))
    if overlay is not None:
        ui.chart(figures.samples_overlay(*overlay, bundle.class_names), "latent_overlay", png="latent_overlay")


# -- 5 · AE vs VAE --------------------------------------------------------------------------------
def train_other(run: runs.Run, bundle) -> None:
    """Controls to train the other model type with the same architecture, in the background."""
    target = latent.other_kind(run.spec)
    other = latent.KIND_NAME[target.kind]
    st.markdown(latent.twin_text(run))
    ui.follow_defaults(FORM, latent.twin_defaults(run), "latent_other")
    check, c1, c2 = Check(), *st.columns(2)
    epochs = field("latent_other_epochs", check, c1)
    beta = field("latent_other_beta", check if target.kind == "vae" else Check(), c2, disabled=target.kind != "vae")
    spec, cfg = target, None
    if check.ok:
        spec, cfg, more = latent.other_setup(run, epochs, beta, len(bundle.x_train))
        check.add(more)
    ui.show_check(check)
    ui.train_button(OTHER_JOB, f"Train the {other}", bundle, spec, cfg, f"Training the {other}", lambda job: (
        st.session_state.update({OTHER_KEY: {"base": run, "run": job.result}}) if latent.is_twin(job.result, run)
        else None), ready=check.ok, button_key="latent_other_train", controls=True)


def compare(run: runs.Run, bundle, cache: latent.CodeCache) -> None:
    ui.predict_first(QUESTION)
    other = latent.twin_of(st.session_state.get(OTHER_KEY), run)
    if other is None or ui.job_is_active(OTHER_JOB):
        train_other(run, bundle)
    if other is None or not ui.await_prediction(QUESTION, other):
        return
    if other.status != "done":
        st.warning(f"The {latent.KIND_NAME[other.spec.kind]} did not finish: {other.message}", icon="⚠️")
    seed, holes, health = field("latent_cmp_seed"), [], None
    pairs = sorted([(run, cache), (other, codes_for("other", other, bundle))], key=lambda p: p[0].spec.kind != "ae")
    for col, (model_run, codes) in zip(st.columns(2), pairs):  # the autoencoder on the left
        side, kind = latent.comparison_side(model_run, codes, seed), model_run.spec.kind
        col.markdown(latent.side_title(model_run))
        ui.chart(figures.latent_scatter(side.points, bundle.y_test.numpy()[side.shown], bundle.class_names,
                                        title=f"Code space ({side.view})", axis_title=side.axis, indices=side.shown,
                                        height=ui.figure_height(360), marker_size=4), f"latent_cmp_space_{kind}", col,
                 png=f"code_space_{kind}")
        ui.images(side.samples, bundle, f"latent_cmp_samples_{kind}", col, png=f"samples_{kind}", height=200,
                  title=f"Samples from {FORM['latent_sampler'].show(side.sampler)}")
        col.metric("Sample distance ÷ held-out distance", f"{side.holes.ratio:.2f}x",
                   help="1x: samples land as close to training codes as real held-out images do.")
        col.caption(latent.side_caption(side, codes.train, kind == "vae"))
        holes.append(side.holes)
        if kind == "vae":
            with col.expander("Is the VAE using its code?", expanded=True):
                health = ui.vae_health(model_run, bundle, key="latent_vae_health")
    ui.reveal(QUESTION, latent.compare_answer(*holes), other)
    st.markdown(latent.compare_sentence(*holes, vae_ignores_input=bool(health and health.ignores_input)))
    ui.share_to_class(board_share.Twins(run, other), key="latent", question=QUESTION)
    st.caption(latent.TEXT["compare"])
    ui.terms("vae", "prior", "holes", "kl", "beta", "active_units")
    if st.button("Train the other model again", key="latent_other_retrain"):
        st.session_state.pop(OTHER_KEY, None)
        st.rerun()


# -- the page -------------------------------------------------------------------------------------
def main() -> None:
    ui.route_through_app()
    st.title("🌌 Latent space")
    st.markdown(latent.TEXT["intro"])
    ui.init_form(FORM, skip=MODEL_DEFAULTS)
    ui.sync_query_params(FORM, "latent")  # settings <-> URL, so a link reproduces them
    ui.copy_link_button("latent")
    run = ui.current_run()
    if run is None:
        ui.no_model_notice(", or train a small autoencoder with a 2-number code right here")
        ui.quick_model(QUICK_JOB, latent.QUICK_SPEC, latent.QUICK_CFG, "🌌 Train a small 2-D autoencoder on digits",
                       "Small 2-D autoencoder")
        return
    bundle, problem = ui.session_bundle(run)
    cache = codes_for("main", run, bundle) if bundle is not None else None
    if cache is None or not latent.finite(cache):
        st.error(problem or latent.TEXT["nan"], icon="📁" if problem else "⚠️")
        return
    if ui.forget_on_change([SELECTED, SLIDER_ORIGIN], run, "latent"):  # a new model: forget the old one's clicks
        st.session_state[LAST_EVENT] = tuple(latent.selected_indices(st.session_state.get(CHART_KEY)))
    st.caption(latent.model_caption(run, bundle.label))
    ui.keep_keys(TAB_WIDGETS)  # only the open tab runs (its first drawing stays under a second); the others keep
    ui.lazy_tabs(TABS, TAB_KEY, [code_space, lambda *a: (decode_panel(*a), st.divider(), manifold_grid(*a)),
                                 interpolation, generation, compare], run, bundle, cache)


main()
