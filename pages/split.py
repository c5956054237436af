"""Encoder | Decoder: the trained network as one Sequential, cut anywhere; what every layer represents."""
import io

import numpy as np
import streamlit as st
import torch

from aelab import analysis, data, figures, layers, runs, share, ui
from aelab.spec import ArchSpec, Check, SpecError, TrainConfig, check_arch, check_train, parse_int, parse_widths

QUICK_JOB = "split_quick"  # job key: the quick default model trained on this page
QUICK_KEY = "split_quick_run"  # session key of that model (a runs.Run)
PAIR_JOB = "split_pair"  # job key: the two asymmetric models
PAIR_KEY = "split_pair_result"  # session key: {"runs": {label: Run}, "message": str}
VIEWS_KEY = "split_views"  # session key: cached per-layer statistics, per model
QUICK_SPEC = ArchSpec(64, encoder=(128, 64, 12), bottleneck=3)  # the seed network's shape, on 8x8 digits
QUICK_CFG = TrainConfig(epochs=40, batch_size=64, lr=3e-3)  # about 3-5 s on one CPU core
GAP_LABEL = "max |out − dec(enc(x))|"
PART = {"input": "⬜ input", "encoder": "🟦 encoder", "decoder": "🟩 decoder"}


# -- which model this page looks at ---------------------------------------------------------------
def _quick_done(job) -> None:
    run = job.result
    if isinstance(run, runs.Run):
        st.session_state[QUICK_KEY] = run
        if ui.current_run() is None:  # never replace a model the learner trained
            ui.set_run(run)


def _draw_quick(view) -> None:
    ui.progress_bar(view, "Quick model")
    ui.status_message(view)


def offer_quick_model() -> None:
    """A button that trains the default network on digits in the background (a few seconds)."""
    busy = ui.job_is_active(QUICK_JOB)
    if st.button("✂️ Train a quick model here (8x8 digits, a few seconds)", key="split_quick_train", disabled=busy,
                 type="primary", help=f"{QUICK_SPEC.describe()}, {QUICK_CFG.epochs} epochs, in the background."):
        ui.set_job(QUICK_JOB, runs.start_training(ui.get_bundle(data.DIGITS), QUICK_SPEC, QUICK_CFG,
                                                  name="split-quick", student=ui.student_key()))
        st.rerun()
    if ui.get_job(QUICK_JOB) is not None:
        ui.live_job(QUICK_JOB, _draw_quick, _quick_done)


def bundle_for(run: runs.Run) -> tuple[data.DataBundle | None, str]:
    """The data set the run was trained on, or None and a message saying what is missing."""
    label = data.DATASETS.get(run.dataset, run.dataset)
    try:
        bundle = ui.get_bundle(run.dataset)
    except Exception as exc:  # noqa: BLE001 - missing or unreadable files: say so, keep the model
        return None, (f"Your session model was trained on **{label}**, which is not available on this machine "
                      f"any more, so its layers cannot be shown on its own data. {exc}")
    if bundle.input_dim != run.spec.input_dim:
        return None, (f"Your session model expects {run.spec.input_dim} inputs but {label} has "
                      f"{bundle.input_dim}; retrain it on Build & Train.")
    return bundle, ""


def pick_subject() -> tuple[runs.Run | None, data.DataBundle | None]:
    """The session's plain autoencoder, else the quick model from this page, else explain and offer one."""
    run = ui.current_run()
    if run is not None and run.spec.kind != "vae":
        bundle, problem = bundle_for(run)
        if bundle is not None:
            return run, bundle
        st.error(problem, icon="📁")
    elif run is not None:
        st.info("Your session model is a **VAE**. Its encoder outputs a mean and a spread for every code "
                "number, and a random code is *drawn* from them before the decoder runs. That sampling step "
                "sits between encoder and decoder, so a VAE is not one plain chain of layers that can be cut "
                "anywhere: this page is about plain autoencoders. Train a quick one here (your VAE stays the "
                "session model) or a plain one on Build & Train.", icon="🎲")
    quick = st.session_state.get(QUICK_KEY)
    if quick is None:
        if run is None:
            st.info("No model trained in this session yet. Train a quick one right here, or design your own on "
                    "**Build & Train**.", icon="🧪")
            ui.page_link_or_note("pages/build_train.py", "Go to Build & Train", icon="🏗️")
        offer_quick_model()
        quick = st.session_state.get(QUICK_KEY)
    if quick is None:
        return None, None
    if quick is not ui.current_run():
        st.caption(f"Showing the quick model trained on this page: {quick.spec.describe()} on digits.")
    return quick, ui.get_bundle(data.DIGITS)


