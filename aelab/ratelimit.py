"""Rate limits of the class board, counted in the database so they hold across replicas: fixed windows per browser
session, per client address and (for guesses) per server; and who the client is behind a trusted reverse proxy.

A window of `window_s` seconds counts events; an event that takes a count past its limit is refused (a fixed window
lets at most twice a limit through around a window's edge). Addresses and sessions are stored as one-way tokens.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aelab import board_tables as t
from aelab import codes, config


@dataclass(frozen=True)
class Limit:
    per_session: int  # events one browser session may cause per window
    per_address: int  # events one client address may cause per window (a school's NAT is one address)
    server: int | None = None  # events the whole server allows per window (None: no server-wide limit)
    window_s: int = 600  # window length in seconds


LIMITS = {
    "start": Limit(5, 60),  # starting classes
    "join": Limit(20, 400),  # join attempts, right or wrong (a class of 300 behind one address still joins)
    "join_failed": Limit(8, 80, 5000),  # wrong join codes: what enumerating codes needs (see board.join)
    "teacher_failed": Limit(8, 80, 5000),  # wrong teacher keys
    "share": Limit(30, 1200),  # shared runs
}


class RateLimited(Exception):
    """Too many attempts; the message says when to try again."""


@dataclass(frozen=True)
class Client:
    """Who asks: the browser session and the client's address (see `address`)."""

    session: str  # a random id per browser session
    address: str  # the client's IP address as far as it can be trusted


def address(peer: str | None, forwarded_for: str | None, trusted=None) -> str:
    """The client's address: the connection's peer, unless the peer is a trusted proxy (AELAB_TRUSTED_PROXIES);
    then the right-most X-Forwarded-For entry that is not itself a trusted proxy. A header from anyone else is
    ignored, so a client cannot pick its own address to dodge the per-address limits.
    Streamlit reports a loopback peer as None (st.context.ip_address): that is 127.0.0.1."""
    trusted = config.get("trusted_proxies") if trusted is None else trusted
    peer = peer if isinstance(peer, str) and peer else "127.0.0.1"
    forwarded_for = forwarded_for if isinstance(forwarded_for, str) else None

    def is_trusted(text: str) -> bool:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if not forwarded_for or not is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for[:2000].split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled header: fall back to the proxy itself rather than trust text
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer


def _keys(action: str, client: Client) -> list[tuple[str, int]]:
    limit = LIMITS[action]
    keys = [(f"{action}|s|{codes.anonymous(client.session)}", limit.per_session),
            (f"{action}|a|{codes.anonymous(client.address)}", limit.per_address)]
    if limit.server is not None:
        keys.append((f"{action}|server", limit.server))
    return keys


def _message(action: str, now: float) -> str:
    window = LIMITS[action].window_s
    wait = math.ceil((window - now % window) / 60)
    return f"Too many attempts. Please wait about {wait} minute{'s' if wait != 1 else ''} and try again."


def blocked(conn: Connection, action: str, client: Client, now: float) -> None:
    """Raise RateLimited if a limit of `action` is already used up (counts nothing)."""
    window = int(now // LIMITS[action].window_s)
    keys = dict(_keys(action, client))
    rows = conn.execute(sa.select(t.rate.c.key, t.rate.c.count).where(
        t.rate.c.key.in_(list(keys)), t.rate.c.window == window)).all()
    if any(count >= keys[key] for key, count in rows):
        raise RateLimited(_message(action, now))


def hit(conn: Connection, action: str, client: Client, now: float) -> None:
    """Count one event of `action`; raise RateLimited if that takes any of its counts past the limit
    (the event stays counted: hammering a closed door keeps it closed)."""
    window_s = LIMITS[action].window_s
    window = int(now // window_s)
    over = False
    for key, limit in _keys(action, client):
        over |= _increment(conn, key, window, (window + 1) * window_s) > limit
    if over:
        raise RateLimited(_message(action, now))


def _increment(conn: Connection, key: str, window: int, expires_at: float) -> int:
    """count += 1 for (key, window), creating the row; atomic on SQLite and PostgreSQL (INSERT .. ON CONFLICT)."""
    values = dict(key=key, window=window, count=1, expires_at=expires_at)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # another database: update, else insert, inside a savepoint so a racing insert can be retried
        for _ in range(3):
            n = conn.execute(sa.update(t.rate).where(t.rate.c.key == key, t.rate.c.window == window)
                             .values(count=t.rate.c.count + 1)).rowcount
            if n:
                break
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(t.rate).values(**values))
                break
            except sa.exc.IntegrityError:
                continue
        return conn.execute(sa.select(t.rate.c.count)
                            .where(t.rate.c.key == key, t.rate.c.window == window)).scalar_one()
    stmt = insert(t.rate).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=[t.rate.c.key, t.rate.c.window],
                                      set_={"count": t.rate.c.count + 1}).returning(t.rate.c.count)
    return conn.execute(stmt).scalar_one()


def purge(conn: Connection, now: float) -> int:
    """Delete counters of windows that have ended; returns how many."""
    return conn.execute(sa.delete(t.rate).where(t.rate.c.expires_at < now)).rowcount
