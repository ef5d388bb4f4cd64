"""The real server over HTTP: scoring, OpenRLHF's /get_reward, feedback, auth, delete,
idempotency, limits."""

from __future__ import annotations

import time

import json

import numpy as np
import pytest

from pluralist.models import RaterProfile

from .conftest import comparisons_for, local_scorer

PROMPT = "How do I sleep better?"
RESPONSES = ["Keep a regular bedtime.", "Well, it depends; here is a long list: 1. dark room 2. no screens",
             "lol just sleep", "Try a warm shower an hour before bed."]


@pytest.fixture(scope="module")
def scorer(model_dir):
    return local_scorer(model_dir)


def expected(scorer, prompt, responses, rater, profile=None):
    vectors = scorer.batcher.embed(scorer.texts_for(prompt, responses))
    n = len(responses)
    return scorer.rewards(vectors[:n], np.repeat(vectors[n:], n, axis=0), rater, profile)


def test_score_gives_each_rater_its_own_rewards_best_first(server, scorer):
    seen = scorer.model.raters[0]
    answer = server.client().call("POST", "/v1/score", {"prompt": PROMPT, "responses": RESPONSES,
                                                        "rater": seen})
    rewards, source = expected(scorer, PROMPT, RESPONSES, seen)
    assert answer["source"] == source == "seen rater"
    assert answer["rewards"] == pytest.approx(rewards, abs=1e-5)
    assert [r["index"] for r in answer["ranking"]] == list(np.argsort(rewards)[::-1])
    assert answer["model"] == scorer.model_id and answer["encoder"] == "hashing-v1:32"
    population = server.client().call("POST", "/v1/score", {"prompt": PROMPT, "responses": RESPONSES,
                                                            "rater": "nobody-knows-me"})
    assert population["source"] == "population"
    assert population["rewards"] == pytest.approx(expected(scorer, PROMPT, RESPONSES, None)[0], abs=1e-5)
    assert population["rewards"] != pytest.approx(answer["rewards"], abs=1e-3)


def test_get_reward_speaks_openrlhf(server, scorer):
    seen = scorer.model.raters[1]
    labels = [seen, json.dumps({"rater": seen}), {"user_id": seen}, None]
    body = {"query": [PROMPT + r for r in RESPONSES], "prompts": [PROMPT] * 4, "labels": labels}
    answer = server.client().call("POST", "/get_reward", body)
    assert set(answer) == {"rewards", "scores", "extra_logs"}
    as_seen = expected(scorer, PROMPT, RESPONSES, seen)[0]
    as_population = expected(scorer, PROMPT, RESPONSES, None)[0]
    assert answer["rewards"] == pytest.approx(as_seen[:3] + as_population[3:], abs=1e-5)
    assert answer["scores"] == answer["rewards"]
    assert answer["extra_logs"]["personalised"] == [1.0, 1.0, 1.0, 0.0]
    status, detail = server.client().request("POST", "/get_reward", {"query": ["a"], "prompts": ["a", "b"]})
    assert status == 422 and "prompts" in detail["detail"]


def test_feedback_refits_the_profile_and_scoring_uses_it(server, scorer):
    rows = comparisons_for("fb", 12)
    client = server.client()
    written = client.call("POST", "/v1/raters/new-person/comparisons", {"comparisons": rows[:6]})
    assert written["stored"] == 6 and written["comparisons"] == 6 and not written["replayed"]
    written = client.call("POST", "/v1/raters/new-person/comparisons", {"comparisons": rows[6:]})
    assert written["comparisons"] == 12
    from pluralist.serve.storage import Comparison

    refit = scorer.refit([Comparison(r["prompt"], r["chosen"], r["rejected"]) for r in rows])
    assert written["profile"]["values"]["theta"] == pytest.approx(refit["values"]["theta"], abs=1e-6)
    profile = RaterProfile(refit["family"], refit["values"], refit["comparisons"])
    answer = client.call("POST", "/v1/score", {"prompt": PROMPT, "responses": RESPONSES,
                                               "rater": "new-person"})
    assert answer["source"] == "adapted profile"
    assert answer["rewards"] == pytest.approx(expected(scorer, PROMPT, RESPONSES, None, profile)[0], abs=1e-5)
    stored = client.call("GET", "/v1/raters/new-person")
    assert stored["comparisons"] == 12 and stored["updated"] == written["updated"]
    assert stored["profile"]["values"] == written["profile"]["values"]


def test_a_profile_in_the_request_is_used_and_checked(server, scorer):
    theta = [0.5, -0.5, 0.25, 0.0]
    body = {"prompt": PROMPT, "responses": RESPONSES,
            "profile": {"family": "lowrank", "values": {"theta": theta}}}
    answer = server.client().call("POST", "/v1/score", body)
    profile = RaterProfile("lowrank", {"theta": theta})
    assert answer["source"] == "adapted profile"
    assert answer["rewards"] == pytest.approx(expected(scorer, PROMPT, RESPONSES, None, profile)[0], abs=1e-5)
    body["profile"]["values"]["theta"] = [1.0]
    status, detail = server.client().request("POST", "/v1/score", body)
    assert status == 422 and "values.theta" in detail["detail"]


