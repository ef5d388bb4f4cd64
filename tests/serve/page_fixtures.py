"""A pool of questions for the page and a server started with it (tests/serve/conftest.py
has the small trained model and the Server class)."""

from __future__ import annotations

import pytest

from .conftest import Server


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory):
    """Comparisons of the built-in benchmark written as JSONL: the page's pool (labels
    are ignored), the texts of the raters the model was trained on."""
    from pluralist.data import SynthConfig, generate, write_comparisons

    path = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    write_comparisons(generate(SynthConfig(seed=5, raters=6, comparisons_per_rater=40)).table, path)
    return path


@pytest.fixture(scope="module")
def page_server(model_dir, key_file, pool_file, tmp_path_factory):
    running = Server(model_dir, tmp_path_factory.mktemp("page-db") / "feedback.db",
                     "--api-key-file", str(key_file), "--pool", str(pool_file)).start()
    yield running
    running.stop()


def stored(db, rater: str) -> list[tuple]:
    """The rater's comparisons as the database holds them (read apart from the server)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT prompt, chosen, rejected, tie FROM comparisons WHERE rater = ? "
                            "ORDER BY id", (rater,)).fetchall()
