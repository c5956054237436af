"""Kinds side by side: dense, convolutional, sparse, a wide code without penalty, and the VAE on the same data."""
import time

import streamlit as st

from aelab import data, figures, kinds, ui
from aelab.jobs import Job
from aelab.spec import Check

JOB = "compare"  # key of this page's job in the session registry
RESULT = "cmp_result"  # session key: the last finished kinds.CompareResult
_D = kinds.CompareSettings()
DEFAULTS = {
    "cfg_cmp_kinds": list(_D.kinds), "cfg_cmp_budget": _D.budget, "cfg_cmp_seconds": f"{_D.seconds:g}",
    "cfg_cmp_epochs": str(_D.epochs), "cfg_cmp_bottleneck": str(_D.bottleneck), "cfg_cmp_hidden": str(_D.hidden),
    "cfg_cmp_channels": ", ".join(map(str, _D.channels)), "cfg_cmp_wide": "", "cfg_cmp_sparsity": f"{_D.sparsity:g}",
    "cfg_cmp_beta": f"{_D.beta:g}",
}


def init_state() -> None:
    for k, v in DEFAULTS.items():
        st.session_state.setdefault(k, v)


def read_settings(bundle: data.DataBundle) -> tuple[kinds.CompareSettings | None, Check]:
    """The comparison's settings from the widgets; every problem comes back as a message."""
    chosen = st.multiselect("Kinds", list(kinds.KINDS), format_func=kinds.KINDS.get, key="cfg_cmp_kinds",
                            help="Trained one after the other on the same images, each with the CPU to itself.")
    c1, c2 = st.columns([1.4, 1])
    budget = c1.radio("Budget", list(kinds.BUDGETS), format_func=kinds.BUDGETS.get, key="cfg_cmp_budget",
                      help="Same seconds: what each kind makes of equal compute (a cheap model runs more epochs; "
                           "numbers vary a little with the server's load). Same epochs: every run reproducible.")
    amount = c2.text_input("Seconds per kind" if budget == "seconds" else "Epochs per kind",
                           key="cfg_cmp_seconds" if budget == "seconds" else "cfg_cmp_epochs")
    with st.expander("Architectures"):
        c1, c2, c3 = st.columns(3)
        bottleneck = c1.text_input("Code size", key="cfg_cmp_bottleneck",
                                   help="Of the dense, convolutional and VAE models.")
        hidden = c2.text_input("Hidden width", key="cfg_cmp_hidden", help="One hidden layer each side: dense AE, VAE.")
        channels = c3.text_input("Conv channels", key="cfg_cmp_channels",
                                 help="One stride-2 conv per number, e.g. 16, 32 (8x8 images allow 3 layers).")
        wide = c1.text_input("Wide code size (blank = 4x input)", key="cfg_cmp_wide",
                             help="Code of the sparse AE and of the same code without penalty.")
        sparsity = c2.text_input("Sparsity weight", key="cfg_cmp_sparsity",
                                 help="Weight of the L1 penalty on the sparse AE's code (mean |code|).")
        beta = c3.text_input("β (VAE)", key="cfg_cmp_beta", help="Weight of the VAE's KL term.")
    return kinds.parse_settings(bundle, chosen, budget, amount, bottleneck, hidden, channels, wide, sparsity, beta)


def draw_live(view) -> None:
    """Which kind is training, and how far the whole comparison is."""
    if view is None or not view.active:
        ui.status_message(view)  # how it ended (nothing before a first run)
        return
    extra, p = view.extra, view.progress
    i, n = extra.get("phase_index", 1), extra.get("phases", 1)
    settings, within = st.session_state.get("cmp_running"), 0.0
    if settings is not None and settings.budget == "seconds" and extra.get("phase_start"):
        within = (time.time() - extra["phase_start"]) / settings.seconds
    elif settings is not None and p is not None:
        within = p.epoch / settings.epochs
    st.progress(min(1.0, (i - 1 + min(within, 1.0)) / n), text=f"Training {extra.get('phase', '…')} · kind {i} of {n}")


def on_done(job: Job) -> None:
    if isinstance(job.result, kinds.CompareResult):
        st.session_state[RESULT] = job.result


def draw_results(result: kinds.CompareResult) -> None:
    st.header("What was measured")
    st.caption(f"{data.DATASETS.get(result.dataset, result.dataset)} · {result.settings.describe()} · "
               f"{result.seconds:.1f} s in all.")
    if result.status != "done":
        st.warning(result.message, icon="⚠️")
    d = result.examples.shape[1]
    st.markdown("\n".join(f"- {line}" for line in kinds.verdict(result, d)))
    st.dataframe(kinds.table(result), hide_index=True, width="stretch")
    st.caption("Test MSE: mean squared error per pixel on held-out images. Active code units: the share of code "
               "numbers at least 10% of an input's largest one. Noise passed through: the share of a random noise "
               "pattern added to the input that reaches the output (1 = a copy). kNN probe: how often the five "
               "nearest training codes have the right class.")
    c1, c2 = st.columns([1, 1.4])
    ui.chart(kinds.error_bars(result), width="stretch", key=f"cmp_bars_{result.token}", where=c1)
    ui.chart(kinds.recon_grid(result), width="stretch", key=f"cmp_grid_{result.token}", where=c2)
    shown = [k for k in ("sparse", "wide") if result.get(k) is not None]
    if shown:
        st.subheader("Filters of the wide codes")
        cols = st.columns(len(shown))
        for col, kind in zip(cols, shown):
            fig, caption = kinds.filters(result, kind)
            ui.chart(fig, width="stretch", key=f"cmp_filters_{kind}_{result.token}", where=col)
            col.caption(caption)
    with st.expander("Loss curves"):
        cols = st.columns(min(3, len(result.results)) or 1)
        for i, r in enumerate(result.results):
            ui.chart(figures.loss_curves(r.history, title=r.label, height=240),
                     width="stretch", key=f"cmp_loss_{r.kind}_{result.token}", where=cols[i % len(cols)])


def main() -> None:
    ui.route_through_app()
    init_state()
    st.title("⚖️ Kinds side by side")
    st.markdown("The autoencoders the field uses, trained on the same images with the same budget: a **dense** AE, "
                "a **convolutional** AE (stride-2 convolutions, then a dense code), a **sparse** AE (a code wider "
                "than the input with an L1 penalty on its activity), the **same wide code without the penalty**, "
                "and a **VAE**. Then each is measured on the same held-out images.")
    col_set, col_run = st.columns([1.3, 1], gap="large")
    with col_set:
        bundle = ui.dataset_picker("cfg_cmp_dataset")
        settings, check = read_settings(bundle) if bundle is not None else (None, Check())
        ui.show_check(check)
    with col_run:
        ready = bundle is not None and settings is not None and check.ok
        if ready:
            st.caption(" · ".join(f"{kinds.KINDS[k]}: {settings.spec(k, bundle.input_dim).param_count:,} parameters"
                                  for k in settings.kinds))

        def start() -> None:
            st.session_state["cmp_running"] = settings
            ui.start_job(JOB, lambda ctx: kinds.run(bundle, settings, ctx), "compare", "comparison")

        ui.run_controls(JOB, "⚖️ Train all kinds", "cmp_run", ready,
                        "Train every chosen kind in the background, one after the other.", start,
                        label="comparison", page="compare")
    ui.live_job(JOB, draw_live, on_done=on_done, every=0.5)
    ui.lab_results(JOB, st.session_state.get(RESULT), draw_results,
                   "Press **Train all kinds**. With the built-in digits and the defaults it takes about 15 seconds.")

main()
