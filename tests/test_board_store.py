"""The class board's storage (aelab.board on aelab.db), on SQLite always and on PostgreSQL when it is installed:
round trips, idempotent shares, 30 concurrent sharers (none lost, no duplicates), teacher controls, expiry, and
limits that hold across two replicas sharing one database.

Run: python -m pytest -q tests/test_board_store.py
"""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from aelab import board_tables, db
from aelab.board import Board, BoardError, Client, Draft, NotAllowed, RateLimited
from aelab.board_fields import Point


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each kind (PostgreSQL: a fresh database on the session's server)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'board.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database(f"t_{uuid.uuid4().hex[:12]}")
    yield url
    db.forget(url)


@pytest.fixture
def board(database_url):
    return Board(db.engine(database_url))


def draft(code_size: int = 3, test_error: float = 0.02, **kw) -> Draft:
    base = dict(kind="train", dataset="digits", summary=f"64-16-{code_size}-16-64", spec={"bottleneck": code_size},
                settings={"epochs": 5, "n_train": None}, code_size=code_size, params=1000 + code_size, epochs=5,
                train_error=0.01, test_error=test_error, seconds=1.25)
    return Draft(**{**base, **kw})


def client(i: int | str = 0, address: str = "10.0.0.1") -> Client:
    return Client(f"session-{i}", address)


def test_a_shared_run_reads_back_exactly(board):
    """Every field of a share, and the student's name, come back from the database as they went in."""
    new = board.start_class(client(), "Group B")
    teacher = board.open_class(client(), new.teacher_key)
    member = board.join(client(1), new.join_code, "Ada")
    d = draft(question="bigger_bottleneck", prediction="falls", measured="levels",
              points=(Point(8, 2000, 0.005, 0.03),))
    share_id, created = board.share(client(1), member, d, str(uuid.uuid4()))
    (run,) = board.runs(teacher)
    assert created and run.id == share_id and run.name == "Ada" and run.member_id == member.member_id
    assert run.draft == d and not run.has_preview and not run.has_checkpoint
    assert [p.code_size for p in run.points] == [3, 8]
    info = board.info(teacher)
    assert (info.join_code, info.title, info.members, info.closed) == (new.join_code, "Group B", 1, False)
    assert board.my_shares(member) == [run]


def test_sharing_again_with_the_same_id_makes_no_duplicate(board):
    """A retried share (same client id) returns the first one's id; a new id makes a second row."""
    new = board.start_class(client())
    member = board.join(client(1), new.join_code, "Bo")
    cid = str(uuid.uuid4())
    first = board.share(client(1), member, draft(), cid)
    again = board.share(client(1), member, draft(test_error=0.5), cid)
    other = board.share(client(1), member, draft(), str(uuid.uuid4()))
    assert first[1] and not again[1] and again[0] == first[0] and other[1] and other[0] != first[0]
    runs = board.runs(board.open_class(client(), new.teacher_key))
    assert [r.draft.test_error for r in runs] == [0.02, 0.02]


def test_thirty_students_share_at_once_and_nothing_is_lost(board):
    """30 students share simultaneously (each also retries the same share at the same moment): exactly 30 rows,
    one per student, none lost, none duplicated."""
    new = board.start_class(client())
    members = [board.join(client(i), new.join_code, f"Student {i}") for i in range(30)]
    ids = {m.member_id: str(uuid.uuid4()) for m in members}
    barrier = threading.Barrier(60)

    def go(m, attempt):
        barrier.wait()
        return board.share(client(m.member_id), m, draft(code_size=1 + m.member_id % 16), ids[m.member_id])

    with ThreadPoolExecutor(60) as pool:
        results = list(pool.map(lambda args: go(*args), [(m, a) for m in members for a in range(2)]))
    runs = board.runs(board.open_class(client(), new.teacher_key))
    assert len(runs) == 30 and sorted(r.member_id for r in runs) == sorted(ids)
    assert sum(created for _, created in results) == 30  # each pair: one created, one found
    assert len({share_id for share_id, _ in results}) == 30


def test_teacher_controls(board):
    """Spotlight, close (no joins or shares), reopen, clear (runs gone, members stay) and the weights switch."""
    new = board.start_class(client())
    teacher = board.open_class(client(), new.teacher_key)
    member = board.join(client(1), new.join_code, "Cy")
    sid, _ = board.share(client(1), member, draft(), str(uuid.uuid4()))
    board.spotlight(teacher, sid)
    assert board.info(teacher).spotlight_id == sid
    board.close(teacher)
    assert board.info(teacher).closed and board.member_class(member).closed
    with pytest.raises(BoardError, match="closed"):
        board.join(client(2), new.join_code, "Late")
    with pytest.raises(BoardError, match="closed"):
        board.share(client(1), member, draft(), str(uuid.uuid4()))
    board.reopen(teacher)
    board.share(client(1), member, draft(), str(uuid.uuid4()))
    assert board.clear(teacher) == 2
    info = board.info(teacher)
    assert board.runs(teacher) == [] and info.spotlight_id is None and info.members == 1
    board.allow_weights(teacher, True)
    assert board.member_class(member).allow_weights


def test_spotlight_accepts_only_runs_of_the_class(board):
    """A teacher cannot put another class's run in their spotlight."""
    a, b = board.start_class(client()), board.start_class(client())
    member_b = board.join(client(1), b.join_code, "Dee")
    sid, _ = board.share(client(1), member_b, draft(), str(uuid.uuid4()))
    with pytest.raises(BoardError):
        board.spotlight(board.open_class(client(), a.teacher_key), sid)


def test_a_browser_finds_its_membership_again_until_it_leaves(database_url, monkeypatch):
    """A member who joined from a browser is found again by that browser's token on another replica (another engine
    on the database) and shares with it; another browser finds nothing; the newest class a browser joined wins;
    after leaving, or once the class expired, nothing is found and the old membership shares no more."""
    from aelab.store import new_token

    monkeypatch.setenv("AELAB_CLASS_DAYS", "2")
    now = [1_000_000.0]
    replica_a = Board(db.engine(database_url), clock=lambda: now[0])
    replica_b = Board(db.create(database_url), clock=lambda: now[0])
    first, second = replica_a.start_class(client()), replica_a.start_class(client())
    token = new_token()
    joined = replica_a.join(client(1), first.join_code, "Hal", token)
    assert replica_b.resume(token) == joined and replica_b.resume(new_token()) is None
    sid, new = replica_b.share(client(2), replica_b.resume(token), draft(), str(uuid.uuid4()))
    assert new and [r.id for r in replica_a.my_shares(joined)] == [sid]
    later = replica_a.join(client(1), second.join_code, "Hal", token)
    assert replica_b.resume(token) == later
    replica_b.leave(later)
    assert replica_a.resume(token) == joined  # the browser is still in the first class
    with pytest.raises(NotAllowed):
        replica_a.share(client(1), later, draft(), str(uuid.uuid4()))
    now[0] += 2 * 86400 + 1
    assert replica_a.resume(token) is None  # the first class expired
    replica_b.engine.dispose()


def test_classes_expire(database_url, monkeypatch):
    """After AELAB_CLASS_DAYS days a class takes no joins, shares or teacher key, and purging deletes it all."""
    monkeypatch.setenv("AELAB_CLASS_DAYS", "2")
    now = [1_000_000.0]
    board = Board(db.engine(database_url), clock=lambda: now[0])
    new = board.start_class(client())
    teacher = board.open_class(client(), new.teacher_key)
    member = board.join(client(1), new.join_code, "Eve")
    board.share(client(1), member, draft(), str(uuid.uuid4()))
    assert new.expires_at == now[0] + 2 * 86400
    now[0] += 2 * 86400 + 1
    with pytest.raises(BoardError):
        board.join(client(2), new.join_code, "Fay")
    with pytest.raises(BoardError):
        board.share(client(1), member, draft(), str(uuid.uuid4()))
    with pytest.raises(NotAllowed):
        board.info(teacher)
    assert board.purge_expired() == 1
    with db.reading(board.engine) as conn:
        counts = [conn.execute(sa.select(sa.func.count()).select_from(tb)).scalar_one()
                  for tb in (board_tables.classes, board_tables.members, board_tables.shares)]
    assert counts == [0, 0, 0]


def test_rate_limits_hold_across_two_replicas(database_url):
    """Two replicas (two engines on one database) count one session's shares together."""
    replica_a, replica_b = Board(db.create(database_url)), Board(db.create(database_url))
    db.upgrade(replica_a.engine)
    new = replica_a.start_class(client())
    member = replica_a.join(client(1), new.join_code, "Gus")
    from aelab.ratelimit import LIMITS

    limit = LIMITS["share"].per_session
    for i in range(limit):
        (replica_a if i % 2 else replica_b).share(client(1), member, draft(), str(uuid.uuid4()))
    with pytest.raises(RateLimited):
        replica_a.share(client(1), member, draft(), str(uuid.uuid4()))
    with pytest.raises(RateLimited):
        replica_b.share(client(1), member, draft(), str(uuid.uuid4()))
    assert len(replica_b.runs(replica_b.open_class(client(), new.teacher_key))) == limit
    replica_a.engine.dispose()
    replica_b.engine.dispose()
