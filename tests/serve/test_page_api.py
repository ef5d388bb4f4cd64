"""The page's API over HTTP: sessions scoped to one rater, answers only to asked
queries, double submits deduplicated, refusals (never a 500), static files."""

from __future__ import annotations

import pytest

from .conftest import KEY
from .page_fixtures import page_files, page_server, stored  # noqa: F401  (fixtures)


def session(server, rater=None, api_key=None):
    body = {} if rater is None else {"rater": rater}
    status, answer = server.client(api_key).request("POST", "/page/session", body)
    assert status == 200, answer
    return answer["rater"], {"Authorization": f"Bearer {answer['token']}"}


def ask(server, auth, skipped=()):
    status, query = server.client(None).request("POST", "/page/next", {"skipped": list(skipped)},
                                                headers=auth)
    assert status == 200, query
    return query


def answer(server, auth, ticket, outcome="a"):
    return server.client(None).request("POST", "/page/answer", {"query": ticket, "outcome": outcome},
                                       headers=auth)


def test_the_page_and_its_files_are_served(page_server):
    client = page_server.client(None)
    client.request("GET", "/healthz")
    conn = client._connection()
    for path, kind in [("/", "text/html"), ("/page/static/page.js", "text/javascript"),
                       ("/page/static/page.css", "text/css")]:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200 and response.getheader("content-type").startswith(kind)
        assert b"http://" not in body and b"https://" not in body     # nothing fetched from elsewhere
    assert client.request("GET", "/page/static/../app.py")[0] == 404
    assert client.request("GET", "/page/static/secret.txt")[0] == 404


def test_an_answer_is_stored_and_refits_the_profile(page_server):
    rater, auth = session(page_server)
    assert rater.startswith("person-")
    query = ask(page_server, auth)
    status, belief = answer(page_server, auth, query["query"], "b")
    assert status == 200 and belief["answered"] == 1 and not belief["replayed"]
    assert stored(page_server.db, rater) == [(query["prompt"], query["b"], query["a"], 0)]
    status, rater_doc = page_server.client().request("GET", f"/v1/raters/{rater}")
    assert rater_doc["comparisons"] == 1 and rater_doc["source"] == "adapted profile"
    assert ask(page_server, auth)["row"] != query["row"]      # an answered pair is not asked again


def test_a_double_submit_is_stored_once_and_a_changed_answer_refused(page_server):
    rater, auth = session(page_server)
    ticket = ask(page_server, auth)["query"]
    first, again = answer(page_server, auth, ticket), answer(page_server, auth, ticket)
    assert first[0] == again[0] == 200 and again[1]["replayed"] and again[1]["answered"] == 1
    status, refused = answer(page_server, auth, ticket, "tie")
    assert status == 409 and "answered already" in refused["detail"]
    assert len(stored(page_server.db, rater)) == 1


def test_answers_to_queries_never_asked_are_refused(page_server):
    rater, auth = session(page_server)
    other, other_auth = session(page_server)
    ticket = ask(page_server, other_auth)["query"]          # asked of someone else
    row, tag = ticket.split(".")
    for forged in (ticket, f"{int(row) + 1}.{tag}", "0.AAAA", "x", "", f"0{row}.{tag}", "9" * 40 + ".a"):
        status, refused = answer(page_server, auth, forged)
        assert status == 422, (forged, refused)
    assert answer(page_server, auth, ticket, "left")[0] == 422          # outcome a, b or tie
    assert stored(page_server.db, rater) == [] and stored(page_server.db, other) == []


def test_tokens_are_scoped_to_their_rater_and_forgeries_refused(page_server):
    rater, auth = session(page_server)
    answer(page_server, auth, ask(page_server, auth)["query"])
    token = auth["Authorization"].split()[1]
    prefix, encoded, tag = token.split(".")
    import base64
    victim = base64.urlsafe_b64encode(b"someone-else").decode().rstrip("=")
    for bad in (f"{prefix}.{victim}.{tag}", token[:-2] + "xx", KEY, "page1..", "nonsense"):
        for method, path, body in [("POST", "/page/next", {}), ("GET", "/page/me", None),
                                   ("DELETE", "/page/me", None)]:
            status, _ = page_server.client(None).request(method, path, body,
                                                         headers={"Authorization": f"Bearer {bad}"})
            assert status == 403, (bad, path, status)
    assert page_server.client(None).request("GET", "/page/me")[0] == 401
    # a page token is not an API key: the pipelines' write routes refuse it
    status, _ = page_server.client(None).request(
        "DELETE", f"/v1/raters/{rater}", headers=auth)
    assert status == 403 and len(stored(page_server.db, rater)) == 1


def test_an_id_with_answers_or_trained_on_cannot_be_claimed_without_the_key(page_server):
    rater, auth = session(page_server)
    answer(page_server, auth, ask(page_server, auth)["query"])
    status, refused = page_server.client(None).request("POST", "/page/session", {"rater": rater})
    assert status == 409 and "already has answers" in refused["detail"]
    assert page_server.client(None).request("POST", "/page/session", {"rater": "r0001"})[0] == 409
    assert session(page_server, "a-free-id")[0] == "a-free-id"
    assert session(page_server, rater, api_key=KEY)[0] == rater          # an administrator may
    wrong = page_server.client("wrong-key-0123456789").request("POST", "/page/session", {"rater": rater})
    assert wrong[0] == 409
    assert page_server.client(None).request("POST", "/page/session", {"rater": "a/b"})[0] == 422


