"""A client of `pluralist serve` on the standard library (http.client): one kept-alive
connection per client, JSON in and out. Not thread-safe: one client per thread."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from ..errors import PluralistError


class ServiceError(PluralistError):
    """The server answered with an error status (its message included)."""

    def __init__(self, status: int, detail):
        self.status, self.detail = status, detail
        super().__init__(f"pluralist server answered {status}: {detail}")


class Client:
    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 60.0):
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PluralistError(f"{url!r} is not an http(s) URL of a pluralist server")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.base, self.api_key, self.timeout = parts.path.rstrip("/"), api_key, timeout
        self._conn = None

    def _connection(self):
        if self._conn is None:
            kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self._conn = kind(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(self, method: str, path: str, body=None, *, headers: dict | None = None,
                raw: bytes | None = None) -> tuple[int, object]:
        """(status, decoded JSON body or None); the connection is remade after an error."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.api_key and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.api_key}"
        payload = raw if raw is not None else None if body is None else json.dumps(body).encode()
        try:
            conn = self._connection()
            conn.request(method, self.base + path, body=payload, headers=sent)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, data.decode("utf-8", "replace")

    def call(self, method: str, path: str, body=None, **kwargs):
        """The decoded answer, or ServiceError for any status but 2xx."""
        status, answer = self.request(method, path, body, **kwargs)
        if not 200 <= status < 300:
            raise ServiceError(status, answer.get("detail") if isinstance(answer, dict) else answer)
        return answer

    def score(self, prompt: str, responses: list[str], rater: str | None = None) -> dict:
        return self.call("POST", "/v1/score", {"prompt": prompt, "responses": responses,
                                               "rater": rater})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
