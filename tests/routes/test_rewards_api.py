"""/api/rewards: presets, components, testing rewards on samples, recommendations, saved custom rewards."""
from __future__ import annotations

import os

import json

import pytest

from core.datasets.prompts import DEFAULT_MARKERS as M
from core.sandbox import isolation
from tests.dataset_fixtures import jsonl_bytes, upload_and_process

needs_sandbox = pytest.mark.skipif(not isolation().available and not os.environ.get("CI"),
                        reason=isolation().reason)  # CI must have the sandbox: fail there, never skip
CODE = "def reward(prompt, completion, **fields):\n    return 1.0 if fields.get('answer') in completion else 0.0\n"


def test_presets_and_components_are_listed(client):
    presets = client.get("/api/rewards/presets").json["presets"]
    assert len(presets) >= 14 and {"math", "format", "code_generation"} <= {p["id"] for p in presets}
    math = next(p for p in presets if p["id"] == "math")
    assert [c["name"] for c in math["components"]] == ["format", "correctness"] and math["needs"] == ["answer"]
    body = client.get("/api/rewards/components").json
    regex = next(c for c in body["components"] if c["name"] == "regex_match")
    assert "pattern" in regex["params"]["properties"] and regex["summary"]
    assert body["sandbox"]["available"] == isolation().available


def test_a_preset_is_tested_on_samples(client):
    samples = [{"prompt": "1+1?", "completion": M.wrap("1+1=2", "2"), "fields": {"answer": "2"}},
               {"prompt": "1+1?", "completion": "3", "fields": {"answer": "2"}}]
    body = client.post("/api/rewards/test", json={"preset": "math", "samples": samples}).json
    good, bad = body["samples"]
    assert good["total"] == pytest.approx(1.5) and bad["total"] == 0.0
    assert [c["name"] for c in good["components"]] == ["format", "correctness"]
    assert "matches" in good["components"][1]["note"] and good["components"][0]["summary"]
    assert body["warnings"] == []


def test_test_warns_about_no_signal_and_missing_fields(client):
    samples = [{"prompt": "q", "completion": "a"}, {"prompt": "q", "completion": "b"}]
    body = client.post("/api/rewards/test", json={"preset": "math", "samples": samples}).json
    kinds = {w["kind"] for w in body["warnings"]}
    assert {"constant", "missing_field", "not_applicable"} <= kinds


def test_components_and_params_are_validated(client):
    response = client.post("/api/rewards/test", json={
        "components": [{"name": "length", "params": {"min": "many"}}, {"name": "nope"}],
        "samples": [{"completion": "x"}]})
    assert response.status_code == 400
    paths = {d["path"] for d in response.json["details"]}
    assert {"components.0.params.min", "components.1.name"} <= paths
    assert client.post("/api/rewards/test", json={"preset": "unknown", "samples": [{"completion": "x"}]}
                       ).status_code == 400


@pytest.mark.db
def test_custom_rewards_crud(client):
    created = client.post("/api/rewards/custom", json={
        "name": "Short and formatted", "kind": "components",
        "components": [{"name": "format", "weight": 1}, {"name": "length", "weight": 0.5,
                                                         "params": {"unit": "words", "max": 30}}]})
    assert created.status_code == 201, created.json
    reward = created.json["reward"]
    assert reward["metric"] == "short_and_formatted" and reward["components"][1]["params"]["max"] == 30
    assert client.post("/api/rewards/custom", json={"name": "Short and formatted", "kind": "components",
                                                    "components": [{"name": "format"}]}).status_code == 409
    patched = client.patch(f"/api/rewards/custom/{reward['id']}", json={"components": [{"name": "markdown"}]})
    assert patched.json["reward"]["components"][0]["name"] == "markdown"
    assert [r["name"] for r in client.get("/api/rewards/custom").json["rewards"]] == ["Short and formatted"]
    test = client.post("/api/rewards/test", json={"custom_id": reward["id"], "samples": [
        {"completion": "# Title\n\n- a\n- b"}, {"completion": "plain"}]}).json
    assert test["samples"][0]["total"] > test["samples"][1]["total"]
    bad = client.post("/api/rewards/custom", json={"name": "x", "kind": "code", "code": "def other(): pass"})
    assert bad.status_code == 400 and bad.json["details"][0]["path"] == "code"
    assert client.delete(f"/api/rewards/custom/{reward['id']}").status_code == 204
    assert client.get(f"/api/rewards/custom/{reward['id']}").status_code == 404


