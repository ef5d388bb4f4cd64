"""Many writers at once on overlapping raters, and a server killed while they write."""

from __future__ import annotations

import threading
import time

import pytest

from pluralist.serve.storage import SQLiteStorage

from .conftest import KEY, Server, local_scorer

CLIENTS, PER_CLIENT, RATERS = 8, 50, 5


def _write(server, client_no: int, answers: list, errors: list) -> None:
    client = server.client()
    for j in range(PER_CLIENT):
        rater = f"crowd-{(client_no + j) % RATERS}"
        row = {"prompt": f"p{client_no}-{j}", "chosen": f"long careful answer c{client_no} n{j}",
               "rejected": f"short c{client_no} n{j}"}
        status, answer = client.request("POST", f"/v1/raters/{rater}/comparisons", {"comparisons": [row]})
        (answers if status == 200 else errors).append((rater, row, status, answer))


def test_concurrent_writers_store_each_comparison_once_and_refit_on_all(server, model_dir):
    answers, errors = [], []
    threads = [threading.Thread(target=_write, args=(server, i, answers, errors)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    assert len(answers) == CLIENTS * PER_CLIENT
    assert "database is locked" not in server.log_text()
    store = SQLiteStorage(server.db)
    scorer = local_scorer(model_dir)
    for r in range(RATERS):
        rater = f"crowd-{r}"
        sent = sorted((row["prompt"], row["chosen"]) for who, row, *_ in answers if who == rater)
        stored = store.comparisons(rater)
        assert sorted((c.prompt, c.chosen) for c in stored) == sent    # each exactly once
        # the last acknowledged write saw every comparison: the stored profile is the refit on all
        record = server.client().call("GET", f"/v1/raters/{rater}")
        assert record["comparisons"] == len(sent) == CLIENTS * PER_CLIENT // RATERS
        assert record["profile"]["values"]["theta"] == pytest.approx(
            scorer.refit(stored)["values"]["theta"], abs=1e-6)
        counts = sorted(a["comparisons"] for who, _, _, a in answers if who == rater)
        assert counts == list(range(1, len(sent) + 1))    # the writes were serialised per rater


def _write_until_refused(server, client_no: int, acknowledged: list) -> None:
    client = server.client()
    for j in range(10_000):
        row = {"prompt": "", "chosen": f"crash c{client_no} n{j} kept", "rejected": f"crash c{client_no} n{j}"}
        try:
            status, _ = client.request("POST", f"/v1/raters/crash-{client_no % 3}/comparisons",
                                       {"comparisons": [row]})
        except OSError:
            return   # the server is gone
        if status == 200:
            acknowledged.append((f"crash-{client_no % 3}", row["chosen"]))


def test_kill_9_loses_no_acknowledged_comparison(model_dir, key_file, tmp_path):
    db = tmp_path / "crash.db"
    server = Server(model_dir, db, "--api-key-file", str(key_file)).start()
    acknowledged: list = []
    threads = [threading.Thread(target=_write_until_refused, args=(server, i, acknowledged))
               for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    for thread in threads:
        thread.join(30)
    assert len(acknowledged) >= 60
    restarted = Server(model_dir, db, "--api-key-file", str(key_file)).start()
    try:
        store = SQLiteStorage(db)
        assert store._connection().execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = {(rater, c.chosen) for rater in ("crash-0", "crash-1", "crash-2")
                for c in store.comparisons(rater)}
        assert set(acknowledged) <= kept
        for rater in ("crash-0", "crash-1", "crash-2"):
            record = restarted.client(KEY).call("GET", f"/v1/raters/{rater}")
            assert record["comparisons"] == len(store.comparisons(rater))
    finally:
        restarted.stop()
