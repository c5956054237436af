"""Class board: a teacher starts a class, students join with its code and share finished runs; the board the
teacher projects updates live (every run, the class's bottleneck sweep, budgets, predictions, a spotlight)."""
import time

import streamlit as st

from aelab import board_figures as bf
from aelab import codes, ui
from aelab.board import BoardError, DatabaseError, NotAllowed, RateLimited
from aelab.board_fields import CODE_INPUT_MAX, KEY_INPUT_MAX, NAME_MAX, TITLE_MAX

POLL_S = 1.0  # the teacher's board re-reads the database this often
ROLE = "cfg_board_role"  # widget key: student or teacher view
NEW_KEY = "_board_new_key"  # session key: a just-started class's teacher key, shown until dismissed
MESSAGE = "_board_message"  # session key: why a teacher control was refused
REFUSED = (BoardError, RateLimited)
DOWN = "The class board's database does not answer right now; nothing is lost. Trying again…"


def refused(exc: Exception) -> None:
    st.error(DOWN if isinstance(exc, DatabaseError) else str(exc), icon="🚫")


def read_or_forget(key: str, read):
    """read() the board for this session's membership or teacher handle (session key `key`); if the board no longer
    accepts it (class expired, key changed), forget it and say why. None then."""
    try:
        return read()
    except NotAllowed as exc:
        st.session_state.pop(key, None)
        refused(exc)
    except DatabaseError:  # the live board keeps polling: it recovers by itself when the database is back
        st.warning(DOWN, icon="🗄️")
    return None


# -- students --------------------------------------------------------------------------------------
def join_form(b) -> None:
    with st.form("board_join"):
        code = st.text_input("Join code", max_chars=CODE_INPUT_MAX, placeholder="7KQ-M2X-D9R", help="Your teacher shows it.")
        name = st.text_input("Your name on the board", max_chars=NAME_MAX, placeholder="a first name or a nickname",
                             help="The class sees it next to your runs. No e-mail, no phone or student numbers.")
        if st.form_submit_button("Join the class", type="primary"):
            try:
                st.session_state[ui.BOARD_MEMBER] = b.join(ui.board_client(), code, name, ui.browser_token())
                st.rerun()
            except (*REFUSED, DatabaseError) as exc:
                refused(exc)


def student_view(b) -> None:
    member = ui.board_member(look_up=True)  # joined before in this browser (a reload, another replica): no new join
    if member is None:
        st.markdown("Join your teacher's class to share your runs on the class board.")
        join_form(b)
        return
    got = read_or_forget(ui.BOARD_MEMBER, lambda: (b.member_class(member), b.my_shares(member)))
    if got is None:
        return
    info, mine = got
    st.success(f"You joined class {info.join_code}.", icon="✅")
    st.text(f"Your name on the board: {member.name}")
    if info.closed:
        st.info("The teacher has closed this class: no more runs can be shared.", icon="🔒")
    st.markdown(f"Train a model on **Build & Train** or run an experiment page, then press **📤 Share to class** "
                f"under its results. You shared {len(mine)} run{'s' if len(mine) != 1 else ''} so far. This browser "
                "stays in the class after a reload.")
    ui.page_link_or_note("pages/build_train.py", "Go to Build & Train", icon="🏗️")
    if mine:
        st.dataframe(bf.runs_table(mine), hide_index=True, width="stretch")
    if st.button("Leave this class", key="board_leave") and ui.leave_class():
        st.rerun()


# -- the teacher -----------------------------------------------------------------------------------
def teacher_entry(b) -> None:
    c1, c2 = st.columns(2, gap="large")
    with c1, st.form("board_start"):
        st.subheader("Start a class")
        title = st.text_input("Title (optional)", max_chars=TITLE_MAX, placeholder="e.g. Autoencoders, group B")
        if st.form_submit_button("Start a new class", type="primary"):
            try:
                new = b.start_class(ui.board_client(), title)
                st.session_state[ui.BOARD_TEACHER] = b.open_class(ui.board_client(), new.teacher_key)
                st.session_state[NEW_KEY] = new.teacher_key
                st.rerun()
            except (*REFUSED, DatabaseError) as exc:
                refused(exc)
    with c2, st.form("board_open"):
        st.subheader("Open my class")
        key = st.text_input("Teacher key", type="password", max_chars=KEY_INPUT_MAX, help="Shown once when you started it.")
        if st.form_submit_button("Open the board"):
            try:
                st.session_state[ui.BOARD_TEACHER] = b.open_class(ui.board_client(), key)
                st.rerun()
            except (*REFUSED, DatabaseError) as exc:
                refused(exc)


