"""The class board's operations on its database: start and join classes without accounts, share finished runs,
and the teacher's controls. No Streamlit here; pages reach it through aelab.ui.

Who may do what: a teacher key (shown once when the class starts, stored only as a hash) is needed to see the
whole board and to spotlight, close, clear, export or allow weights; a Membership (made by `join`, holding a
secret of its own, derived from the browser's token so that `resume` finds it after a reload or on another replica)
can share only into the class it joined. Every operation checks its secret in constant time,
counts against the rate limits (aelab.ratelimit) and refuses expired or closed classes.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError as DatabaseError  # the database is down or refused a statement

from aelab import board_tables as t
from aelab import codes, config, db, ratelimit
from aelab.board_fields import BoardError, Draft, Point, clean_client_id, clean_draft, clean_name, clean_title
from aelab.ratelimit import Client, RateLimited

__all__ = ["Board", "BoardError", "NotAllowed", "RateLimited", "DatabaseError", "Client", "NewClass", "Teacher", "Membership",
           "ClassInfo", "SharedRun", "default"]
MAX_MEMBERS = 500  # members per class
MAX_SHARES = 3000  # shared runs per class
DAY_S = 86_400.0
CSV_COLUMNS = ["id", "shared_at_utc", "name", "page", "dataset", "architecture", "code_size", "params", "epochs",
               "train_error", "test_error", "seconds", "question", "prediction", "measured", "errors_on"]


class NotAllowed(BoardError):
    """The secret given does not allow this (wrong teacher key, another class's membership)."""


@dataclass(frozen=True)
class NewClass:
    class_id: int
    join_code: str  # for the students: "7KQ-M2X-D9R"
    teacher_key: str  # shown once; only its hash is stored
    expires_at: float  # seconds since the epoch


@dataclass(frozen=True)
class Teacher:
    """What a teacher's session holds: the class and its key (checked again on every call)."""

    class_id: int
    key: str


@dataclass(frozen=True)
class Membership:
    """What a student's session holds after joining (the secret is checked again on every share)."""

    class_id: int
    member_id: int
    name: str
    secret: str
    join_code: str


@dataclass(frozen=True)
class ClassInfo:
    class_id: int
    join_code: str
    title: str
    created_at: float
    expires_at: float
    closed: bool
    allow_weights: bool
    spotlight_id: int | None
    members: int


@dataclass(frozen=True)
class SharedRun:
    """A shared run as the board reads it back (without its images and weights)."""

    id: int
    created_at: float
    member_id: int
    name: str  # the student's display name: untrusted text, shown only as plain text
    draft: Draft  # preview and checkpoint left out
    has_preview: bool
    has_checkpoint: bool

    @property
    def points(self) -> list[Point]:
        """Every model of the run: the main one first."""
        d = self.draft
        return [Point(d.code_size, d.params, d.train_error, d.test_error, d.summary, d.task), *d.points]


class Board:
    """The class board on one database. `clock` gives seconds since the epoch (tests move it)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock

    # -- classes ---------------------------------------------------------------------------------
    def start_class(self, client: Client, title: str = "") -> NewClass:
        """A new class with a fresh join code and teacher key (shown once: only hashes are stored)."""
        title = clean_title(title)
        now = self.clock()
        with db.writing(self.engine) as conn:
            ratelimit.hit(conn, "start", client, now)
            self._purge(conn, now)
            code = codes.new_join_code()
            while conn.execute(sa.select(t.classes.c.id).where(t.classes.c.code_hash == codes.digest(code))).first():
                code = codes.new_join_code()  # 45 random bits: practically never
            key = codes.new_key()
            expires = now + config.get("class_days") * DAY_S
            class_id = conn.execute(sa.insert(t.classes).values(
                join_code=code, code_hash=codes.digest(code), key_hash=codes.digest(key), title=title,
                created_at=now, expires_at=expires, allow_weights=False).returning(t.classes.c.id)).scalar_one()
        return NewClass(class_id, code, key, expires)

    def open_class(self, client: Client, teacher_key: str) -> Teacher:
        """The teacher's handle on their class from the key alone (wrong keys count against the rate limit)."""
        key = codes.canonical_key(teacher_key)
        now = self.clock()
        with db.reading(self.engine) as conn:
            ratelimit.blocked(conn, "teacher_failed", client, now)
            row = None if key is None else conn.execute(sa.select(t.classes).where(
                t.classes.c.key_hash == codes.digest(key))).first()
        if row is None or not codes.matches(key, row.key_hash) or row.expires_at <= now:
            self._failed("teacher_failed", client, now)
            raise NotAllowed("This teacher key does not open a class (a class is deleted "
                             f"{config.get('class_days')} days after it started).")
        return Teacher(row.id, key)

    def join(self, client: Client, join_code: str, name: str, browser: str | None = None) -> Membership:
        """Join the open class with this code under a display name. Wrong codes are rate-limited per session,
        per address and for the whole server, so codes cannot be enumerated; a blocked session is refused even
        with the right code. With the browser's token (ui.browser_token) the member's secret is derived from it
        (codes.browser_secret), so `resume` finds the membership after a reload or on another replica; the token
        itself is never stored."""
        name = clean_name(name)
        now = self.clock()
        with db.writing(self.engine) as conn:
            ratelimit.hit(conn, "join", client, now)
        code = codes.canonical_join_code(join_code)
        with db.writing(self.engine) as conn:
            ratelimit.blocked(conn, "join_failed", client, now)
            row = None if code is None else conn.execute(sa.select(t.classes).where(
                t.classes.c.code_hash == codes.digest(code))).first()
            if row is not None and codes.matches(code, row.code_hash) and row.expires_at > now:
                if row.closed_at is not None:
                    raise BoardError("This class is closed: the teacher no longer takes new members.")
                n = conn.execute(sa.select(sa.func.count()).where(t.members.c.class_id == row.id)).scalar_one()
                if n >= MAX_MEMBERS:
                    raise BoardError(f"This class is full ({MAX_MEMBERS} members).")
                secret = codes.browser_secret(browser) if browser else codes.new_key()
                member_id = conn.execute(sa.insert(t.members).values(
                    class_id=row.id, name=name, secret_hash=codes.digest(secret), created_at=now)
                    .returning(t.members.c.id)).scalar_one()
                return Membership(row.id, member_id, name, secret, row.join_code)
        self._failed("join_failed", client, now)
        raise BoardError("No open class has this code. Check it with your teacher (letters and digits, e.g. "
                         "7KQ-M2X-D9R).")

    def resume(self, browser: str) -> Membership | None:
        """The membership this browser made last (join with `browser`) in a class that has not expired, or None.
        The lookup is by the digest of a secret derived from the 256-bit token: there is nothing to enumerate."""
        secret = codes.browser_secret(browser)
        m, c = t.members, t.classes
        with db.reading(self.engine) as conn:
            row = conn.execute(sa.select(m.c.id, m.c.class_id, m.c.name, m.c.secret_hash, c.c.join_code)
                               .join(c, c.c.id == m.c.class_id)
                               .where(m.c.secret_hash == codes.digest(secret), c.c.expires_at > self.clock())
                               .order_by(m.c.id.desc()).limit(1)).first()
        if row is None or not codes.matches(secret, row.secret_hash):
            return None
        return Membership(row.class_id, row.id, row.name, secret, row.join_code)

    def leave(self, member: Membership) -> None:
        """This browser leaves its class: the member's secret is replaced by one nobody holds, so no tab, reload or
        replica finds or uses the membership again. The runs it shared stay on the board under its name."""
        with db.writing(self.engine) as conn:
            self._member_class(conn, member, self.clock())
            conn.execute(sa.update(t.members).where(t.members.c.id == member.member_id)
                         .values(secret_hash=codes.digest(codes.new_key())))

    def _failed(self, action: str, client: Client, now: float) -> None:
        """Count a wrong secret in its own transaction (it must stay counted while the caller raises)."""
        with db.writing(self.engine) as conn:
            ratelimit.hit(conn, action, client, now)

    # -- sharing -----------------------------------------------------------------------------------
    def share(self, client: Client, member: Membership, draft: Draft, client_id: str) -> tuple[int, bool]:
        """Store a shared run in the member's class; returns (share id, whether it is new). The same client_id
        shared again (a retry, a double click, another replica) returns the first share: no duplicate.
        Weights are kept only while the teacher allows them, and only if they pass checkpoint.from_bytes."""
        draft, client_id = clean_draft(draft), clean_client_id(client_id)
        if draft.checkpoint is not None:
            _check_checkpoint(draft.checkpoint)  # before the transaction: it takes a moment
        now = self.clock()
        with db.writing(self.engine) as conn:
            cls = self._member_class(conn, member, now)
            if cls.closed_at is not None:
                raise BoardError("This class is closed: the teacher no longer takes shared runs.")
            ratelimit.hit(conn, "share", client, now)
            existing = self._share_id(conn, cls.id, client_id)
            if existing is not None:
                return existing, False
            n = conn.execute(sa.select(sa.func.count()).where(t.shares.c.class_id == cls.id)).scalar_one()
            if n >= MAX_SHARES:
                raise BoardError(f"This class's board is full ({MAX_SHARES} runs). Ask the teacher to clear it.")
            values = _share_values(draft, draft.checkpoint if cls.allow_weights else None)
            inserted = conn.execute(_insert_ignoring_duplicate(conn, dict(
                class_id=cls.id, member_id=member.member_id, client_id=client_id, created_at=now, **values))).rowcount
            return self._share_id(conn, cls.id, client_id), bool(inserted)

    def _member_class(self, conn: Connection, member: Membership, now: float):
        """The member's class row, after checking the membership's secret in constant time."""
        row = conn.execute(sa.select(t.members.c.class_id, t.members.c.secret_hash)
                           .where(t.members.c.id == member.member_id)).first()
        ok = row is not None and codes.matches(member.secret, row.secret_hash)
        if not ok or row.class_id != member.class_id:
            raise NotAllowed("You can share only into the class you joined. Join it again on the Class board.")
        cls = conn.execute(sa.select(t.classes).where(t.classes.c.id == row.class_id)).first()
        if cls is None or cls.expires_at <= now:
            raise BoardError("This class has ended. Join a new one on the Class board.")
        return cls

    @staticmethod
    def _share_id(conn: Connection, class_id: int, client_id: str) -> int | None:
        return conn.execute(sa.select(t.shares.c.id).where(t.shares.c.class_id == class_id,
                                                          t.shares.c.client_id == client_id)).scalar()

    def my_shares(self, member: Membership) -> list[SharedRun]:
        """The runs this member shared (a student sees their own)."""
        with db.reading(self.engine) as conn:
            self._member_class(conn, member, self.clock())
            return self._runs(conn, member.class_id, t.shares.c.member_id == member.member_id)

    def member_class(self, member: Membership) -> ClassInfo:
        """The class a member belongs to (closed, weights allowed, ...)."""
        with db.reading(self.engine) as conn:
            cls = self._member_class(conn, member, self.clock())
            return self._info(conn, cls)

    # -- the teacher's board -----------------------------------------------------------------------
    def _teacher_class(self, conn: Connection, teacher: Teacher, now: float):
        """The teacher's class row after checking the key in constant time; NotAllowed otherwise."""
        key = codes.canonical_key(teacher.key) if isinstance(teacher.key, str) else None
        row = conn.execute(sa.select(t.classes).where(t.classes.c.id == teacher.class_id)).first() \
            if isinstance(teacher.class_id, int) else None
        if row is None or not codes.matches(key, row.key_hash) or row.expires_at <= now:
            raise NotAllowed("Only the teacher's key allows this.")
        return row

    def _as_teacher(self, teacher: Teacher, client: Client | None, fn, write: bool = False):
        """fn(conn, class row) in one transaction once the key is checked; a wrong key raises NotAllowed and,
        with a client, counts against its rate limit (after the transaction, which must not hold the lock)."""
        now = self.clock()
        try:
            with (db.writing if write else db.reading)(self.engine) as conn:
                return fn(conn, self._teacher_class(conn, teacher, now))
        except NotAllowed:
            if client is not None:
                self._failed("teacher_failed", client, now)
            raise

    def info(self, teacher: Teacher, client: Client | None = None) -> ClassInfo:
        return self._as_teacher(teacher, client, self._info)

    def runs(self, teacher: Teacher, client: Client | None = None) -> list[SharedRun]:
        """Every run shared into the class, oldest first (the board's table and figures)."""
        return self._as_teacher(teacher, client, lambda conn, cls: self._runs(conn, cls.id))

    def preview(self, teacher: Teacher, share_id: int, client: Client | None = None) -> bytes | None:
        """The preview image of one shared run of the class."""
        return self._blob(teacher, share_id, t.shares.c.preview, client)

    def checkpoint(self, teacher: Teacher, share_id: int, client: Client | None = None) -> bytes | None:
        """The weights of one shared run, if they were shared (load them with checkpoint.from_bytes)."""
        return self._blob(teacher, share_id, t.shares.c.checkpoint, client)

    def _blob(self, teacher: Teacher, share_id: int, column, client: Client | None) -> bytes | None:
        return self._as_teacher(teacher, client, lambda conn, cls: conn.execute(sa.select(column).where(
            t.shares.c.id == share_id, t.shares.c.class_id == cls.id)).scalar())

    def spotlight(self, teacher: Teacher, share_id: int | None, client: Client | None = None) -> None:
        """Put one shared run of the class on the big screen (None: none)."""
        def fn(conn, cls):
            if share_id is not None and self._share_class(conn, share_id) != cls.id:
                raise BoardError("That run is not on this class's board.")
            self._set(conn, cls, spotlight_id=share_id)
        self._as_teacher(teacher, client, fn, write=True)

    @staticmethod
    def _share_class(conn: Connection, share_id) -> int | None:
        if isinstance(share_id, bool) or not isinstance(share_id, int):
            return None
        return conn.execute(sa.select(t.shares.c.class_id).where(t.shares.c.id == share_id)).scalar()

    @staticmethod
    def _set(conn: Connection, cls, **values) -> None:
        conn.execute(sa.update(t.classes).where(t.classes.c.id == cls.id).values(**values))

    def close(self, teacher: Teacher, client: Client | None = None) -> None:
        """No more joins or shares; the board stays readable until the class expires."""
        self._as_teacher(teacher, client, lambda conn, cls: self._set(conn, cls, closed_at=self.clock()), write=True)

    def reopen(self, teacher: Teacher, client: Client | None = None) -> None:
        self._as_teacher(teacher, client, lambda conn, cls: self._set(conn, cls, closed_at=None), write=True)

    def clear(self, teacher: Teacher, client: Client | None = None) -> int:
        """Delete every shared run of the class (members stay joined); returns how many."""
        def fn(conn, cls):
            self._set(conn, cls, spotlight_id=None)
            return conn.execute(sa.delete(t.shares).where(t.shares.c.class_id == cls.id)).rowcount
        return self._as_teacher(teacher, client, fn, write=True)

    def allow_weights(self, teacher: Teacher, allow: bool, client: Client | None = None) -> None:
        """Let students' shares carry their model's weights (a checkpoint, checked by checkpoint.from_bytes)."""
        self._as_teacher(teacher, client, lambda conn, cls: self._set(conn, cls, allow_weights=bool(allow)),
                         write=True)

    def export_csv(self, teacher: Teacher, client: Client | None = None) -> str:
        """Every shared run as CSV. Text cells that a spreadsheet would run as a formula are prefixed with '."""
        runs = self.runs(teacher, client)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for r in runs:
            d = r.draft
            w.writerow([r.id, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.created_at)), _cell(r.name),
                        d.kind, d.dataset, _cell(d.summary), d.code_size, d.params, d.epochs, _num(d.train_error),
                        _num(d.test_error), f"{d.seconds:.2f}", d.question or "", d.prediction or "",
                        d.measured or "", d.task])
        return buf.getvalue()

    # -- housekeeping ------------------------------------------------------------------------------
    def purge_expired(self) -> int:
        """Delete expired classes with their members and runs, and ended rate-limit windows; returns classes."""
        with db.writing(self.engine) as conn:
            return self._purge(conn, self.clock())

    @staticmethod
    def _purge(conn: Connection, now: float) -> int:
        ratelimit.purge(conn, now)
        old = sa.select(t.classes.c.id).where(t.classes.c.expires_at <= now)
        conn.execute(sa.delete(t.shares).where(t.shares.c.class_id.in_(old)))
        conn.execute(sa.delete(t.members).where(t.members.c.class_id.in_(old)))
        return conn.execute(sa.delete(t.classes).where(t.classes.c.expires_at <= now)).rowcount

    # -- reading rows ------------------------------------------------------------------------------
    @staticmethod
    def _info(conn: Connection, cls) -> ClassInfo:
        n = conn.execute(sa.select(sa.func.count()).where(t.members.c.class_id == cls.id)).scalar_one()
        return ClassInfo(cls.id, cls.join_code, cls.title, cls.created_at, cls.expires_at, cls.closed_at is not None,
                         bool(cls.allow_weights), cls.spotlight_id, n)

    @staticmethod
    def _runs(conn: Connection, class_id: int, *where) -> list[SharedRun]:
        s, m = t.shares, t.members
        cols = [c for c in s.c if c.name not in ("preview", "checkpoint")]
        stmt = (sa.select(*cols, m.c.name.label("member_name"), s.c.preview.is_not(None).label("has_preview"),
                          s.c.checkpoint.is_not(None).label("has_checkpoint"))
                .join(m, m.c.id == s.c.member_id).where(s.c.class_id == class_id, *where).order_by(s.c.id))
        return [_run(row) for row in conn.execute(stmt)]


