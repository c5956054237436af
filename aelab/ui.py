"""The Streamlit pieces pages share (the only module in aelab that imports streamlit).

Conventions (CONTRIBUTING.md): a page's widget keys that should survive switching pages start with `cfg_`
(app.py re-asserts them on every run); a declared setting is drawn with `field` (aelab/settings.py); per-user
jobs live in a session-scoped registry that stops their threads when the browser tab goes away; the session's
trained model is `current_run()`, kept on the server for this browser (`browser_token()`, aelab.store) so a
reload or a restart finds it again.
"""
from __future__ import annotations

import functools
import gc
import html
import math
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

import streamlit as st
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

from aelab import fields, limits, settings, text
from aelab.fields import Check, Field, SpecError

if TYPE_CHECKING:  # these import torch: the home page renders without it (see warm_up_in_background)
    from aelab import data
    from aelab.jobs import Job, JobView
    from aelab.runs import Run
    from aelab.spec import ArchSpec
    from aelab.train import History

RUN_KEY = "aelab_run"  # session_state key of the session's trained model (a runs.Run)
OFFER_KEY = "aelab_offer"  # session key: a stopped or diverged Run waiting for the learner's choice
TOKEN_KEY = "_aelab_browser_token"  # session key: this browser's token (see browser_token)
COOKIE = "aelab_token"  # the cookie that carries the token to the browser's next sessions
_SETTLED = "_aelab_settled"  # session key: (note, run) from the last runs.settle, shown while run is the model
_STORE_NOTE = "_aelab_store_note"  # session key: (text, kind, run) about saving or restoring, shown while run is
# the session model (run None: while there is none)
_RESTORE_TRIED = "_aelab_restore_tried"  # session key: the saved model was looked for (once per session)
KEEP_PREFIX = "cfg_"  # widget keys with this prefix keep their value across pages
_KEEP_PATTERNS = "_keep_patterns"  # session key: further widget keys to keep (registered by pages, keep_keys)
_FROM_LINK = "_from_link"  # session key: settings a link just set, which follow_defaults must not replace


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
    return dataset_bundle(dataset_select(key, label, allow, help), key)


def dataset_select(key: str = "cfg_dataset", label: str = "Data set", allow: tuple[str, ...] | None = None,
                   help: str | None = None) -> str:
    """The data set select box alone (torch-free: a page can lay out its settings before loading the data)."""
    from aelab import catalog

    options = list(allow or catalog.DATASETS)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return st.selectbox(label, options, format_func=catalog.DATASETS.get, key=key,
                        help=help or settings.DATASET_HELP)


def dataset_bundle(name: str, key: str = "cfg_dataset") -> data.DataBundle | None:
    """The chosen data set, loaded (once per server); for a missing MNIST-style set a message and a Download
    button (its key derives from `key`). None if unusable."""
    from aelab import data

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
    except data.DataMissing as exc:  # a damaged file: the message names it and says what to do
        st.error(f"Could not read {data.DATASETS[name]}: {exc}", icon="📁")
        return None
    except Exception as exc:  # noqa: BLE001 - anything else
        st.error(f"Could not read {data.DATASETS[name]}: {exc}. Delete its folder under {data.data_dir()} "
                 "and download it again.")
        return None


# -- settings: one widget per declared field (aelab/settings.py) ---------------------------------------
def _has_state(key: str, f: Field) -> bool:
    return (f"{key}_n" if f.widget == "layers" else key) in st.session_state


def init_form(form: Mapping[str, Field], dataset: str | None = None, skip: tuple[str, ...] = ()) -> None:
    """Give every field of `form` its default (on `dataset`) in session state, once, as its widget holds it.

    Call at the top of the page, before ui.sync_query_params: the URL then holds every setting from the first run.
    `skip`: keys whose default depends on the model; the page sets those itself."""
    from aelab import share

    missing = {k: f.default_for(dataset) for k, f in form.items() if k not in skip and not _has_state(k, f)}
    st.session_state.update(share.state_updates(form, missing))


def follow_defaults(form: Mapping[str, Field], defaults: Mapping[str, Any], tag: str) -> None:
    """Fields the learner left at their default take a new default (the data set or the model changed).

    `defaults` are the new defaults (key -> value); `tag` names what they follow (one memory per tag). A field
    whose widget holds anything else keeps it: the learner's own choice, or a shared link's."""
    from aelab import share

    memory = st.session_state.setdefault("_followed_defaults", {})
    last = memory.get(tag) or {k: form[k].default for k in defaults}
    linked = st.session_state.get(_FROM_LINK, set())  # a link's value is a choice even when it equals a default
    for key, value in defaults.items():
        old, new = share.state_updates(form, {key: last.get(key)}), share.state_updates(form, {key: value})
        if key in linked:
            continue
        if not _has_state(key, form[key]) or all(st.session_state.get(k) == v for k, v in old.items()):
            st.session_state.update(new)
    memory[tag] = dict(defaults)
    st.session_state[_FROM_LINK] = linked - set(defaults)


def follow_dataset(form: Mapping[str, Field], dataset: str) -> None:
    """Fields with a per-data-set default (Field.by_dataset) follow the chosen data set (see follow_defaults)."""
    keys = [k for k, f in form.items() if f.by_dataset]
    follow_defaults(form, {k: form[k].default_for(dataset) for k in keys}, "dataset:" + ",".join(keys))


def field(form: Mapping[str, Field], key: str, check: Check | None = None, where=None, *, options=None,
          format_func=None, high: float | None = None, context: Mapping | None = None, label: str | None = None,
          help: str | None = None, **widget_args) -> Any:
    """Draw the setting `key` of `form` by its widget kind (Field.widget) and return its value, or None after
    adding the learner-facing message to `check` (without a `check`, the message shows under the widget at once).

    The value is parsed and checked by fields.parse / fields.check, the same path as a link's and the lab's. A
    page may narrow a field for its data or model: `options` (the choices offered), `high` (the largest value),
    `context` (data-set bounds, see fields.CONTEXT); `label`/`help` replace the declared ones."""
    f = form[key]
    where = where if where is not None else st
    label = f.label if label is None else label
    help = (f.help or None) if help is None else help
    try:
        if f.widget == "text":
            return fields.parse(f, where.text_input(label, key=key, help=help, **widget_args), context, high)
        if f.widget == "layers":
            return _layers(f, key, label, help, context)
        value = _value_widget(f, key, where, label, help, options, format_func, high, widget_args)
        fields.check(f, value, context, high)
        return value
    except SpecError as err:
        if check is None:
            where.error(str(err), icon="⚠️")
        else:
            check.errors.append(err)
        return None


def _value_widget(f: Field, key: str, where, label: str, help: str | None, options, format_func,
                  high: float | None, widget_args: dict) -> Any:
    """The widgets that hold the value itself (not text)."""
    state = st.session_state
    show = format_func or f.show
    if f.widget in ("select", "radio", "select_slider", "multiselect"):
        opts = list(f.choices if options is None else options)
        if f.widget == "multiselect":
            state[key] = [c for c in state.get(key, []) if c in opts]
            return tuple(where.multiselect(label, opts, format_func=show, key=key, help=help, **widget_args))
        if state.get(key) not in opts:  # e.g. a training-set size this data set does not have
            state[key] = f.default if f.default in opts else (f.none_as if f.none_as in opts else opts[0])
        draw = {"select": where.selectbox, "radio": where.radio, "select_slider": where.select_slider}[f.widget]
        extra = {"horizontal": True} if f.widget == "radio" else {}
        return draw(label, opts, format_func=show, key=key, help=help, **extra, **widget_args)
    if f.widget == "toggle":
        return where.toggle(label, key=key, help=help, **widget_args)
    top = f.high if high is None else high
    if f.widget == "log_slider":
        grid = ([0.0] if f.low == 0 and not f.above else []) + log_grid(f.low, top)  # 0 = off (a penalty's weight)
        value = state.get(key, f.default)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value not in grid:
            try:  # a value from a link keeps its own stop (0.0375), a bad one moves to the nearest
                fields.check(f, value, None, high)
                grid = sorted([*grid, float(value)])
            except SpecError:
                state[key] = min(grid, key=lambda v: abs(v - float(value)))
        elif value not in grid:
            state[key] = min(grid, key=lambda v: abs(v - float(f.default)))
        return where.select_slider(label, grid, format_func=lambda v: f"{v:g}", key=key, help=help, **widget_args)
    number = int if f.kind == "int" else float
    low, top = number(f.low), number(top)
    if key in state and isinstance(state[key], (int, float)) and not low <= state[key] <= top:
        state[key] = min(max(number(state[key]), low), top)  # e.g. the model allows fewer than the link asked
    step = None if f.step is None else number(f.step)
    draw = where.slider if f.widget == "slider" else where.number_input
    return draw(label, low, top, step=step, key=key, help=help, **widget_args)


def layout_fields(form: Mapping[str, Field], layout_key: str, channels_key: str, check: Check | None = None,
                  where=None) -> dict[str, Any]:
    """The layout choice (dense or convolutional) and, for a convolutional model, its channel counts: key -> value
    (a dense model leaves the channels at their default, which ArchSpec ignores)."""
    values = {layout_key: field(form, layout_key, check, where)}
    if values[layout_key] == "conv":
        values[channels_key] = field(form, channels_key, check, where)
    return values


def log_grid(low: float | None, high: float, decades: int = 6) -> list[float]:
    """1, 2, 5 steps per decade up to `high`: the values of a log-scale slider (a learning rate)."""
    top = math.floor(math.log10(high))
    values = [round(m * 10.0 ** e, 12) for e in range(top - decades, top + 1) for m in (1, 2, 5)]
    return [v for v in values if v <= high and (low is None or v > low)]


