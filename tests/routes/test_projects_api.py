"""The projects JSON API on a real app and database: create, check, preview, start, delete, and the rules."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.dataset_fixtures import jsonl_bytes, upload_and_process

pytestmark = pytest.mark.db


@pytest.fixture
def test_config(test_config):
    """The model cache where `make model` prepared the embedded default (so a project can train on it)."""
    from tests.deploy_fixtures import prepared_smollm2

    prepared = prepared_smollm2()
    assert prepared is not None, "the embedded default is not prepared: `make test` prepares it first"
    return {**test_config, "MODEL_CACHE": str(prepared.parents[0])}

GENERAL_ROWS = [{"instruction": f"Name a colour number {i}.", "response": f"Colour {i} is blue."} for i in range(40)]


def general_dataset(client, rows=GENERAL_ROWS, name="general.jsonl") -> int:
    dataset = upload_and_process(client, name, jsonl_bytes(rows))
    assert dataset["status"] == "Ready", dataset
    return dataset["id"]


def body(model: str, general_id: int | None, **extra) -> dict:
    traits = [{"trait_type": "reasoning", "datasets": [{"source": "builtin:arithmetic", "percentage": 100}]}]
    if general_id is not None:
        traits.append({"trait_type": "general", "datasets": [{"dataset_id": general_id, "percentage": 100}]})
    return {"name": "mixed", "base_model": model, "training_type": "standard", "max_rows": 20, "traits": traits,
            **extra}


def test_create_list_get_patch_delete(client, tiny_model_dir, app):
    general = general_dataset(client)
    created = client.post("/api/projects", json=body(str(tiny_model_dir), general, description="two traits"))
    assert created.status_code == 201, created.json
    project = created.json["project"]
    assert project["status"] == "draft" and project["training_type"] == "standard"
    assert project["traits"][1]["datasets"][0]["dataset_id"] == general
    folder = Path(project["output_dir"])
    assert folder.is_dir() and folder.name == "mixed"
    assert Path(app.config["OUTPUT_FOLDER"]).resolve() in folder.parents

    assert [p["id"] for p in client.get("/api/projects").json["projects"]] == [project["id"]]
    patched = client.patch(f"/api/projects/{project['id']}", json={"max_rows": 30})
    assert patched.status_code == 200 and patched.json["project"]["max_rows"] == 30
    bad = client.patch(f"/api/projects/{project['id']}", json={"max_rows": 0})
    assert bad.status_code == 400 and bad.json["details"][0]["path"] == "max_rows"
    assert client.get(f"/api/projects/{project['id']}").json["project"]["max_rows"] == 30  # unchanged by the 400

    in_use = client.delete(f"/api/datasets/{general}")
    assert in_use.status_code == 409 and "project 'mixed'" in in_use.json["error"]
    assert client.delete(f"/api/projects/{project['id']}").status_code == 200
    assert client.get(f"/api/projects/{project['id']}").status_code == 404
    assert not folder.exists()  # it was empty: ours to remove
    assert client.delete(f"/api/datasets/{general}").status_code == 200


def test_every_problem_is_reported_at_once_and_nothing_is_stored(client, tiny_model_dir):
    general = general_dataset(client)
    data = body(str(tiny_model_dir), general)
    data["traits"][1]["datasets"] = [{"dataset_id": general, "percentage": 60},
                                     {"source": "builtin:arithmetic", "percentage": 39.9}]
    data["base_model"] = "/nowhere/model"
    data["config"] = {"method": "grpo", "training": {"learning_rate": -1}}
    response = client.post("/api/projects", json=data)
    assert response.status_code == 400
    found = {e["path"]: e["message"] for e in response.json["details"]}
    assert found["traits.1.datasets"] == "the general/tools percentages sum to 99.9, 0.1 short of 100"
    assert "used in reasoning and general/tools" in found["traits.1.datasets.1"]
    assert "No model folder" in found["base_model"]
    assert found["config.method"] == "is set by the project's training_type"
    checked = client.post("/api/projects/check", json=data).json
    assert checked["valid"] is False and {e["path"] for e in checked["errors"]} == set(found)
    assert client.get("/api/projects").json["projects"] == []


def test_check_judges_any_body_while_the_other_routes_refuse_one_that_does_not_fit(client, tiny_model_dir):
    """The wizard checks its body at every step, complete or not: /check answers 200 with the problems, where
    create, preview and PATCH answer 400 naming the field (the same ProjectBody rules)."""
    misshapen = {**body(str(tiny_model_dir), None), "max_rows": 0, "colour": "blue"}
    checked = client.post("/api/projects/check", json=misshapen)
    assert checked.status_code == 200 and checked.json["valid"] is False
    assert {e["path"] for e in checked.json["errors"]} == {"max_rows", "colour"}
    for url in ("/api/projects", "/api/projects/preview"):
        refused = client.post(url, json=misshapen)
        assert refused.status_code == 400 and {d["path"] for d in refused.json["details"]} == {"max_rows", "colour"}
    project = client.post("/api/projects", json=body(str(tiny_model_dir), None)).json["project"]
    for changes, path in (({"colour": "blue"}, "colour"), ({"traits": [{"trait_type": "humour", "datasets": []}]},
                                                             "traits.0.trait_type")):
        refused = client.patch(f"/api/projects/{project['id']}", json=changes)
        assert refused.status_code == 400 and refused.json["details"][0]["path"] == path
    refused = client.post(f"/api/projects/{project['id']}/start", json={"priority": "urgent"})
    assert refused.status_code == 400 and refused.json["details"][0]["path"] == "priority"
    assert client.get(f"/api/projects/{project['id']}").json["project"]["status"] == "draft"  # nothing started


def test_output_dir_outside_the_base_is_refused(client, tiny_model_dir, tmp_path):
    for requested in ("../elsewhere", str(tmp_path / "elsewhere"), "/etc"):
        response = client.post("/api/projects", json=body(str(tiny_model_dir), None, output_dir=requested))
        assert response.status_code == 400, requested
        assert [e["path"] for e in response.json["details"]] == ["output_dir"]
    assert not (tmp_path / "elsewhere").exists()


def test_preview_before_and_after_create(client, tiny_model_dir):
    general = general_dataset(client)
    data = body(str(tiny_model_dir), general, max_rows=20)
    preview = client.post("/api/projects/preview", json=data)
    assert preview.status_code == 200, preview.json
    plan = preview.json["preview"]
    rows = {s["key"]: s["rows"] for s in plan["sources"]}
    assert rows == {"builtin:arithmetic": 10, f"dataset:{general}": 10}
    assert plan["tokens_note"].startswith("Tokens counted with the tokenizer of"), plan["tokens_note"]
    assert all(s["share_of_tokens"] is not None for s in plan["sources"])
    project = client.post("/api/projects", json=data).json["project"]
    again = client.get(f"/api/projects/{project['id']}/preview").json["preview"]
    assert {s["key"]: s["rows"] for s in again["sources"]} == rows


def test_a_short_dataset_reports_its_shortfall(client, tiny_model_dir):
    general = general_dataset(client, GENERAL_ROWS[:6], name="short.jsonl")
    plan = client.post("/api/projects/preview", json=body(str(tiny_model_dir), general, max_rows=40)).json["preview"]
    short = next(s for s in plan["sources"] if s["key"] == f"dataset:{general}")
    assert short["shortfall"] > 0 and short["rows"] < short["requested_rows"]
    assert any("short" in w.lower() for w in plan["warnings"])


@pytest.mark.slow
def test_a_project_trains_on_the_embedded_default_with_per_trait_eval_and_validates(client, app):
    """Reasoning = the built-in arithmetic set, general = an uploaded file; SmolLM2-135M, LoRA, a few steps."""
    from core.default_model import DEFAULT_MODEL_ID

    general = general_dataset(client)
    data = body(DEFAULT_MODEL_ID, general, max_rows=16, mix={"eval_rows_per_trait": 4},
                config={"standard": {"full_finetune": False, "epochs": 1},
                        "model": {"lora_rank": 4, "lora_alpha": 8},
                        "training": {"batch_size": 4, "save_steps": 2, "cpu_autocast": "off"}})
    project = client.post("/api/projects", json=data).json["project"]
    assert client.get(f"/api/projects/{project['id']}/manifest").status_code == 409
    started = client.post(f"/api/projects/{project['id']}/start")
    assert started.status_code == 202, started.json
    session_id = started.json["project"]["session_id"]
    run_dir = Path(project["output_dir"]) / session_id
    manifest = client.get(f"/api/projects/{project['id']}/manifest").json["manifest"]
    assert (run_dir / "mix" / "train.jsonl").is_file()
    counts = {s["key"]: s["rows"] for s in manifest["sources"]}
    assert counts == {"builtin:arithmetic": 8, f"dataset:{general}": 8}
    assert client.patch(f"/api/projects/{project['id']}", json={"max_rows": 8}).status_code in (200, 409)

    deadline = time.monotonic() + 600
    while True:
        current = client.get(f"/api/projects/{project['id']}").json["project"]
        if current["status"] in ("completed", "failed") and (current["validation"] or current["status"] == "failed"):
            break
        assert time.monotonic() < deadline, current
        time.sleep(0.5)
    assert current["status"] == "completed", current["error"]
    detail = client.get(f"/api/training/sessions/{session_id}").json
    text = json.dumps(detail)
    assert "eval_reasoning_loss" in text and "eval_general_loss" in text
    assert current["validation"]["passed"] is True, current["validation"]
    assert Path(current["output_dir"]).resolve() in (run_dir / "standard_model").resolve().parents

    import hashlib

    from extensions import db
    from services.models.registry import ModelVersion

    with app.app_context():  # the registry's lineage names the frozen mix by its manifest's hash
        version = db.session.query(ModelVersion).filter_by(session_id=session_id).one()
        data = version.lineage["datasets"][0]
    assert data["source"] == f"project:{project['id']}"
    assert data["sha256"] == hashlib.sha256((run_dir / "mix" / "manifest.json").read_bytes()).hexdigest()
    assert data["sha256"] == current["manifest_sha256"]

    weights = run_dir / "standard_model" / "model.safetensors"
    weights.unlink()
    failed = client.post(f"/api/projects/{project['id']}/validate").json
    assert failed["passed"] is False
    assert any("model.safetensors" in c["detail"] for c in failed["checks"] if not c["passed"])


@pytest.mark.slow
def test_a_saved_config_naming_the_project_trains_on_its_latest_frozen_mix(client, tiny_model_dir, app):
    general = general_dataset(client)
    cheap = {"standard": {"full_finetune": False}, "training": {"batch_size": 4, "cpu_autocast": "off"}}
    project = client.post("/api/projects", json=body(str(tiny_model_dir), general, config=cheap)).json["project"]
    run_id = client.post(f"/api/projects/{project['id']}/start").json["project"]["session_id"]
    config = {**cheap, "method": "standard", "model": {"name": str(tiny_model_dir)},
              "dataset": {"source": f"project:{project['id']}"}}
    started = client.post("/api/training/start", json={"config": config})
    assert started.status_code == 201, started.json
    with app.app_context():
        from services.training import get_training_service

        service = get_training_service()
        job = service._job(service.get(started.json["session"]["id"]), "cpu")
    mix = Path(project["output_dir"]) / run_id / "mix"
    assert job["dataset"]["name"] == str(mix / "train.jsonl")
    assert job["eval_sets_file"] == str(mix / "eval.jsonl")
    listed = client.get("/api/sessions").json["sessions"]  # a Standard run names no GRPO variant
    assert len(listed) == 2 and all(row["method"] == "standard" and row["algorithm"] is None for row in listed)