def test_writes_and_deletes_need_the_key(server):
    body = {"comparisons": comparisons_for("auth", 1)}
    status, detail = server.client(api_key=None).request("POST", "/v1/raters/x/comparisons", body)
    assert status == 401 and "API key" in detail["detail"]
    assert server.client(api_key="wrong-key-wrong-key").request("POST", "/v1/raters/x/comparisons",
                                                                body)[0] == 403
    assert server.client(api_key=None).request("DELETE", "/v1/raters/x")[0] == 401
    assert server.client(api_key="wrong-key-wrong-key").request("DELETE", "/v1/raters/x")[0] == 403
    assert server.client().request("GET", "/v1/raters/x")[0] == 404   # nothing was written
    assert "test-key" not in server.log_text() and "auth" not in server.log_text()


def test_delete_removes_a_persons_comparisons_and_profile(server):
    client = server.client()
    client.call("POST", "/v1/raters/leaver/comparisons", {"comparisons": comparisons_for("leaver", 3)})
    assert client.call("DELETE", "/v1/raters/leaver") == {"rater": "leaver", "deleted_comparisons": 3}
    assert client.request("GET", "/v1/raters/leaver")[0] == 404
    answer = client.call("POST", "/v1/score", {"prompt": PROMPT, "responses": RESPONSES, "rater": "leaver"})
    assert answer["source"] == "population"


def test_an_idempotency_key_stores_a_retry_once(server):
    client, body = server.client(), {"comparisons": comparisons_for("idem", 2)}
    headers = {"Idempotency-Key": "retry-1"}
    first = client.call("POST", "/v1/raters/retrier/comparisons", body, headers=headers)
    again = client.call("POST", "/v1/raters/retrier/comparisons", body, headers=headers)
    assert again["replayed"] and not first["replayed"]
    assert again["comparisons"] == first["comparisons"] == 2
    assert client.call("GET", "/v1/raters/retrier")["comparisons"] == 2
    other = {"comparisons": comparisons_for("other", 1)}
    status, detail = client.request("POST", "/v1/raters/retrier/comparisons", other, headers=headers)
    assert status == 409 and "Idempotency-Key" in detail["detail"]


def test_limits_and_malformed_bodies(server):
    client = server.client()
    big = {"prompt": "x", "responses": ["y" * 1_000_000] * 5}
    assert client.request("POST", "/v1/score", big)[0] == 413
    status, detail = client.request("POST", "/v1/score", {"responses": ["a"] * 65})
    assert status == 422 and detail["detail"][0]["field"] == "body.responses"
    status, detail = client.request("POST", "/v1/score", {"responses": ["a", 3]})
    assert status == 422 and detail["detail"][0]["field"] == "body.responses.1"
    status, detail = client.request("POST", "/v1/raters/r/comparisons",
                                    {"comparisons": [{"chosen": "a", "rejected": "b", "tie": "yes"}]})
    assert status == 422 and detail["detail"][0]["field"] == "body.comparisons.0.tie"
    assert client.request("POST", "/v1/score", raw=b'{"responses": [')[0] == 422
    assert client.request("POST", "/v1/score", raw=b'\xff\xfe')[0] == 422
    for path in ("/v1/score", "/get_reward", "/v1/raters/r/comparisons"):
        for raw in (b"null", b"[]", b'"text"', b"1e999", b'{"responses": {"a": 1}}', b"NaN", b""):
            status, _ = client.request("POST", path, raw=raw)
            assert status == 422, (path, raw, status)
    assert client.request("GET", "/healthz")[0] == 200


def test_a_read_only_server_refuses_writes_and_a_writable_one_needs_a_key(model_dir, tmp_path):
    import subprocess
    import sys

    from .conftest import ROOT, Server

    refused = subprocess.run([sys.executable, "-m", "pluralist.cli", "serve", str(model_dir),
                              "--db", str(tmp_path / "x.db")], capture_output=True, text=True,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert refused.returncode == 2 and "--read-only" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "x.db").exists()
    server = Server(model_dir, tmp_path / "ro.db", "--read-only").start()
    try:
        body = {"comparisons": comparisons_for("ro", 1)}
        status, detail = server.client().request("POST", "/v1/raters/x/comparisons", body)
        assert status == 403 and "read-only" in detail["detail"]
        assert server.client().call("POST", "/v1/score", {"responses": ["a"]})["source"] == "population"
    finally:
        server.stop()


def test_each_request_is_logged_in_one_line_and_cors_is_closed(server):
    import http.client

    client = server.client(api_key=None)
    client.request("POST", "/v1/raters/logged/comparisons", {"comparisons": comparisons_for("log", 1)})
    deadline, lines = time.monotonic() + 10, []
    while not lines and time.monotonic() < deadline:   # the server logs after it has answered
        lines = [line for line in server.log_text().splitlines() if "/v1/raters/logged/comparisons" in line]
        time.sleep(0.05)
    assert len(lines) == 1 and "POST /v1/raters/logged/comparisons 401 " in lines[0]
    assert lines[0].endswith("ms") and "chosen" not in lines[0]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("OPTIONS", "/v1/score", headers={"Origin": "http://elsewhere.example",
                                                  "Access-Control-Request-Method": "POST"})
    response = conn.getresponse()
    response.read()
    assert response.getheader("access-control-allow-origin") is None
    conn.close()