def _layers(f: Field, key: str, label: str, help: str | None, context: Mapping | None) -> tuple[int, ...]:
    """One text box per hidden layer plus + and - buttons (state: key_n and key_0, key_1, ... as text)."""
    n = st.session_state[f"{key}_n"]
    side = key.removeprefix("cfg_")
    st.markdown(f"**{label}** hidden layers ({n})", help=help)
    cols = st.columns(max(n, 1) + 2)
    texts = [cols[i].text_input(f"{label} layer {i + 1} width", key=f"{key}_{i}", label_visibility="collapsed",
                                help=f"{label} layer {i + 1}: units") for i in range(n)]
    cols[-2].button("+", key=f"{side}_add", on_click=_change_layers, args=(key, 1, f.max_items), help="Add a layer",
                    disabled=n >= f.max_items)
    cols[-1].button("-", key=f"{side}_remove", on_click=_change_layers, args=(key, -1, f.max_items),
                    help="Remove the last layer", disabled=n == 0)
    return fields.parse_items(f, texts, context)


def _change_layers(key: str, delta: int, most: int) -> None:
    n = st.session_state[f"{key}_n"]
    new = min(max(n + delta, 0), most)
    if new > n:  # a new layer starts as wide as its neighbour towards the code
        st.session_state[f"{key}_{n}"] = st.session_state.get(f"{key}_{n - 1}", "32") if n else "32"
    st.session_state[f"{key}_n"] = new


# -- a lab page's skeleton ----------------------------------------------------------------------------
def open_lab(form: Mapping[str, Field], name: str, title: str, intro: str, widths=(1.3, 1)):
    """The top of a lab page: routing, the form's defaults and URL, the title and the question; returns the settings
    column and the run column."""
    route_through_app()
    init_form(form)  # defaults first, so the URL holds every setting from the first run on
    sync_query_params(form, name)  # settings <-> URL, so a link reproduces them
    st.title(title)
    st.markdown(intro)
    return st.columns(list(widths), gap="large")


def measured(summary: str, result) -> None:
    """The head of a lab's results: what was measured (one line of numbers) and, unless it finished, why not."""
    st.header("What was measured")
    st.caption(summary)
    if result.status != "done":
        st.warning(result.message, icon="⚠️")


def lab_settings(dataset_key: str, read: Callable[[data.DataBundle], tuple[Any, Check]],
                 form: Mapping[str, Field] | None = None) -> tuple[data.DataBundle | None, Any, Check]:
    """A lab page's settings column: the data set picker, then `read(bundle)` (the page's fields, -> (settings or
    None, Check)) and its messages. With `form`, fields with a per-data-set default follow the chosen data set."""
    bundle = dataset_picker(dataset_key)
    if bundle is not None and form is not None:
        follow_dataset(form, bundle.name)
    lab, check = read(bundle) if bundle is not None else (None, Check())
    show_check(check)
    return bundle, lab, check


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
    """Make `run` the session model on every page, and save it for this browser (store.save) so a reload or a
    server restart brings it back; when it cannot be saved, the sidebar says why."""
    from aelab import store

    st.session_state[RUN_KEY] = run
    try:
        store.save(browser_token(), run)
        st.session_state.pop(_STORE_NOTE, None)
    except Exception as exc:  # noqa: BLE001 - store.SaveSkipped, a bad AELAB_STATE_* value: the model stays in use
        st.session_state[_STORE_NOTE] = (str(exc), "warning", run)


def settle_run(run: Run) -> None:
    """A training run has ended: it becomes the session model, or is offered beside the previous one (runs.settle
    decides; offered_run_choice shows the choice)."""
    from aelab import runs

    settled = runs.settle(run, current_run())
    if settled.use:
        set_run(run)
        st.session_state.pop(OFFER_KEY, None)
    else:
        st.session_state[OFFER_KEY] = run
    st.session_state[_SETTLED] = (settled.note, run)


def offered_run() -> Run | None:
    """A stopped or diverged run waiting for the learner's choice (the session model is still the previous one)."""
    return st.session_state.get(OFFER_KEY)


def _keep_previous() -> None:
    st.session_state.pop(OFFER_KEY, None)
    st.toast("Kept your previous model.", icon=":material/undo:")


def _use_offered() -> None:
    run = st.session_state.pop(OFFER_KEY, None)
    if run is not None:
        set_run(run)
        st.toast("This run is your session model now.", icon=":material/check:")


def _fmt_loss(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else "none"


def offered_run_choice() -> None:
    """The note on how the last run was settled, and for an offered run both models side by side with the buttons
    "Keep my previous model" / "Use this one" (call from the page that trains, after its live view)."""
    from aelab import runs

    current, offer = current_run(), offered_run()
    note, settled = st.session_state.get(_SETTLED, ("", None))
    if note and settled is current:
        st.info(note, icon=":material/info:")
    if offer is None:
        return
    if current is None:  # the previous model is gone (cannot happen today): nothing to choose between
        _use_offered()
        return
    with st.container(border=True):
        st.warning(runs.offer_text(current, offer), icon=":material/help:")
        left, right = st.columns(2)
        for col, run, title in ((left, current, "Your previous model"), (right, offer, "This run")):
            col.metric(f"{title}: test loss", _fmt_loss(run.test_loss),
                       help="Mean loss on the held-out images (lower is better).")
            col.caption(f"{run.spec.describe()} on {run.dataset}, {run.epochs_done} epochs ({run.status}).")
        left.button("Keep my previous model", key="offer_keep", on_click=_keep_previous, width="stretch")
        right.button("Use this one", key="offer_use", on_click=_use_offered, width="stretch")


# -- this browser, and its model across reloads and restarts ----------------------------------
def _cookie(name: str) -> str | None:
    try:
        return st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no cookies outside a browser connection (AppTest, bare mode)
        return None


def browser_token() -> str:
    """This browser's unguessable token (256 random bits): the same in every tab and after a reload.

    Read from the browser's cookie when it holds a well-formed token (checked strictly; anything else is ignored
    and replaced), else made here; remember_browser() writes it to the cookie. Without cookies (AppTest) it is the
    session's own. Keep it out of file names and logs (aelab.store hashes it).
    """
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        from aelab import store

        cookie = _cookie(COOKIE)
        token = cookie if store.valid_token(cookie) else store.new_token()
        st.session_state[TOKEN_KEY] = token
    return token


_COOKIE_JS = """
export default function ({ data }) {
  if (!data || !/^[A-Za-z0-9_-]{43}$/.test(data.value) || !/^[a-z_]+$/.test(data.name)) return;
  let cookie = `${data.name}=${data.value}; path=/; SameSite=Strict`;
  if (data.max_age > 0) cookie += `; max-age=${Math.floor(data.max_age)}`;
  if (window.location.protocol === "https:") cookie += "; Secure";
  document.cookie = cookie;
}
"""


@st.cache_resource(show_spinner=False)
def _cookie_writer():
    """The invisible component whose script sets the token cookie in the app page (registered once per server)."""
    return st.components.v2.component("aelab_browser_token", js=_COOKIE_JS)


def remember_browser() -> None:
    """Write browser_token() into the browser's cookie (call once per run, from app.py): later tabs, reloads and
    sessions after a server restart read it back. Written on every run, so its expiry (AELAB_STATE_DAYS; a
    browser-session cookie when 0) counts from the last visit."""
    from aelab import config, store

    try:
        days = config.get("state_days")
    except Exception:  # noqa: BLE001 - a bad AELAB_STATE_DAYS is reported where the model is saved
        days = 0
    _cookie_writer()(key="aelab_browser_token", data={"name": COOKIE, "value": browser_token(),
                                                      "max_age": days * store.DAY_S}, height=0)


def _local_time(ts: float) -> str:
    """A time as the learner's clock shows it (the browser's time zone when known, else the server's)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        tz = ZoneInfo(st.context.timezone) if st.context.timezone else None
    except Exception:  # noqa: BLE001 - an unknown or malformed zone name from the browser
        tz = None
    when = datetime.fromtimestamp(ts, tz)
    return f"{when.day} {when:%b %Y, %H:%M}"


def restore_saved_run() -> None:
    """Once per session, before any page runs (app.py): when the session has no model, bring back the one this
    browser saved before a reload or a server restart; the sidebar then says so, or why it could not."""
    if st.session_state.get(_RESTORE_TRIED):
        return
    st.session_state[_RESTORE_TRIED] = True
    if current_run() is not None:
        return
    from aelab import store

    try:
        saved = store.load(browser_token())
    except Exception as exc:  # noqa: BLE001 - store.RestoreFailed (file set aside), a bad AELAB_STATE_* value
        st.session_state[_STORE_NOTE] = (str(exc), "warning", None)
        return
    if saved is not None:
        st.session_state[RUN_KEY] = saved.run
        st.session_state[_STORE_NOTE] = (f"Restored your model from {_local_time(saved.saved_at)}.", "caption",
                                         saved.run)
    pin_threads_if_torch()  # loading the checkpoint imported torch


def session_model_notes() -> None:
    """The sidebar's notes about the session model: restored, not restored, not saved, a run waiting for a choice."""
    note = st.session_state.get(_STORE_NOTE)
    if note is not None and note[2] is current_run():
        (st.caption if note[1] == "caption" else st.warning)(note[0])
    if offered_run() is not None:
        st.caption("A stopped or diverged run is waiting on **Build & Train**: keep your model or use that one.")


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


def student_key() -> str:
    """Who this tab's jobs belong to for the fair scheduler: jobs with one key share one student's turn.

    A digest of the per-browser token (browser_token), so a student's several tabs share one turn; the token
    itself stays secret (the scheduler only ever sees the digest). Outside a Streamlit run it is "", and each
    job is its own student (jobs.Job).
    """
    import hashlib

    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return ""
    return hashlib.sha256(browser_token().encode()).hexdigest()[:16]


def get_job(key: str) -> Job | None:
    return _jobs().get(key)


def set_job(key: str, job: Job) -> Job:
    """Register a started job under `key`, stopping any job it replaces.

    Create the job with `student=student_key()` (start_job does), so it takes this student's turns."""
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
              ready: Callable[[JobView], bool] | None = None, wait: float = 0.5, rerun: bool = True,
              budget: float | None = None) -> None:
    """Start `fn(ctx)` as this session's job under `key`, then rerun the page so polling begins.

    A page that starts the job before drawing its controls passes rerun=False and saves a page run. `budget`: the
    job's compute limit (a continuation gets what its run has left, runs.budget_left; default AELAB_MAX_COMPUTE).

    While a job under `key` still runs, refuse with a message instead (pressing a button twice).
    With `ready`, wait up to `wait` s until the job's first update satisfies it, so the page's
    first drawing already shows a result (e.g. the first loss point).
    """
    if job_is_active(key):
        st.warning(f"The {what} is already running. Stop it first (or wait), then press the button again.")
        return
    from aelab.jobs import Job

    job = set_job(key, Job(fn, name=name, student=student_key(), budget=budget).start())
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
    """Draw a job's state in a fragment that re-runs every `every` s while the job's thread lives (less often
    while more students than slots share the server: scheduler.poll_every).

    When the job ends, `on_done(job)` runs once (e.g. to store its result) and the whole page reruns,
    which turns polling off.
    """
    from aelab.scheduler import poll_every

    def pace(view: JobView) -> float:  # slower while the server is shared (scheduler.poll_every)
        return poll_every(view.turn, view.drawable, every)

    active = job_is_active(key)
    interval = pace(get_job(key).view()) if active else None

    @st.fragment(run_every=interval, key=f"live_{key}")
    def _frag() -> None:
        job = get_job(key)
        done_key = f"_done_{key}"
        if job is not None and not job.alive and st.session_state.get(done_key) != job.id:
            st.session_state[done_key] = job.id  # collect the result exactly once
            if on_done is not None:
                on_done(job)
            # a full rerun turns polling off and draws the final state; also when this run began with the job
            # still alive (active False only here): the page above may have drawn it as running, e.g. a disabled
            # button and no results, and nothing else would draw the page again
            st.rerun()
        view = job.view() if job else None
        if interval is not None and view is not None and view.active and pace(view) != interval:
            st.rerun()  # the server became shared, or free again: a full run sets the fragment's new pace
        draw(view)

    _frag()