def new_key_notice() -> None:
    """The teacher key, once: folded away, because this page is often on the projector."""
    key = st.session_state.get(NEW_KEY)
    if not key:
        return
    with st.container(border=True):
        st.warning("Your teacher key is shown only this once. Open it where the class cannot see it and keep it: it "
                   "opens this board from another browser and is the only way to spotlight, close, clear or export "
                   "the class. It is stored nowhere in readable form.", icon="🔑")
        with st.expander("Show the teacher key (not on the projector)"):
            st.code(key, language=None)
        if st.button("I saved the key", key="board_key_saved"):
            st.session_state.pop(NEW_KEY, None)
            st.rerun()


def spotlight(b, teacher, runs, info) -> None:
    run = next((r for r in runs if r.id == info.spotlight_id), None)
    if run is None:
        return
    with st.container(border=True):
        st.subheader("🔦 Spotlight")
        st.text(run.name)
        st.text(bf.spotlight_line(run))
        facts = bf.spotlight_facts(run)
        for col, (name, value) in zip(st.columns(len(facts)), facts):
            col.metric(name, value)
        if run.has_preview:
            try:
                blob = b.preview(teacher, run.id)
            except DatabaseError:
                blob = None
            if blob:
                st.image(blob, caption=bf.preview_caption(run.draft.kind), width=560)


def note(text: str) -> None:
    if text:
        st.caption(text)


def sweep_section(runs) -> None:
    st.subheader("The class's bottleneck sweep")
    choices = bf.datasets(runs)
    if not choices:
        st.info("No shared model rebuilds clean inputs yet: the sweep and the budgets start with the first one.",
                icon="⏳")
        note(bf.left_out(runs))
        return
    dataset = choices[0]
    if len(choices) > 1:
        dataset = st.selectbox("Data set", choices, format_func=bf.dataset_name, key="board_dataset")
    pts = bf.points(runs, dataset)
    ui.chart(bf.sweep_figure(pts, height=ui.figure_height(420)), width="stretch", key="board_sweep")
    st.markdown("\n".join(f"- {line}" for line in bf.sweep_verdict(runs, dataset)))
    st.subheader("Best test error per parameter budget")
    c1, c2 = st.columns([1.2, 1])
    ui.chart(bf.budget_figure(pts, height=ui.figure_height(380)), width="stretch", key="board_budget", where=c1)
    c2.dataframe(bf.budget_table(pts), hide_index=True, width="stretch")
    c2.caption(bf.budget_verdict(pts))
    note(bf.left_out(runs, dataset))


def answers_section(runs) -> None:
    st.subheader("Predicted vs measured")
    found = bf.answers(runs)
    for a in (a for a in found if a.shared):
        ui.chart(bf.answers_figure(a, height=ui.figure_height(320)), width="stretch",
                 key=f"board_q_{a.question}")
        st.caption(bf.answers_verdict(a))
    note(bf.unanswered_text(found))


def act(action, *args) -> None:
    """A teacher control's callback (it runs before the board redraws, so the board shows its effect at once)."""
    try:
        action(st.session_state.get(ui.BOARD_TEACHER), *args, ui.board_client())
    except (*REFUSED, DatabaseError) as exc:
        st.session_state[MESSAGE] = DOWN if isinstance(exc, DatabaseError) else str(exc)


