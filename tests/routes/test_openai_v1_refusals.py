"""/v1 refuses a chat body that does not fit ``ChatRequest`` in OpenAI's error shape, with the field in ``param``
(the contract documents the body with that model; the deploy service validates with it, not the app's gate)."""
from __future__ import annotations

import pytest

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("body, param", [
    ({}, "model"),
    ({"model": "smol", "messages": []}, "messages"),
    ({"model": "smol", "messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ({"model": "smol", "messages": MESSAGES, "temperature": 3}, "temperature"),
    ({"model": "smol", "messages": MESSAGES, "stream": "sometimes"}, "stream"),
])
def test_a_body_that_does_not_fit_is_an_openai_error_naming_the_field(client, body, param):
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["message"].startswith(f"{param}: ")


@pytest.mark.parametrize("raw", [b"\x00", b'{"model": "smol", "messages": [], "temperature": NaN}', b"[" * 5000])
def test_a_body_flask_refuses_before_the_service_is_an_openai_error_too(client, raw):
    response = client.post("/v1/chat/completions", data=raw, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]


def test_the_document_names_the_models_the_deploy_service_uses(client):
    operation = client.get("/api/openapi.json").get_json()["paths"]["/v1/chat/completions"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatRequest"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OpenAIChatCompletion"}
    assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OpenAIErrorBody"}