# -- 1 · the split ----------------------------------------------------------------------------------
GAPS_KEY = "split_gaps"  # session key: measured output differences per cut, for the current model
ALL_CUTS_POINTS = 256  # held-out inputs for the every-cut sweep (one forward pass per cut)


def split_gaps(run: runs.Run, seq, x: torch.Tensor, at: int) -> tuple[float, float, int]:
    """(gap at this cut on all of x, largest gap over every cut on a smaller batch, that batch size), cached."""
    cache = st.session_state.get(GAPS_KEY)
    if cache is None or cache["run"] is not run:
        sweep = x[:ALL_CUTS_POINTS]
        cache = {"run": run, "all": max(layers.split_gaps(run.model, seq, sweep)), "n_all": len(sweep), "at": {}}
        st.session_state[GAPS_KEY] = cache
    if at not in cache["at"]:
        cache["at"][at] = layers.split_gap(run.model, seq, at, x)
    return cache["at"][at], cache["all"], cache["n_all"]


def split_section(run: runs.Run, seq, x: torch.Tensor, widths: list[int], bottleneck: int) -> int:
    """The split slider, its measured proof of invariance and the module table; returns the split point."""
    st.subheader("1 · One network, one chain of modules: cut it anywhere")
    n, k = len(seq), widths[bottleneck]
    previous = st.session_state.get("split_model")
    if previous is not run:  # a new model: start at its bottleneck (the first one keeps a linked split point)
        st.session_state["split_model"] = run
        if previous is not None:
            st.session_state.pop("split_at", None)
    linked = st.session_state.get("split_at")
    if linked is not None and linked not in range(n + 1):  # e.g. a link made with a deeper model
        st.info(f"The link's split point {linked} does not exist in this model (its points are 0 to {n}): "
                "starting at the bottleneck instead.", icon="🔗")
        st.session_state.pop("split_at", None)
    at = st.select_slider(
        "Split point: the encoder is every module before it, the decoder every module after it",
        options=list(range(n + 1)), value=bottleneck, key="split_at",
        format_func=lambda s: (f"after module {s - 1}" if s else "before module 0") + f" · {widths[s]} wide"
                              + (" ★" if s == bottleneck else ""),
        help="The encoder is modules 0 … s-1 and hands its output, the code, to the decoder. "
             "★ marks the bottleneck (the narrowest point).")
    gap, worst, n_all = split_gaps(run, seq, x, at)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Encoder", f"{at} modules")
    c2.metric("Decoder", f"{n - at} modules")
    c3.metric("Code width at the split", f"{widths[at]}",
              delta=f"{widths[at] - k:+d} vs bottleneck" if at != bottleneck else None, delta_color="off")
    c4.metric(GAP_LABEL, f"{gap:.1e}",
              help=f"max |output − decoder(encoder(x))| over {len(x):,} held-out inputs, against the model's "
                   "own forward pass.")
    st.caption(f"Largest difference over all {n + 1} possible cuts (on {n_all:,} held-out inputs): {worst:.1e}. "
               "Cutting changes the names, not the function: the same modules run in the same order.")
    if at == bottleneck:
        st.success(f"This is the usual cut: the narrowest point, a {k}-number code "
                   f"({widths[0] / k:.1f} input numbers per code number).", icon="⭐")
    elif at in (0, n):
        side = "encoder" if at == 0 else "decoder"
        st.warning(f"The {side} is empty: the 'code' is the {'raw input' if at == 0 else 'reconstruction'} "
                   f"({widths[at]} numbers). Still the same function, but nothing was compressed.", icon="✂️")
    elif widths[at] == k:
        st.success(f"This cut also hands over {k} numbers, as few as the bottleneck: an equally good place to "
                   "call the output the code.", icon="⭐")
    else:
        where = "decoder" if at < bottleneck else "encoder"
        st.info(f"This 'encoder' hands over {widths[at]} numbers, {widths[at] / k:.1f}x the bottleneck's {k}. "
                f"The output is unchanged, but the real squeeze now happens inside the {where}: calling this "
                "the code is legal, just not useful.", icon="✂️")
    rows = layers.split_table(seq, widths[0], at, bottleneck)
    for row in rows:
        row["part"] = PART[row["part"]]
    st.dataframe(rows, hide_index=True, width="stretch", key="split_table")
    return at