@needs_sandbox
@pytest.mark.db
def test_code_rewards_run_in_the_sandbox_with_errors_reported(client):
    samples = [{"completion": "the answer is 4", "fields": {"answer": "4"}},
               {"completion": "no idea", "fields": {"answer": "4"}}]
    body = client.post("/api/rewards/test", json={"code": CODE, "samples": samples}).json
    assert [s["total"] for s in body["samples"]] == [1.0, 0.0]
    broken = client.post("/api/rewards/test", json={
        "code": "def reward(prompt, completion, **fields):\n    return 1 / 0\n", "samples": samples}).json
    component = broken["samples"][0]["components"][0]
    assert component["score"] is None and "ZeroDivisionError" in component["note"]
    saved = client.post("/api/rewards/custom", json={"name": "contains answer", "kind": "code", "code": CODE})
    assert saved.status_code == 201
    again = client.post("/api/rewards/test", json={"custom_id": saved.json["reward"]["id"], "samples": samples})
    assert [s["total"] for s in again.json["samples"]] == [1.0, 0.0]


def test_code_rewards_are_refused_without_isolation(client, monkeypatch):
    monkeypatch.setenv("TUNEWRIGHT_SANDBOX", "off")
    isolation.cache_clear()
    try:
        response = client.post("/api/rewards/test", json={"code": CODE, "samples": [{"completion": "x"}]})
        assert response.status_code == 503
        assert "TUNEWRIGHT_SANDBOX" in response.json["error"]
    finally:
        monkeypatch.delenv("TUNEWRIGHT_SANDBOX")
        isolation.cache_clear()


def test_recommend_on_the_builtin_arithmetic_dataset(client):
    body = client.post("/api/rewards/recommend", json={"source": "builtin:arithmetic"}).json
    ranked = [r["preset_id"] for r in body["recommendations"]]
    assert ranked[0] == "math" and "numbers" in body["recommendations"][0]["reason"]
    assert body["rows_examined"] > 0


@pytest.mark.db
@pytest.mark.parametrize("rows, expected", [
    ([{"instruction": f"Write a function that returns {i}.", "output": f"```python\ndef f():\n    return {i}\n```"}
      for i in range(8)], "code_generation"),
    ([{"instruction": f"Summarise article {i}.", "output": "word " * 40} for i in range(8)], "summarization"),
    ([{"question": f"Capital of country {i}?", "answer": f"City{i}"} for i in range(8)], "question_answering"),
    ([{"instruction": "Explain sleep with a source.", "output": f"Sleep helps (Walker, 20{10 + i})."}
      for i in range(8)], "citation"),
])
def test_recommend_on_uploaded_datasets(client, rows, expected):
    dataset = upload_and_process(client, "rows.jsonl", jsonl_bytes(rows))
    body = client.post("/api/rewards/recommend", json={"dataset_id": dataset["id"]}).json
    assert body["recommendations"][0]["preset_id"] == expected, json.dumps(body, indent=1)
    assert client.post("/api/rewards/recommend", json={}).status_code == 400


@pytest.mark.db
def test_training_refuses_code_execution_without_isolation(client, monkeypatch):
    monkeypatch.setenv("TUNEWRIGHT_SANDBOX", "off")
    isolation.cache_clear()
    try:
        response = client.post("/api/training/start", json={"config": {"reward": {"type": "preset",
                                                                                   "preset_name": "programming"}}})
        assert response.status_code == 503 and "cannot run on this machine" in response.json["error"]
        assert client.get("/api/training/sessions").json["sessions"] == []
    finally:
        monkeypatch.delenv("TUNEWRIGHT_SANDBOX")
        isolation.cache_clear()


