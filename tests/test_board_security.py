"""Security rules of the class board, one test each: only the teacher key controls a class; a membership shares only
into its own class; secrets have enough randomness, are stored only as hashes (a browser's token not at all) and
compared in constant time; names
and every shared field are validated and size-limited; rate limits per session, per address (X-Forwarded-For only
from a trusted proxy) and per server stop a brute-force search for join codes; CSV export cannot inject formulas;
names in figures cannot become markup.

Run: python -m pytest -q tests/test_board_security.py
"""
from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
import random
import re
import uuid

import pytest
import sqlalchemy as sa

from aelab import board_fields, codes, db, png, ratelimit
from aelab.board import Board, BoardError, Client, Membership, NotAllowed, RateLimited, Teacher
from aelab.ratelimit import LIMITS
from test_board_store import client, draft

HOSTILE_NAMES = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](http://evil)",
                 "**bold** _it_ `code`", ":red[warn] :material/home:", "=HYPERLINK(\"http://e\")"]


@pytest.fixture
def board(tmp_path):
    url = f"sqlite:///{tmp_path / 'board.db'}"
    yield Board(db.engine(url))
    db.forget(url)


@pytest.fixture
def a_class(board):
    """A class with one member who shared one run: (board, NewClass, Teacher, Membership, share id)."""
    new = board.start_class(client("teacher"))
    teacher = board.open_class(client("teacher"), new.teacher_key)
    member = board.join(client("student"), new.join_code, "Ann")
    share_id, _ = board.share(client("student"), member, draft(), str(uuid.uuid4()))
    return board, new, teacher, member, share_id


def test_secrets_have_the_promised_randomness_and_no_ambiguous_symbols():
    """Join codes carry >= 40 random bits, teacher keys >= 128; symbols are Crockford's (no I, L, O, U); 2,000
    fresh codes are all different and use every symbol about equally."""
    assert codes.JOIN_BITS >= 40 and codes.KEY_BITS >= 128
    assert set(codes.ALPHABET) == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    made = [codes.new_join_code() for _ in range(2000)]
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}", c) for c in made)
    counts = [sum(c.count(s) for c in made) for s in codes.ALPHABET]
    expected = 2000 * 9 / 32
    assert max(abs(n - expected) for n in counts) < 6 * expected ** 0.5  # a 6-sigma bound: uniform symbols
    assert len(codes.new_key().replace("-", "")) * 5 >= 128


def test_codes_forgive_case_spaces_and_look_alikes_only():
    """'o' reads as 0 and 'i'/'l' as 1, case and spaces are ignored; anything else is no code."""
    assert codes.canonical_join_code(" 7kq m2x d9r ") == "7KQ-M2X-D9R"
    assert codes.canonical_join_code("OIL-0I1-abc") == "011-011-ABC"
    for bad in ["7KQ-M2X-D9", "7KQ-M2X-D9RR", "7KQ-M2X-D9U", "", "7KQ-M2X-D9R" * 10, None, 12345]:
        assert codes.canonical_join_code(bad) is None


def test_keys_are_stored_only_as_hashes(a_class):
    """Neither the teacher key, a member's secret nor a browser's token (nor the token's own SHA-256, which names its
    saved model's folder) appears anywhere in the database; the secrets' SHA-256 does."""
    import hashlib

    from aelab.store import new_token

    board, new, _, member, _ = a_class
    token = new_token()
    from_browser = board.join(client("browser"), new.join_code, "Bea", token)
    with db.reading(board.engine) as conn:
        dump = json.dumps([[list(map(str, row)) for row in conn.execute(sa.text(f"SELECT * FROM {name}"))]
                           for name in ("board_classes", "board_members", "board_shares")])
    assert new.teacher_key not in dump and member.secret not in dump
    assert new.teacher_key.replace("-", "") not in dump and member.secret.replace("-", "") not in dump
    assert codes.digest(new.teacher_key) in dump and codes.digest(member.secret) in dump
    assert token not in dump and from_browser.secret not in dump and hashlib.sha256(token.encode()).hexdigest() not in dump
    assert codes.digest(from_browser.secret) in dump


