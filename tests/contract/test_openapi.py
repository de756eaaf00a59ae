"""The API contract: generated from the code, committed, complete, and enforced on requests.

``docs/openapi.json`` must equal what the code generates, so every change to the API shows up in review as a
change to that file. Regenerate it with ``python -m scripts.write_openapi``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from routes.contract import api, api_rules, build_spec, openapi_path

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_document_is_the_generated_one(app):
    generated = build_spec(app)
    committed = json.loads(COMMITTED.read_text())
    assert committed == generated, (
        "docs/openapi.json differs from the API the code declares: run `python -m scripts.write_openapi` and "
        "review the difference as a change of the contract.")


def test_every_api_view_is_declared(app):
    """A view without ``@api.validate`` would be in the document with no schema: every one is declared."""
    missing = sorted({rule.endpoint for rule in api_rules(app)
                      if api.get_function_metadata(app.view_functions[rule.endpoint]) is None})
    assert not missing, f"add @api.validate(...) (routes/contract.py) to: {missing}"


def test_every_operation_is_described(app):
    spec = build_spec(app)
    ids, problems = set(), []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation["operationId"] not in ids, f"{where}: operationId repeats"
            ids.add(operation["operationId"])
            if not operation["summary"] or operation["summary"].endswith(f"<{method.upper()}>"):
                problems.append(f"{where}: no docstring (its first line is the summary)")
            if not any(code.startswith("2") or code.startswith("3") for code in operation["responses"]):
                problems.append(f"{where}: no success response")
    assert not problems, "\n".join(problems)
    rules = {(rule.rule, m) for rule in api_rules(app) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert sum(len(ops) for ops in spec["paths"].values()) == len(rules)


def test_the_document_is_served_and_browsable(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"vendor/swagger-ui/swagger-ui-bundle.js" in page.data
    assert b"//cdn" not in page.data and b"unpkg" not in page.data
    for asset in ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css", "js/api_docs.js"):
        assert client.get(f"/static/{asset}").status_code == 200, asset


@pytest.mark.parametrize("body, where", [
    ({"config": {}, "priority": "urgent"}, "priority"),
    ({"config": [], "session_id": "x"}, "config"),
    ({"session_id": "y" * 65}, "session_id"),
])
def test_a_body_that_does_not_fit_is_a_400_naming_the_field(client, body, where):
    response = client.post("/api/training/start", json=body)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["error"].startswith("The request does not fit its schema")
    assert where in payload["error"]
    assert [d["path"] for d in payload["details"]] == [where]


def test_a_query_string_that_does_not_fit_is_a_400(client):
    response = client.get("/api/training/sessions/nope?max_points=1")
    assert response.status_code == 400
    assert response.get_json()["details"][0]["path"] == "max_points"


# -- the document names what the code reads ---------------------------------------------------------------------
def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _declares(spec: dict, node: dict, path: tuple) -> bool:
    """Whether a schema ``node`` lets a request carry something at ``path`` (0 stands for a list's items)."""
    node = _resolve(spec, node)
    if not path:
        return True
    options = node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", [])
    if options:
        return any(_declares(spec, option, path) for option in options)
    head, rest = path[0], path[1:]
    if head == 0:
        if node.get("type") not in ("array", None):
            return False
        return "items" not in node or _declares(spec, node["items"], rest)
    properties = node.get("properties")
    if properties and head in properties:
        return _declares(spec, properties[head], rest)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return _declares(spec, extra, rest)
    free = node.get("type") in ("object", None) and not properties and extra is not False
    return free or extra is True


@pytest.mark.slow
def test_every_field_a_route_reads_is_in_its_schema(app, client, monkeypatch):
    """The discovery pass of tests/test_api_fuzz.py notes every body key and query key a view reads; each must be
    declared by the operation's request body or query parameters, so the document is the whole contract."""
    from tests.test_api_fuzz import BASES, _api_rules, _discover, _known_rows, _url

    spec = build_spec(app)
    known = _known_rows(client)
    missing = []
    for method, rule, _ in _api_rules(app):
        if rule == "/api/docs":  # the HTML page
            continue
        operation = spec["paths"][openapi_path(rule)][method.lower()]
        body = operation.get("requestBody", {}).get("content", {})
        schemas = [content["schema"] for content in body.values()]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        form = {name for content in schemas for name in _resolve(spec, content).get("properties", {})}
        for field in sorted(_discover(app, client, monkeypatch, method, rule, _url(rule, known),
                                      BASES.get((method, rule), {})), key=repr):
            if field[0] == "?":
                if field[1] not in query | form:
                    missing.append(f"{method} {rule}: query ?{field[1]}")
            elif not any(_declares(spec, schema, field) for schema in schemas):
                missing.append(f"{method} {rule}: body {'.'.join(map(str, field))}")
    assert not missing, "declare these in the route's models (routes/schemas/):\n" + "\n".join(missing)
