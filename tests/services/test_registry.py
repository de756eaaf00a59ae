"""The model registry over HTTP: registration (a real QLoRA run, and by hand), digest idempotency, aliases,
archive and delete rules, downloads, and what deleting a session does to its versions."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.dataset_fixtures import jsonl_bytes, upload_and_process
from tests.registry_fixtures import make_version
from tests.routes.test_jobs_api import wait_job
from tests.training_helpers import arithmetic_rows

pytestmark = pytest.mark.db


def test_a_completed_qlora_job_registers_its_adapter(client, tiny_model_dir):
    dataset = upload_and_process(client, "sums.jsonl", jsonl_bytes(arithmetic_rows(8)))
    job = client.post("/api/v1/jobs/", json={"name": "Sums QLoRA", "training_type": "qlora", "epochs": 1,
                                              "model_name": str(tiny_model_dir), "dataset_id": dataset["id"],
                                              "batch_size": 4}).json
    status = wait_job(client, job["id"])
    assert status["status"] == "completed", status["error"]
    [model] = client.get("/api/registry/models").json["models"]
    assert model["name"] == "sums-qlora"
    [version] = model["versions"]
    assert (version["version"], version["type"], version["framework"], version["method"]) == \
        (1, "lora_adapter", "peft", "qlora")
    assert version["base_model"] == str(tiny_model_dir) and version["status"] == "ready"
    assert version["size_bytes"] == sum(f["size"] for f in version["files"]) > 0
    assert version["lineage"]["config_hash"].startswith("sha256:") and version["lineage"]["reward"]
    # Registering the same run again returns that version: the digest is the key.
    again = client.post("/api/registry/register", json={"session_id": job["id"], "name": "another-name"})
    assert again.status_code == 200 and again.json["created"] is False
    assert again.json["version"]["digest"] == version["digest"] and again.json["version"]["ref"] == "sums-qlora:v1"


def test_identical_weights_are_one_version_and_new_weights_a_new_number(app, client):
    first = make_version(app, None, "demo", content=b"same weights" * 100)
    second = make_version(app, None, "demo", content=b"same weights" * 100)  # another session, same bytes
    assert second["version"] == first["version"] == "1"
    third = make_version(app, None, "demo", content=b"other weights" * 100)
    assert third["version"] == "2"
    versions = client.get("/api/registry/models/demo").json["versions"]
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["digest"] != versions[1]["digest"]


def test_register_by_hand_needs_a_completed_run_of_ones_own(client, app):
    for body, status in (({}, 400), ({"session_id": "x", "export_id": "y"}, 400), ({"session_id": "nope"}, 404),
                         ({"export_id": "nope"}, 404), ({"session_id": "x", "name": "Bad Name!"}, 400)):
        response = client.post("/api/registry/register", json=body)
        assert response.status_code == status and response.json["error"], body


def test_aliases_point_at_one_version_and_move(app, client):
    make_version(app, None, "demo")
    make_version(app, None, "demo")
    response = client.put("/api/registry/models/demo/aliases/production", json={"version": 1})
    assert response.status_code == 200 and response.json["version"]["aliases"] == ["production"]
    assert client.get("/api/registry/models/demo").json["aliases"] == {"production": 1}
    client.put("/api/registry/models/demo/aliases/production", json={"version": 2})
    model = client.get("/api/registry/models/demo").json
    assert model["aliases"] == {"production": 2}
    assert [v["aliases"] for v in model["versions"]] == [[], ["production"]]
    with app.test_request_context():
        from services.registry import get_registry

        assert get_registry().resolve("demo@production").version == 2
        assert get_registry().resolve("demo:v1").version == 1 and get_registry().resolve("demo").version == 2
    for alias, body, status in (("production", {"version": 9}, 404), ("Bad Alias", {"version": 1}, 400),
                                ("v3", {"version": 1}, 400), ("production", {}, 400)):
        assert client.put(f"/api/registry/models/demo/aliases/{alias}", json=body).status_code == status
    assert client.delete("/api/registry/models/demo/aliases/production").status_code == 200
    assert client.get("/api/registry/models/demo").json["aliases"] == {}


def test_archive_delete_and_download_rules(app, client, tmp_path):
    kwargs = make_version(app, None, "demo")
    url = "/api/registry/models/demo/versions/1"
    folder = Path(app.config["OUTPUT_FOLDER"]) / kwargs["session_id"] / "adapter"
    assert folder.is_dir()

    response = client.get(f"{url}/download")
    assert response.status_code == 200 and response.mimetype == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.get_data()), mode="r:gz") as tar:
        assert {"demo-v1/adapter_config.json", "demo-v1/adapter_model.safetensors"} <= set(tar.getnames())

    assert client.post(f"{url}/archive").json["version"]["status"] == "archived"
    assert client.get("/api/registry/models?status=archived").json["models"][0]["name"] == "demo"
    assert client.get("/api/registry/models?status=ready").json["models"] == []
    assert client.post(f"{url}/archive", json={"archived": False}).json["version"]["status"] == "ready"
    # Only a JSON boolean: the string "false" would archive (it is not False), so it is refused instead.
    refused = client.post(f"{url}/archive", json={"archived": "false"})
    assert refused.status_code == 400 and refused.json["details"][0]["path"] == "archived"
    assert client.get(url).json["status"] == "ready"

    from services.registry import get_registry
    from services.registry.status import VersionStatus

    with app.test_request_context():  # a deployed version cannot be archived or deleted
        get_registry().set_status(get_registry().version("demo", 1), VersionStatus.DEPLOYED)
    assert client.post(f"{url}/archive").status_code == 409
    response = client.delete(url)
    assert response.status_code == 409 and "undeploy" in response.json["error"]
    with app.test_request_context():
        get_registry().set_status(get_registry().version("demo", 1), VersionStatus.READY)

    assert client.delete(url).status_code == 200
    assert not folder.exists() and client.get(url).status_code == 404
    assert client.get("/api/registry/models/demo").status_code == 404  # its only version: the model goes too


def test_delete_never_removes_files_outside_the_data_folders(app, client, tmp_path):
    make_version(app, None, "demo")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "model.safetensors").write_bytes(b"keep me")
    with app.test_request_context():
        from extensions import db
        from services.registry import get_registry

        row = get_registry().version("demo", 1)
        row.path = str(outside)
        db.session.commit()
    assert client.get("/api/registry/models/demo/versions/1/download").status_code == 409
    assert client.delete("/api/registry/models/demo/versions/1").status_code == 200
    assert (outside / "model.safetensors").read_bytes() == b"keep me"


def test_deleting_a_session_removes_its_versions_but_not_while_deployed(app, client):
    kwargs = make_version(app, None, "demo")
    with app.test_request_context():
        from services.registry import get_registry
        from services.registry.status import VersionStatus

        get_registry().set_status(get_registry().version("demo", 1), VersionStatus.DEPLOYED)
    response = client.delete(f"/api/training/sessions/{kwargs['session_id']}")
    assert response.status_code == 409 and "demo:v1" in response.json["error"]
    with app.test_request_context():
        get_registry().set_status(get_registry().version("demo", 1), VersionStatus.READY)
    assert client.delete(f"/api/training/sessions/{kwargs['session_id']}").status_code == 200
    assert client.get("/api/registry/models").json["models"] == []