@pytest.mark.timeout(60)
def test_a_catastrophic_regex_answers_within_its_limit_while_other_requests_are_served(app):
    import threading
    import time

    body = {"components": [{"name": "regex_match", "params": {"pattern": "(a|aa)+$"}}],
            "samples": [{"completion": "a" * 60 + "b"}] * 3}
    answers, waits = [], []
    slow = threading.Thread(target=lambda: answers.append(app.test_client().post("/api/rewards/test", json=body)),
                            daemon=True)
    started = time.monotonic()
    slow.start()
    client = app.test_client()
    while slow.is_alive() and time.monotonic() - started < 30:
        before = time.monotonic()
        assert client.get("/api/rewards/presets").status_code == 200
        waits.append(time.monotonic() - before)
    slow.join(timeout=1)
    assert answers, "the regex test did not answer within 30 s"
    assert answers[0].status_code == 200
    for sample in answers[0].json["samples"]:
        assert sample["total"] == 0.0 and "longer than" in sample["components"][0]["note"]
    assert len(waits) >= 3 and max(waits) < 1.0  # answered while the pattern was running, never held up


@pytest.mark.parametrize("code", [
    "def reward(prompt, completion, **fields):\n    return " + "-" * 90_000 + "1\n",  # MemoryError in the parser
    "def reward(prompt, completion, **fields):\n    return " + "+".join(["1"] * 40_000) + "\n",  # RecursionError
    "def reward(prompt, completion, **fields):\n    return 1\x00\n",  # ValueError: NUL byte (the CLI's path)
])
def test_unparseable_reward_code_is_a_400(client, code):
    from services.errors import ServiceError
    from services.rewards.validation import check_code

    with pytest.raises(ServiceError) as refused:
        check_code(code)
    assert refused.value.status_code == 400 and refused.value.details[0]["path"] == "code"
    if "\x00" in code:
        return  # JSON bodies with NUL characters are refused before any service sees them
    created = client.post("/api/rewards/custom", json={"name": "deep", "kind": "code", "code": code})
    assert created.status_code == 400 and created.json["details"][0]["path"] == "code", created.json
    tested = client.post("/api/rewards/test", json={"code": code, "samples": [{"completion": "x"}]})
    assert tested.status_code == 400, tested.json


@pytest.mark.db
def test_ids_past_2_63_are_404_in_urls_and_400_in_bodies(client):
    for huge in (2**31, 2**63, 2**64, 10**30, int("9" * 40)):
        for method in ("get", "patch", "delete"):
            response = getattr(client, method)(f"/api/rewards/custom/{huge}", json={"name": "x"})
            assert response.status_code == 404, (method, huge, response.json)
        assert client.get(f"/api/models/evaluations/{huge}").status_code == 404
        assert client.get(f"/api/datasets/{huge}").status_code == 404
        tested = client.post("/api/rewards/test", json={"custom_id": huge, "samples": [{"completion": "x"}]})
        assert tested.status_code == 400 and tested.json["details"][0]["path"] == "custom_id", tested.json
        started = client.post("/api/training/start", json={"config": {"reward": {
            "type": "custom", "custom": [{"id": huge}]}}})
        assert started.status_code == 400, started.json
    # The largest id both databases store (PostgreSQL's INTEGER): no row, no error.
    assert client.get(f"/api/rewards/custom/{2**31 - 1}").status_code == 404
    assert client.post("/api/rewards/test", json={"custom_id": 2**31 - 1, "samples": [{"completion": "x"}]}
                       ).status_code == 404


def test_the_draft_refuses_a_custom_reward_id_past_the_largest_id(client):
    for huge in (2**31, 2**63):
        response = client.patch("/api/wizard/draft", json={"reward": {"custom": [{"id": huge}]}})
        assert response.status_code == 400 and response.json["details"][0]["path"] == "reward.custom.0.id", response.json
    assert client.patch("/api/wizard/draft", json={"reward": {"custom": [{"id": 2**31 - 1}]}}).status_code == 200


@pytest.mark.db
def test_reward_health_of_a_session_that_does_not_exist_is_a_404(client):
    for session_id in ("nope", "%00", "x" * 200):  # a NUL byte in a query is an error in PostgreSQL
        assert client.get(f"/api/rewards/health/{session_id}").status_code == 404
