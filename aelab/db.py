"""The class board's database: one SQLAlchemy engine per URL (an SQLite file by default, PostgreSQL for replicas),
and Alembic's `upgrade head` run once per process at first use, under a lock so replicas starting together
migrate exactly once. No Streamlit here.
"""
from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from aelab import config

MIGRATIONS = Path(__file__).with_name("migrations")  # Alembic's script folder (env.py, versions/)
VERSION_TABLE = "board_alembic_version"  # Alembic's bookkeeping table (prefixed: the database may be shared)
PG_LOCK_ID = 0x6165_6C61_62  # "aelab": the advisory lock replicas take while migrating a PostgreSQL database
SQLITE_BUSY_MS = 30_000  # how long an SQLite writer waits for another one before giving up
_WRITE = "aelab_write"  # execution option: this transaction writes (SQLite takes the write lock at BEGIN)
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the AELAB_DATABASE_URL setting), schema upgraded to head on first use."""
    url = url or config.get("database_url")
    with _lock:
        eng = _engines.get(url)
        if eng is None:
            eng = create(url)
            upgrade(eng)
            _engines[url] = eng
    return eng


def create(url: str) -> Engine:
    """A new engine (no migration). SQLite: its folder is created, WAL mode, writers queue instead of failing."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise config.ConfigError(f"AELAB_DATABASE_URL cannot be used: {exc}") from None
    if parsed.get_backend_name() != "sqlite":  # a server that does not answer: give up after 10 s, not minutes
        connect = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=60,
                             connect_args={**connect, **dict(parsed.query)} if connect else {})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    eng = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False})
    event.listen(eng, "connect", _sqlite_connect)
    event.listen(eng, "begin", _sqlite_begin)
    return eng


def _sqlite_connect(dbapi_conn, _record) -> None:
    """SQLAlchemy's documented pysqlite recipe: the driver stops issuing BEGIN itself (we do, in _sqlite_begin)."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
    _wal(cur)  # readers never block the writer, the writer never blocks readers
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _wal(cur, pause_s: float = 0.02) -> None:
    """Switch the file to WAL. While another process is opening or switching the same new file, SQLite answers
    'database is locked' at once (busy_timeout does not cover this step), so try again until SQLITE_BUSY_MS."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause_s)


def _sqlite_begin(conn: Connection) -> None:
    """A writing transaction takes SQLite's write lock at once (BEGIN IMMEDIATE), so two writers queue on
    busy_timeout instead of one failing with 'database is locked' when both upgrade a read lock."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


@contextlib.contextmanager
def writing(eng: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed at the end of the block, rolled back on an exception."""
    with eng.execution_options(**{_WRITE: True}).begin() as conn:
        yield conn


@contextlib.contextmanager
def reading(eng: Engine) -> Iterator[Connection]:
    """A read-only transaction (one consistent snapshot on SQLite's WAL and PostgreSQL)."""
    with eng.connect() as conn:
        yield conn
        conn.rollback()


def alembic_config():
    """Alembic's configuration pointing at aelab/migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(eng: Engine, revision: str = "head") -> None:
    """Run Alembic's upgrade to `revision` in one transaction. Two processes doing it at once: on PostgreSQL the
    second waits on an advisory lock, on SQLite on the write lock, then finds the schema current and does nothing."""
    from alembic import command

    cfg = alembic_config()
    with writing(eng) as conn:
        lock_for_migration(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def lock_for_migration(conn: Connection) -> None:
    """Hold the migration lock until this transaction ends (SQLite: the writing transaction already holds it)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_ID})")


def current_revision(eng: Engine) -> str | None:
    """The schema revision the database is at (None: empty database)."""
    from alembic.runtime.migration import MigrationContext

    with reading(eng) as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def forget(url: str | None = None) -> None:
    """Dispose the cached engine for `url` (all of them when None): tests and shutdown."""
    with _lock:
        for key in [k for k in _engines if url is None or k == url]:
            _engines.pop(key).dispose()
