"""The few Streamlit pieces several pages share (the only module in aelab that imports streamlit).

Conventions: a page's widget keys that should survive switching pages start with `cfg_`
(app.py re-asserts them on every run); per-user jobs live in a session-scoped registry that stops
their threads when the browser tab goes away; the session's trained model is `current_run()`.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Callable

import streamlit as st

from aelab.spec import Check

if TYPE_CHECKING:  # these import torch: the home page renders without it (see warm_up_in_background)
    from aelab import data
    from aelab.jobs import Job, JobView
    from aelab.runs import Run
    from aelab.train import History

RUN_KEY = "aelab_run"  # session_state key of the session's trained model (a runs.Run)
KEEP_PREFIX = "cfg_"  # widget keys with this prefix keep their value across pages
_KEEP_PATTERNS = "_keep_patterns"  # session key: further widget keys to keep (registered by pages, keep_keys)


# -- data --------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Loading data set…", max_entries=4)
def _load_bundle(name: str, root: str) -> data.DataBundle:
    """Data sets are read once per server and shared read-only between sessions."""
    from aelab import data

    return data.load(name, root)


def get_bundle(name: str) -> data.DataBundle:
    """The data set, loaded once per server; raises data.DataMissing with a clear message."""
    from aelab import data

    return _load_bundle(name, str(data.data_dir()))


def dataset_picker(key: str = "cfg_dataset", label: str = "Data set", allow: tuple[str, ...] | None = None,
                   help: str | None = None) -> data.DataBundle | None:
    """A data set select box; offers a Download button for missing MNIST-style sets. None if unusable."""
    from aelab import data

    options = list(allow or data.DATASETS)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    name = st.selectbox(label, options, format_func=data.DATASETS.get, key=key,
                        help=help or "Digits is built in (8x8 pixels, 1,797 images). MNIST and Fashion-MNIST "
                                     "are 28x28 and are read from the data folder.")
    if not data.is_available(name):
        st.warning(data.missing_message(name), icon="📁")
        if st.button(f"Download {data.DATASETS[name]} (about 30 MB)", key=f"{key}_download"):
            bar = st.progress(0.0, text="Starting download…")
            try:
                data.download(name, progress=lambda f, text: bar.progress(min(f, 1.0), text=text))
            except Exception as exc:  # noqa: BLE001 - offline machines get the message, not a traceback
                bar.empty()
                st.error(f"{exc}")
                return None
            st.rerun()
        return None
    try:
        return get_bundle(name)
    except Exception as exc:  # noqa: BLE001 - corrupt files etc.
        st.error(f"Could not read {data.DATASETS[name]}: {exc}. Delete its folder under {data.data_dir()} "
                 "and download it again.")
        return None


# -- routing -----------------------------------------------------------------------------------
def route_through_app() -> None:
    """Call first in every page: make sure app.py (router, sidebar, thread setup) runs.

    Because the repo has a `pages/` folder, Streamlit runs a deep-linked page *without* app.py on a
    fresh server (its legacy multipage mode) until some run calls st.navigation; AppTest does so on
    every run. Then this switches that mode off and runs app.py in this same script run (so widget
    events such as a button click are kept): its router runs this page again, properly; the outer
    run then stops.
    """
    import runpy
    from pathlib import Path

    from streamlit.runtime.pages_manager import PagesManager

    pin_threads_if_torch()  # pages import torch (if they use it) before they call this
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "app.py"), run_name="__main__")
        st.stop()


# -- the session's model -----------------------------------------------------------------------
def current_run() -> Run | None:
    """The model trained in this session (on Build & Train), or None."""
    return st.session_state.get(RUN_KEY)


def set_run(run: Run) -> None:
    st.session_state[RUN_KEY] = run


def skip_bare_mode_check() -> None:
    """Spare a fresh server's first page a 0.13 s check (call first in app.py).

    Before the first element of a process, Streamlit checks whether it runs bare in a Python REPL, by
    walking the whole call stack through os.path.realpath. Under `streamlit run` (runtime.exists()) the
    answer is always no, so mark the check as done. Only the flag is touched; if a Streamlit version
    renames it, nothing changes but the 0.13 s.
    """
    from streamlit import delta_generator, runtime

    if runtime.exists() and hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True


def keep_widget_state() -> None:
    """Keep widget values while another page is open (call first in every run, from app.py).

    Kept are `cfg_*` keys and the keys pages registered with keep_keys. Streamlit forgets a widget's
    value after a run that does not draw it. Re-assigning each key to itself turns it into plain
    session state, which survives (Streamlit's documented remedy; the browser then shows the kept
    value). A run interrupted by a page switch can still drop keys, so a shadow copy refreshed here
    puts back any key that vanished.
    """
    kept = st.session_state.setdefault("_kept_widgets", {})
    patterns = st.session_state.get(_KEEP_PATTERNS, ())
    for k in list(st.session_state):
        if isinstance(k, str) and (k.startswith(KEEP_PREFIX) or _matches(k, patterns)):
            st.session_state[k] = kept[k] = st.session_state[k]
    for k, v in list(kept.items()):  # a run interrupted by a click can overlap the next one
        if k not in st.session_state:
            st.session_state[k] = v


def _matches(key: str, patterns) -> bool:
    """key equals a pattern, or a pattern is 'name_#' and key is name_0, name_1, ..."""
    return any(key == p or (p.endswith("#") and key.startswith(p[:-1]) and key[len(p) - 1:].isdigit())
               for p in patterns)


def keep_keys(keys) -> None:
    """Also keep these widgets' values (keys without the cfg_ prefix): in closed lazy tabs and on other pages.

    Call before the widgets. The keys are remembered for the session, so keep_widget_state keeps them on
    every later run too. A key ending in '#' stands for numbered keys: 'z_#' keeps z_0, z_1, ...
    """
    patterns = st.session_state.setdefault(_KEEP_PATTERNS, set())
    patterns.update(keys)
    for key in list(st.session_state):
        if isinstance(key, str) and _matches(key, patterns):
            st.session_state[key] = st.session_state[key]


# -- per-session jobs --------------------------------------------------------------------------
def _stop_all(jobs: dict) -> None:
    for job in list(jobs.values()):
        job.stop()


@st.cache_resource(scope="session", on_release=_stop_all, show_spinner=False)
def _session_jobs() -> dict[int, Job]:
    """Every job this browser session started, by id: released (threads stopped) when the session ends."""
    return {}


def _jobs() -> dict[str, Job]:
    """This session's current job per page key (session_state is strictly per user)."""
    return st.session_state.setdefault("_aelab_jobs", {})


