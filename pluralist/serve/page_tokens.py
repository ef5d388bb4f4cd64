"""Signed tokens for the page: a session scoped to one rater, and a ticket for each
query the server asked that rater.

Both are HMAC-SHA256 tags (RFC 2104) under a secret derived from the server's API key,
so every server process sharing one key (and one store) accepts the others' tokens,
a restart keeps people's sessions, and replacing the key ends them all. A session
token names its rater: a person holding one can write and delete that rater's answers
and no one else's. A ticket names the rater, the pool (by fingerprint) and the pool row
it asks: an answer comes with its ticket, so an answer to a query never asked, asked
of someone else or asked from another pool fails the tag and is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SESSION_PREFIX = "page1"
DERIVATION = b"pluralist page tokens v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and checks session tokens and query tickets under one secret."""

    def __init__(self, api_key: str):
        self._secret = hmac.new(api_key.encode("utf-8"), DERIVATION, hashlib.sha256).digest()

    def _tag(self, *parts: str) -> str:
        message = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def session(self, rater: str) -> str:
        return f"{SESSION_PREFIX}.{_b64(rater.encode('utf-8'))}.{self._tag('session', rater)}"

    def rater_of(self, token: str) -> str | None:
        """The rater a session token was issued for; None for anything else (a forged
        or altered token, another server's, an API key)."""
        prefix, _, rest = token.partition(".")
        encoded, _, tag = rest.partition(".")
        if prefix != SESSION_PREFIX or not encoded or not tag:
            return None
        try:
            rater = _unb64(encoded).decode("utf-8")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return rater if hmac.compare_digest(tag, self._tag("session", rater)) else None

    def ticket(self, rater: str, pool: str, row: int) -> str:
        return f"{row}.{self._tag('query', rater, pool, str(row))}"

    def row_of(self, ticket: str, rater: str, pool: str, rows: int) -> int | None:
        """The pool row a ticket asked of `rater` from `pool`; None if it was never asked."""
        row, _, tag = ticket.partition(".")
        if not row.isdigit() or len(row) > 12 or int(row) >= rows:
            return None
        return int(row) if hmac.compare_digest(tag, self._tag("query", rater, pool, row)) else None