def test_keys_are_compared_in_constant_time(a_class, monkeypatch):
    """Teacher keys, member secrets and join codes are checked with hmac.compare_digest."""
    board, new, teacher, member, _ = a_class
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(codes.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    board.info(teacher)
    board.share(client("student"), member, draft(), str(uuid.uuid4()))
    board.join(client("other"), new.join_code, "Bob")
    stored = {codes.digest(new.teacher_key), codes.digest(member.secret), codes.digest(new.join_code)}
    assert stored <= {b.decode() for _, b in calls}


@pytest.mark.parametrize("action", ["info", "runs", "preview", "checkpoint", "spotlight", "close", "reopen", "clear",
                                    "allow_weights", "export_csv"])
def test_only_the_teacher_key_controls_a_class(a_class, action):
    """Each teacher action with a wrong key, another class's key or a key of the wrong class id is refused and
    changes nothing; the right key works."""
    board, new, teacher, _, share_id = a_class
    other = board.open_class(client("teacher"), board.start_class(client("teacher")).teacher_key)
    args = {"preview": (share_id,), "checkpoint": (share_id,), "spotlight": (share_id,), "allow_weights": (True,)}
    forged = [Teacher(teacher.class_id, codes.new_key()), Teacher(teacher.class_id, other.key),
              Teacher(teacher.class_id, ""), Teacher(teacher.class_id, None),
              Teacher(str(teacher.class_id), teacher.key)]
    before = (board.info(teacher), board.runs(teacher))
    for fake in forged:
        with pytest.raises(NotAllowed):
            getattr(board, action)(fake, *args.get(action, ()))
    assert (board.info(teacher), board.runs(teacher)) == before
    getattr(board, action)(teacher, *args.get(action, ()))  # the real key is allowed


def test_wrong_teacher_keys_are_rate_limited(board):
    """A session that guesses teacher keys is blocked after LIMITS['teacher_failed'].per_session wrong keys, even
    for the right key afterwards."""
    new = board.start_class(client("t"))
    for _ in range(LIMITS["teacher_failed"].per_session):
        with pytest.raises(NotAllowed):
            board.open_class(client("guesser"), codes.new_key())
    with pytest.raises(RateLimited):
        board.open_class(client("guesser"), new.teacher_key)
    assert board.open_class(client("t"), new.teacher_key).class_id == new.class_id


def test_a_session_shares_only_into_the_class_it_joined(a_class):
    """A membership edited to point at another class, another member, or carrying a wrong secret is refused."""
    board, new, teacher, member, _ = a_class
    other = board.start_class(client("teacher"))
    outsider = board.join(client("x"), other.join_code, "Xi")
    forged = [dataclasses.replace(member, class_id=other.class_id),
              dataclasses.replace(member, secret=codes.new_key()),
              dataclasses.replace(member, member_id=outsider.member_id),
              dataclasses.replace(outsider, class_id=new.class_id),
              Membership(new.class_id, member.member_id, "Ann", "", new.join_code)]
    for fake in forged:
        with pytest.raises(NotAllowed):
            board.share(client("student"), fake, draft(), str(uuid.uuid4()))
    assert len(board.runs(teacher)) == 1
    assert len(board.runs(board.open_class(client("teacher"), other.teacher_key))) == 0


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markup_in_a_name_is_stored_literally(board, name):
    """Names with HTML, script, Markdown or formulas are accepted as text and come back character for character."""
    new = board.start_class(client())
    member = board.join(client(1), new.join_code, name)
    board.share(client(1), member, draft(), str(uuid.uuid4()))
    assert member.name == name and board.runs(board.open_class(client(), new.teacher_key))[0].name == name


@pytest.mark.parametrize("name, problem", [
    ("", "Type a name"), ("   ", "Type a name"), ("x" * 33, "at most 32"), ("ann@example.org", "e-mail"),
    ("Ann 0170 1234567", "digits"), ("Ann\u202Egnp.exe", "cannot be shown"), ("Ann\x00", "cannot be shown"),
    ("Ann\nBob", None), ("x" + "\u0301" * 10, "accents"), (None, "must be text")])
def test_names_are_validated(name, problem):
    """Empty, too long, e-mail-like, phone-like, invisible-control and over-accented names are refused with a message;
    newlines fold into spaces."""
    if problem is None:
        assert board_fields.clean_name(name) == "Ann Bob"
        return
    with pytest.raises(BoardError, match=problem):
        board_fields.clean_name(name)


def test_every_shared_field_has_a_limit(a_class):
    """Each field of a share over its limit (or of the wrong type) is refused with a message; nothing is stored."""
    board, _, teacher, member, _ = a_class
    big_png = png.gray(__import__("numpy").random.default_rng(0).random((200, 200)))
    bad = [dict(kind="Train!"), dict(dataset="x" * 30), dict(summary="y" * 161), dict(spec={"w": "z" * 3000}),
           dict(settings={"f": object()}), dict(spec=[1, 2]), dict(code_size=0), dict(code_size=10**6),
           dict(params=-1), dict(epochs=True), dict(seconds=float("nan")), dict(seconds=1e9),
           dict(question="What?"), dict(prediction="x" * 41),
           dict(points=tuple([board_fields.Point(2, 1, 0.1, 0.1)] * 33)), dict(task="memorize"),
           dict(points=(board_fields.Point(2, 1, 0.1, 0.1, "s" * 161),)),
           dict(points=(board_fields.Point(2, 1, 0.1, 0.1, "dense\u202e"),)),
           dict(points=(board_fields.Point(2, 1, 0.1, 0.1, task="<b>"),)),
           dict(preview=big_png), dict(preview=b"<svg onload=alert(1)>"), dict(preview=png.SIGNATURE + b"junk"),
           dict(checkpoint=b"x" * (board_fields.CHECKPOINT_MAX + 1))]
    assert len(big_png) > board_fields.PREVIEW_MAX
    for change in bad:
        with pytest.raises(BoardError):
            board.share(client("student"), member, draft(**change), str(uuid.uuid4()))
    for client_id in ["", "not-a-uuid", "x" * 36, None]:
        with pytest.raises(BoardError):
            board.share(client("student"), member, draft(), client_id)
    assert len(board.runs(teacher)) == 1
    with pytest.raises(BoardError, match="at most 60"):
        board.start_class(client("t"), "T" * 61)


def test_weights_are_shared_only_when_allowed_and_only_through_the_safe_import(a_class, tmp_path):
    """Without the teacher's switch a checkpoint is dropped; with it, a real checkpoint is kept and a file that is
    not one (e.g. a pickle that would run code) is refused by checkpoint.from_bytes."""
    import pickle

    from aelab import checkpoint, data
    from aelab.runs import train_run
    from aelab.spec import ArchSpec, TrainConfig

    board, _, teacher, member, _ = a_class
    run = train_run(data.load_digits(), ArchSpec(64, (8,), 2), TrainConfig(epochs=1, n_train=100))
    blob = checkpoint.to_bytes(run)
    sid, _ = board.share(client("student"), member, draft(checkpoint=blob), str(uuid.uuid4()))
    assert board.checkpoint(teacher, sid) is None
    board.allow_weights(teacher, True)
    sid, _ = board.share(client("student"), member, draft(checkpoint=blob), str(uuid.uuid4()))
    assert checkpoint.from_bytes(board.checkpoint(teacher, sid)).spec == run.spec

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    for junk in [pickle.dumps(Evil()), b"PK\x03\x04" + b"\0" * 100]:
        with pytest.raises(BoardError, match="weights cannot be shared"):
            board.share(client("student"), member, draft(checkpoint=junk), str(uuid.uuid4()))


def test_joins_and_shares_are_rate_limited_per_session_and_per_address(board, monkeypatch):
    """One session: after LIMITS['join'].per_session join attempts it is refused; many sessions from one address:
    after per_address shares that address is refused while another address still shares (share limits made
    small here to keep the test short; the mechanism is the same)."""
    monkeypatch.setitem(LIMITS, "share", ratelimit.Limit(per_session=5, per_address=12))
    new = board.start_class(client())
    for i in range(LIMITS["join"].per_session):
        board.join(client("busy"), new.join_code, f"N{i}")
    with pytest.raises(RateLimited, match="Too many attempts"):
        board.join(client("busy"), new.join_code, "One more")
    member = board.join(client("calm"), new.join_code, "Calm")
    limit = LIMITS["share"]
    for i in range(limit.per_address):
        board.share(Client(f"tab-{i // (limit.per_session - 1)}", "10.9.9.9"), member, draft(), str(uuid.uuid4()))
    with pytest.raises(RateLimited):
        board.share(Client("fresh-tab", "10.9.9.9"), member, draft(), str(uuid.uuid4()))
    board.share(Client("fresh-tab", "10.9.9.10"), member, draft(), str(uuid.uuid4()))


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    """X-Forwarded-For picks the address only when the peer is a trusted proxy; then its right-most untrusted hop."""
    trusted = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.89.0.0/24"))
    assert ratelimit.address("203.0.113.5", "1.2.3.4", trusted) == "203.0.113.5"  # a client's own header: ignored
    assert ratelimit.address(None, "198.51.100.7", trusted) == "198.51.100.7"  # loopback proxy (Streamlit's None)
    assert ratelimit.address("10.89.0.2", "1.2.3.4, 198.51.100.7", trusted) == "198.51.100.7"
    assert ratelimit.address("10.89.0.2", "198.51.100.7, 10.89.0.3", trusted) == "198.51.100.7"
    assert ratelimit.address("10.89.0.2", "not-an-ip", trusted) == "10.89.0.2"
    assert ratelimit.address("10.89.0.2", None, trusted) == "10.89.0.2"
    assert ratelimit.address(None, "1.2.3.4", ()) == "127.0.0.1"  # no proxy configured: never believed


def test_join_codes_cannot_be_brute_forced(board):
    """A brute-force search: one session is stopped after 8 wrong codes (then even the right code is refused);
    rotating sessions from one address is stopped after 80. With 45-bit codes, the chance that all the guesses the
    server allows in a window hit any of 100 live classes is below 1e-7."""
    new = board.start_class(client("t"))
    rng = random.Random(1)
    guess = lambda: "".join(rng.choice(codes.ALPHABET) for _ in range(9))  # noqa: E731
    lim = LIMITS["join_failed"]
    refused = 0
    for _ in range(lim.per_session):
        with pytest.raises(BoardError, match="No open class"):
            board.join(client("attacker"), guess(), "Mallory")
    with pytest.raises(RateLimited):
        board.join(client("attacker"), new.join_code, "Mallory")  # the right code, too late
    for i in range(200):  # new session for every few guesses, one address
        try:
            board.join(Client(f"attacker-{i // 4}", "192.0.2.66"), guess(), "Mallory")
        except RateLimited:
            refused += 1
        except BoardError:
            pass
    assert refused == 200 - lim.per_address  # after per_address wrong codes the address is closed
    assert board.join(client("student"), new.join_code, "Honest").name == "Honest"  # others still join
    assert lim.server * 100 / 2 ** codes.JOIN_BITS < 1e-7  # all guesses a window allows, even with 100 live classes


def test_guesses_from_many_addresses_meet_the_server_wide_limit(board, monkeypatch):
    """Every guess from a new session at a new address (a botnet): the server-wide limit of wrong codes per window
    still stops the search (limit made small here to keep the test short)."""
    monkeypatch.setitem(LIMITS, "join_failed", ratelimit.Limit(per_session=8, per_address=80, server=30))
    rng = random.Random(2)
    outcomes = []
    for i in range(60):
        try:
            board.join(Client(f"bot-{i}", f"198.18.{i // 250}.{i % 250}"),
                       "".join(rng.choice(codes.ALPHABET) for _ in range(9)), "Bot")
        except RateLimited:
            outcomes.append("limited")
        except BoardError:
            outcomes.append("wrong")
    assert outcomes == ["wrong"] * 30 + ["limited"] * 30


def test_csv_export_cannot_inject_formulas(board):
    """Names a spreadsheet would evaluate (=, +, -, @) are exported with a leading quote; others unchanged."""
    new = board.start_class(client())
    teacher = board.open_class(client(), new.teacher_key)
    for i, name in enumerate(["=HYPERLINK(\"http://e\")", "+SUM(A1)", "-2+3", "Plain"]):
        member = board.join(client(i), new.join_code, name)
        board.share(client(i), member, draft(), str(uuid.uuid4()))
    import csv
    import io

    names = [row["name"] for row in csv.DictReader(io.StringIO(board.export_csv(teacher)))]
    assert names == ["'=HYPERLINK(\"http://e\")", "'+SUM(A1)", "'-2+3", "Plain"]


def test_names_in_figures_cannot_become_markup(board):
    """In the board's plotly figures a name's < > & " appear only escaped (plotly shows them literally)."""
    from aelab import board_figures as bf

    new = board.start_class(client())
    teacher = board.open_class(client(), new.teacher_key)
    for i, name in enumerate(HOSTILE_NAMES):
        member = board.join(client(i), new.join_code, name)
        board.share(client(i), member, draft(code_size=2 + i, test_error=0.01 * (i + 1)), str(uuid.uuid4()))
    pts = bf.points(board.runs(teacher), "digits")
    for fig in (bf.sweep_figure(pts), bf.budget_figure(pts)):
        text = fig.to_json()
        assert "&lt;script&gt;" in text and "<script>" not in text and "<img" not in text
