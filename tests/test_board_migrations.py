"""The class board's schema migrations (aelab/migrations, Alembic): from an empty database and from the previous
revisions (0001, 0002) with data in them, on SQLite and PostgreSQL; the Core tables agree with `upgrade head`; two
processes starting at once on one empty database migrate it once, without an error.

Run: python -m pytest -q tests/test_board_migrations.py
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aelab import board_tables, db
from aelab.board import Board, Client
from conftest import ROOT
from test_board_store import database_url, draft  # noqa: F401 - the same per-database fixture


def head() -> str:
    return ScriptDirectory.from_config(db.alembic_config()).get_current_head()


def schema_diff(eng) -> list:
    with eng.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": db.VERSION_TABLE})
        return compare_metadata(ctx, board_tables.metadata)


def test_the_revisions_are_one_line_to_head():
    """Three revisions in a line: 0001 (the first schema), 0002 (the spotlight column) and 0003 (a browser finds its
    membership again; what a share's errors measure)."""
    script = ScriptDirectory.from_config(db.alembic_config())
    assert head() == "0003" and script.get_revision("0003").down_revision == "0002"
    assert script.get_revision("0002").down_revision == "0001"


def old_class_and_member(conn, secret_hash: str) -> tuple[int, int]:
    """A class and one member written with the columns every revision has (ids from the database)."""
    class_id = conn.execute(sa.text(
        "INSERT INTO board_classes (join_code, code_hash, key_hash, title, created_at, expires_at, allow_weights) "
        "VALUES ('AAA-BBB-CCC', :ch, :kh, 'old', 0, 1e12, :f) RETURNING id"),
        dict(ch="c" * 64, kh="k" * 64, f=False)).scalar_one()
    member_id = conn.execute(sa.text("INSERT INTO board_members (class_id, name, secret_hash, created_at) "
                                     "VALUES (:c, 'Old timer', :sh, 0) RETURNING id"),
                             dict(c=class_id, sh=secret_hash)).scalar_one()
    return class_id, member_id


def test_an_empty_database_upgrades_to_head_matching_the_tables(database_url):  # noqa: F811
    """First start: every table is created, the version is head, and the Core tables equal the migrated schema."""
    eng = db.create(database_url)
    assert db.current_revision(eng) is None
    db.upgrade(eng)
    assert db.current_revision(eng) == head()
    assert schema_diff(eng) == []
    eng.dispose()


def test_upgrading_from_the_previous_revision_keeps_the_data(database_url):  # noqa: F811
    """A board at 0001 with a class, a member and a share upgrades to head with all of it intact; the new
    spotlight column works on the old rows."""
    eng = db.create(database_url)
    db.upgrade(eng, "0001")
    with eng.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("board_classes")}
    assert "spotlight_id" not in columns and db.current_revision(eng) == "0001"
    c = Client("s", "10.0.0.9")
    with db.writing(eng) as conn:  # rows written the way revision 0001's schema takes them (ids from the database)
        class_id, member_id = old_class_and_member(conn, "s" * 64)
        share_id = conn.execute(sa.text(
            "INSERT INTO board_shares (class_id, member_id, client_id, created_at, kind, dataset, summary, spec, "
            "settings, code_size, params, epochs, train_error, test_error, seconds, points) VALUES (:c, :m, :cid, 0, "
            "'train', 'digits', '64-3-64', '{}', '{}', 3, 10, 5, 0.01, 0.02, 1.0, '[]') RETURNING id"),
            dict(c=class_id, m=member_id, cid=str(uuid.uuid4()))).scalar_one()
    db.upgrade(eng)
    assert db.current_revision(eng) == head() and schema_diff(eng) == []
    with db.writing(eng) as conn:
        conn.execute(sa.text("UPDATE board_classes SET spotlight_id = :s WHERE id = :c"), dict(s=share_id, c=class_id))
        row = conn.execute(sa.text("SELECT c.title, c.spotlight_id, m.name, s.test_error FROM board_classes c "
                                   "JOIN board_members m ON m.class_id = c.id "
                                   "JOIN board_shares s ON s.member_id = m.id")).one()
    assert tuple(row) == ("old", share_id, "Old timer", 0.02)
    new = Board(eng).start_class(c)  # the upgraded database takes new classes beside the old one
    assert new.class_id != class_id
    eng.dispose()