def get_job(key: str) -> Job | None:
    return _jobs().get(key)


def set_job(key: str, job: Job) -> Job:
    """Register a started job under `key`, stopping any job it replaces."""
    jobs = _jobs()
    old = jobs.get(key)
    if old is not None and old is not job:
        old.stop()
    jobs[key] = job
    registry = _session_jobs()
    for job_id in [i for i, j in registry.items() if not j.alive and j is not job]:
        del registry[job_id]  # forget finished jobs so the registry stays small
    registry[job.id] = job
    return job


def start_job(key: str, fn: Callable, name: str, what: str = "run",
              ready: Callable[[JobView], bool] | None = None, wait: float = 0.5, rerun: bool = True) -> None:
    """Start `fn(ctx)` as this session's job under `key`, then rerun the page so polling begins.

    A page that starts the job before drawing its controls passes rerun=False and saves a page run.

    While a job under `key` still runs, refuse with a message instead (pressing a button twice).
    With `ready`, wait up to `wait` s until the job's first update satisfies it, so the page's
    first drawing already shows a result (e.g. the first loss point).
    """
    if job_is_active(key):
        st.warning(f"The {what} is already running. Stop it first (or wait), then press the button again.")
        return
    from aelab.jobs import Job

    job = set_job(key, Job(fn, name=name).start())
    deadline = time.perf_counter() + wait
    while ready is not None and job.alive and time.perf_counter() < deadline:
        view = job.view()
        if ready(view) or view.queue_position:  # a queued job has nothing to show yet: draw its place now
            break
        time.sleep(0.01)
    if rerun:
        st.rerun()


def job_is_active(key: str) -> bool:
    job = get_job(key)
    return job is not None and job.alive


def live_job(key: str, draw: Callable[[JobView | None], None], on_done: Callable[[Job], None] | None = None,
             every: float = 0.5) -> None:
    """Draw a job's state in a fragment that re-runs every `every` s while the job's thread lives.

    When the job ends, `on_done(job)` runs once (e.g. to store its result) and the whole page reruns,
    which turns polling off.
    """
    active = job_is_active(key)

    @st.fragment(run_every=every if active else None, key=f"live_{key}")
    def _frag() -> None:
        job = get_job(key)
        done_key = f"_done_{key}"
        if job is not None and not job.alive and st.session_state.get(done_key) != job.id:
            st.session_state[done_key] = job.id  # collect the result exactly once
            if on_done is not None:
                on_done(job)
            if active:
                st.rerun()  # a full rerun turns polling off and draws the final state
        draw(job.view() if job else None)

    _frag()


