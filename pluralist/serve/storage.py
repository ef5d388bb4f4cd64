"""Durable feedback: comparisons and profiles per rater, in SQLite or PostgreSQL behind
one interface.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL, so a write the
server acknowledged survives a crash of the process or the machine. PostgreSQL
(`--db postgresql://...`) lets several server processes share one store. The schema is
created on first start and versioned in the `meta` table; a store written by a newer
schema is refused rather than misread.

Every write for one rater is serialised: SQLite takes its write lock first
(BEGIN IMMEDIATE), PostgreSQL locks the rater's row; the refit of the profile runs
inside that transaction, over all of the rater's stored comparisons, so no profile ever
ignores an acknowledged comparison and no comparison is stored twice for one
Idempotency-Key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import PluralistError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0   # a writer waits this long for the lock before giving up


class StorageError(PluralistError):
    """A store that cannot be opened or used (its location, its schema)."""


class IdempotencyConflict(PluralistError):
    """An Idempotency-Key reused with another request body."""


@dataclass(frozen=True)
class Comparison:
    prompt: str
    chosen: str
    rejected: str
    tie: bool = False


@dataclass(frozen=True)
class WriteResult:
    response: dict          # what the write answered (a replay answers the first one's)
    replayed: bool          # True: the Idempotency-Key was seen, nothing was stored


def _schema(serial: str, real: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS raters (rater TEXT PRIMARY KEY, profile TEXT, "
        f"comparisons INTEGER NOT NULL DEFAULT 0, updated {real} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS comparisons (id {serial}, rater TEXT NOT NULL, "
        f"prompt TEXT NOT NULL, chosen TEXT NOT NULL, rejected TEXT NOT NULL, "
        f"tie INTEGER NOT NULL, created {real} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS comparisons_by_rater ON comparisons (rater, id)",
        "CREATE TABLE IF NOT EXISTS idempotency (rater TEXT NOT NULL, key TEXT NOT NULL, "
        "body_sha256 TEXT NOT NULL, response TEXT NOT NULL, PRIMARY KEY (rater, key))",
    ]


def body_digest(comparisons: list[Comparison]) -> str:
    text = json.dumps([[c.prompt, c.chosen, c.rejected, c.tie] for c in comparisons])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Storage:
    """The store's operations, written once in SQL both engines speak ('?' placeholders;
    each engine's class says how to connect, lock and create its schema)."""

    placeholder = "?"

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._create_schema()

    # --- what each engine provides ---------------------------------------------------
    def _connect(self):
        raise NotImplementedError

    @contextmanager
    def _write_transaction(self, cursor):
        raise NotImplementedError

    def _lock_rater(self, cursor, rater: str) -> None:
        """Hold `rater`'s lock until the transaction ends (its row exists afterwards)."""
        self._run(cursor, "INSERT INTO raters (rater, comparisons, updated) VALUES (?, 0, ?) "
                          "ON CONFLICT (rater) DO NOTHING", (rater, time.time()))

    def _create_schema(self) -> None:
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------
    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _run(self, cursor, sql: str, params=()):
        cursor.execute(sql.replace("?", self.placeholder), params)
        return cursor

    def _check_version(self, cursor) -> None:
        found = self._run(cursor, "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if found is None:
            self._run(cursor, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                      (str(SCHEMA_VERSION),))
        elif found[0] != str(SCHEMA_VERSION):
            raise StorageError(f"{self.url}: the store has schema version {found[0]}, this "
                               f"pluralist reads version {SCHEMA_VERSION}; use a matching pluralist")

    def add_comparisons(self, rater: str, comparisons: list[Comparison],
                        refit: Callable[[list[Comparison]], dict], *,
                        idempotency_key: str | None = None) -> WriteResult:
        """Store `comparisons` for `rater`, refit the profile on all of the rater's stored
        comparisons (`refit` returns the profile summary to store) and commit, all in one
        transaction under the rater's lock."""
        digest = body_digest(comparisons)
        conn = self._connection()
        with self._write_transaction(conn.cursor()) as cursor:
            self._lock_rater(cursor, rater)
            if idempotency_key is not None:
                replay = self._replay(cursor, rater, idempotency_key, digest)
                if replay is not None:
                    return WriteResult(replay, True)
            now = time.time()
            cursor.executemany(
                "INSERT INTO comparisons (rater, prompt, chosen, rejected, tie, created) "
                "VALUES (?, ?, ?, ?, ?, ?)".replace("?", self.placeholder),
                [(rater, c.prompt, c.chosen, c.rejected, int(c.tie), now) for c in comparisons])
            stored = self._comparisons(cursor, rater)
            profile = refit(stored)
            self._run(cursor, "UPDATE raters SET profile = ?, comparisons = ?, updated = ? "
                              "WHERE rater = ?", (json.dumps(profile), len(stored), now, rater))
            response = {"rater": rater, "stored": len(comparisons), "comparisons": len(stored),
                        "updated": now, "profile": profile}
            if idempotency_key is not None:
                self._run(cursor, "INSERT INTO idempotency (rater, key, body_sha256, response) "
                                  "VALUES (?, ?, ?, ?)",
                          (rater, idempotency_key, digest, json.dumps(response)))
        return WriteResult(response, False)

    def _replay(self, cursor, rater: str, key: str, digest: str) -> dict | None:
        row = self._run(cursor, "SELECT body_sha256, response FROM idempotency "
                                "WHERE rater = ? AND key = ?", (rater, key)).fetchone()
        if row is None:
            return None
        if row[0] != digest:
            raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for another request body")
        return json.loads(row[1])

    def _comparisons(self, cursor, rater: str) -> list[Comparison]:
        rows = self._run(cursor, "SELECT prompt, chosen, rejected, tie FROM comparisons "
                                 "WHERE rater = ? ORDER BY id", (rater,)).fetchall()
        return [Comparison(p, c, r, bool(t)) for p, c, r, t in rows]

    def comparisons(self, rater: str) -> list[Comparison]:
        with self._read() as cursor:
            return self._comparisons(cursor, rater)

    def rater(self, rater: str) -> dict | None:
        """The rater's stored profile, count of comparisons and last update, or None."""
        with self._read() as cursor:
            row = self._run(cursor, "SELECT profile, comparisons, updated FROM raters "
                                    "WHERE rater = ?", (rater,)).fetchone()
        if row is None or row[0] is None:
            return None
        return {"rater": rater, "profile": json.loads(row[0]), "comparisons": row[1],
                "updated": row[2]}

    def delete_rater(self, rater: str) -> int:
        """Remove the rater's comparisons, profile and idempotency records; how many
        comparisons were removed."""
        conn = self._connection()
        with self._write_transaction(conn.cursor()) as cursor:
            self._lock_rater(cursor, rater)
            removed = self._run(cursor, "DELETE FROM comparisons WHERE rater = ?", (rater,)).rowcount
            self._run(cursor, "DELETE FROM idempotency WHERE rater = ?", (rater,))
            self._run(cursor, "DELETE FROM raters WHERE rater = ?", (rater,))
        return removed

    def counts(self) -> dict:
        with self._read() as cursor:
            comparisons = self._run(cursor, "SELECT COUNT(*) FROM comparisons").fetchone()[0]
            raters = self._run(cursor, "SELECT COUNT(*) FROM raters "
                                       "WHERE profile IS NOT NULL").fetchone()[0]
        return {"comparisons": comparisons, "raters": raters}

    @contextmanager
    def _read(self):
        conn = self._connection()
        cursor = conn.cursor()
        try:
            yield cursor
        finally:
            conn.rollback()   # ends the read's snapshot (PostgreSQL opens one implicitly)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class SQLiteStorage(Storage):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.is_dir():
            raise StorageError(f"{self.path}: its folder {self.path.parent} does not exist")
        super().__init__(str(self.path))

    def _connect(self):
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")   # an acknowledged write is on disk
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{self.path}: cannot open it as an SQLite database ({err})") from None
        return conn

    @contextmanager
    def _write_transaction(self, cursor):
        cursor.execute("BEGIN IMMEDIATE")   # the write lock first: writers queue, none fails late
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    @contextmanager
    def _read(self):
        yield self._connection().cursor()   # autocommit: each statement reads a fresh snapshot

    def _create_schema(self) -> None:
        with self._write_transaction(self._connection().cursor()) as cursor:
            for statement in _schema("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL"):
                cursor.execute(statement)
            self._check_version(cursor)


class PostgresStorage(Storage):
    placeholder = "%s"

    def _connect(self):
        try:
            import psycopg
        except ImportError:
            raise StorageError("--db postgresql://... needs the psycopg driver: "
                               "pip install 'pluralist[postgres]'") from None
        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as err:
            raise StorageError(f"cannot connect to the PostgreSQL store "
                               f"({str(err).strip().splitlines()[0]})") from None

    @contextmanager
    def _write_transaction(self, cursor):
        conn = cursor.connection
        try:
            yield cursor
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def _lock_rater(self, cursor, rater: str) -> None:
        super()._lock_rater(cursor, rater)
        self._run(cursor, "SELECT rater FROM raters WHERE rater = ? FOR UPDATE", (rater,))

    def _create_schema(self) -> None:
        with self._write_transaction(self._connection().cursor()) as cursor:
            # several servers may start together on one store: one creates, the others wait
            cursor.execute("SELECT pg_advisory_xact_lock(7253115)")
            for statement in _schema("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION"):
                cursor.execute(statement)
            self._check_version(cursor)


def open_storage(url: str) -> Storage:
    """'postgresql://...' (or 'postgres://...'), 'sqlite:///PATH', or a plain file path."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStorage(url)
    if url.startswith("sqlite:///"):
        return SQLiteStorage(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise StorageError(f"--db {url!r}: use postgresql://..., sqlite:///PATH or a file path")
    return SQLiteStorage(url)
