"""The API key that writes and deletes need: `Authorization: Bearer KEY`.

The key comes from --api-key-file or $PLURALIST_API_KEY. It is compared in constant time
(hmac.compare_digest) and is never logged or echoed. No header: 401 (with
WWW-Authenticate, as RFC 6750 asks); a wrong key: 403.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from ..errors import PluralistError

KEY_ENV = "PLURALIST_API_KEY"
MIN_KEY_CHARS = 16


class AuthSetupError(PluralistError):
    """The server cannot start with the key set-up asked for."""


def read_api_key(key_file: str | None, *, read_only: bool, environ=os.environ) -> str | None:
    """The key from the file (first line) or the environment; None only when read-only.
    A writable server without a key is refused: anyone could write and delete."""
    key = None
    if key_file is not None:
        try:
            lines = Path(key_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise AuthSetupError(f"{key_file}: cannot read the API key file ({err})") from None
        key = lines[0].strip() if lines else ""
        if not key:
            raise AuthSetupError(f"{key_file}: the API key file is empty")
    elif environ.get(KEY_ENV, "").strip():
        key = environ[KEY_ENV].strip()
    if key is None and not read_only:
        raise AuthSetupError(f"writes need an API key: give --api-key-file FILE or set {KEY_ENV}, "
                             "or start with --read-only")
    if key is not None and len(key) < MIN_KEY_CHARS:
        raise AuthSetupError(f"the API key is {len(key)} characters; use at least {MIN_KEY_CHARS} "
                             "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return key


def check_bearer(header: str | None, key: str) -> int | None:
    """None where `header` carries `key`; else the status to refuse with (401 or 403)."""
    scheme, _, given = (header or "").partition(" ")
    if not header or scheme.lower() != "bearer" or not given.strip():
        return 401
    if not hmac.compare_digest(given.strip().encode("utf-8", "surrogatepass"),
                               key.encode("utf-8")):
        return 403
    return None