def _share_values(d: Draft, checkpoint: bytes | None) -> dict:
    values = {k: v for k, v in asdict(d).items() if k not in ("points", "spec", "settings", "preview", "checkpoint")}
    return dict(values, spec=json.dumps(d.spec, sort_keys=True), settings=json.dumps(d.settings, sort_keys=True),
                points=json.dumps([asdict(p) for p in d.points]), preview=d.preview, checkpoint=checkpoint)


def _run(row) -> SharedRun:
    draft = Draft(kind=row.kind, dataset=row.dataset, summary=row.summary, spec=json.loads(row.spec),
                  settings=json.loads(row.settings), code_size=row.code_size, params=row.params, epochs=row.epochs,
                  train_error=row.train_error, test_error=row.test_error, seconds=row.seconds, question=row.question,
                  prediction=row.prediction, measured=row.measured,
                  points=tuple(Point(**p) for p in json.loads(row.points)), task=row.task)
    return SharedRun(row.id, row.created_at, row.member_id, row.member_name, draft, bool(row.has_preview),
                     bool(row.has_checkpoint))


def _insert_ignoring_duplicate(conn: Connection, values: dict):
    """INSERT that does nothing when (class_id, client_id) exists: concurrent retries of one share race safely."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise BoardError(f"The class board supports SQLite and PostgreSQL, not {conn.dialect.name}.")
    return insert(t.shares).values(**values).on_conflict_do_nothing(index_elements=["class_id", "client_id"])


def _check_checkpoint(blob: bytes) -> None:
    """Shared weights must load through the safe import (no code runs; names, shapes and values checked)."""
    from aelab import checkpoint

    try:
        checkpoint.from_bytes(blob)
    except checkpoint.CheckpointError as exc:
        raise BoardError(f"The weights cannot be shared: {exc}") from None


def _cell(text: str) -> str:
    """A text cell that cannot start a spreadsheet formula (OWASP 'CSV injection')."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _num(x: float | None) -> str:
    return "" if x is None else repr(x)


def default() -> Board:
    """The board on AELAB_DATABASE_URL (its engine is made once per process and URL; the schema is upgraded then)."""
    return Board(db.engine())
