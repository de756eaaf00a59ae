"""The job page's Deploy data (``/api/sessions/<id>/deployment``, ``/api/v1/jobs/<id>/deployment``) against real
exports: the Modelfile shown is the one in the archive, and the commands unpack to where it points."""
from __future__ import annotations

import io
import tarfile

import pytest

from tests.export_fixtures import register_session
from tests.routes.test_exports_api import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.db]


@pytest.fixture
def session_id(app, trained_session_dir, tiny_model_dir):
    app.config["OLLAMA_TAGS_SETTING"] = f"{tiny_model_dir}=tiny:test"
    return register_session(app, trained_session_dir, tiny_model_dir, "deploy1")


def option(body, fmt):
    return next(o for o in body["options"] if o["format"] == fmt)


def test_adapter_route_from_prepare_to_the_archive_ollama_reads(client, session_id):
    before = client.get(f"/api/sessions/{session_id}/deployment").get_json()
    assert [o["format"] for o in before["options"]] == ["adapter", "gguf"] and not before["token_required"]
    adapter = option(before, "adapter")
    assert adapter["available"] and adapter["export"] is None and adapter["modelfile"] is None
    assert adapter["create"] == {"session_id": session_id, "format": "adapter"}

    created = client.post("/api/exports/create", json=adapter["create"])
    assert created.status_code == 201, created.get_json()
    export_id = created.get_json()["export"]["id"]
    assert wait_for(client, export_id)["status"] == "completed"

    after = client.get(f"/api/v1/jobs/{session_id}/deployment").get_json()
    adapter = option(after, "adapter")
    modelfile = adapter["modelfile"]
    assert modelfile.startswith("FROM tiny:test\nADAPTER ./tiny-deploy1-lora-F16.gguf\n")
    folder = f"{session_id}-{export_id}"
    assert adapter["folder"] == folder
    assert adapter["commands"] == [
        f"curl -fL -o {folder}.tar.gz http://localhost/api/exports/{export_id}/download",
        f"tar -xzf {folder}.tar.gz && cd {folder}", "ollama pull tiny:test",
        "ollama create tiny-deploy1 -f Modelfile", "ollama run tiny-deploy1"]
    assert "adapters" in adapter["lmstudio"]["note"]

    archive = client.get(f"/api/exports/{export_id}/download")
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        assert tar.extractfile(f"{folder}/Modelfile").read().decode() == modelfile
        assert f"{folder}/tiny-deploy1-lora-F16.gguf" in tar.getnames()  # where ADAPTER ./… points


def test_gguf_route_and_the_token_in_commands(app, client, session_id):
    created = client.post("/api/exports/create", json=option(
        client.get(f"/api/sessions/{session_id}/deployment").get_json(), "gguf")["create"] | {"quantization": "Q8_0"})
    assert wait_for(client, created.get_json()["export"]["id"], timeout=300)["status"] == "completed"
    app.config["ACCESS_TOKEN"] = "t0ken"
    body = client.get(f"/api/sessions/{session_id}/deployment", headers={"Authorization": "Bearer t0ken"}).get_json()
    gguf = option(body, "gguf")
    name = gguf["export"]["files"][0]
    assert body["token_required"] and '-H "Authorization: Bearer $TUNEWRIGHT_TOKEN"' in gguf["commands"][0]
    assert gguf["modelfile"].startswith(f"FROM ./{name}\n") and gguf["commands"][-1] == "ollama run tiny-deploy1"
    assert gguf["lmstudio"]["commands"][-1] == f"lms import {name}"
    assert gguf["lmstudio"]["by_hand"][-1].startswith(f"cp {name} ~/.lmstudio/models/tunewright/")
    assert "lms import" in gguf["lmstudio"]["steps"]


def test_unfinished_unknown_and_unmatched_sessions(app, client, session_id, tiny_model_dir):
    from extensions import db
    from services.models.training import TrainingSession

    assert client.get("/api/sessions/nope/deployment").status_code == 404
    assert client.get("/api/v1/jobs/nope/deployment").status_code == 404
    app.config["OLLAMA_TAGS_SETTING"] = ""
    adapter = option(client.get(f"/api/sessions/{session_id}/deployment").get_json(), "adapter")
    assert not adapter["available"] and "TUNEWRIGHT_OLLAMA_TAGS" in adapter["reason"]
    with app.app_context():
        db.session.get(TrainingSession, session_id).status = "running"
        db.session.commit()
    body = client.get(f"/api/sessions/{session_id}/deployment").get_json()
    assert body["options"] == [] and "running" in body["reason"]
    page = client.get(f"/sessions/{session_id}")
    assert page.status_code == 200 and b"Deploy" in page.data and b"session_detail.js" in page.data
    assert client.get("/sessions/nope").status_code == 404
