"""Fuzz against the server's own OpenAPI schema: bodies drawn from each operation's
request schema, with values of the wrong type and arbitrary JSON mixed in; bounded in
count. No answer may be a 5xx."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 60   # per operation

any_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                        | st.text(max_size=20),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=12)


def from_schema(schema: dict, components: dict, depth: int = 0):
    """Values the schema describes, and now and then arbitrary JSON in their place."""
    if "$ref" in schema:
        return from_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return st.one_of([from_schema(s, components, depth) for s in options])
    kind = schema.get("type")
    if depth > 4 or kind is None:
        return any_json
    if kind == "object":
        props = schema.get("properties", {})
        fields = {name: from_schema(sub, components, depth + 1) for name, sub in props.items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                     optional={k: v for k, v in fields.items() if k not in required})
    if kind == "array":
        items = from_schema(schema.get("items", {}), components, depth + 1)
        return st.lists(items, max_size=min(schema.get("maxItems", 6), 6) + 1)
    simple = {"string": st.text(max_size=40), "integer": st.integers(-2**70, 2**70),
              "number": st.floats(allow_nan=False) | st.integers(), "boolean": st.booleans(),
              "null": st.none()}
    return simple.get(kind, any_json)


def operations(spec: dict):
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            yield path, method.upper(), body


@pytest.fixture(scope="module")
def spec(server):
    status, document = server.client().request("GET", "/openapi.json")
    assert status == 200
    return document


def test_the_schema_lists_every_route(spec):
    found = {(path, method) for path, method, _ in operations(spec)}
    assert {("/v1/score", "POST"), ("/get_reward", "POST"), ("/v1/raters/{rater}/comparisons", "POST"),
            ("/v1/raters/{rater}", "GET"), ("/v1/raters/{rater}", "DELETE"), ("/healthz", "GET")} <= found


@pytest.mark.parametrize("index", range(7))
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_request_gets_a_5xx(server, spec, index, data):
    ops = sorted(operations(spec), key=lambda op: (op[0], op[1]))
    assert len(ops) == 7, ops   # one test per operation: a new route needs a larger range
    path, method, schema = ops[index]
    rater = data.draw(st.text(min_size=0, max_size=30), label="rater")
    url = path.replace("{rater}", quote(rater, safe=""))
    body = None
    if schema is not None:
        body = data.draw(from_schema(schema, spec["components"]["schemas"]) | any_json, label="body")
    status, answer = server.client().request(method, url, body)
    assert status < 500, (method, url, body, answer)
