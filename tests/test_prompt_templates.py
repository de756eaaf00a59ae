"""System prompt templates: the built-in GRPO default and user templates with custom markers, over the API."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.db

API = "/api/prompt-templates"
MARKERS = {"reasoning_start": "<think>", "reasoning_end": "</think>", "solution_start": "<answer>",
           "solution_end": "</answer>"}


def test_default_template_is_listed_and_read_only(client):
    templates = client.get(API).json["templates"]
    assert len(templates) == 1
    default = templates[0]
    assert default["id"] == "default" and default["builtin"] is True
    assert default["markers"] == {"reasoning_start": "<start_working_out>", "reasoning_end": "<end_working_out>",
                                  "solution_start": "<SOLUTION>", "solution_end": "</SOLUTION>"}
    for marker in default["markers"].values():
        assert marker in default["rendered_system_prompt"]
    assert client.patch(f"{API}/default", json={"name": "x"}).status_code == 400
    assert "cannot be changed" in client.delete(f"{API}/default").json["error"]


def test_create_edit_delete_a_template_with_custom_markers(client):
    created = client.post(API, json={"name": "Think tags", **MARKERS})
    assert created.status_code == 201
    template = created.json["template"]
    # No text given: the GRPO wording with placeholders, rendered with this template's markers.
    assert "{reasoning_start}" in template["system_prompt"]
    assert "<think>" in template["rendered_system_prompt"] and "<answer>" in template["rendered_system_prompt"]
    assert [t["name"] for t in client.get(API).json["templates"]] == ["GRPO default", "Think tags"]

    edited = client.patch(f"{API}/{template['id']}", json={"solution_start": "[[", "solution_end": "]]",
                                                          "system_prompt": "Answer in {solution_start}x{solution_end}."})
    assert edited.status_code == 200
    assert edited.json["template"]["rendered_system_prompt"] == "Answer in [[x]]."
    assert edited.json["template"]["markers"]["reasoning_start"] == "<think>"
    same_shape = client.patch(f"{API}/{template['id']}", json={"markers": {**MARKERS}})  # GET's shape accepted
    assert same_shape.json["template"]["rendered_system_prompt"] == "Answer in <answer>x</answer>."

    preview = client.post("/api/datasets/preview", json={"source": "builtin:arithmetic", "samples": 1,
                                                         "render": False, "template_id": template["id"]}).json
    assert preview["system_prompt"] == "Answer in <answer>x</answer>."

    assert client.delete(f"{API}/{template['id']}").json == {"deleted": str(template["id"])}
    assert client.get(f"{API}/{template['id']}").status_code == 404


@pytest.mark.parametrize("payload, fragment", [
    ({"name": "", **MARKERS}, "name must be 1 to 128 characters"),
    ({"name": "Same", **{**MARKERS, "reasoning_end": "<think>"}}, "must all differ"),
    ({"name": "Blank", **{**MARKERS, "solution_end": "  "}}, "solution end marker is empty"),
    ({"name": "Typed", "reasoning_start": 5}, "reasoning_start must be text"),
    ({"name": "Extra", "colour": "red"}, "Unknown field"),
])
def test_invalid_templates_are_refused_with_reasons(client, payload, fragment):
    response = client.post(API, json=payload)
    assert response.status_code == 400
    assert fragment in response.json["error"] + " ".join(response.json["details"])


def test_template_names_are_unique(client):
    assert client.post(API, json={"name": "Mine"}).status_code == 201
    duplicate = client.post(API, json={"name": "Mine"})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json["error"]
    assert client.post(API, json={"name": "grpo default"}).status_code == 409
