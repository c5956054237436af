"""Latent space: see, click, decode, walk and sample the code space of the session's model; AE vs VAE."""
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from aelab import analysis, data, figures, latent, runs, share, ui
from aelab.spec import SpecError, check_arch, check_train, parse_float, parse_int

QUICK_JOB = "latent_quick"  # job key: the small 2-D autoencoder trained on this page
OTHER_JOB = "latent_other"  # job key: the other model type (a VAE for an AE session, an AE for a VAE)
OTHER_KEY = "latent_other_run"  # session key: {"base": the session Run, "run": the other Run}
CODES_KEY = "latent_codes"  # session key: {"main": CodeCache, "other": CodeCache}
SELECTED = "latent_selected"  # session key: held-out index of the image being looked at
LAST_EVENT = "latent_last_event"  # session key: the last chart selection copied into SELECTED
CHART_KEY = "latent_scatter"  # widget key of the clickable code scatter (its state holds the selection)
SLIDER_ORIGIN = "latent_slider_origin"  # session key: which point the decode sliders were last reset to
KIND_NAME = {"ae": "autoencoder", "vae": "VAE"}
TABS = ("🗺️ Code space", "🎚️ Decode & grid", "↔️ Interpolate", "🎲 Generate", "⚖️ AE vs VAE")
TAB_KEY = "cfg_latent_tab"  # widget key of the tabs: the open tab (kept while other pages are open)
TAB_WIDGETS = ("latent_index_text", "latent_slider_#", "latent_grid_x", "latent_grid_y", "latent_from", "latent_to",
               "latent_sampler", "latent_seed", "latent_other_epochs", "latent_other_beta", "latent_cmp_seed")
DEFAULTS = {"cfg_latent_tsne_n": "500", "cfg_latent_grid_n": 10, "cfg_latent_span": 2.0, "cfg_latent_steps": 8,
            "cfg_latent_n_samples": 24}  # settings kept across pages (cfg_ keys), set once per session


def png(name: str) -> dict:
    """Plotly config: the modebar camera saves the figure as a PNG with this file name."""
    return {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, "displaylogo": False}


# -- which model, which data -----------------------------------------------------------------------
def _quick_done(job) -> None:
    if isinstance(job.result, runs.Run) and ui.current_run() is None:
        ui.set_run(job.result)


def _draw_job(view, label: str) -> None:
    ui.progress_bar(view, label)
    ui.status_message(view)


def offer_quick_model() -> None:
    """No model yet: say so, and offer a small 2-D autoencoder on digits trained in the background."""
    st.info("No model trained in this session yet. Train one on **Build & Train** (the default trains in a few "
            "seconds), or train a small autoencoder with a 2-number code right here.", icon="🧪")
    ui.page_link_or_note("pages/build_train.py", "Go to Build & Train", icon="🏗️")
    busy = ui.job_is_active(QUICK_JOB)
    spec, cfg = latent.QUICK_SPEC, latent.QUICK_CFG
    if st.button("🌌 Train a small 2-D autoencoder on digits", key="latent_quick_train", disabled=busy,
                 type="primary", help=f"{spec.describe()}, {cfg.epochs} epochs, in the background."):
        ui.set_job(QUICK_JOB, runs.start_training(ui.get_bundle(data.DIGITS), spec, cfg, name="latent-quick",
                                                  student=ui.student_key()))
        st.rerun()
    if ui.get_job(QUICK_JOB) is not None:
        ui.live_job(QUICK_JOB, lambda v: _draw_job(v, "Small 2-D autoencoder"), _quick_done)


def bundle_for(run: runs.Run) -> data.DataBundle | None:
    """The data set the run was trained on, or None after a message saying what is missing."""
    label = data.DATASETS.get(run.dataset, run.dataset)
    try:
        bundle = ui.get_bundle(run.dataset)
    except Exception as exc:  # noqa: BLE001 - missing or unreadable files: say so, keep the model
        st.error(f"Your session model was trained on **{label}**, which cannot be read on this machine: {exc}",
                 icon="📁")
        return None
    if bundle.input_dim != run.spec.input_dim:
        st.error(f"Your session model expects {run.spec.input_dim} inputs but {label} has {bundle.input_dim}; "
                 "retrain it on Build & Train.", icon="📁")
        return None
    return bundle