def test_upgrading_from_0002_keeps_the_data_and_finds_members_by_their_browser(database_url):  # noqa: F811
    """A board at 0002 with a member who joined from a browser and a share of the old bottleneck question id upgrades
    to head: the share reads back with the task every old run had ("reconstruct") and the question's new id, the
    member's secret digest gets its index, and the browser finds the membership again."""
    from aelab import codes

    eng = db.create(database_url)
    db.upgrade(eng, "0002")
    token = "t" * 43  # a browser token's form
    with db.writing(eng) as conn:
        class_id, member_id = old_class_and_member(conn, codes.digest(codes.browser_secret(token)))
        conn.execute(sa.text(
            "INSERT INTO board_shares (class_id, member_id, client_id, created_at, kind, dataset, summary, spec, "
            "settings, code_size, params, epochs, train_error, test_error, seconds, question, prediction, measured, "
            "points) VALUES (:c, :m, :cid, 0, 'bottleneck', 'digits', '64-3-64', '{}', '{}', 3, 10, 5, 0.01, 0.02, "
            "1.0, 'bigger_bottleneck', 'rises', 'levels', '[]')"), dict(c=class_id, m=member_id, cid=str(uuid.uuid4())))
    db.upgrade(eng)
    assert db.current_revision(eng) == head() and schema_diff(eng) == []
    with eng.connect() as conn:
        indexes = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("board_members")}
    assert indexes["ix_board_members_secret"] == ["secret_hash"]
    board = Board(eng)
    member = board.resume(token)
    assert (member.class_id, member.member_id, member.name) == (class_id, member_id, "Old timer")
    (run,) = board.my_shares(member)
    assert (run.draft.task, run.draft.question, run.draft.prediction, run.draft.measured) == (
        "reconstruct", "bottleneck", "rises", "levels")
    eng.dispose()


def test_two_replicas_starting_together_migrate_once(database_url):  # noqa: F811
    """Two processes open one empty database at the same moment: both start, and the schema is at head once."""
    code = ("import sys; from aelab import db, board; e = db.engine(sys.argv[1]); "
            "board.Board(e).start_class(board.Client(sys.argv[2], '10.1.1.1')); print(db.current_revision(e))")
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url, f"replica-{i}"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-1500:] for _, err in outs]
    assert [out.strip() for out, _ in outs] == [head(), head()]
    eng = db.create(database_url)
    with eng.connect() as conn:
        versions = conn.execute(sa.text(f"SELECT version_num FROM {db.VERSION_TABLE}")).scalars().all()
        classes = conn.execute(sa.text("SELECT count(*) FROM board_classes")).scalar_one()
    assert versions == [head()] and classes == 2
    eng.dispose()


class LockedCursor:
    """A cursor whose first `locked` attempts to switch journal mode fail the way SQLite does while another process
    is switching the same new file (at once, without waiting on busy_timeout)."""

    def __init__(self, locked: int, message: str = "database is locked"):
        self.locked, self.message, self.calls = locked, message, 0

    def execute(self, sql):
        self.calls += 1
        if self.calls <= self.locked:
            raise sqlite3.OperationalError(self.message)


def test_switching_to_wal_tries_again_while_another_process_holds_the_file():
    cur = LockedCursor(locked=3)
    db._wal(cur, pause_s=0)
    assert cur.calls == 4


def test_switching_to_wal_passes_other_errors_on_at_once():
    cur = LockedCursor(locked=1, message="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        db._wal(cur, pause_s=0)
    assert cur.calls == 1