# -- 2 · every layer ----------------------------------------------------------------------------------
def cached_views(run: runs.Run, seq, x: torch.Tensor, y, points: list[int]) -> list[layers.LayerView]:
    """Per-layer statistics, computed once per model and point."""
    cache = st.session_state.get(VIEWS_KEY)
    if cache is None or cache["run"] is not run:
        cache = {"run": run, "views": {}}
        st.session_state[VIEWS_KEY] = cache
    missing = [p for p in points if p not in cache["views"]]
    if missing:
        with st.spinner(f"Measuring {len(missing)} layers on {len(x):,} held-out samples…"):
            for view in layers.layer_views(seq, x, y, missing):
                cache["views"][view.stats.point] = view
    return [cache["views"][p] for p in points]


def layers_section(run: runs.Run, bundle: data.DataBundle, seq, x, y, at: int, bottleneck: int) -> None:
    st.subheader("2 · What every layer represents")
    st.markdown("Every point of the chain holds *some* representation of the input. Below, each one's held-out "
                "activations are squeezed to 2D by PCA and colored by class (the labels were never used in "
                "training), with three measurements per layer: its width, how many directions hold "
                f"{layers.VAR_SHARE:.0%} of its variance, and how well the classes can be told apart from it "
                f"(kNN and a linear probe, fitted on {layers.PROBE_TRAIN:.0%} of the samples, scored on the rest).")
    pre = not ui.classroom_mode() and st.toggle(
        "Also show Linear outputs before their activation", key="cfg_split_preact",
        help="Off: one panel per whole layer (Linear + activation).")
    points = sorted(set(range(len(seq) + 1) if pre else layers.whole_layer_points(seq)) | {at, bottleneck})
    try:
        views = cached_views(run, seq, x, y, points)
    except (ValueError, np.linalg.LinAlgError) as exc:
        st.warning(f"Could not measure the layers: {exc}", icon="⚠️")
        return
    text = layers.describe_views(views, bottleneck)
    if text:
        st.markdown(text)
    st.caption("Each panel: one layer's held-out activations, PCA to 2D, colored by class. Frames: blue = "
               "encoder side of your cut, red = the code at your cut, green = decoder side; ★ = bottleneck.")
    st.plotly_chart(layers.pca_grid(views, y, bundle.class_names, at, bottleneck,
                                    row_height=ui.figure_height(280)), width="stretch", key="split_pca_grid")
    st.plotly_chart(layers.stats_chart(views, at, bottleneck, height=ui.figure_height(480)), width="stretch",
                    key="split_stats_chart")
    slowest = max(views, key=lambda v: v.stats.seconds).stats
    st.caption(f"{len(x):,} held-out samples (a fixed subset of {len(bundle.x_test):,}). Slowest layer: "
               f"{slowest.label} ({slowest.width} wide) in {slowest.seconds:.2f} s.")
    with st.expander("The numbers"):
        st.dataframe([{"point": v.stats.label, "width": v.stats.width, "dims for 95%": v.stats.dims95,
                       "2D view shows": f"{v.stats.view_share:.0%}", "kNN": f"{v.stats.knn:.1%}",
                       "linear probe": f"{v.stats.linear:.1%}"} for v in views], hide_index=True,
                     width="stretch", key="split_stats_table")


# -- 3 · asymmetric pair ---------------------------------------------------------------------------
def read_pair(run: runs.Run, bundle: data.DataBundle) -> tuple[dict | None, TrainConfig | None, Check]:
    """Specs of the two asymmetric models and their shared settings, from the widgets."""
    check = Check()
    # defaults via value= (not session state): the browser falls back to them if it ever loses a value
    c1, c2, c3, c4, c5 = st.columns([1.3, 1, 0.7, 0.7, 0.9])
    texts = {
        "deep": c1.text_input("Deep side widths", "128, 64, 12", key="cfg_split_deep",
                              help="From the outside towards the code"),
        "shallow": c2.text_input("Shallow side widths", "32", key="cfg_split_shallow",
                                 help="From the outside towards the code; empty = a single Linear layer"),
        "code": c3.text_input("Code size", str(run.spec.bottleneck), key="cfg_split_code"),
        "epochs": c4.text_input("Epochs", "30" if len(bundle.x_train) <= 5000 else "10", key="cfg_split_epochs"),
        "n": c5.text_input("Training images", str(min(len(bundle.x_train), 5000)), key="cfg_split_n"),
    }
    try:
        deep = parse_widths(texts["deep"], "Deep side width")
        shallow = parse_widths(texts["shallow"], "Shallow side width")
        code = parse_int(texts["code"], "The code size", high=16384)
        epochs = parse_int(texts["epochs"], "Epochs", high=1000)
        n_train = parse_int(texts["n"], "Training images", low=2, high=len(bundle.x_train))
    except SpecError as exc:
        check.error(str(exc))
        return None, None, check
    specs = layers.asymmetric_specs(run.spec.input_dim, code, deep, shallow, run.spec.activation,
                                    run.spec.output)
    cfg = TrainConfig(loss=run.cfg.loss, optimizer=run.cfg.optimizer, lr=run.cfg.lr,
                      batch_size=run.cfg.batch_size, epochs=epochs, seed=run.cfg.seed, n_train=n_train)
    for spec in specs.values():
        arch = check_arch(spec)
        check.errors += arch.errors
        check.notes += [n for n in arch.notes if n not in check.notes]
    check.errors += check_train(cfg, None, len(bundle.x_train), sum(s.param_count for s in specs.values())).errors
    return specs, cfg, check