def controls(b, teacher, runs, info) -> None:
    with st.expander("Teacher controls", expanded=False):
        message = st.session_state.pop(MESSAGE, "")
        if message.startswith("✅"):
            st.success(message)
        elif message:
            refused(Exception(message))
        options = [None] + [r.id for r in reversed(runs)]
        names = {r.id: f"#{r.id} · {r.name} · b={r.draft.code_size}" for r in runs}
        chosen = st.selectbox("Spotlight on the big screen", options, key="board_spot",
                              index=options.index(info.spotlight_id) if info.spotlight_id in options else 0,
                              format_func=lambda i: "nobody" if i is None else names.get(i, f"#{i}"))
        st.button("Show in the spotlight", key="board_spot_btn", type="primary", disabled=chosen == info.spotlight_id,
                  on_click=act, args=(b.spotlight, chosen))
        st.session_state.setdefault("board_weights", info.allow_weights)
        st.toggle("Students may share their model's weights", key="board_weights",
                  on_change=lambda: act(b.allow_weights, st.session_state["board_weights"]),
                  help="Off by default. Shared weights are checked by the same safe import as Save & load.")
        with_weights = [r.id for r in reversed(runs) if r.has_checkpoint]
        if with_weights:
            pick = st.selectbox("A student's model with its weights", with_weights, key="board_model",
                                format_func=lambda i: names.get(i, f"#{i}"))
            st.button("Load it as my session model", key="board_model_btn", on_click=load_model, args=(b, pick),
                      help="Then every page (Latent space, Encoder | Decoder, ...) works on the student's model.")
        client = ui.board_client()
        st.download_button("⬇️ Export the board (CSV)", data=lambda: b.export_csv(teacher, client),
                           file_name=f"class_{info.join_code}.csv", mime="text/csv", key="board_csv")
        c1, c2 = st.columns(2)
        if info.closed:
            c1.button("Reopen the class", key="board_reopen", on_click=act, args=(b.reopen,))
        else:
            c1.button("🔒 Close the class", key="board_close", help="No more joins or shares.", on_click=act,
                      args=(b.close,))
        sure = c2.checkbox(f"Yes, delete all {len(runs)} shared runs", key="board_clear_sure")
        c2.button("🗑️ Clear the board", key="board_clear", disabled=not sure or not runs, on_click=clear,
                  args=(b,))
        if st.button("Leave the board", key="board_teacher_leave"):
            st.session_state.pop(ui.BOARD_TEACHER, None)
            st.rerun()


def load_model(b, share_id: int) -> None:
    """Make a student's shared weights this session's model, through the safe checkpoint import."""
    from aelab import checkpoint

    try:
        blob = b.checkpoint(st.session_state.get(ui.BOARD_TEACHER), share_id, ui.board_client())
        ui.set_run(checkpoint.from_bytes(blob))
        st.session_state[MESSAGE] = f"✅ Run #{share_id} is now the session model on every page."
    except (*REFUSED, DatabaseError, checkpoint.CheckpointError, TypeError) as exc:
        st.session_state[MESSAGE] = DOWN if isinstance(exc, DatabaseError) else str(exc)


def clear(b) -> None:
    act(b.clear)
    st.session_state["board_clear_sure"] = False


def live_board(b) -> None:
    @st.fragment(run_every=POLL_S)
    def _board() -> None:
        teacher = st.session_state.get(ui.BOARD_TEACHER)
        got = read_or_forget(ui.BOARD_TEACHER, lambda: (b.info(teacher), b.runs(teacher)))
        if got is None:
            return
        info, runs = got
        code = codes.canonical_join_code(info.join_code) or "?"
        st.markdown(f"## Join code: `{code}`")
        if info.title:
            st.text(info.title)
        c1, c2, c3 = st.columns(3)
        c1.metric("Students joined", info.members)
        c2.metric("Runs shared", len(runs))
        c3.metric("Deleted in", f"{max(0.0, (info.expires_at - time.time()) / 86400):.1f} days",
                  help="Classes are deleted a set number of days after they start (AELAB_CLASS_DAYS).")
        if info.closed:
            st.info("This class is closed: no more joins or shares.", icon="🔒")
        spotlight(b, teacher, runs, info)
        controls(b, teacher, runs, info)
        if not runs:
            st.info("No runs shared yet. Students join on this page with the code above, train on Build & Train "
                    "and press Share to class; their runs appear here within a second.", icon="⏳")
            return
        st.subheader("Every shared run")
        st.dataframe(bf.runs_table(runs), hide_index=True, width="stretch")
        sweep_section(runs)
        answers_section(runs)

    _board()


def teacher_view(b) -> None:
    if st.session_state.get(ui.BOARD_TEACHER) is None:
        teacher_entry(b)
        return
    new_key_notice()
    live_board(b)


def main() -> None:
    ui.route_through_app()
    st.title("👩‍🏫 Class board")
    st.caption("No accounts: the teacher starts a class and shows its join code; students join with the code and "
               "a name, and share finished runs (numbers, settings and a small picture, never code).")
    b = ui.class_board()
    if b is None:
        return
    st.session_state.setdefault(ROLE, "a student")
    role = st.segmented_control("I am", ["a student", "the teacher"], key=ROLE)
    if role == "the teacher":
        teacher_view(b)
    else:
        student_view(b)


main()
