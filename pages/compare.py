"""Kinds side by side: dense, convolutional, sparse, a wide code without penalty, and the VAE on the same data."""
import streamlit as st

from aelab import data, fields, figures, kinds, settings, ui
from aelab.jobs import Job
from aelab.spec import Check

JOB = "compare"  # key of this page's job in the session registry
RESULT = "cmp_result"  # session key: the last finished kinds.CompareResult
FORM = settings.COMPARE  # this page's settings (widgets, URL, defaults, kinds.CompareSettings)
ARCHITECTURE = ("cfg_cmp_bottleneck", "cfg_cmp_hidden", "cfg_cmp_channels", "cfg_cmp_wide", "cfg_cmp_sparsity",
                "cfg_cmp_beta")  # the fields in the "Architectures" expander, three per row


def read_settings(bundle: data.DataBundle) -> tuple[kinds.CompareSettings | None, Check]:
    """The comparison's settings from the widgets; every problem comes back as a message."""
    check, context = Check(), {"input_dim": bundle.input_dim}
    values = {"cfg_cmp_kinds": ui.field(FORM, "cfg_cmp_kinds", check)}
    c1, c2 = st.columns([1.4, 1])
    values["cfg_cmp_budget"] = ui.field(FORM, "cfg_cmp_budget", check, c1)
    amount = "cfg_cmp_epochs" if values["cfg_cmp_budget"] == "epochs" else "cfg_cmp_seconds"
    values[amount] = ui.field(FORM, amount, check, c2)
    with st.expander("Architectures"):
        cols = st.columns(3)
        values |= {key: ui.field(FORM, key, check, cols[i % 3], context=context) for i, key in enumerate(ARCHITECTURE)}
    return fields.build(FORM, kinds.CompareSettings, values, check.errors, lambda s: kinds.check(s, bundle))


def draw_live(view) -> None:
    """Which kind is training (kind i of n), its progress, and the loss curves of every kind so far."""
    ui.lab_progress(view, "cmp", height=260)


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
    ui.share_to_class(result, key="cmp")
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
    col_set, col_run = ui.open_lab(FORM, "compare", "⚖️ Kinds side by side", kinds.INTRO)
    with col_set:
        bundle, settings, check = ui.lab_settings("cfg_cmp_dataset", read_settings)
    with col_run:
        ready = bundle is not None and settings is not None and check.ok
        if ready:
            st.caption(" · ".join(f"{kinds.KINDS[k]}: {settings.spec(k, bundle.input_dim).param_count:,} parameters"
                                  for k in settings.kinds))
        ui.run_controls(JOB, "⚖️ Train all kinds", "cmp_run", ready,
                        "Train every chosen kind in the background, one after the other.",
                        lambda: ui.start_job(JOB, lambda ctx: kinds.run(bundle, settings, ctx), "compare",
                                             "comparison"), label="comparison", page="compare")
    ui.live_job(JOB, draw_live, on_done=on_done, every=0.5)
    ui.lab_results(JOB, st.session_state.get(RESULT), draw_results,
                   "Press **Train all kinds**. With the built-in digits and the defaults it takes about 15 seconds.")


main()