def test_belief_delete_and_skips(page_server):
    rater, auth = session(page_server)
    query = ask(page_server, auth)
    assert ask(page_server, auth, skipped=[query["row"]])["row"] != query["row"]
    answer(page_server, auth, query["query"], "tie")
    status, belief = page_server.client(None).request("GET", "/page/me", headers=auth)
    assert belief["answers"] == [{"prompt": query["prompt"], "chosen": query["a"],
                                  "rejected": query["b"], "tie": True}]
    show = belief["showcase"]
    assert sorted(show["yours"]) == sorted(show["population"]) == list(range(len(show["responses"])))
    assert 0.5 <= belief["sureness"]["expected_accuracy"] <= 1.0
    status, done = page_server.client(None).request("DELETE", "/page/me", headers=auth)
    assert status == 200 and done["deleted_comparisons"] == 1 and stored(page_server.db, rater) == []
    assert page_server.client(None).request("GET", "/page/me", headers=auth)[1]["answered"] == 0


def test_bad_bodies_get_422_not_500(page_server):
    _, auth = session(page_server)
    for path, body in [("/page/next", {"skipped": ["1"]}), ("/page/next", {"skipped": 3}),
                       ("/page/answer", {"query": 5, "outcome": "a"}), ("/page/answer", {}),
                       ("/page/session", {"rater": 7}), ("/page/next", {"extra": 1})]:
        status, _ = page_server.client(None).request("POST", path, body, headers=auth)
        assert status == 422, (path, body, status)
    status, _ = page_server.client(None).request("POST", "/page/next", raw=b"{not json", headers=auth)
    assert status == 422
    assert ask(page_server, auth, skipped=[-1, 10**9])["query"]        # out-of-range skips ignored


def test_a_read_only_server_grants_no_session():
    from fastapi import HTTPException

    from pluralist.serve.page import PageService, SessionRequest

    for api_key in (None, KEY):
        with pytest.raises(HTTPException) as refused:
            PageService(None, None, api_key, read_only=True).grant(SessionRequest(), None)
        assert refused.value.status_code == 403 and "read-only" in refused.value.detail


def test_without_a_pool_the_questions_are_refused_with_the_option_named():
    from fastapi import HTTPException

    from pluralist.serve.page import PageService

    with pytest.raises(HTTPException) as refused:
        PageService(None, None, KEY, read_only=False).needs_pool()
    assert refused.value.status_code == 409 and "--pool" in refused.value.detail


def test_fuzzed_page_requests_never_get_a_5xx(page_server):
    """Bodies of arbitrary JSON and near-valid ones for every page route, with a valid
    session, a forged one and none; bounded in count."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    _, auth = session(page_server)
    ticket = ask(page_server, auth)["query"]
    leaf = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=30)
    anything = st.recursive(leaf, lambda inner: st.lists(inner, max_size=4)
                            | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
    near = st.fixed_dictionaries({}, optional={
        "query": st.just(ticket) | st.text(max_size=60) | anything, "outcome": st.sampled_from(
            ["a", "b", "tie", "A", ""]) | anything, "skipped": st.lists(leaf, max_size=5) | anything,
        "rater": st.text(max_size=40) | anything})
    headers = st.sampled_from([auth, {"Authorization": "Bearer page1.x.y"}, {}])
    routes = st.sampled_from([("POST", "/page/session"), ("POST", "/page/next"),
                              ("POST", "/page/answer"), ("GET", "/page/me"), ("GET", "/page/config")])

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(route=routes, body=near | anything, sent=headers)
    def check(route, body, sent):
        method, path = route
        status, answer = page_server.client(None).request(method, path, body, headers=sent)
        assert status < 500, (method, path, body, answer)

    check()


def test_tokens_hold_across_servers_sharing_a_key_and_fail_under_another():
    """The secret is derived from the API key: a restart (or a second server on the same
    store and key) accepts the sessions and tickets; another key refuses them."""
    from pluralist.serve.page_tokens import PageTokens

    issued, again, other = PageTokens(KEY), PageTokens(KEY), PageTokens(KEY + "x")
    token, ticket = issued.session("ana"), issued.ticket("ana", "pool1", 7)
    assert again.rater_of(token) == "ana" and other.rater_of(token) is None
    assert again.row_of(ticket, "ana", "pool1", 10) == 7
    assert other.row_of(ticket, "ana", "pool1", 10) is None
    assert again.row_of(ticket, "ana", "pool2", 10) is None          # another pool
    assert again.row_of(ticket, "ana", "pool1", 7) is None           # a row the pool lacks
    assert KEY not in token and issued.rater_of(KEY) is None


def test_the_api_asks_the_next_comparison_with_the_key_and_not_again_once_answered(page_server):
    assert page_server.client(None).request("POST", "/v1/raters/pipeline-1/next", {})[0] == 401
    assert page_server.client("wrong key, long enough").request(
        "POST", "/v1/raters/pipeline-1/next", {})[0] == 403
    first = page_server.client().call("POST", "/v1/raters/pipeline-1/next", {})
    assert first["prompt"] and first["a"] != first["b"]
    comparison = {"prompt": first["prompt"], "chosen": first["a"], "rejected": first["b"]}
    page_server.client().call("POST", "/v1/raters/pipeline-1/comparisons", {"comparisons": [comparison]})
    second = page_server.client().call("POST", "/v1/raters/pipeline-1/next", {})
    assert second["row"] != first["row"]        # the answered pair is not asked again
    skipped = page_server.client().call("POST", "/v1/raters/pipeline-1/next", {"skipped": [second["row"]]})
    assert skipped["row"] not in (first["row"], second["row"])