def codes_for(slot: str, run: runs.Run, bundle: data.DataBundle) -> latent.CodeCache:
    """The run's codes, computed once per model and kept while the page reruns."""
    store = st.session_state.setdefault(CODES_KEY, {})
    cache = store.get(slot)
    if cache is None or cache.owner is not run:
        train = bundle.subset(run.cfg.n_train, seed=run.cfg.seed)  # the images it was trained on
        with st.spinner("Encoding the images…"):
            cache = latent.encode_sets(run, run.model, train.x_train, bundle.x_test, train.y_train)
        store[slot] = cache
        if slot == "main":  # a new model: forget the old model's clicks and slider positions
            for key in (SELECTED, SLIDER_ORIGIN):
                st.session_state.pop(key, None)
            st.session_state[LAST_EVENT] = tuple(latent.selected_indices(st.session_state.get(CHART_KEY)))
    return cache


def image_shape(bundle: data.DataBundle) -> tuple[int, int]:
    """How one sample is drawn: its image shape, or one row of values for non-image data."""
    return bundle.image_shape or (1, bundle.input_dim)


def held_out_recon(run: runs.Run) -> float:
    """Held-out reconstruction loss (a VAE's total loss also holds its KL term, so take the recon part)."""
    recon = run.history.test_terms.get("recon")
    return recon[-1] if recon else run.test_loss


# -- 1 · the code space --------------------------------------------------------------------------
def view_options(k: int) -> list[str]:
    if k == 1:
        return ["strip (1-number code)"]
    if k == 2:
        return ["raw 2D"]
    if k == 3:
        return ["raw 3D", "PCA 2D", "t-SNE 2D"]
    return ["PCA 2D", "PCA 3D", "t-SNE 2D", "t-SNE 3D"]


def tsne_points(cache: latent.CodeCache, shown: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray] | None:
    """t-SNE of a subset of the shown codes (size chosen by the learner, capped), cached per setting."""
    raw = st.text_input("Points for t-SNE", key="cfg_latent_tsne_n",
                        help=f"t-SNE takes seconds per few hundred points; at most {latent.TSNE_CAP:,} are used.")
    try:
        requested = parse_int(raw, "Points for t-SNE", low=latent.TSNE_MIN)
    except SpecError as err:
        st.error(f"{err} Showing PCA meanwhile.", icon="⚠️")
        return None
    plan = latent.tsne_plan(requested, len(shown))
    if plan.note:
        st.info(plan.note, icon="✂️")
    key = ("tsne", plan.n, dims, len(shown))
    if key not in cache.extra:
        with st.spinner(f"Running t-SNE on {plan.n:,} points (a few seconds)…"):
            try:
                cache.extra[key] = latent.tsne(cache.test[shown], dims, limit=plan.n)
            except ValueError as err:
                st.error(f"{err} Showing PCA instead.", icon="⚠️")
                return None
    points, idx = cache.extra[key]
    return points, shown[idx]


def mark(fig: go.Figure, point: np.ndarray, idx: int) -> None:
    """Ring the selected point in a 2D or 3D scatter."""
    style = dict(mode="markers", name=f"#{idx}", customdata=[idx], showlegend=False,
                 hovertemplate="selected · index %{customdata}<extra></extra>")
    ring = dict(size=16, color="rgba(0,0,0,0)", line=dict(color="black", width=3))
    if len(point) >= 3:
        fig.add_trace(go.Scatter3d(x=[point[0]], y=[point[1]], z=[point[2]], marker=dict(ring, size=8), **style))
    elif len(point) == 2:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], marker=ring, **style))


def take_selection(n: int) -> list[int]:
    """Copy a new click on the scatter into SELECTED (read before drawing, so the chart can ring the point)."""
    picked = latent.selected_indices(st.session_state.get(CHART_KEY), n)
    if picked and tuple(picked) != st.session_state.get(LAST_EVENT):
        st.session_state[LAST_EVENT] = tuple(picked)
        st.session_state[SELECTED] = picked[0]
    return picked