def _pair_done(job) -> None:
    result = job.result
    if isinstance(result, layers.PairResult) and result.runs:
        st.session_state[PAIR_KEY] = {"runs": result.runs, "message": result.message}


def _draw_pair(view) -> None:
    ui.lab_progress(view, PAIR_JOB)
    for name, r in (view.extra.get("finished", {}) if view is not None else {}).items():
        st.caption(f"✓ {name}: {r.spec.describe()}, held-out loss {r.test_loss:.4f} after {r.seconds:.1f} s")


def pair_section(run: runs.Run, bundle: data.DataBundle) -> None:
    st.subheader("3 · Same code size, depth on opposite sides")
    st.markdown("Nothing forces the encoder and decoder to mirror each other. Train two networks with the same "
                "code size and the same layers, once with the deep stack on the encoder side and once on the "
                "decoder side, and compare what they reach.")
    specs, cfg, check = read_pair(run, bundle)
    ui.show_check(check)
    if specs is not None:
        st.caption(" · ".join(f"**{k}**: {s.describe()} ({s.param_count:,} parameters)" for k, s in specs.items())
                   + f" · trained on {cfg.n_train:,} {bundle.label} images with your model's loss and optimizer.")
    busy = ui.job_is_active(PAIR_JOB)
    c1, c2 = st.columns([1, 2])
    if c1.button("Train both", key="split_pair_train", disabled=busy or specs is None or not check.ok,
                 type="primary"):
        ui.set_job(PAIR_JOB, layers.start_pair(bundle, specs, cfg, student=ui.student_key()))
        st.rerun()
    with c2:
        ui.job_controls(PAIR_JOB, "training of both models")
    if ui.get_job(PAIR_JOB) is not None:
        ui.live_job(PAIR_JOB, _draw_pair, _pair_done)
    result = st.session_state.get(PAIR_KEY)
    if result:
        pair_results(result["runs"], bundle)


def pair_results(pair: dict, bundle: data.DataBundle) -> None:
    """Loss curves, reconstructions and per-layer statistics of the two asymmetric models."""
    trained_on = next(iter(pair.values())).dataset
    if trained_on != bundle.name:  # trained earlier, for another model: show them on their own data
        try:
            bundle = ui.get_bundle(trained_on)
        except Exception as exc:  # noqa: BLE001 - the data went missing: keep the page alive
            st.warning(f"The asymmetric models were trained on {trained_on}, which is not available: {exc}")
            return
        st.caption(f"These two models were trained earlier on {bundle.label}; train again to compare on the "
                   "current model's data.")
    st.markdown(layers.describe_pair(pair))
    st.plotly_chart(layers.compare_losses(pair, height=ui.figure_height(340)), width="stretch",
                    key="split_pair_losses")
    if bundle.image_shape is not None:
        idx = data.sample_indices(bundle.y_test, per_class=1, n=10)
        x = bundle.x_test[idx]  # (10, D)
        rows = [x.numpy()] + [analysis.reconstruct(r.model, x).numpy() for r in pair.values()]
        st.plotly_chart(figures.image_grid(rows, bundle.image_shape, row_labels=["input", *pair],
                                           title="Held-out images and both reconstructions",
                                           height=ui.figure_height(60 + 70 * len(rows))),
                        width="stretch", key="split_pair_recon")
    x, y = layers.held_out(bundle)
    cols = st.columns(len(pair))
    for col, (label, r) in zip(cols, pair.items()):
        seq = layers.sequential(r.model)
        widths = layers.point_widths(seq, r.spec.input_dim)
        bn = layers.bottleneck_point(widths, prefer=len(r.model.encoder))
        try:
            views = _pair_views(label, r, seq, x, y)
        except (ValueError, np.linalg.LinAlgError) as exc:
            col.warning(f"Could not measure the layers of the {label} model: {exc}", icon="⚠️")
            continue
        col.plotly_chart(layers.stats_chart(views, bn, bn, title=label, height=ui.figure_height(420)),
                         width="stretch", key=f"split_pair_stats_{label}")