def run_controls(key: str, button: str, button_key: str, ready: bool, help: str, start: Callable[[], None],
                 label: str = "training", page: str = "") -> None:
    """A lab page's controls: its primary button, which calls `start()` and is disabled while the job under
    `key` runs or while the settings have errors, then Pause/Stop for that job and Copy link."""
    if st.button(button, key=button_key, type="primary", disabled=job_is_active(key) or not ready, width="stretch",
                 help=help if ready else "Fix the messages first."):
        start()
    job_controls(key, label)
    copy_link_button(page)


def job_controls(key: str, label: str = "training") -> None:
    """Pause/Resume and Stop buttons for the job under `key` (disabled when nothing runs)."""
    job = get_job(key)
    alive = job is not None and job.alive
    c1, c2 = st.columns(2)
    paused = alive and job.view().status == "paused"
    if c1.button("▶ Resume" if paused else "⏸ Pause", key=f"{key}_pause", disabled=not alive,
                 width="stretch", help=f"Pause or resume the {label}; nothing is lost."):
        job.resume() if paused else job.pause()
        st.rerun()
    if c2.button("⏹ Stop", key=f"{key}_stop", disabled=not alive, width="stretch",
                 help=f"Stop the {label} now and keep what it has learned so far."):
        job.stop()
        job.join(5)
        st.rerun()


def progress_bar(view: JobView | None, label: str = "Training") -> None:
    """Progress with epoch, step and samples/s, or the queue position while waiting."""
    if view is None:
        return
    p = view.progress
    if view.status == "queued":
        st.progress(0.0, text=f"Waiting for a free training slot: place {view.queue_position} in the queue…")
        return
    if p is None:
        st.progress(0.0, text=f"{label}: starting…")
        return
    state = {"paused": " (paused)", "stopped": " (stopped)", "diverged": " (diverged)",
             "error": " (failed)"}.get(view.status, "")
    st.progress(min(p.fraction, 1.0),
                text=f"{label}{state}: epoch {p.epoch}, step {p.step:,}/{p.total_steps:,} · "
                     f"{p.samples_per_s:,.0f} samples/s · {p.elapsed:.1f} s")


def lab_progress(view: JobView | None, key: str, label: str = "Training", curves: bool = True,
                 total_epochs: int | None = None, figure: Callable[[dict[str, History]], object] | None = None,
                 height: int = 280) -> dict[str, History]:
    """The live view every lab shares, drawn from the job's typed progress (JobView.lab, a progress.LabProgress).

    While the job runs: the progress bar, labelled with the phase and its counts (`label` for a job that runs one
    plain fit), and one loss curve per model so far, the finished ones and the one training now (`figure` draws
    them another way, even before the first point; `curves=False` leaves them out). Once it ended: how it ended.
    Returns the curves.
    """
    if view is None:
        return {}
    if not view.active:
        status_message(view)
        return {}
    lab = view.lab
    progress_bar(view, lab.label if lab is not None else label)
    hists = dict(lab.histories) if lab is not None else {label: view.history}
    if curves and (figure is not None or any(h.epoch_x or h.step_x for h in hists.values())):
        from aelab import figures

        if figure is not None:
            fig = figure(hists)
        elif lab is None:  # one plain fit: its training and held-out loss
            fig = figures.loss_curves(view.history, total_epochs=total_epochs, height=figure_height(height))
        else:
            fig = figures.run_curves(hists, total_epochs=total_epochs, height=figure_height(height))
        st.plotly_chart(fig, width="stretch", key=f"{key}_live_curves")
    return hists


def show_check(check: Check, fields: tuple[str, ...] | None = None) -> None:
    """Errors (blocking) and notes, optionally only those for some controls."""
    for err in check.errors:
        if fields is None or err.field in fields:
            st.error(str(err), icon="⚠️")
    if fields is None:
        for note in check.notes:
            st.info(note, icon="💡")


def status_message(view: JobView | None) -> None:
    """A colored box for how a finished job ended."""
    if view is None or view.active:
        return
    box = {"done": st.success, "stopped": st.info, "diverged": st.warning, "error": st.error}.get(view.status,
                                                                                                 st.info)
    box(view.message or view.status)


def no_model_notice(page_hint: str = "") -> None:
    st.info("No model trained in this session yet. Train one on **Build & Train** "
            f"(the default trains in a few seconds){page_hint}.", icon="🧪")
    page_link_or_note("pages/build_train.py", "Go to Build & Train", icon="🏗️")


# -- classroom: URL sharing and classroom mode --
CLASSROOM_KEY = "cfg_classroom"  # session key of the sidebar toggle
CLASSROOM_SCALE = 1.5  # figures are this much taller in classroom mode


def _query() -> dict[str, str]:
    """The browser's query parameters, one (the last) value per name."""
    return {k: st.query_params.get(k) for k in st.query_params.keys()}


def _dismiss(key: str) -> None:
    st.session_state[key] = []