def code_space(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    n, k = cache.test.shape
    shown = analysis.subsample(n, latent.MAX_POINTS)
    if n > latent.MAX_POINTS:
        st.caption(f"The held-out set has {n:,} images: the chart shows a fixed random {len(shown):,} of them so it "
                   "stays quick (the CSV below has all of them).")
    options = view_options(k)
    if st.session_state.get("cfg_latent_view") not in options:
        st.session_state["cfg_latent_view"] = options[0]
    view = st.selectbox("View", options, key="cfg_latent_view", disabled=len(options) == 1,
                        help="Raw: the code numbers themselves. PCA: the code's main directions (a linear view). "
                             "t-SNE: a nonlinear map that keeps neighbours together but bends distances.")
    dims = 3 if "3D" in view else 2
    points, indices, axis = cache.test[shown], shown, "z"
    title = f"Held-out codes ({k}-number code)"
    if view.startswith("PCA"):
        points, label = analysis.project(cache.test[shown], dims)
        axis, title = "PC", f"Held-out codes: {label}"
    elif view.startswith("t-SNE"):
        res = tsne_points(cache, shown, dims)
        if res is None:
            points, label = analysis.project(cache.test[shown], dims)
            axis, title = "PC", f"Held-out codes: {label}"
        else:
            points, indices = res
            axis, title = "t-SNE ", f"Held-out codes: t-SNE of {len(indices):,} of them"
    picked = take_selection(n)
    labels = bundle.y_test.numpy()[indices]
    fig = figures.latent_scatter(points, labels, bundle.class_names, title=title, axis_title=axis, indices=indices,
                                 height=ui.figure_height(460))
    chosen = st.session_state.get(SELECTED)
    where = np.flatnonzero(indices == chosen) if chosen is not None else []
    if len(where) and points.shape[1] >= 2:
        mark(fig, points[where[0]], int(chosen))
    st.plotly_chart(fig, key=CHART_KEY, on_select="rerun", selection_mode="points", width="stretch",
                    config=png(f"latent_{run.dataset}_k{k}"))
    if len(picked) > 1:
        st.caption(f"{len(picked)} points selected; showing the first one, #{picked[0]}.")
    st.caption("Click a point to look at that image"
               + (" (in 3D views clicks may not register: type its index below)" if dims == 3 else "")
               + ". Every figure's camera button (top right) saves it as a PNG.")
    pick_by_index(n)
    point_details(run, bundle, cache)
    st.download_button("⬇️ Codes with labels (CSV)", key="latent_csv",
                       data=latent.codes_csv(cache.test, bundle.y_test.numpy(), bundle.class_names),
                       file_name=f"codes_{run.dataset}_k{k}.csv", mime="text/csv",
                       help=f"All {n:,} held-out images: index, label, class and the {k} code numbers.")


def pick_by_index(n: int) -> None:
    """Type an index instead of clicking."""
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    raw = c1.text_input("…or type an image index", key="latent_index_text", placeholder=f"0 to {n - 1:,}")
    if c2.button("Show", key="latent_show_index", width="stretch"):
        try:
            st.session_state[SELECTED] = parse_int(raw, "Image index", low=0, high=n - 1)
        except SpecError as err:
            st.error(str(err), icon="⚠️")


def point_details(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    """The selected image, its reconstruction and its code values."""
    idx = st.session_state.get(SELECTED)
    if idx is None or not 0 <= idx < len(cache.test):
        return
    x = bundle.x_test[idx:idx + 1]  # (1, D)
    recon = analysis.reconstruct(run.model, x)  # (1, D)
    err = float(analysis.per_sample_error(x, recon)[0])
    name = bundle.class_names[int(bundle.y_test[idx])]
    c1, c2 = st.columns([2, 3])
    c1.markdown(f"**#{idx}** · class {name} · reconstruction error {err:.4f}")
    c1.plotly_chart(figures.image_grid([np.stack([x[0].numpy(), recon[0].numpy()])], image_shape(bundle),
                                       col_labels=["image", "reconstruction"], height=240),
                    key="latent_detail", width="stretch", config=png(f"image_{idx}"))
    mu, logvar = run.model.encode_stats(x)
    rows = {"code dim": [f"z{i + 1}" for i in range(mu.shape[1])], "value": mu[0].detach().numpy().round(4)}
    if logvar is not None:
        rows["spread σ (VAE)"] = logvar[0].mul(0.5).exp().detach().numpy().round(4)
    c2.markdown(f"**Image #{idx}** (class {name}): its code")
    c2.dataframe(rows, hide_index=True, height=min(36 * (mu.shape[1] + 1) + 4, 300), width="stretch")


# -- 2 · decode any point, the manifold grid -------------------------------------------------------
@st.fragment
def decode_panel(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    """Sliders per code dimension (or principal direction) that start at the selected point and decode live."""
    if "dirs" not in cache.extra:
        cache.extra["dirs"] = latent.slider_directions(cache.train)
    dirs = cache.extra["dirs"]
    idx = st.session_state.get(SELECTED)
    base = cache.test[idx] if idx is not None and 0 <= idx < len(cache.test) else cache.train.mean(axis=0)
    start = dirs.coords(base)  # (m,)
    lo, hi = latent.code_bounds(dirs.coords(cache.train), margin=0.15)
    lo, hi = np.minimum(lo, start), np.maximum(hi, start)
    if dirs.is_raw:
        st.markdown("One slider per code number. They start at the selected image's code; move them and the "
                    "decoder draws the code you set.")
    else:
        share = float(dirs.explained.sum())
        st.markdown(f"The code has {len(base)} numbers, too many for a slider each: the sliders move along the "
                    f"code's first {len(dirs.names)} principal directions ({share:.0%} of its variance), starting "
                    "at the selected image's code.")
    reset = st.button("↺ Back to the selected point", key="latent_slider_reset")
    origin = (idx, id(cache))
    if reset or st.session_state.get(SLIDER_ORIGIN) != origin:
        for i, v in enumerate(start):
            st.session_state[f"latent_slider_{i}"] = float(v)
        st.session_state[SLIDER_ORIGIN] = origin
    cols = st.columns(min(4, len(start)))
    values = [cols[i % len(cols)].slider(name, float(lo[i]), float(hi[i]), key=f"latent_slider_{i}",
                                         step=float(hi[i] - lo[i]) / 200, format="%.2f")
              for i, name in enumerate(dirs.names)]
    z = dirs.to_code(np.array(values), base)  # (k,)
    out = analysis.decode(run.model, z[None, :].astype(np.float32))[0].numpy()  # (1, k) -> (D,)
    images, labels = [out], ["decoded from the sliders"]
    if idx is not None and 0 <= idx < len(cache.test):
        images.append(bundle.x_test[idx].numpy())
        labels.append(f"image #{idx}")
    st.plotly_chart(figures.image_grid([np.stack(images)], image_shape(bundle), col_labels=labels, height=280),
                    key="latent_decoded", width="stretch", config=png("decoded_code"))
    st.caption("Code: (" + ", ".join(f"{v:.2f}" for v in z[:16]) + (", …)" if len(z) > 16 else ")"))


def manifold_grid(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    """Decode a regular lattice over the code range (2-D codes) or over two principal directions."""
    k = cache.train.shape[1]
    size = st.slider("Grid size", 3, 20, key="cfg_latent_grid_n", help="Rows and columns of the lattice.")
    pair, span = (0, 1), 2.0
    if k == 1:
        st.caption("A 1-number code is a line: the grid reads it row by row, from its low end to its high end.")
    elif k == 2:
        st.caption("The lattice spans the code range (1% of outliers ignored at each end), high z2 on top.")
    else:
        n_dirs = min(k, latent.PCA_SLIDERS)
        names = [f"PC{i + 1}" for i in range(n_dirs)]
        c1, c2, c3 = st.columns(3)
        across = c1.selectbox("Across", range(n_dirs), 0, format_func=names.__getitem__, key="latent_grid_x")
        down = c2.selectbox("Down", range(n_dirs), 1, format_func=names.__getitem__, key="latent_grid_y")
        span = c3.slider("Reach (standard deviations)", 0.5, 4.0, step=0.5, key="cfg_latent_span")
        if across == down:
            st.warning("Pick two different directions for the grid.", icon="⚠️")
            return
        pair = (across, down)
        st.caption(f"The lattice starts at the mean code and moves ±{span:g} standard deviations along "
                   f"{names[across]} (across) and {names[down]} (down); all other directions stay at the mean.")
    lat, images = latent.lattice(run.model, cache.train, size, size, pair, span)
    rows = [images[r * lat.cols:(r + 1) * lat.cols] for r in range(lat.rows)]
    st.markdown(f"**Decoded lattice**: {lat.x_name} across, {lat.y_name} down")
    fig = figures.image_grid(rows, image_shape(bundle), row_labels=[f"{y:.2g}" for y in lat.y_values],
                             col_labels=[f"{x:.2g}" for x in lat.x_values], height=ui.figure_height(100 + 48 * size))
    st.plotly_chart(fig, key="latent_grid", width="stretch", config=png(f"manifold_{run.dataset}"))


# -- 3 · interpolation ------------------------------------------------------------------------------
def interpolation(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    n = len(cache.test)
    selected = st.session_state.get(SELECTED)
    if st.button("Use the selected image as the start", key="latent_use_selected", disabled=selected is None):
        st.session_state["latent_from"] = str(selected)
    c1, c2, c3 = st.columns(3)
    raw_a = c1.text_input("From image #", "0", key="latent_from", help=f"A held-out index, 0 to {n - 1:,}.")
    raw_b = c2.text_input("To image #", "1", key="latent_to", help=f"A held-out index, 0 to {n - 1:,}.")
    steps = c3.slider("Steps", 3, 16, key="cfg_latent_steps")
    try:
        a = parse_int(raw_a, "The start index", low=0, high=n - 1)
        b = parse_int(raw_b, "The end index", low=0, high=n - 1)
    except SpecError as err:
        st.error(str(err), icon="⚠️")
        return
    if a == b:
        st.info("Start and end are the same image: pick two different indices to see a path.", icon="💡")
    line = latent.interpolate(cache.test[a], cache.test[b], steps)  # (steps, k)
    through_code = analysis.decode(run.model, line.astype(np.float32)).numpy()  # (steps, D)
    t = np.linspace(0, 1, steps)[:, None]  # (steps, 1)
    xa, xb = bundle.x_test[a].numpy(), bundle.x_test[b].numpy()
    cross_fade = (1 - t) * xa + t * xb  # (steps, D): the same straight line, but in pixel space
    names = bundle.class_names
    st.markdown(f"**#{a}** (class {names[int(bundle.y_test[a])]}) → **#{b}** (class {names[int(bundle.y_test[b])]})")
    fig = figures.image_grid([through_code, cross_fade], image_shape(bundle),
                             row_labels=["through the code", "pixel cross-fade"],
                             col_labels=[f"{v:.2f}" for v in t[:, 0]], height=ui.figure_height(280))
    st.plotly_chart(fig, key="latent_interp", width="stretch", config=png(f"interpolation_{a}_{b}"))
    jumps = np.linalg.norm(np.diff(through_code, axis=0), axis=1)  # (steps-1,) image change per step
    big = int(jumps.argmax())
    st.caption(f"Top: decoding evenly spaced codes on the straight line between the two codes (so its ends are "
               f"the two reconstructions). Bottom: blending the two pictures directly. The decoded image changes "
               f"most between steps {big + 1} and {big + 2} ({jumps.max() / max(jumps.mean(), 1e-12):.1f}x the "
               "average step).")


# -- 4 · generation -------------------------------------------------------------------------------
def draw_samples(run: runs.Run, cache: latent.CodeCache, sampler: str, n: int, seed: int) -> np.ndarray:
    """n codes from the fitted Gaussian or from the prior N(0, I)."""
    if sampler == "prior":
        return latent.sample_prior(cache.train.shape[1], n, seed)
    return latent.sample_gaussian(latent.fit_gaussian(cache.train), n, seed)


def measure_holes(run: runs.Run, cache: latent.CodeCache, sampler: str, seed: int) -> latent.Holes:
    """Holes measure against the codes the decoder was trained on (a VAE: draws from q(z|x))."""
    return latent.holes(cache.train_draws, cache.test_draws, draw_samples(run, cache, sampler, 500, seed + 1))


SAMPLERS = {"fitted": "a Gaussian fitted to the training codes", "prior": "the prior N(0, I)"}


def samples_overlay(cache: latent.CodeCache, bundle: data.DataBundle, samples: np.ndarray, key: str,
                    height: int = 400) -> None:
    """Training codes by class with the sampled codes on top, in the same 2-D view."""
    k = cache.train.shape[1]
    if k == 1:
        return
    if k == 2:
        real, fake, axis = cache.train, samples, "z"
    else:
        mean, axes, _ = latent.principal_axes(cache.train, 2)
        real, fake, axis = (cache.train - mean) @ axes.T, (samples - mean) @ axes.T, "PC"
    shown = analysis.subsample(len(real), latent.MAX_POINTS)
    labels = cache.train_labels[shown] if cache.train_labels is not None else np.zeros(len(shown), dtype=int)
    fig = figures.latent_scatter(real[shown], labels, bundle.class_names, title="Training codes and samples (×)",
                                 axis_title=axis, height=height, marker_size=4)
    fig.add_trace(go.Scatter(x=fake[:, 0], y=fake[:, 1], mode="markers", name="samples",
                             marker=dict(symbol="x", size=8, color="black")))
    st.plotly_chart(fig, key=key, width="stretch", config=png(key))


def generation(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    is_vae = run.spec.kind == "vae"
    options = ["prior", "fitted"] if is_vae else ["fitted", "prior"]
    c1, c2, c3 = st.columns([2, 1, 1])
    sampler = c1.radio("Draw codes from", options, format_func=SAMPLERS.get, key="latent_sampler",
                       help="A VAE is trained so that its codes look like N(0, I); a plain autoencoder is not.")
    n = c2.slider("Samples", 8, 48, step=8, key="cfg_latent_n_samples")
    seed = int(c3.number_input("Seed", 0, 1_000_000, 0, key="latent_seed"))
    samples = draw_samples(run, cache, sampler, n, seed)  # (n, k)
    images = analysis.decode(run.model, samples.astype(np.float32)).numpy()  # (n, D)
    rows = [images[i:i + 8] for i in range(0, n, 8)]
    grid = figures.image_grid(rows, image_shape(bundle), title=f"{n} decoded samples from {SAMPLERS[sampler]}",
                              height=ui.figure_height(60 + 70 * len(rows)))
    st.plotly_chart(grid, key="latent_samples", width="stretch", config=png(f"samples_{sampler}"))
    h = measure_holes(run, cache, sampler, seed)
    m1, m2, m3 = st.columns(3)
    m1.metric("Sample → nearest training code", f"{h.sample_dist:.3g}", help="Median over 500 sampled codes.")
    m2.metric("Held-out image → nearest training code", f"{h.real_dist:.3g}", help="Median over the held-out set.")
    m3.metric("Samples in holes", f"{h.share_in_holes:.0%}",
              help=f"Farther from every training code than {latent.HOLE_QUANTILE:.0%} of held-out codes are.")
    st.markdown(latent.holes_sentence(h, SAMPLERS[sampler]))
    if is_vae:
        active = latent.active_units(cache.train)
        st.caption("For a VAE the 'training codes' are draws z = μ + σ·ε: those are what its decoder learned from. "
                   f"{active} of its {cache.train.shape[1]} code numbers carry information about the image "
                   "(their mean varies across images by more than 0.01); the others are ignored by the encoder."
                   + (" With none active, every code decodes to about the same average image, however well the "
                      "samples land." if active == 0 else ""))
    else:
        st.caption("The decoder only ever saw the training codes. Where a sample falls between them, in a 'hole', "
                   "nothing told the decoder what to draw, so samples there can look like nothing in the data set.")
    samples_overlay(cache, bundle, samples, "latent_overlay")


# -- 5 · AE vs VAE --------------------------------------------------------------------------------
def _store_other(job, base: runs.Run) -> None:
    """Keep the finished twin, but only if it is the other model type of this very session model."""
    other = job.result
    if isinstance(other, runs.Run) and other.spec == latent.other_kind(base.spec) and other.dataset == base.dataset:
        st.session_state[OTHER_KEY] = {"base": base, "run": other}


def train_other(run: runs.Run, bundle: data.DataBundle) -> None:
    """Controls to train the other model type with the same architecture, in the background."""
    spec = latent.other_kind(run.spec)
    other = KIND_NAME[spec.kind]
    st.markdown(f"To compare, train a **{other}** with the same layers ({spec.describe()}) on the same data "
                f"and settings. It runs in the background; the comparison appears when it is done.")
    c1, c2 = st.columns(2)
    epochs_raw = c1.text_input("Epochs", str(run.cfg.epochs), key="latent_other_epochs")
    beta_raw = c2.text_input("Beta (KL weight)", "0.1" if spec.kind == "vae" else str(run.cfg.beta),
                             key="latent_other_beta", disabled=spec.kind != "vae",
                             help="Weight of the KL term. Too large and the encoder stops using the code "
                                  "(the active-units count shows it); 0 turns off the pull towards N(0, I).")
    try:
        epochs = parse_int(epochs_raw, "Epochs", low=1, high=1000)
        beta = parse_float(beta_raw, "Beta") if spec.kind == "vae" else run.cfg.beta
    except SpecError as err:
        st.error(str(err), icon="⚠️")
        return
    cfg = replace(run.cfg, epochs=epochs, beta=beta)
    checks = [check_arch(spec), check_train(cfg, spec, len(bundle.x_train))]
    for check in checks:
        for err in check.errors:
            st.error(str(err), icon="⚠️")
    busy = ui.job_is_active(OTHER_JOB)
    if st.button(f"Train the {other}", key="latent_other_train", type="primary",
                 disabled=busy or any(c.errors for c in checks)):
        ui.set_job(OTHER_JOB, runs.start_training(bundle, spec, cfg, name="latent-other", student=ui.student_key()))
        st.rerun()
    if ui.get_job(OTHER_JOB) is not None:
        ui.job_controls(OTHER_JOB)
        ui.live_job(OTHER_JOB, lambda v: _draw_job(v, f"Training the {other}"), lambda job: _store_other(job, run))


def model_column(col, run: runs.Run, cache: latent.CodeCache, bundle: data.DataBundle,
                 seed: int) -> latent.Holes:
    """One side of the comparison: code space, samples, holes measure."""
    is_vae = run.spec.kind == "vae"
    sampler = "prior" if is_vae else "fitted"
    with col:
        name = "VAE" if is_vae else "Autoencoder"
        st.markdown(f"**{name}** · held-out reconstruction loss {held_out_recon(run):.4f}")
        shown = analysis.subsample(len(cache.test), latent.MAX_POINTS)
        points, label = analysis.project(cache.test[shown], 2)
        fig = figures.latent_scatter(points, bundle.y_test.numpy()[shown], bundle.class_names,
                                     title=f"Code space ({label})", axis_title="z" if label == "raw code" else "PC",
                                     indices=shown, height=ui.figure_height(360), marker_size=4)
        st.plotly_chart(fig, key=f"latent_cmp_space_{run.spec.kind}", width="stretch",
                        config=png(f"code_space_{run.spec.kind}"))
        samples = draw_samples(run, cache, sampler, 16, seed)
        images = analysis.decode(run.model, samples.astype(np.float32)).numpy()  # (16, D)
        st.plotly_chart(figures.image_grid([images[:8], images[8:]], image_shape(bundle),
                                           title=f"Samples from {SAMPLERS[sampler]}", height=200),
                        key=f"latent_cmp_samples_{run.spec.kind}", width="stretch",
                        config=png(f"samples_{run.spec.kind}"))
        h = measure_holes(run, cache, sampler, seed)
        st.metric("Sample distance ÷ held-out distance", f"{h.ratio:.2f}x",
                  help="1x: samples land as close to training codes as real held-out images do.")
        st.caption(f"{h.share_in_holes:.0%} of samples in holes"
                   + (f" · {latent.active_units(cache.train)} of {cache.train.shape[1]} code numbers active"
                      if is_vae else ""))
    return h


def compare(run: runs.Run, bundle: data.DataBundle, cache: latent.CodeCache) -> None:
    entry = st.session_state.get(OTHER_KEY)
    other = entry["run"] if entry and entry.get("base") is run and entry["run"].spec.kind != run.spec.kind else None
    if other is None or ui.job_is_active(OTHER_JOB):
        train_other(run, bundle)
    if other is None:
        return
    if other.status != "done":
        st.warning(f"The {KIND_NAME[other.spec.kind]} did not finish: {other.message}", icon="⚠️")
    other_cache = codes_for("other", other, bundle)
    pairs = [(run, cache), (other, other_cache)]
    pairs.sort(key=lambda p: p[0].spec.kind != "ae")  # autoencoder on the left
    seed = int(st.number_input("Sample seed", 0, 1_000_000, 0, key="latent_cmp_seed"))
    left, right = st.columns(2)
    h_ae = model_column(left, *pairs[0], bundle, seed)
    h_vae = model_column(right, *pairs[1], bundle, seed)
    st.markdown(latent.compare_sentence(h_ae, h_vae))
    st.caption("The autoencoder's samples come from a Gaussian fitted to its codes; the VAE's from N(0, I), the "
               "distribution its KL term pulls its codes towards. Distances are measured against the codes each "
               "decoder was trained on.")
    if st.button("Train the other model again", key="latent_other_retrain"):
        st.session_state.pop(OTHER_KEY, None)
        st.rerun()


# -- the page -------------------------------------------------------------------------------------
def main() -> None:
    ui.route_through_app()
    st.title("🌌 Latent space")
    st.markdown("Every image becomes a short list of numbers, its **code**. Here you can see where the codes land, "
                "decode any point you like, walk between two images, and draw new codes at random to generate "
                "images — and see why that works better with a variational autoencoder.")
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    ui.sync_query_params(share.LATENT, "latent")  # settings <-> URL, so a link reproduces them
    ui.copy_link_button("latent")
    run = ui.current_run()
    if run is None:
        offer_quick_model()
        return
    bundle = bundle_for(run)
    if bundle is None:
        return
    cache = codes_for("main", run, bundle)
    if not (np.isfinite(cache.test).all() and np.isfinite(cache.train).all()):
        st.error("This model's codes contain NaN or infinite values, so there is no code space to explore. "
                 "Retrain it on Build & Train with a lower learning rate.", icon="⚠️")
        return
    st.caption(f"Session model: {KIND_NAME.get(run.spec.kind, run.spec.kind)} {run.spec.describe()} on "
               f"{bundle.label}, {run.epochs_done} epochs, a {run.spec.bottleneck}-number code.")
    # only the open tab runs (a tab switch reruns the page): the page's first drawing stays under a second;
    # the closed tabs' widgets keep their values meanwhile
    ui.keep_keys(TAB_WIDGETS)
    tabs = st.tabs(list(TABS), key=TAB_KEY, on_change="rerun")
    sections = [lambda: code_space(run, bundle, cache),
                lambda: (decode_panel(run, bundle, cache), st.divider(), manifold_grid(run, bundle, cache)),
                lambda: interpolation(run, bundle, cache), lambda: generation(run, bundle, cache),
                lambda: compare(run, bundle, cache)]
    for tab, draw in zip(tabs, sections):
        if tab.open is not False:  # None: a Streamlit that does not track tabs runs them all
            with tab:
                draw()


main()