def lab_results(key: str, result, draw: Callable, hint: str) -> None:
    """The end of a lab page: the last result (noting while a new run goes on that it is the previous one), or
    before any result, a hint saying what to press."""
    busy = job_is_active(key)
    if result is not None:
        if busy:
            st.caption("Below: the previous results, until the new run finishes.")
        draw(result)
    elif not busy:
        st.info(hint, icon="👆")


def run_controls(key: str, button: str, button_key: str, ready: bool, help: str, start: Callable[[], None],
                 label: str = "training", page: str = "") -> None:
    """A lab page's controls: its primary button, which calls `start()` and is disabled while the job under
    `key` runs or while the settings have errors, then Pause/Stop for that job and Copy link."""
    if st.button(button, key=button_key, type="primary", disabled=job_is_active(key) or not ready, width="stretch",
                 help=help if ready else "Fix the messages first."):
        start()
    job_controls(key, label)
    copy_link_button(page)


def job_button(key: str, label: str, button_key: str, ready: bool, start: Callable[[], None],
               what: str = "training") -> bool:
    """A primary button that calls `start()` (disabled while the job under `key` runs or while not `ready`), with
    Pause/Stop beside it. True while the job runs."""
    running = job_is_active(key)
    c1, c2 = st.columns([1, 2])
    if c1.button(label, key=button_key, type="primary", disabled=running or not ready, width="stretch",
                 help=None if ready else "Fix the messages first."):
        start()
    with c2:
        job_controls(key, what)
    return running


def start_and_rerun(key: str, job: Job) -> None:
    """Register a job started elsewhere (runs.start_training, layers.start_pair) and rerun, so polling begins."""
    set_job(key, job)
    st.rerun()


def job_controls(key: str, label: str = "training") -> None:
    """Pause/Resume and Stop buttons for the job under `key` (disabled when nothing runs)."""
    job = get_job(key)
    alive = job is not None and job.alive
    c1, c2 = st.columns(2)
    paused = alive and job.pause_requested  # what was pressed, not yet what the thread has reached
    if c1.button("▶ Resume" if paused else "⏸ Pause", key=f"{key}_pause", disabled=not alive,
                 width="stretch", help=f"Pause or resume the {label}; nothing is lost."):
        job.resume() if paused else job.pause()
        st.rerun()
    if c2.button("⏹ Stop", key=f"{key}_stop", disabled=not alive, width="stretch",
                 help=f"Stop the {label} now and keep what it has learned so far."):
        job.stop()
        job.join(5)
        st.rerun()


# -- Build & Train's run controls (issue 16): focus, toasts, resetting a form, trails of the live code space --------
_FOCUS_JS = """
export default function ({ data }) {
  if (!data || typeof data.key !== "string" || !/^[A-Za-z0-9_-]+$/.test(data.key)) return;
  const root = document.querySelector(`.st-key-${data.key}`);
  const busy = document.activeElement && document.activeElement !== document.body &&
               !(root && root.contains(document.activeElement)) && !document.activeElement.closest(".st-key-" +
               data.area);
  if (busy) return;  // the learner is working in another control: leave the focus there
  let tries = 0;
  const go = () => {
    const button = document.querySelector(`.st-key-${data.key} button`);
    if (button && !button.disabled) { button.focus(); }
    else if (tries++ < 30) { setTimeout(go, 100); }
  };
  go();
}
"""


@st.cache_resource(show_spinner=False)
def _focus_component():
    """The invisible component that moves the keyboard focus (registered once per server)."""
    return st.components.v2.component("aelab_focus", js=_FOCUS_JS)


def focus_button(key: str, token: object, area: str = "") -> None:
    """Move the keyboard focus to the button with widget key `key`, once per `token` (e.g. the id of the run that
    just ended: a rerun drops the focus to the top of the page). Not when the learner's focus is in another control
    (outside the container with key `area`)."""
    if st.session_state.get(f"_focused_{key}") == token:
        return
    st.session_state[f"_focused_{key}"] = token
    _focus_component()(key=f"_focus_{key}", data={"key": key, "area": area or key, "token": str(token)}, height=0)


def toast_later(text: str, icon: str) -> None:
    """A toast for the next full run of the page, which shows it even when a rerun cuts this one short (a fragment
    that ends a job reruns the page right after)."""
    st.session_state.setdefault("_toast_later", []).append((text, icon))


def pending_toast() -> None:
    """Show the toasts toast_later left, oldest first (call near the top of the page)."""
    for words, icon in st.session_state.pop("_toast_later", []):
        st.toast(words, icon=icon)


def reset_form(form: Mapping[str, Field], keep: tuple[str, ...] = ()) -> None:
    """A button callback: every field of `form` but `keep` back to its default on the chosen data set (its
    per-data-set defaults are followed again from there)."""
    from aelab import share

    dataset = next((st.session_state.get(k) for k in keep if k.endswith("dataset")), None)
    st.session_state.update(share.state_updates(form, {k: f.default_for(dataset) for k, f in form.items()
                                                       if k not in keep}))
    st.session_state.pop("_followed_defaults", None)


def sticky(key: str, top: str = "3.75rem") -> None:
    """Keep the container with key `key` on screen while the page scrolls (CSS position: sticky, `top` below the
    window's top edge: by default just under Streamlit's header), on an opaque background so what scrolls under it
    stays hidden.

    Streamlit 1.67 wraps a keyed container in a stLayoutWrapper exactly as tall as it, so the wrapper is what
    sticks (within the block that holds it)."""
    st.html(f'<style>[data-testid="stLayoutWrapper"]:has(> .st-key-{key}) {{ position: sticky; top: {top}; '
            "z-index: 50; background: var(--st-background-color, #fff); }</style>")


def code_trails(model, bundle: data.DataBundle, run_key: object, update: object):
    """This session's inside.CodeTrails for the live code space: a fixed set of held-out points, one buffer per
    run (`run_key`, e.g. the job id), one frame per weights snapshot (`update`, e.g. the step it was taken at)."""
    from aelab import analysis, inside

    trails = st.session_state.get("_code_trails")
    if trails is None or trails.last_key is None or trails.last_key[0] != run_key:
        idx = inside.trail_points(bundle.y_test)
        trails = st.session_state["_code_trails"] = inside.CodeTrails(idx, bundle.y_test[idx].numpy())
    if trails.last_key != (run_key, update):  # a redraw without a new update (waiting for a turn) encodes nothing
        trails.push(analysis.encode(model, bundle.x_test[trails.indices]), key=(run_key, update))
    return trails


def progress_bar(view: JobView | None, label: str = "Training", until_paused: bool = False,
                 compact: bool = False) -> None:
    """Progress with epoch, step, samples/s and time, and the job's turn: its place in the queue and why it
    waits, its share of the CPU when shared, and the time left (scheduler.describe). `until_paused`: a run with no
    planned end (Play): the bar shows how far the current epoch is, the text the epoch reached. `compact`: one short
    line for a narrow panel (no step count, no elapsed time); nothing once the job has ended."""
    if view is None or (compact and not view.active):
        return
    p = view.progress
    if until_paused and p is not None and view.status == "running":
        at = view.history.step_x[-1] if view.history.step_x else float(p.epoch)
        steps = "" if compact else f", step {p.step:,}"
        st.progress(min(at % 1.0, 1.0), text=f"{label}: epoch {at:.2f}{steps} · {p.samples_per_s:,.0f} samples/s"
                                               + ("" if compact else f" · {p.elapsed:.1f} s"))
        return
    from aelab.scheduler import describe

    turn = describe(view.turn, view.eta)
    p = view.progress
    if p is None:
        text = {"queued": f"Waiting for your turn: {turn}" if turn else "Waiting for your turn…",
                "paused": f"{label} (paused)" + (f" · {turn}" if turn else "")}.get(view.status,
                                                                                   f"{label}: starting…")
        st.progress(0.0, text=text)
        return
    state = {"queued": " (waiting for your turn)", "paused": " (paused)", "stopped": " (stopped)",
             "diverged": " (diverged)", "error": " (failed)"}.get(view.status, "")
    steps = "" if compact else f", step {p.step:,}/{p.total_steps:,}"
    elapsed = "" if compact else f" · {p.elapsed:.1f} s"
    st.progress(min(p.fraction, 1.0), text=f"{label}{state}: epoch {p.epoch}{steps} · {p.samples_per_s:,.0f} "
                                           f"samples/s{elapsed}" + (f" · {turn}" if turn else ""))


