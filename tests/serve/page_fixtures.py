"""A small model trained with `pluralist train` on the built-in benchmark, its
comparisons as the page's pool, and a server started with both (tests/serve/conftest.py
has the Server class)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from .conftest import Server


@pytest.fixture(scope="session")
def page_files(tmp_path_factory):
    """(model directory, pool file): lowrank on hashing:32, 40 raters x 40 comparisons;
    the pool is the same comparisons (the page ignores their labels)."""
    from pluralist.cli import cli

    root = tmp_path_factory.mktemp("page")
    run = lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)
    made = run("data", "synth", "--out", str(root / "bench.jsonl"), "--raters", "40",
               "--comparisons-per-rater", "40")
    assert made.exit_code == 0, made.output
    trained = run("train", str(root / "bench.jsonl"), "--family", "lowrank", "--rank", "4",
                  "--encoder", "hashing:32", "--epochs", "20", "--cache-dir", str(root / "cache"),
                  "--out", str(root / "model"))
    assert trained.exit_code == 0, trained.output
    return root / "model", root / "bench.jsonl"


@pytest.fixture(scope="session")
def page_server(page_files, key_file, tmp_path_factory):
    model, pool = page_files
    running = Server(model, tmp_path_factory.mktemp("page-db") / "feedback.db",
                     "--api-key-file", str(key_file), "--pool", str(pool)).start()
    yield running
    running.stop()


def stored(db, rater: str) -> list[tuple]:
    """The rater's comparisons as the database holds them (read apart from the server)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT prompt, chosen, rejected, tie FROM comparisons WHERE rater = ? "
                            "ORDER BY id", (rater,)).fetchall()