def sync_query_params(schema, name: str) -> list[str]:
    """Mirror a page's settings (share.Schema) in the URL. Call it at the top of the page, before its widgets.

    Values in the URL that this session did not write itself (a shared link, a new tab, an
    st.page_link with query_params) are applied to st.session_state; bad ones fall back to their
    defaults and are listed in a warning. On every run the current values are written back.
    Returns the notes about ignored values.
    """
    from aelab import share

    written_key, notes_key = f"_share_written_{name}", f"_share_notes_{name}"
    incoming = share.restrict(_query(), schema)
    if incoming and incoming != st.session_state.get(written_key):
        settings, notes = share.decode(incoming, schema, present_only=True)
        st.session_state.update(share.state_updates(schema, settings))
        st.session_state[notes_key] = notes
        st.toast("Settings loaded from the link." if not notes else
                 f"Settings loaded from the link; {len(notes)} value(s) were ignored.", icon="🔗")
    current = share.encode(share.read_state(schema, st.session_state), schema)
    for field in schema.values():
        if field.param in current:
            if st.query_params.get(field.param) != current[field.param]:
                st.query_params[field.param] = current[field.param]
        elif field.param in st.query_params:
            del st.query_params[field.param]
    st.session_state[written_key] = current
    notes = st.session_state.get(notes_key) or []
    if notes:
        with st.container(border=True):
            st.warning("Some settings in the link could not be used:\n\n" + "\n".join(f"- {n}" for n in notes),
                       icon="🔗")
            st.button("Dismiss", key=f"_share_dismiss_{name}", on_click=_dismiss, args=(notes_key,))
    return notes


def copy_link_button(page: str = "", label: str = "🔗 Copy link") -> str:
    """A popover with the full shareable URL of this page and its settings in a copyable code box."""
    from aelab import share

    url = share.link(st.context.url, _query(), page)
    with st.popover(label, help="A link that opens this page with the same settings."):
        st.caption("Send this link to open this page with the same data set and settings (the trained weights "
                   "are not in the link: hand those out with Save & load). Copy it with the button on the right.")
        st.code(url, language=None, wrap_lines=True)
    return url


def classroom_toggle() -> bool:
    """The sidebar switch for classroom mode (call once per run from app.py, before nav.run()).

    A `classroom=1` in the URL switches it on, so a teacher's link can open in classroom mode.
    """
    from aelab import share

    sync_query_params(share.APP, "app")
    return st.sidebar.toggle("🎓 Classroom mode", key=CLASSROOM_KEY,
                             help="For a projector: larger figures and fewer advanced controls.")


def classroom_mode() -> bool:
    """True while classroom mode is on (pages use it to hide advanced controls and enlarge figures)."""
    return bool(st.session_state.get(CLASSROOM_KEY, False))


def figure_height(base: int) -> int:
    """A figure height in pixels: `base`, or CLASSROOM_SCALE times larger in classroom mode."""
    return int(round(base * CLASSROOM_SCALE)) if classroom_mode() else int(base)


def page_link_or_note(page: str, label: str, icon: str | None = None, query_params: dict | None = None) -> bool:
    """st.page_link, or a plain caption when the page is not registered in st.navigation. True if linked."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page, label=label, icon=icon, query_params=query_params)
        return True
    except StreamlitAPIException:
        st.caption(f"{label} (that page is not part of this app yet).")
        return False


# -- start-up ----------------------------------------------------------------------------------
_warming = threading.Event()


def pin_threads_if_torch() -> None:
    """jobs.pin_threads() for this script thread once torch is loaded (the home page never loads it)."""
    if "torch" in sys.modules:
        from aelab import jobs

        jobs.pin_threads()


WARM_UP_DELAY_S = 3.0  # seconds between the first page run and the background imports


def warm_up_in_background(delay: float = WARM_UP_DELAY_S) -> None:
    """Once per process, after the first page is drawn: import torch, sklearn's data loaders and torch's
    optimizer machinery, and make plotly's first figures, in a daemon thread while the learner reads the
    home page (jobs.warm_up, figures.warm_up). `delay` lets the browser draw that page first: with 2 s the
    imports still overlapped slow starts (start-up median 3.00 s in two runs), with 3 s 2.63 and 2.73 s."""
    if _warming.is_set():
        return
    _warming.set()

    def _run() -> None:
        time.sleep(delay)
        import sklearn.datasets  # noqa: F401 - data.load_digits needs it: about 1 s of imports
        import pandas  # noqa: F401 - st.dataframe's first table needs pandas and pyarrow: 0.3 s of imports
        import pyarrow  # noqa: F401

        from aelab import figures, jobs

        jobs.warm_up()
        figures.warm_up()

    threading.Thread(target=_run, name="aelab-import", daemon=True).start()