def lab_progress(view: JobView | None, key: str, label: str = "Training", curves: bool = True,
                 total_epochs: int | None = None, figure: Callable[[dict[str, History]], object] | None = None,
                 height: int = 280, loss: str | None = "mse") -> dict[str, History]:
    """The live view every lab shares, drawn from the job's typed progress (JobView.lab, a progress.LabProgress).

    While the job runs: the progress bar, labelled with the phase and its counts (`label` for a job that runs one
    plain fit), and one loss curve per model so far, the finished ones and the one training now (`figure` draws
    them another way, even before the first point; `curves=False` leaves them out; `loss` names the y axis: the labs
    train with MSE). Once it ended: how it ended. Returns the curves.
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
            fig = figures.loss_curves(view.history, total_epochs=total_epochs, height=figure_height(height), loss=loss)
        else:
            fig = figures.run_curves(hists, total_epochs=total_epochs, height=figure_height(height), loss=loss)
        chart(fig, f"{key}_live_curves")
    return hists


def show_check(check: Check, fields: tuple[str, ...] | None = None) -> None:
    """Errors (blocking) and notes, optionally only those for some controls."""
    for err in check.errors:
        if fields is None or err.field in fields:
            st.error(str(err), icon="⚠️")
    if fields is None:
        for note in check.notes:
            st.info(note, icon="💡")


# -- drawing: messages, charts, image grids, metrics, lazy tabs, clicks ----------------------------------
def say(kind: str, text: str, icon: str | None = None) -> None:
    """A message box of this kind: "success", "info", "warning" or "error" (nothing for an empty text)."""
    if text:
        {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}[kind](text, icon=icon)


def chart(fig, key: str | None = None, where=None, png: str | None = None, summary: str | None = None, **kw):
    """Every chart goes on the page through here: a plotly figure at full width, as theme.for_screen sizes it
    (Classroom mode's larger text and markers; never taller than a 1280x720 screen), followed by a text summary
    that only screen readers see: `summary`, or one read off the figure (alt_text.summary); "" for none.

    A frozen figure (see `frozen`) is prepared for sending once per display mode and sent as prepared afterwards.
    `png` names the file its camera button saves; other keywords go to st.plotly_chart (on_select, selection_mode,
    config, width). Returns what st.plotly_chart returns (the selection, with on_select).
    """
    from aelab import alt_text, theme

    where = where or st
    if png:
        kw["config"] = theme.png_config(png)
    kw.setdefault("width", "stretch")
    classroom = classroom_mode()
    prepared = getattr(fig, _SENT, None)  # a frozen figure's, else None
    if prepared is not None and classroom not in prepared:
        prepared[classroom] = (theme.Prepared(theme.for_screen(fig, classroom)), alt_text.summary(fig))
    shown, auto = prepared[classroom] if prepared is not None else (theme.for_screen(fig, classroom), None)
    event = where.plotly_chart(shown, key=key, **kw)
    text = summary if summary is not None else auto if auto is not None else alt_text.summary(fig)
    if text:
        where.html(f'<div class="{theme.SR_ONLY}">{html.escape(text)}</div>')
    return event


_SENT = "_aelab_sent"  # on a frozen figure: {Classroom mode on: (theme.Prepared figure, its text summary)}


def frozen(fig):
    """Declare that `fig` will never change again (ui.kept's figures, the cached sandglass), and return it: `chart`
    then makes what it sends (theme.Prepared) and the text summary once per display mode, not on every page run. A
    live view redraws its unchanged figures with every poll and with every edit made while its job waits for a turn
    (30 students: most page runs). Draw a changed figure as a new figure, never by changing a frozen one."""
    if not hasattr(fig, _SENT):  # plotly figures take attributes whose names start with "_"
        setattr(fig, _SENT, {})
    return fig


@functools.lru_cache(maxsize=128)
def sandglass(spec: ArchSpec, height: int = 260):
    """The sandglass of `spec` (diagram.sandglass), built once per network and height for the whole server, frozen.
    Build & Train draws it on every page run, an edit made while training included: building it anew took ~1.2 ms
    and converting it for sending as much again. Shared between sessions, so never changed (see frozen)."""
    from aelab import diagram

    return frozen(diagram.sandglass(spec, height=height))


def images(rows, bundle: data.DataBundle, key: str, where=None, png: str | None = None, **grid) -> None:
    """An image grid (figures.image_grid) of samples of `bundle`: its images, or one row of values per sample;
    taller in Classroom mode (figure_height), so a digit reads at the back of the room."""
    from aelab import figures

    grid["height"] = figure_height(grid.get("height") or figures.grid_height(len(rows)))
    chart(figures.image_grid(rows, bundle.image_shape or (1, bundle.input_dim), **grid), key, where, png=png)


def start_sliders(prefix: str, start, origin: object, reset: bool = False) -> None:
    """Move the sliders `prefix_0`, `prefix_1`, ... to `start` when `origin` (what they start from) changed or on
    `reset`; otherwise they keep where the learner put them."""
    seen = f"_{prefix}_origin"
    if reset or st.session_state.get(seen) != origin:
        st.session_state.update({f"{prefix}_{i}": float(v) for i, v in enumerate(start)})
        st.session_state[seen] = origin


def lazy_tabs(labels, key: str, sections, *args) -> None:
    """Tabs of which only the open one runs (a tab switch reruns the page): `sections[i](*args)` draws tab i. The
    closed tabs' widgets keep their values meanwhile when the page registers them with keep_keys."""
    for tab, draw in zip(st.tabs(list(labels), key=key, on_change="rerun"), sections):
        if tab.open is not False:  # None: a Streamlit that does not track tabs runs them all
            with tab:
                draw(*args)


def clicked(chart_key: str, n: int, into: str) -> list[int]:
    """The points clicked in the chart `chart_key` (their customdata indices below n); a new click also goes into
    session key `into` (read before drawing, so the chart can ring the point). Returns every point picked."""
    from aelab import latent

    picked = latent.selected_indices(st.session_state.get(chart_key), n)
    if picked and tuple(picked) != st.session_state.get(f"_{into}_event"):
        st.session_state[f"_{into}_event"], st.session_state[into] = tuple(picked), picked[0]
    return picked


def index_box(form, key: str, n: int, target: str, button_key: str) -> None:
    """A box for a held-out index (0 to n - 1, the field `key` of `form`) and a Show button that stores it in
    session_state[target]; a bad index says why under the box (typing an index is the keyboard's way to pick a
    point in a chart)."""
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    check = Check()
    typed = field(form, key, check, c1, context={"n_test": n - 1}, placeholder=f"0 to {n - 1:,}")
    if c2.button("Show", key=button_key, width="stretch"):
        if check.ok:
            st.session_state[target] = typed
        show_check(check)


def metrics(items, where=None) -> None:
    """A row of st.metric, one column each: (label, value), (label, value, help) or (label, value, help, delta); a
    delta is shown in grey (a difference to read, not good or bad)."""
    for col, (label, value, *more) in zip((where or st).columns(len(items)), items):
        help, delta = (more + [None, None])[:2]
        col.metric(label, value, help=help, delta=delta, delta_color="off")


def status_message(view: JobView | None) -> None:
    """A colored box for how a finished job ended."""
    if view is None or view.active:
        return
    box = {"done": st.success, "stopped": st.info, "diverged": st.warning, "error": st.error}.get(view.status,
                                                                                                 st.info)
    box(view.message or view.status)


# -- the model a page looks at: its data, a quick model, state that lives as long as the model ------------
def session_bundle(run: Run) -> tuple[data.DataBundle | None, str]:
    """The data set a model was trained on, or None and a message saying what is missing (the model is kept)."""
    from aelab import data

    label = data.DATASETS.get(run.dataset, run.dataset)
    try:
        bundle = get_bundle(run.dataset)
    except Exception as exc:  # noqa: BLE001 - missing or unreadable files: say so, keep the model
        return None, (f"Your session model was trained on **{label}**, which cannot be read on this machine, so it "
                      f"is not available here: {exc}")
    if bundle.input_dim != run.spec.input_dim:
        return None, (f"Your session model expects {run.spec.input_dim} inputs but {label} has {bundle.input_dim}; "
                      "retrain it on Build & Train.")
    return bundle, ""


def train_button(key: str, button: str, bundle: Callable[[], data.DataBundle] | data.DataBundle, spec, cfg,
                 label: str, on_done: Callable[[Job], None], ready: bool = True, button_key: str = "",
                 controls: bool = False, draw: Callable[[JobView], None] | None = None) -> None:
    """A button that trains `spec` with `cfg` on `bundle` in the background (disabled while that job runs or while
    not `ready`), then its progress and, with `controls`, Pause/Stop; `on_done(job)` runs once when it ends.
    `draw(view)` adds to the live view while the job runs (e.g. its weights as images)."""
    from aelab import runs

    if st.button(button, key=button_key or f"{key}_train", disabled=job_is_active(key) or not ready, type="primary",
                 help=f"{spec.describe()}, {cfg.epochs} epochs, in the background." if ready else None):
        start_and_rerun(key, runs.start_training(bundle() if callable(bundle) else bundle, spec, cfg,
                                                 name=key.replace("_", "-"), student=student_key()))
    if get_job(key) is not None:
        if controls:
            job_controls(key)
        def live(view: JobView | None) -> None:
            progress_bar(view, label)
            status_message(view)
            if draw is not None and view is not None and view.active:
                draw(view)

        live_job(key, live, on_done)


def quick_model(key: str, spec, cfg, button: str, label: str, store: str | None = None,
                draw: Callable[[JobView], None] | None = None) -> None:
    """A button that trains a small model on the built-in digits in the background, and its progress (and, with
    `draw`, what `draw(view)` adds to the live view).

    The finished Run is kept under session key `store` (when given) and becomes the session model unless the
    learner already has one. The job runs under `key`; the button's key is `{key}_train`."""
    from aelab import catalog, runs

    def done(job: Job) -> None:
        if isinstance(job.result, runs.Run):
            if store:
                st.session_state[store] = job.result
            if current_run() is None:  # never replace a model the learner trained
                set_run(job.result)

    train_button(key, button, lambda: get_bundle(catalog.DIGITS), spec, cfg, label, done, draw=draw)


def weights_images(state: dict, bundle: data.DataBundle, key: str, title: str = "", height: int | None = None,
                   owner: object = None) -> None:
    """A model's weights as images (its first encoder and last decoder layer, strongest first, inside.weights_view)
    with a caption per set computed from them. `state` is a state dict: a finished model's, or the latest copy a
    live job published (a fragment redraws it with every update). The figure and captions are built once per
    `owner` (default: `state` itself; pass the model when `state` is a fresh model.state_dict()), not per redraw."""
    from aelab import inside

    ref = memo("_weights_reference", bundle)  # per data set: the pixels it inks and its images' roughness
    if "mask" not in ref:
        ref["mask"] = inside.pixel_mask(bundle.x_train)
        ref["rough"] = inside.data_roughness(bundle.x_test, bundle.image_shape) if bundle.image_shape else None
    fig, captions = kept(f"weights_{key}", state if owner is None else owner, (bundle.name, title, height),
                         lambda: inside.weights_view(state, bundle.input_dim, ref["mask"], ref["rough"], title=title,
                                                     height=height))
    chart(fig, key)
    for caption in captions:
        st.caption(caption)


def live_weights(view: JobView, bundle: data.DataBundle, key: str) -> None:
    """weights_images of the model a job is training now (the latest weights it published), titled with the lab's
    phase; call it from the job's live view (live_job), which redraws it with every update."""
    if view.state:
        phase = f": {view.lab.phase}" if view.lab is not None else ""
        weights_images(view.state, bundle, key, title=f"Weights as images while training{phase}")


def forget_on_change(keys, owner: object, tag: str) -> bool:
    """Forget these session keys when `owner` (the model a page looks at) is a new object; the first owner keeps
    them (values from a link). True when the owner is new (the first one too)."""
    seen = f"_owner_{tag}"
    previous = st.session_state.get(seen)
    if previous is owner:
        return False
    st.session_state[seen] = owner
    if previous is not None:
        for key in keys:
            st.session_state.pop(key, None)
    return True


def kept(name: str, owner: object, params: tuple, build: Callable[[], Any]) -> Any:
    """`build()`, computed again only when `owner` (by identity: a weights snapshot, a history, a run) or `params`
    (by equality: what it is drawn with) change. A live view redrawn between two updates of its job, e.g. while the
    job waits for its turn, reuses its figures instead of building them again; the figures it keeps are `frozen`
    (the value itself, or those in a tuple), so they are not even converted again for sending."""
    entry = memo(f"_kept_{name}", owner)
    if "value" not in entry or entry["params"] != params:
        value = build()
        for part in value if isinstance(value, tuple) else (value,):  # e.g. weights_images' (figure, captions)
            if hasattr(part, "to_plotly_json"):
                frozen(part)  # kept until its owner changes, and never changed: chart prepares it once
        entry.update(params=params, value=value)
    return entry["value"]


def memo(key: str, owner: object) -> dict:
    """A dict in session state that lives as long as `owner` (the model it describes) stays the same object."""
    entry = st.session_state.get(key)
    if entry is None or entry[0] is not owner:
        entry = st.session_state[key] = (owner, {})
    return entry[1]


def no_model_notice(page_hint: str = "") -> None:
    st.info("No model trained in this session yet. Train one on **Build & Train** "
            f"(the default trains in about ten seconds){page_hint}.", icon="🧪")
    page_link_or_note("pages/build_train.py", "Go to Build & Train", icon="🏗️")


# -- uploads: the limits, enforced by the server itself ---------------------------------------------------
# Streamlit 1.67 checks st.file_uploader's max_upload_size only in the browser. Its upload route,
# PUT /_stcore/upload_file/<session id>/<file id> (streamlit/web/server/starlette/starlette_routes.py,
# create_upload_routes), takes any file up to server.maxUploadSize from a session's own page and keeps it in the
# runtime's MemoryUploadedFileManager until the session is shut down, which a closed tab's session may never be.
# What this relies on (tests/test_upload_limits.py fails loudly if Streamlit changes it): the runtime's
# uploaded_file_mgr is a MemoryUploadedFileManager (file_storage: {session id: {file id: UploadedFileRec}}, _lock,
# _total_bytes, add_file, remove_file, remove_session_files); the route calls add_file inside the request, so an
# HTTPException raised there becomes the HTTP response; session-scoped st.cache_resource entries are released
# (on_release) when a session disconnects or shuts down.
class _GuardedUploads(MemoryUploadedFileManager):
    """Streamlit's in-memory store of uploaded files, refusing files over aelab's limits (see guard_uploads)."""

    def add_file(self, session_id, file) -> None:
        from starlette.exceptions import HTTPException
        from streamlit import runtime

        from aelab import config

        if runtime.exists():  # files of sessions that ended without releasing them (runs on the event loop)
            rt = runtime.get_instance()
            for sid in [s for s in list(self.file_storage) if s != session_id and not rt.is_active_session(s)]:
                self.remove_session_files(sid)
        with self._lock:
            mine = self.file_storage.get(session_id, {})
            replaced = len(mine[file.file_id].data) if file.file_id in mine else 0
            held = sum(len(f.data) for f in mine.values()) - replaced
            total = self._total_bytes - replaced
        reason = limits.upload_refusal(len(file.data), held, total, config.get("upload_total_mb") * limits.MB)
        if reason:
            raise HTTPException(status_code=413, detail=reason)
        super().add_file(session_id, file)


def _upload_store():
    """The uploaded-file manager this script run reads its files from (the runtime's, on a server), or None."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return getattr(ctx, "uploaded_file_mgr", None)


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def _release_uploads(owner: tuple) -> None:
    store, session_id = owner
    store.remove_session_files(session_id)


@st.cache_resource(scope="session", on_release=_release_uploads, show_spinner=False)
def _session_uploads(session_id: str) -> tuple:
    """(store, session id), kept while the session lives; released when it ends, and with it the session's files."""
    return _upload_store(), session_id


def guard_uploads() -> None:
    """Make the server enforce aelab's upload limits (call on every run, from app.py; cheap after the first).

    Each file at most limits.MAX_FILE_BYTES, each session at most limits.SESSION_UPLOAD_BYTES, all sessions
    together at most AELAB_UPLOAD_TOTAL_MB (refused with HTTP 413 and the reason); a session's files are released
    when it ends (here: on_release) and when an uploader's file is replaced (file_uploader).
    """
    store = _upload_store()
    if store is None or not _session_id():
        return
    if type(store) is MemoryUploadedFileManager:
        store.__class__ = _GuardedUploads  # same fields, one method more: the route's reference stays valid
    elif not isinstance(store, _GuardedUploads):  # another Streamlit: keep serving pages, say it in the log
        import logging

        logging.getLogger("aelab").warning("Upload limits NOT enforced by the server: Streamlit's uploaded-file "
                                           "manager is a %s (see aelab.ui.guard_uploads).", type(store).__name__)
        return
    _session_uploads(_session_id())


# -- reruns: a live view's poll never loses the page run it meets ---------------------------------------------
# Streamlit 1.67's AppSession.request_rerun hands a rerun to its current ScriptRunner and, when that runner refuses
# it because it has stopped (its run just over, state STOP), starts a new runner at once (_create_scriptrunner).
# The stopped runner's last events (the end of the page run: its last elements and its "finished") are still queued
# on the event loop, and every event of a runner that is no longer the current one is dropped
# (_handle_scriptrunner_event_on_event_loop). A live view's poll (a fragment rerun, every scheduler.poll_every s)
# landing in that gap left a page run unfinished: the page never got its last messages nor heard it end
# (benchmarks/rerun_race.py: 6 lost of 241 raced edits; 1 of 4,320 edits in a fairness series). Streamlit's own guard
# covers only fragments a full run removed. _HeldReruns holds such a rerun until the stopped runner's SHUTDOWN, its
# last event (a runner's events reach the loop in the order it sent them), and starts the new runner then.
# The held reruns go to the next runner in the order they came, before any newer one: a runner's request queue
# merges reruns with the later one's widget values winning, and a first version that handed a held poll over after a
# newer edit ran the edit with the poll's older values (the likely cause of two CI runs where a browser typed its
# epochs, pressed Train and never saw "Finished").
# What this relies on (tests/test_rerun_race.py fails loudly if Streamlit changes it): request_rerun calls
# _create_scriptrunner(rerun data) with the refusing runner still in _scriptrunner (the only call with one there),
# the SHUTDOWN handler sets _scriptrunner to None, and runtime.get_app_session(session id) gives the session.
@functools.cache  # one class, made on first use (its base is imported from Streamlit's runtime only then)
def _held_reruns_class():
    from streamlit.runtime.app_session import AppSession, AppSessionState
    from streamlit.runtime.scriptrunner import ScriptRunnerEvent

    class _HeldReruns(AppSession):
        """An AppSession that starts no new ScriptRunner while the stopped one still has events to deliver."""

        def _create_scriptrunner(self, initial_rerun_data) -> None:
            held = self.__dict__.setdefault("_aelab_held_reruns", [])
            held.append(initial_rerun_data)
            if self._scriptrunner is None:  # else it refused the rerun: it has stopped, its events still queued
                self._aelab_start_held()

        def _aelab_start_held(self) -> None:
            """A new runner for the held reruns, handed over in the order they were asked for: its request queue
            merges reruns as "the later one's widget values win", so a held poll handed over after a newer edit
            put the poll's older values back (an Epochs field typed as 30 ran with its old value)."""
            held = self._aelab_held_reruns
            super()._create_scriptrunner(held.pop(0))
            while held and self._scriptrunner is not None and self._scriptrunner.request_rerun(held[0]):
                held.pop(0)  # (one it refuses, having stopped again already, waits for that runner's SHUTDOWN)

        def _handle_scriptrunner_event_on_event_loop(self, sender, event, *args, **kwargs) -> None:
            super()._handle_scriptrunner_event_on_event_loop(sender, event, *args, **kwargs)
            held = self.__dict__.get("_aelab_held_reruns")
            if (event == ScriptRunnerEvent.SHUTDOWN and held and self._scriptrunner is None
                    and self._state != AppSessionState.SHUTDOWN_REQUESTED):
                self._aelab_start_held()  # the stopped runner's events are all delivered now

    return _HeldReruns


def guard_reruns() -> None:
    """Make this session hold a rerun that meets a just-stopped script runner until that runner's last events are
    delivered (see the comment above; call on every run, from app.py; cheap after the first)."""
    from streamlit import runtime
    from streamlit.runtime.app_session import AppSession

    if not runtime.exists() or not _session_id():
        return
    session = runtime.get_instance().get_app_session(_session_id())
    if session is None:
        return
    held_reruns = _held_reruns_class()
    if type(session) is AppSession:
        session.__class__ = held_reruns  # same fields, two methods more (assignment is atomic for the event loop)
    elif not isinstance(session, held_reruns):
        import logging

        logging.getLogger("aelab").warning("Rerun race NOT guarded: Streamlit's session is a %s "
                                           "(see aelab.ui.guard_reruns).", type(session).__name__)


def file_uploader(label: str, kind: str, key: str, **kwargs):
    """st.file_uploader with the size limit of its kind (a key of limits.UPLOAD_MB, so the widget, the server and
    the reader agree). The file it held before is released on the server as soon as a new one replaces it."""
    upload = st.file_uploader(label, key=key, max_upload_size=limits.UPLOAD_MB[kind], **kwargs)
    seen = st.session_state.setdefault("_upload_ids", {})
    old, new = seen.get(key), getattr(upload, "file_id", None)
    store = _upload_store()
    if old and old != new and store is not None:
        store.remove_file(_session_id(), old)
    seen[key] = new
    return upload


# -- classroom: URL sharing and classroom mode --
CLASSROOM_KEY = "cfg_classroom"  # session key of the sidebar toggle


def _query(every: bool = False) -> dict[str, str | list[str]]:
    """The browser's query parameters, one (the last) value per name; with `every`, a list for a repeated name."""
    out = {}
    for k in st.query_params.keys():
        values = st.query_params.get_all(k)
        out[k] = values if every and len(values) > 1 else st.query_params.get(k)
    return out


def _dismiss(key: str) -> None:
    st.session_state[key] = []


def _history_navigation() -> bool:
    """True when the browser's Back or Forward button started this run (its URL is an older one on purpose)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


_URLS_KEPT = 16  # URLs a page remembers writing (a browser's address bar is at most a few runs behind)


def sync_query_params(schema, name: str) -> list[str]:
    """Mirror a page's settings (share.Schema) in the URL. Call it at the top of the page, before its widgets.

    Values in the URL that this session did not write itself (a shared link, a new tab, an
    st.page_link with query_params) are applied to st.session_state; bad ones fall back to their
    defaults and are listed in a warning. On every run the current values are written back.
    Returns the notes about ignored values.

    A URL this session wrote itself earlier is not a link: it is the browser's address bar behind the
    server. A change sent before the previous run's new URL reached the browser carries the URL from
    before that run, and applying it undid the change (benchmarks/rerun_race.py --then-edit, 60 s: 41 of
    297 pairs of quick edits ran with older values before this; 0 of 548 after).
    """
    from aelab import share

    written_key, notes_key = f"_share_written_{name}", f"_share_notes_{name}"
    written = st.session_state.setdefault(written_key, [])  # the last URLs this session wrote, newest last
    incoming = share.restrict(_query(every=True), schema)  # a repeated name gets a note, not a silent choice
    if incoming and (incoming not in written or _history_navigation()):  # (Back/Forward: the URL wins, as Streamlit's)
        settings, notes = share.decode(incoming, schema, present_only=True)
        st.session_state.update(share.state_updates(schema, settings))
        st.session_state[_FROM_LINK] = st.session_state.get(_FROM_LINK, set()) | set(settings)
        st.session_state[notes_key] = notes
        st.toast("Settings loaded from the link." if not notes else
                 f"Settings loaded from the link; {len(notes)} value(s) were ignored.", icon="🔗")
    current = share.encode(share.read_state(schema, st.session_state), schema)
    for field in schema.values():
        if field.param in current:
            if st.query_params.get_all(field.param) != [current[field.param]]:  # also folds a repeated name
                st.query_params[field.param] = current[field.param]
        elif field.param in st.query_params:
            del st.query_params[field.param]
    if not written or written[-1] != current:
        written[:] = [w for w in written if w != current][-(_URLS_KEPT - 1):] + [current]
    notes = st.session_state.get(notes_key) or []
    if notes:
        with st.container(border=True):
            st.warning("Some settings in the link could not be used:\n\n" + "\n".join(f"- {text.md(n)}" for n in notes),
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
    sync_query_params(settings.APP, "app")
    f = settings.APP[CLASSROOM_KEY]
    return st.sidebar.toggle(f.label, key=CLASSROOM_KEY, help=f.help)


def classroom_mode() -> bool:
    """True while classroom mode is on (pages use it to hide advanced controls and enlarge figures)."""
    return bool(st.session_state.get(CLASSROOM_KEY, False))


def figure_height(base: int) -> int:
    """A figure height in pixels: `base`, or theme.CLASSROOM_SCALE times larger in classroom mode, but no taller
    than a 1280x720 screen shows (theme.fit_height)."""
    from aelab import theme

    return theme.fit_height(base, classroom_mode())


def page_style() -> None:
    """The page's style sheet (theme.page_css): labels that wrap instead of "…", text for screen readers only, and
    in Classroom mode larger text everywhere. Call once per run from app.py, after classroom_toggle()."""
    from aelab import theme

    st.html(theme.page_css(classroom_mode()))


def page_link_or_note(page: str, label: str, icon: str | None = None, query_params: dict | None = None) -> bool:
    """st.page_link, or a plain caption when the page is not registered in st.navigation. True if linked."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page, label=label, icon=icon, query_params=query_params)
        return True
    except StreamlitAPIException:
        st.caption(f"{label} (that page is not part of this app yet).")
        return False


# -- predict, then measure (issue 12): one question box for every experiment page and lesson -------------
_PREDICTIONS = "_predictions"  # session key: question id -> the committed answer key (or questions.SKIPPED)
_MEASURED = "_measured"  # session key: question id -> the option the last revealed run supports (None: unclear)
_PREDICTION_LOG = "_prediction_log"  # session key: [(question id, answer, measured, (id, commit number))]
_STALE = "_prediction_stale"  # session key: question id -> tag of a result revealed under an earlier prediction
_COMMITS = "_prediction_commits"  # session key: question id -> how many predictions were committed to it


def _question(question_id: str, question: str | None, options: Mapping[str, str] | None):
    from aelab import questions

    found = questions.find(question_id)
    if question is not None and options is not None:
        return questions.Question(question_id, found.page if found else "", question, dict(options))
    if found is None:
        raise KeyError(f"No predict-first question '{question_id}' (aelab/questions.py or aelab/lessons.toml).")
    return found


def _commit_prediction(question_id: str, answer: str | None) -> None:
    if answer is not None:
        st.session_state.setdefault(_PREDICTIONS, {})[question_id] = answer
        commits = st.session_state.setdefault(_COMMITS, {})
        commits[question_id] = commits.get(question_id, 0) + 1


def predicted(question_id: str) -> str | None:
    """The committed answer to this question (questions.SKIPPED when the teacher skipped it), or None."""
    return st.session_state.get(_PREDICTIONS, {}).get(question_id)


def predict_first(question_id: str, question: str | None = None, options: Mapping[str, str] | None = None,
                  where=None) -> str | None:
    """The predict-first box: the question and its options until an answer is committed, then the locked answer.

    Returns the committed option key (questions.SKIPPED when skipped), or None while nothing is committed. The
    question and options come from aelab.questions (or a lesson) by id unless given. In classroom mode the teacher
    may skip it (the room answers aloud). Widget keys: predict_<id> (the choice), predict_<id>_commit, _skip."""
    from aelab import questions

    q = _question(question_id, question, options)
    box = where or st
    answer = predicted(question_id)
    keys = list(q.options)
    if answer is not None:
        if answer == questions.SKIPPED:
            box.markdown(f"**Predict first.** {q.text}")
            box.caption("Skipped in classroom mode: the room answered aloud.")
        else:
            box.radio(f"**Predict first.** {q.text}", keys, index=keys.index(answer) if answer in keys else None,
                      format_func=q.options.get, key=f"predict_{question_id}_locked", disabled=True)
            box.caption(f"Your prediction (locked): **{q.show(answer)}**")
        return answer
    box.radio(f"**Predict first.** {q.text}", keys, index=None, format_func=q.options.get, key=f"predict_{question_id}")
    # one under the other: side by side in a page's narrow column the labels were cut ("Skip: the room…")
    box.button("Commit", key=f"predict_{question_id}_commit", type="primary", width="stretch",
               disabled=st.session_state.get(f"predict_{question_id}") is None,
               on_click=lambda: _commit_prediction(question_id, st.session_state.get(f"predict_{question_id}")),
               help="Your answer is locked once committed; what the page measured is shown after that.")
    if classroom_mode():
        box.button("Skip: the room answers", key=f"predict_{question_id}_skip", width="stretch",
                   on_click=_commit_prediction, args=(question_id, questions.SKIPPED),
                   help="Classroom mode: ask the room instead, then reveal.")
    box.caption("Commit to an answer first: the results and what they show open after that.")
    return None


def _tag(result) -> object:
    """What identifies one result: its token when it has one, else the object itself."""
    return getattr(result, "token", None) or id(result)


def await_prediction(question_id: str, result, hint: str = "") -> bool:
    """Whether `result` may be revealed: True once a prediction is committed (and the result was not already shown
    under an earlier prediction); otherwise says what to do and returns False."""
    if predicted(question_id) is None:
        st.info("Results are ready. Commit your prediction above to see them." + (f" {hint}" if hint else ""),
                icon="🤔")
        return False
    if st.session_state.get(_STALE, {}).get(question_id) == _tag(result):
        st.info("These results were revealed before your new prediction: run the experiment again (or train another "
                "model) to test it.", icon="🔁")
        return False
    return True


def _predict_again(question_id: str, tag: object) -> None:
    st.session_state.get(_PREDICTIONS, {}).pop(question_id, None)
    st.session_state.setdefault(_STALE, {})[question_id] = tag


def reveal(question_id: str, measured: str | None, result, question: str | None = None,
           options: Mapping[str, str] | None = None) -> bool:
    """"You predicted X; this run shows Y" for the committed prediction (ui.predictions). The session score counts each
    committed prediction once, by the first run revealed under it. `measured` is the option the run's numbers support
    (None: they settle nothing clearly). Returns whether the prediction matched."""
    from aelab import questions

    q = _question(question_id, question, options)
    answer = predicted(question_id)
    st.session_state.setdefault(_MEASURED, {})[question_id] = measured
    log = st.session_state.setdefault(_PREDICTION_LOG, [])
    tag = _tag(result)
    commit = (question_id, st.session_state.get(_COMMITS, {}).get(question_id, 0))
    if not any(e[3] == commit for e in log):
        log.append((question_id, answer, measured, commit))
    shows = (f"this run shows **{q.show(measured)}**." if measured is not None else
             "this run does not settle it clearly: the numbers below say why.")
    matched = answer == measured and measured is not None
    if answer == questions.SKIPPED or answer is None:
        say("info", shows[0].upper() + shows[1:], icon="🔎")
    else:
        say("success" if matched else "info", f"You predicted **{q.show(answer)}**; {shows}",
            icon="✅" if matched else "🔎")
    st.button("New prediction", key=f"predict_{question_id}_again", on_click=_predict_again, args=(question_id, tag),
              help="Unlock the question to predict again; then run the experiment again to test the new answer.")
    return matched


def predictions() -> dict[str, tuple[str, str | None]]:
    """Every committed prediction of this session: question id -> (answer key, the measured key or None)."""
    measured = st.session_state.get(_MEASURED, {})
    return {q: (a, measured.get(q)) for q, a in st.session_state.get(_PREDICTIONS, {}).items()}


def prediction_score() -> tuple[int, int]:
    """(predictions that matched the measurement, predictions that a run settled), over this session's reveals."""
    from aelab import questions

    scored = [(a, m) for _, a, m, _ in st.session_state.get(_PREDICTION_LOG, [])
              if m is not None and a not in (None, questions.SKIPPED)]
    return sum(a == m for a, m in scored), len(scored)


def prediction_score_caption(where=None) -> None:
    """The session score of predictions as one caption (nothing before the first settled prediction)."""
    right, total = prediction_score()
    if total:
        (where or st).caption(f"Your predictions this session: **{right} of {total}** matched what was measured.")


def clear_predictions(prefix: str = "") -> None:
    """Forget committed predictions whose question id starts with `prefix` (all of them by default)."""
    for store in (_PREDICTIONS, _MEASURED, _STALE):
        entries = st.session_state.get(store, {})
        for q in [q for q in entries if q.startswith(prefix)]:
            entries.pop(q)


# -- words: the glossary next to the terms -----------------------------------------------------------
def terms(*keys: str, where=None, label: str = "📖 Terms") -> None:
    """A small popover with the glossary's definitions of these terms (aelab.glossary), next to where they appear."""
    from aelab import glossary

    with (where or st).popover(label, help="What the words on this part of the page mean."):
        st.markdown(glossary.markdown(keys))


# -- a VAE's health: is it using its code? -------------------------------------------------------------
def vae_health(run, bundle: data.DataBundle | None = None, where=None, key: str = "vae_health"):
    """Active units, KL per code unit and a sentence saying whether the VAE ignores its input (aelab.vae), for a
    VAE run; draws nothing for a plain autoencoder. Measured once per run on its data set's held-out images.
    Returns the vae.Health (None for a plain AE or when the data is missing)."""
    if run is None or run.spec.kind != "vae":
        return None
    from aelab import glossary, vae

    if bundle is None:
        bundle, problem = session_bundle(run)
        if bundle is None:
            (where or st).caption(problem)
            return None
    cache = memo(f"_{key}", run)
    if "health" not in cache:
        cache["health"] = vae.health(run.model, bundle.x_train, bundle.x_test)
    h = cache["health"]
    box = where or st
    metrics([("active code units", f"{h.active} of {h.code_size}", glossary.tip("active_units")),
             ("held-out error", f"{h.error:.4f}", "Mean squared error per pixel, decoding each image's mean code."),
             ("average-image error", f"{h.baseline:.4f}", "The error of always answering the average training image.")],
            box)
    box.markdown("\n".join(f"- {line}" for line in vae.health_text(h, run.cfg.beta)))
    terms("active_units", "kl", "beta", "posterior_collapse", where=box)
    return h


# -- start-up ----------------------------------------------------------------------------------
_warming = threading.Event()  # the warm-up thread was started (once per process)
_wake = threading.Event()  # start it now: a page that trains is open
_warm = threading.Event()  # torch, the optimizer and plotly are warm: training can start at once
_last_page_run = [time.monotonic()]  # when a page run last started or ended (the warm-up waits for a quiet spell)


def page_run_activity() -> None:
    """Note that a page run starts or ends (app.py calls this before and after the page): the background warm-up
    starts only after WARM_UP_DELAY_S without one, so it never slows the first drawing of a page."""
    _last_page_run[0] = time.monotonic()


def pin_threads_if_torch() -> None:
    """jobs.pin_threads() for this script thread once torch is loaded (the home page never loads it)."""
    if "torch" in sys.modules:
        from aelab import jobs

        jobs.pin_threads()


WARM_UP_DELAY_S = 3.0  # seconds between the first page run and the background imports


def warm_up_in_background(delay: float = WARM_UP_DELAY_S) -> None:
    """Once per process, after the first page is drawn: import pandas/pyarrow, torch and torch's optimizer machinery,
    make plotly's first figures, then import scikit-learn, in a daemon thread while the learner reads the home
    page (jobs.warm_up, figures.warm_up). `delay` lets the browser draw that page first: with 2 s the imports still
    overlapped slow starts (start-up median 3.00 s in two runs), with 3 s 2.63 and 2.73 s. The delay counts
    from the last page run (page_run_activity): a page opened meanwhile is drawn first. A later call with delay 0
    (a page that trains is open) starts it at once."""
    if delay <= 0:
        _wake.set()
    if _warming.is_set():
        return
    _warming.set()

    def _run() -> None:
        while not _wake.is_set():
            left = _last_page_run[0] + delay - time.monotonic()
            if left <= 0:
                break
            _wake.wait(left)
        try:
            # pandas first: while it is half imported, a plotly figure built in another thread sees it in
            # sys.modules and fails ("partially initialized module 'pandas'"), so that moment comes early and short
            import pandas  # noqa: F401 - st.dataframe's first table needs pandas and pyarrow: 0.3 s of imports
            import pyarrow  # noqa: F401

            from aelab import figures, jobs

            jobs.warm_up(wait=True)  # torch, then a throwaway optimizer: its first one imports torch._dynamo
            figures.warm_up()
        finally:
            _warm.set()
        import sklearn.neighbors  # noqa: F401 - the probes and t-SNE of the experiment pages: about 1 s

        # The start-up objects (torch, plotly, Streamlit, scikit-learn: ~465,000 tracked) live as long as the
        # process; frozen, the collector no longer walks them. Each full collection held every thread (training
        # included) ~350 ms in a class of 30 (gc callbacks: 5 in the 3 min of a load test); afterwards it walks only
        # the objects made since. What is frozen is never collected: all of it was reachable then, nearly all for good
        # (modules, classes, functions).
        gc.collect()
        gc.freeze()

    threading.Thread(target=_run, name="aelab-import", daemon=True).start()


def wait_until_warm(timeout: float = 30.0) -> bool:
    """Start the warm-up now (or cut its delay short) and wait until training can start at once: on a fresh server
    a page that trains calls this once its buttons are drawn, so the learner's first press does not wait for the
    imports. True when warm (at once on a warm server)."""
    if _warm.is_set():
        return True
    warm_up_in_background(0.0)
    return _warm.wait(timeout)


# -- the drawing canvas (issue 14; the bitmap format and preprocessing are in aelab/drawing.py) -------------
_CANVAS_HTML = """<div class="aelab-draw"><canvas aria-label="Drawing canvas"></canvas>
<div class="row"><button type="button" class="clear">Clear</button><span class="hint">Draw with the mouse or a
finger; the model looks when you lift it.</span></div></div>"""
_CANVAS_CSS = """.aelab-draw canvas { border: 1px solid #bbb; border-radius: 6px; background: #fff; touch-action: none;
  cursor: crosshair; display: block; }
.aelab-draw .row { display: flex; gap: 0.6rem; align-items: center; margin-top: 0.4rem; font-size: 0.85rem; }
.aelab-draw button { padding: 0.2rem 0.8rem; border-radius: 6px; border: 1px solid #bbb; background: #f6f6f6;
  cursor: pointer; }
.aelab-draw .hint { color: #666; }"""
# Only numbers and our own base64 bitmap reach this code, through `data` (JSON), never by string interpolation.
_CANVAS_JS = """export default function (component) {
  const { parentElement, setStateValue, data } = component;
  const root = parentElement.querySelector(".aelab-draw");
  root.__send = setStateValue;  // the newest sender, should this function run again for the same element
  if (root.__ready) return;
  root.__ready = true;
  const canvas = root.querySelector("canvas");
  const px = Number(data.px), grid = Number(data.grid), brush = Number(data.brush);
  canvas.width = px; canvas.height = px;
  canvas.style.width = px + "px"; canvas.style.height = px + "px";
  const ctx = canvas.getContext("2d");
  ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.lineWidth = brush;
  ctx.strokeStyle = "#000"; ctx.fillStyle = "#000";
  let drawing = false, last = null, strokes = 0;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * px / r.width, (e.clientY - r.top) * px / r.height]; };
  const small = () => { const off = document.createElement("canvas"); off.width = grid; off.height = grid;
    const o = off.getContext("2d"); o.imageSmoothingEnabled = true; o.imageSmoothingQuality = "high"; return [off, o]; };
  if (typeof data.restore === "string" && data.restore.length) {  // the last drawing, after the page was redrawn
    const [off, o] = small(); const img = o.createImageData(grid, grid); const bytes = atob(data.restore);
    for (let i = 0; i < grid * grid; i++) { img.data[4 * i + 3] = bytes.charCodeAt(i); }
    o.putImageData(img, 0, 0); ctx.imageSmoothingEnabled = true; ctx.drawImage(off, 0, 0, px, px);
  }
  const send = () => {
    const [off, o] = small(); o.drawImage(canvas, 0, 0, grid, grid);
    const rgba = o.getImageData(0, 0, grid, grid).data; let bin = "";
    for (let i = 0; i < grid * grid; i++) { bin += String.fromCharCode(rgba[4 * i + 3]); }  // alpha = ink
    root.__send("drawing", { size: grid, ink: btoa(bin), strokes: strokes });
  };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; canvas.setPointerCapture(e.pointerId);
    last = at(e); ctx.beginPath(); ctx.arc(last[0], last[1], brush / 2, 0, 2 * Math.PI); ctx.fill(); });
  canvas.addEventListener("pointermove", (e) => { if (!drawing) return; const p = at(e);
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke(); last = p; });
  const end = () => { if (!drawing) return; drawing = false; strokes += 1; send(); };
  canvas.addEventListener("pointerup", end); canvas.addEventListener("pointercancel", end);
  root.querySelector(".clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, px, px); strokes = 0; root.__send("drawing", { size: grid, ink: "", strokes: 0 }); });
}"""


@st.cache_resource(show_spinner=False)
def _canvas_component():
    """Registered once per server (registering again on every run would replace the definition each time)."""
    return st.components.v2.component("aelab_drawing_canvas", html=_CANVAS_HTML, css=_CANVAS_CSS, js=_CANVAS_JS)


def drawing_canvas(key: str, restore: dict | None = None) -> dict | None:
    """A square drawing canvas; returns its last bitmap ({"size", "ink" (base64), "strokes"}) or None.

    It sends the drawing when a stroke ends (pointer up). `restore`, a bitmap it sent before, is painted back
    when the canvas is drawn anew (after a visit to another page).
    """
    from aelab import drawing

    data = {"px": drawing.CANVAS_PX, "grid": drawing.GRID, "brush": drawing.BRUSH_PX,
            "restore": restore.get("ink", "") if isinstance(restore, dict) else ""}
    result = _canvas_component()(key=key, data=data, on_drawing_change=lambda: None)
    value = result.get("drawing") if result is not None else None
    return value if isinstance(value, dict) else None
# -- the class board ---------------------------------------------------------------------------
BOARD_MEMBER = "board_member"  # session key: the board.Membership of the class this session joined
BOARD_TEACHER = "board_teacher"  # session key: the board.Teacher of the class this session teaches
_BOARD_SESSION = "_board_session"  # session key: a random id for the per-session rate limits
_BOARD_SHARED = "_board_shared_"  # session key prefix: per share button, (result, client id, share id, message)
_BOARD_LOOKED = "_board_looked_up"  # session key: this session already looked for its browser's membership
BOARD_RETRY_S = 30.0  # after the database failed to answer a lookup, pages skip it this long (no page waits on it)
_board_down_until = [0.0]  # process-wide: until when lookups skip the database (time.monotonic())


def board_client():
    """Who this session is for the board's rate limits (ratelimit.Client): a random per-session id and the
    client's address (X-Forwarded-For only from a proxy in AELAB_TRUSTED_PROXIES)."""
    import secrets

    from aelab import ratelimit

    session = st.session_state.setdefault(_BOARD_SESSION, secrets.token_hex(16))
    forwarded = st.context.headers.get("X-Forwarded-For")
    return ratelimit.Client(session, ratelimit.address(st.context.ip_address, forwarded))


def class_board():
    """The class board (board.Board on AELAB_DATABASE_URL), or None after showing why it cannot be reached."""
    from aelab import board

    try:
        return board.default()
    except Exception as exc:  # noqa: BLE001 - a database that is down or misconfigured must not break a page
        st.error(f"The class board's database cannot be reached ({type(exc).__name__}). Check AELAB_DATABASE_URL "
                 "and that the database server runs; nothing is lost, try again in a moment.", icon="🗄️")
        return None


def board_member(look_up: bool = False):
    """The board.Membership of the class this session joined, or None. A session without one asks the database once
    (every time with `look_up`, as the Class board page does) whether this browser joined a class before: so a reload,
    another tab or a session on another replica needs no second join (board.Board.resume, by browser_token())."""
    member = st.session_state.get(BOARD_MEMBER)
    if member is not None or (st.session_state.get(_BOARD_LOOKED) and not look_up):
        return member
    if time.monotonic() < _board_down_until[0] and not look_up:
        return None
    st.session_state[_BOARD_LOOKED] = True
    from aelab import board

    try:
        member = board.default().resume(browser_token())
    except Exception:  # noqa: BLE001 - the database is down: the student joins, or it is found on the next look
        _board_down_until[0] = time.monotonic() + BOARD_RETRY_S
        return None
    if member is not None:
        st.session_state[BOARD_MEMBER] = member
    return member


def leave_class() -> bool:
    """This browser leaves its class (board.Board.leave): no tab, reload or replica finds the membership again.
    Returns whether it left; otherwise says why (the database did not answer: the membership stays)."""
    from aelab.board import BoardError

    member, b = board_member(), class_board()
    if member is not None and b is not None:
        try:
            b.leave(member)
        except BoardError:  # the class ended, or this membership was left in another tab: nothing to cut
            pass
        except Exception as exc:  # noqa: BLE001 - the database went away
            st.error(f"The class board's database cannot be reached ({type(exc).__name__}); nothing changed, try "
                     "again in a moment.", icon="🗄️")
            return False
    st.session_state.pop(BOARD_MEMBER, None)
    return True


def _share_now(key: str, question: str | None, answer: str | None, measured: str | None) -> None:
    """The Share button's callback: summarize the result, share it once (its client id makes retries harmless)."""
    from aelab import board_share
    from aelab.board import BoardError, NotAllowed, RateLimited

    result, client_id, _, _ = st.session_state[_BOARD_SHARED + key]
    member, b = board_member(), class_board()
    if member is None or b is None:
        return
    try:
        allow = b.member_class(member).allow_weights
        said = board_share.asked(question, answer, measured)
        draft = board_share.summarize(result, get_bundle, said, weights=allow)
        share_id, new = b.share(board_client(), member, draft, client_id)
        note = ("Shared with your class" + (" (with its weights)" if allow and draft.checkpoint else "") + "."
                if new else "Already shared with your class.")
    except NotAllowed as exc:
        st.session_state.pop(BOARD_MEMBER, None)  # the class is gone or the membership is not valid: join again
        share_id, note = None, f"❌ {exc}"
    except (BoardError, RateLimited, ValueError) as exc:
        share_id, note = None, f"❌ {exc}"
    except Exception as exc:  # noqa: BLE001 - the database went away: the run stays here, the learner retries
        share_id, note = None, f"❌ The class board's database cannot be reached ({type(exc).__name__}); try again."
    st.session_state[_BOARD_SHARED + key] = (result, client_id, share_id, note)


def share_to_class(result, key: str = "share", question: str | None = None) -> None:
    """A "Share to class" button under a page's finished result: a runs.Run (Build & Train), a lab's result object
    (sweep.SweepResult, denoise.DenoiseResult, anomaly.AnomalyResult, linear.PcaLabResult, signals.LabRun,
    kinds.CompareResult), a board_share.Twins / Layers, or a board_fields.Draft (board_share.summarize). `question`:
    the page's predict-first question; the share carries the committed answer and what the page revealed as measured
    (predictions()). One call per page, after its reveal; `key` must be unique on the page. Shares numbers, settings
    and a small preview, never code; weights only when the teacher allows them. Before the session has joined a
    class, it says where to join instead. None draws nothing."""
    if result is None:
        return
    if board_member() is None:
        st.caption("Share this result with your class: join it on the **Class board** page first.")
        return
    import uuid

    from aelab import board_share

    state = st.session_state.get(_BOARD_SHARED + key)
    if state is None or not board_share.same(state[0], result):  # a new result gets a new id; the same keeps its id
        state = st.session_state[_BOARD_SHARED + key] = (result, str(uuid.uuid4()), None, "")
    shared = state[2] is not None
    answer, measured = predictions().get(question, (None, None)) if question else (None, None)
    st.button("✓ Shared to class" if shared else "📤 Share to class", key=f"{key}_share_to_class", disabled=shared,
              on_click=_share_now, args=(key, question, answer, measured),
              help="Send this result's numbers, settings and a small preview picture to your class's board.")
    if state[3]:
        (st.error if state[3].startswith("❌") else st.caption)(state[3])
