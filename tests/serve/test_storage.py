"""The store's promises, on SQLite and on a real PostgreSQL server: every comparison
stored once, refits that see all of a rater's comparisons, replays, deletes, schema
versions."""

from __future__ import annotations

import itertools
import threading

import pytest

from pluralist.serve.storage import (Comparison, IdempotencyConflict, StorageError, open_storage)

from .postgres import PostgresServer

_names = itertools.count()


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("postgres").new_database(f"t{next(_names)}")


def count_refit(comparisons):
    """A stand-in refit that records what it saw: the count and every chosen text."""
    return {"seen": len(comparisons), "chosen": [c.chosen for c in comparisons]}


def rows(tag, n):
    return [Comparison(f"p {tag} {i}", f"chosen {tag} {i}", f"rejected {tag} {i}", i % 5 == 0)
            for i in range(n)]


def test_write_read_replay_delete(store_url):
    store = open_storage(store_url)
    first = store.add_comparisons("ann", rows("a", 3), count_refit, idempotency_key="k1")
    assert not first.replayed and first.response["comparisons"] == 3
    again = store.add_comparisons("ann", rows("a", 3), count_refit, idempotency_key="k1")
    assert again.replayed and again.response == first.response
    with pytest.raises(IdempotencyConflict):
        store.add_comparisons("ann", rows("b", 1), count_refit, idempotency_key="k1")
    store.add_comparisons("ann", rows("c", 2), count_refit)
    assert store.comparisons("ann") == rows("a", 3) + rows("c", 2)    # ties kept, order kept
    record = store.rater("ann")
    assert record["comparisons"] == 5 and record["profile"]["seen"] == 5
    assert store.counts() == {"comparisons": 5, "raters": 1}
    assert store.delete_rater("ann") == 5
    assert store.rater("ann") is None and store.comparisons("ann") == []
    fresh = store.add_comparisons("ann", rows("a", 3), count_refit, idempotency_key="k1")
    assert not fresh.replayed   # a withdrawn person's keys went with their comparisons


def test_a_failed_refit_stores_nothing(store_url):
    store = open_storage(store_url)

    def broken(comparisons):
        raise RuntimeError("refit failed")

    with pytest.raises(RuntimeError):
        store.add_comparisons("bob", rows("x", 2), broken)
    assert store.comparisons("bob") == [] and store.rater("bob") is None


def test_concurrent_writes_are_serialised_per_rater(store_url):
    open_storage(store_url)   # the schema, before the threads race for it
    answers, errors = [], []

    def write(worker):
        store = open_storage(store_url)
        try:
            for j in range(20):
                rater = f"r{(worker + j) % 3}"
                result = store.add_comparisons(rater, [Comparison("", f"w{worker} {j}", "x")], count_refit)
                answers.append((rater, result.response))
        except Exception as err:   # noqa: BLE001 - collected and asserted on below
            errors.append(repr(err))
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    store = open_storage(store_url)
    for rater in ("r0", "r1", "r2"):
        stored = [c.chosen for c in store.comparisons(rater)]
        sent = [r["profile"]["chosen"][-1] for who, r in answers if who == rater]
        assert sorted(stored) == sorted(sent) and len(set(stored)) == len(stored)
        assert store.rater(rater)["profile"]["chosen"] == stored   # the last refit saw all
        assert sorted(r["comparisons"] for who, r in answers if who == rater) == list(range(1, len(sent) + 1))


def test_a_store_of_a_newer_schema_is_refused(store_url):
    store = open_storage(store_url)
    with store._write_transaction(store._connection().cursor()) as cursor:
        store._run(cursor, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match="schema version 99"):
        open_storage(store_url)


def test_bad_store_urls_are_refused_in_one_line(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        open_storage(str(tmp_path / "missing" / "x.db"))
    with pytest.raises(StorageError, match="use postgresql://"):
        open_storage("mysql://localhost/x")
    (tmp_path / "not.db").write_text("this is not a database, it is a user's file\n" * 20)
    with pytest.raises(StorageError, match="cannot open it"):
        open_storage(str(tmp_path / "not.db"))
    assert (tmp_path / "not.db").read_text().startswith("this is not")


def test_the_server_runs_on_postgresql(postgres, model_dir, key_file, tmp_path):
    from .conftest import Server, comparisons_for

    url = postgres.new_database("served")
    server = Server(model_dir, url, "--api-key-file", str(key_file), log_dir=tmp_path).start()
    try:
        client = server.client()
        written = client.call("POST", "/v1/raters/pg-person/comparisons",
                              {"comparisons": comparisons_for("pg", 4)})
        assert written["comparisons"] == 4
        answer = client.call("POST", "/v1/score", {"responses": ["a", "b"], "rater": "pg-person"})
        assert answer["source"] == "adapted profile"
        assert open_storage(url).rater("pg-person")["comparisons"] == 4
        assert client.call("DELETE", "/v1/raters/pg-person")["deleted_comparisons"] == 4
    finally:
        server.stop()