def _pair_views(label: str, run: runs.Run, seq, x, y) -> list[layers.LayerView]:
    """Per-layer statistics of one asymmetric model, cached beside its Run."""
    cache = st.session_state.setdefault("split_pair_views", {})
    entry = cache.get(label)
    if entry is None or entry[0] is not run:
        with st.spinner(f"Measuring the layers of the {label} model…"):
            entry = (run, layers.layer_views(seq, x, y, layers.whole_layer_points(seq)))
        cache[label] = entry
    return entry[1]


# -- 4 · code -----------------------------------------------------------------------------------------
def _weights_bytes(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def code_section(seq, at: int, input_dim: int) -> None:
    st.subheader("4 · The same network in PyTorch, cut where you chose")
    two, one = st.tabs([f"Two Sequentials (cut at {at})", "One Sequential"])
    with two:
        code = layers.split_code(seq, at, input_dim)
        st.code(code, language="python")
        c1, c2 = st.columns(2)
        c1.download_button("Download split_autoencoder.py", code, file_name="split_autoencoder.py",
                           mime="text/x-python", key="split_dl_code")
        c2.download_button("Download split_weights.pt", lambda: _weights_bytes(layers.split_state(seq, at)),
                           file_name="split_weights.pt", key="split_dl_weights")  # serialized only when pressed
    with one:
        code = layers.single_code(seq, at, input_dim)
        st.code(code, language="python")
        c1, c2 = st.columns(2)
        c1.download_button("Download sequential_autoencoder.py", code, file_name="sequential_autoencoder.py",
                           mime="text/x-python", key="single_dl_code")
        c2.download_button("Download sequential_weights.pt", lambda: _weights_bytes(layers.single_state(seq)),
                           file_name="sequential_weights.pt", key="single_dl_weights")


def main() -> None:
    ui.route_through_app()
    ui.sync_query_params(share.SPLIT, "split")  # settings <-> URL, so a link reproduces them
    st.title("✂️ Encoder | Decoder: where does the encoder end?")
    st.markdown("An autoencoder is usually written as two networks, an encoder and a decoder. But the computer "
                "only sees one chain of layers, each feeding the next, and the same chain can be written as a "
                "single `nn.Sequential`. Where one half ends is a choice we make: by convention at the "
                "narrowest layer, because that is where the data is most compressed. Try other cuts on your "
                "own trained model.")
    with st.expander("Where does the encoder end? Three points"):
        st.markdown(
            "1. **To the computer it is one chain.** Each module's output is the next one's input. Grouping the "
            "modules into an encoder and a decoder, or into one `nn.Sequential`, computes exactly the same "
            "function; section 1 measures it for every possible cut.\n"
            "2. **The usual cut is a choice with a reason.** We end the encoder at the narrowest layer because "
            "that is where each input must squeeze through the fewest numbers: the code. Every layer holds some "
            "representation of the input (section 2), but the code is the most compressed one. Nothing forces "
            "the two halves to mirror each other (section 3).\n"
            "3. **In a VAE the cut is fixed.** Its encoder outputs a distribution and the decoder receives a "
            "random sample from it, so the boundary sits at the sampling step, not wherever we like.")
    ui.copy_link_button("split")
    run, bundle = pick_subject()
    if run is None:
        return
    picked = st.session_state.get("cfg_dataset")
    if picked and picked != run.dataset:
        st.caption(f"You picked {data.DATASETS.get(picked, picked)} on Build & Train; this model was trained on "
                   f"{bundle.label}, so this page uses that data set's held-out images.")
    seq = layers.sequential(run.model)
    x, y = layers.held_out(bundle)
    widths = layers.point_widths(seq, run.spec.input_dim)
    bottleneck = layers.bottleneck_point(widths, prefer=len(run.model.encoder))
    at = split_section(run, seq, x, widths, bottleneck)
    layers_section(run, bundle, seq, x, y, at, bottleneck)
    pair_section(run, bundle)
    code_section(seq, at, run.spec.input_dim)


main()
