"""Secrets of the class board: join codes read aloud, teacher keys and member secrets; stored only as SHA-256
digests and checked in constant time (hmac.compare_digest).

Symbols are Crockford's base32 (https://www.crockford.com/base32.html): digits and letters without I, L, O and U,
so nothing is ambiguous when read aloud or copied by hand; typing O for 0 or I/L for 1 is forgiven.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: 32 symbols, 5 bits each
_FORGIVE = str.maketrans({"O": "0", "I": "1", "L": "1"})
JOIN_GROUPS = 3  # a join code is 3 groups ...
JOIN_GROUP = 3  # ... of 3 symbols: "7KQ-M2X-D9R", 45 bits
KEY_GROUPS = 7  # a teacher key (and a member secret) is 7 groups ...
KEY_GROUP = 4  # ... of 4 symbols: 28 symbols, 140 bits
JOIN_BITS = JOIN_GROUPS * JOIN_GROUP * math.log2(len(ALPHABET))
KEY_BITS = KEY_GROUPS * KEY_GROUP * math.log2(len(ALPHABET))


def _random(groups: int, size: int) -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(size)) for _ in range(groups))


def new_join_code() -> str:
    """A fresh join code such as '7KQ-M2X-D9R' (45 random bits)."""
    return _random(JOIN_GROUPS, JOIN_GROUP)


def new_key() -> str:
    """A fresh teacher key or member secret, 'AB12-...' (140 random bits)."""
    return _random(KEY_GROUPS, KEY_GROUP)


def canonical(text: str, groups: int, size: int) -> str | None:
    """What the person meant: upper case, spaces and hyphens ignored, O read as 0 and I/L as 1, regrouped.
    None when it cannot be a code of that length (then no lookup is needed to refuse it)."""
    if not isinstance(text, str) or len(text) > 4 * groups * size:
        return None
    symbols = "".join(ch for ch in text.upper().translate(_FORGIVE) if ch not in " -\t")
    if len(symbols) != groups * size or any(ch not in ALPHABET for ch in symbols):
        return None
    return "-".join(symbols[i * size:(i + 1) * size] for i in range(groups))


def canonical_join_code(text: str) -> str | None:
    return canonical(text, JOIN_GROUPS, JOIN_GROUP)


def canonical_key(text: str) -> str | None:
    return canonical(text, KEY_GROUPS, KEY_GROUP)


def digest(secret: str) -> str:
    """SHA-256 of a canonical secret, hex (64 characters): what the database stores. The secrets carry 45 to 140
    random bits, so a plain hash (no slow key stretching) is enough to keep them out of the database."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def matches(secret: str | None, stored_digest: str) -> bool:
    """Whether `secret` hashes to `stored_digest`, compared in constant time."""
    candidate = digest(secret) if secret else "-" * 64
    return hmac.compare_digest(candidate.encode("ascii"), stored_digest.encode("ascii"))


BROWSER_SECRET_DOMAIN = b"aelab class board member|"  # keeps this hash apart from the token's other digests


def browser_secret(token: str) -> str:
    """A class member's secret derived from the browser's token (ui.browser_token, 256 random bits): every tab of the
    browser, a reload and a session on another replica hold the same secret, and the database finds the membership
    by its digest. Domain-separated SHA-256, hex: it is not the token's digest that aelab.store names folders by."""
    return hashlib.sha256(BROWSER_SECRET_DOMAIN + token.encode("ascii")).hexdigest()


def anonymous(text: str) -> str:
    """A short one-way token for a session id or an address in the rate-limit table (no personal data stored)."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]
