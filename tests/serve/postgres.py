"""A real PostgreSQL server for tests: initdb and pg_ctl from the system's binaries, in a
temporary folder, on a free 127.0.0.1 port, as the `postgres` user when run as root
(PostgreSQL refuses to run as root). Absent binaries: the tests skip, saying so."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import free_port


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _as_server_user() -> tuple[list[str], int | None]:
    if os.geteuid() != 0:
        return [], None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        pytest.skip("PostgreSQL tests: running as root and there is no 'postgres' user to run the server")
    return ["runuser", "-u", "postgres", "--"], uid


class PostgresServer:
    def __init__(self):
        bin_dir = postgres_bin()
        if bin_dir is None:
            pytest.skip("PostgreSQL tests: no PostgreSQL server binaries (initdb, pg_ctl) on this "
                        "machine; apt-get install postgresql (.ci/run does)")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pytest.skip("PostgreSQL tests: the psycopg driver is not installed (the postgres extra)")
        self.bin, (self.prefix, uid) = bin_dir, _as_server_user()
        self.root = Path(tempfile.mkdtemp(prefix="pluralist-pg-"))
        if uid is not None:
            os.chown(self.root, uid, -1)
        self.data, self.port = self.root / "data", free_port()

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresServer":
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
