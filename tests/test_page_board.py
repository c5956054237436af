"""AppTest of the Class board page and the Share-to-class button on Build & Train: a teacher session and student
sessions on one temp database; names shown only as text; teacher-only controls; a membership that survives a reload
(a new session of the same browser); a database that cannot be reached.

Run: python -m pytest -q tests/test_page_board.py
"""
from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from aelab import db, ui
from conftest import ROOT, set_field, wait_for_jobs
from lab_results import subject  # noqa: F401 - fixture

HOSTILE = "<img src=x onerror=alert(1)>"  # 28 characters: a valid name length


@pytest.fixture(autouse=True)
def board_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'board.db'}"
    monkeypatch.setenv("AELAB_DATABASE_URL", url)
    yield url
    db.forget(url)


def open_board(role: str = "a student", token: str | None = None) -> AppTest:
    """A new session on the Class board; with `token`, of the browser holding that token (a reload, another tab,
    another replica: ui.browser_token reads it from the browser's cookie)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if token is not None:
        at.session_state[ui.TOKEN_KEY] = token
    at.switch_page("pages/board.py").run()
    if role != "a student":
        at.segmented_control(key="cfg_board_role").set_value(role).run()
    assert not at.exception
    return at


def start_class(title: str = "Group B") -> tuple[AppTest, str, str]:
    """A teacher session that started a class: (app, join code, teacher key)."""
    at = open_board("the teacher")
    form = [t for t in at.text_input if t.label == "Title (optional)"][0]
    form.input(title)
    at.button(key="FormSubmitter:board_start-Start a new class").click().run()
    assert not at.exception
    code = re.search(r"Join code: `([0-9A-Z-]+)`", " ".join(m.value for m in at.markdown)).group(1)
    key = at.code[0].value
    return at, code, key


def join(code: str, name: str) -> AppTest:
    at = open_board()
    at.text_input[0].input(code)
    at.text_input[1].input(name)
    at.button(key="FormSubmitter:board_join-Join the class").click().run()
    assert not at.exception
    return at


def all_markdown(at: AppTest) -> str:
    """Every element Streamlit renders as Markdown (where markup from a name could take effect)."""
    kinds = ("markdown", "caption", "success", "info", "warning", "error", "title", "header", "subheader")
    return " ".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_teacher_starts_a_class_and_sees_code_key_and_empty_board():
    """Starting a class shows its join code, the teacher key once (until dismissed) and an empty live board."""
    at, code, key = start_class()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}(-[0-9A-HJKMNP-TV-Z]{3}){2}", code)
    assert len(key.replace("-", "")) == 28 and "shown only this once" in " ".join(w.value for w in at.warning)
    assert at.expander[0].label == "Show the teacher key (not on the projector)"
    assert "No runs shared yet" in " ".join(i.value for i in at.info)
    assert [t.value for t in at.text] == ["Group B"]
    at.button(key="board_key_saved").click().run()
    assert not at.code and not at.exception


def test_a_class_title_with_markup_is_shown_as_text():
    """A title full of HTML and Markdown is shown literally (st.text) on the projected board, never as markup."""
    title = "<b>x</b> [y](http://evil)"
    at, _, _ = start_class(title)
    assert [t.value for t in at.text] == [title] and title not in all_markdown(at)


def test_teacher_opens_the_board_with_the_key_only():
    """Another session opens the board with the key; a wrong key gets a message and no board."""
    _, code, key = start_class()
    other = open_board("the teacher")
    field = [t for t in other.text_input if t.label == "Teacher key"][0]
    field.input("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG")
    other.button(key="FormSubmitter:board_open-Open the board").click().run()
    assert "does not open a class" in " ".join(e.value for e in other.error)
    field = [t for t in other.text_input if t.label == "Teacher key"][0]
    field.input(key.lower())
    other.button(key="FormSubmitter:board_open-Open the board").click().run()
    assert f"Join code: `{code}`" in " ".join(m.value for m in other.markdown)


def test_student_joins_shares_from_build_and_train_and_the_teacher_sees_it_as_text():
    """A student with a name full of markup joins, trains on Build & Train and shares; the teacher's board lists the
    run with the name as plain text (dataframe, st.text in the spotlight), never in Markdown; sharing twice keeps
    one row; the CSV export is only on the teacher's side; allowed weights load as the teacher's session model."""
    teacher, code, _ = start_class()
    teacher.toggle(key="board_weights").set_value(True).run()  # the teacher lets students share weights
    student = join(code.lower().replace("-", " "), HOSTILE)
    assert f"You joined class {code}." in " ".join(s.value for s in student.success)
    assert HOSTILE in [t.value for t in student.text][0] and HOSTILE not in all_markdown(student)
    assert not student.get("download_button")

    student.switch_page("pages/build_train.py").run()
    set_field(student, "cfg_epochs", "2")
    student.button(key="train_btn").click().run()
    wait_for_jobs()
    student.run()  # collects the finished run (in a browser the live view reruns the page by itself)
    student.run()
    assert not student.exception
    student.button(key="train_share_to_class").click().run()
    assert not student.exception
    assert "Shared with your class (with its weights)." in " ".join(c.value for c in student.caption)
    assert student.button(key="train_share_to_class").disabled  # shared: the same run cannot be shared again

    teacher.run()
    table = teacher.dataframe[0].value
    code = student.session_state["aelab_run"].spec.bottleneck  # the Digits default network's
    assert list(table["name"]) == [HOSTILE] and list(table["code size"]) == [code] and list(table["epochs"]) == [2]
    assert HOSTILE not in all_markdown(teacher)
    assert teacher.get("download_button")  # the teacher's CSV export
    share_id = int(table["#"][0])
    teacher.selectbox(key="board_spot").set_value(share_id).run()
    teacher.button(key="board_spot_btn").click().run()
    assert not teacher.exception
    assert HOSTILE in [t.value for t in teacher.text] and HOSTILE not in all_markdown(teacher)
    assert any(m.label == "test error" for m in teacher.metric)
    teacher.button(key="board_model_btn").click().run()  # the student's weights, through the safe import
    shared_run = student.session_state["aelab_run"]
    loaded = teacher.session_state["aelab_run"]
    assert loaded.spec == shared_run.spec and loaded is not shared_run
    pairs = zip(loaded.model.state_dict().values(), shared_run.model.state_dict().values())
    assert all((a == b).all() for a, b in pairs)


def test_the_board_shows_every_pages_runs_and_the_class_answers_per_question(board_db):
    """Runs from several pages: the table names each page and what its errors measure, the sweep says which models it
    leaves out, every answered question gets its chart and sentences, and the unanswered ones are listed; a board
    with only other-task runs says the sweep waits for a reconstruction model."""
    import uuid

    from aelab.board import Board, Client, Draft
    from aelab.board_fields import Point

    teacher, code, _ = start_class()
    b = Board(db.engine(board_db))

    def share(name: str, **kw) -> None:
        base = dict(dataset="digits", summary="64-8-64", spec={}, settings={"n_train": None, "epochs": 5},
                    code_size=8, params=1096, epochs=5, train_error=0.01, test_error=0.02, seconds=1.0)
        b.share(Client(name, "10.4.0.1"), b.join(Client(name, "10.4.0.1"), code, name), Draft(**{**base, **kw}),
                str(uuid.uuid4()))

    share("Ann", kind="anomaly", task="normal_only", question="anomaly", prediction="larger", measured="larger")
    teacher.run()
    assert "No shared model rebuilds clean inputs yet" in " ".join(i.value for i in teacher.info)
    share("Bob", kind="denoising", task="denoise", question="denoising", prediction="plain", measured="denoiser",
          points=(Point(8, 1096, 0.01, 0.03, "plain AE 64-8-64"),))
    share("Cy", kind="kinds", points=(Point(256, 33_000, 0.0001, 0.0002, "wide AE 64-256-64"),))
    teacher.run()
    assert not teacher.exception
    table = teacher.dataframe[0].value
    assert list(table["page"]) == ["Kinds side by side", "Denoising", "Anomaly"]
    assert list(table["errors on"])[1:] == ["noisy inputs against the clean images",
                                            "normal data only (trained without the anomalies)"]
    captions = " ".join(c.value for c in teacher.caption)
    assert "Left out of the sweep and the budgets: 2 models from Anomaly, Denoising" in captions
    assert "1 run shared. Predicted: \"Clearly larger" in captions and "Predicted: \"The plain AE's" in captions
    assert "No shared run answers the question of Bigger bottleneck, PCA, Encoder | Decoder, Latent space, Not only " \
           "images yet" in captions
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in teacher.get("plotly_chart")]
    assert sum(t.startswith(("Trained on the normal classes only", "Both models get the same")) for t in titles) == 2


def test_a_student_who_has_not_joined_is_told_where_to_join():
    """Build & Train after training, without a class: a caption points to the Class board, no Share button."""
    at = AppTest.from_file(str(ROOT / "pages" / "build_train.py"), default_timeout=60)
    at.run()
    set_field(at, "cfg_epochs", "1")
    at.button(key="train_btn").click().run()
    wait_for_jobs()
    at.run()
    at.run()
    assert "join it on the **Class board** page first" in " ".join(c.value for c in at.caption)
    assert "train_share_to_class" not in [b.key for b in at.button]


def test_a_reload_keeps_the_membership_until_the_student_leaves(subject):  # noqa: F811
    """A new session of the same browser (a reload, or a replica that took over) is still in the class: Build & Train
    shares into it without a second join, the teacher sees the run under the name the student joined with, and the
    board says so. After "Leave this class", a reload asks to join again; another browser was never in it."""
    teacher, code, _ = start_class()
    first = join(code, "Ann")
    token = first.session_state[ui.TOKEN_KEY]
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.session_state[ui.TOKEN_KEY] = token
    again.session_state["aelab_run"] = subject
    again.switch_page("pages/build_train.py").run()
    again.button(key="train_share_to_class").click().run()
    assert "Shared with your class." in " ".join(c.value for c in again.caption)
    teacher.run()
    assert list(teacher.dataframe[0].value["name"]) == ["Ann"]
    again.switch_page("pages/board.py").run()
    assert f"You joined class {code}." in " ".join(s.value for s in again.success)
    assert "Your name on the board: Ann" in [t.value for t in again.text]
    assert open_board().button(key="FormSubmitter:board_join-Join the class")  # another browser: not a member
    again.button(key="board_leave").click().run()
    assert again.button(key="FormSubmitter:board_join-Join the class") and "board_member" not in again.session_state
    after = open_board(token=token)
    assert after.button(key="FormSubmitter:board_join-Join the class") and not after.success


def test_bad_join_input_gets_messages():
    """A wrong code and an e-mail as a name each get a message; no membership is made."""
    _, code, _ = start_class()
    at = join("ZZZ-ZZZ-ZZZ", "Ann")
    assert "No open class has this code" in " ".join(e.value for e in at.error)
    at = join(code, "ann@example.org")
    assert "not an e-mail address" in " ".join(e.value for e in at.error)
    assert "board_member" not in at.session_state


def test_a_database_that_cannot_be_reached_gives_a_message(monkeypatch):
    """AELAB_DATABASE_URL pointing at a server that is not there: the page explains, nothing crashes."""
    monkeypatch.setenv("AELAB_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    at = open_board()
    assert "cannot be reached" in " ".join(e.value for e in at.error)


def test_the_teacher_board_survives_the_database_going_away(monkeypatch):
    """The teacher's board on PostgreSQL; the server stops: the page says so (no exception) and keeps its state."""
    from deploy_util import postgres_bin, postgres_server

    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    with postgres_server() as pg:
        monkeypatch.setenv("AELAB_DATABASE_URL", pg.url)
        at, code, _ = start_class()
        assert f"Join code: `{code}`" in " ".join(m.value for m in at.markdown)
    at.run()  # the server is gone now
    assert not at.exception
    assert "does not answer right now" in " ".join(w.value for w in at.warning)
    assert at.session_state["board_teacher"] is not None  # the teacher stays signed in for when it comes back
    db.forget(pg.url)
