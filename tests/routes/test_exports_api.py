"""The exports API against a real export child process: queue, cancel, manifest, downloads and their limits."""
from __future__ import annotations

import io
import tarfile
import time

import pytest

from tests.export_fixtures import register_session

pytestmark = [pytest.mark.slow, pytest.mark.db]


def wait_for(client, export_id, timeout=150):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/exports/{export_id}").get_json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"export {export_id} still {body['status']}")


@pytest.fixture
def session_id(app, trained_session_dir, tiny_model_dir):
    register_session(app, trained_session_dir, tiny_model_dir, "other")
    return register_session(app, trained_session_dir, tiny_model_dir, "trained1")


def test_adapter_export_queue_cancel_and_downloads(client, session_id):
    first = client.post("/api/exports/create", json={"session_id": session_id, "format": "adapter"})
    assert first.status_code == 201, first.get_json()
    second = client.post("/api/exports/create", json={"session_id": session_id, "format": "merged"})
    queued = second.get_json()["export"]
    assert queued["status"] == "queued"  # one export at a time: the second waits
    assert client.post(f"/api/exports/{queued['id']}/cancel").get_json()["export"]["status"] == "cancelled"

    done = wait_for(client, first.get_json()["export"]["id"])
    assert done["status"] == "completed", done
    manifest = done["manifest"]
    assert manifest["format"] == "adapter" and manifest["source_checkpoint"] == "adapter"
    assert manifest["base_model"] and manifest["created"] and manifest["size"] > 0
    export_id = done["id"]
    listed = client.get(f"/api/exports/list?session_id={session_id}").get_json()["exports"]
    assert {e["id"]: e["status"] for e in listed} == {export_id: "completed", queued["id"]: "cancelled"}

    response = client.get(f"/api/exports/{export_id}/download")
    assert response.status_code == 200 and response.mimetype == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.data), mode="r:gz") as tar:
        names = tar.getnames()
    prefix = f"{session_id}-{export_id}/"
    assert names[0] == prefix + "manifest.json"
    assert {prefix + f["name"] for f in manifest["files"]} <= set(names)

    one = client.get(f"/api/exports/{export_id}/download?file=adapter/adapter_config.json")
    assert one.status_code == 200 and b"lora" in one.data.lower()
    for bad in ("../../outputs/trained1/adapter/adapter_config.json", "/etc/passwd", "..",
                f"../../other/{export_id}/manifest.json", "adapter/../../x"):
        assert client.get(f"/api/exports/{export_id}/download", query_string={"file": bad}).status_code == 404, bad
    assert client.get(f"/api/exports/{export_id}/download?session_id=other").status_code == 404
    assert client.get("/api/exports/..%2F..%2Fetc/download").status_code == 404

    assert client.delete(f"/api/exports/{export_id}").status_code == 200
    assert client.get(f"/api/exports/{export_id}").status_code == 404


def test_create_validates_its_input(client, session_id):
    bad = client.post("/api/exports/create", json={"session_id": session_id, "format": "gguf", "quantization": "Q3"})
    assert bad.status_code == 400 and bad.get_json()["details"][0]["path"] == "quantization"
    assert client.post("/api/exports/create", json={"session_id": session_id, "format": "zip"}).status_code == 400
    assert client.post("/api/exports/create", json={"session_id": "nope", "format": "adapter"}).status_code == 404
    missing = client.post("/api/exports/create", json={"session_id": session_id, "format": "adapter",
                                                       "checkpoint": "checkpoints/grpo/checkpoint-99"})
    assert missing.status_code == 409
    assert client.get("/api/exports/formats").get_json()["quantizations"][-2:] == ["Q4_K_M", "Q4_0"]
