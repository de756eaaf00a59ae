"""Saved configs: round trip, validation with paths, names that try to leave configs/, import and export."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.db

PRESETS = ["grpo-math-cpu-demo", "grpo-math-qwen3-gsm8k", "sft-then-grpo-instructions", "gspo-gsm8k",
           "or-grpo-noisy-reward"]


def test_save_load_list_export_delete_round_trip(client, app):
    body = {"name": "math-small", "description": "fewer steps", "config": {"training": {"num_epochs": 2}}}
    response = client.post("/api/configs/save", json=body)
    assert response.status_code == 201, response.json
    path = Path(app.config["CONFIG_FOLDER"]) / "math-small.json"
    stored = json.loads(path.read_text())
    assert stored["training"]["num_epochs"] == 2 and stored["name"] == "math-small"
    assert path.read_text().startswith("{\n  ")  # pretty, for git diffs

    loaded = client.get("/api/configs/load?name=math-small").json
    assert loaded["config"] == stored

    listed = client.get("/api/configs/list").json["configs"]
    assert [c["name"] for c in listed[:len(PRESETS)]] == PRESETS  # shipped presets first
    assert all(c["read_only"] for c in listed[:len(PRESETS)])
    mine = next(c for c in listed if c["name"] == "math-small")
    assert mine["description"] == "fewer steps" and mine["method"] == "grpo" and not mine["read_only"]
    assert mine["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and mine["updated_at"]

    download = client.get("/api/configs/export?name=math-small")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.data) == stored

    assert client.delete("/api/configs/math-small").status_code == 200
    assert not path.exists()
    assert client.get("/api/configs/load?name=math-small").status_code == 404
    assert client.delete("/api/configs/math-small").status_code == 404


def test_overwrite_can_be_refused_and_presets_are_read_only(client):
    assert client.post("/api/configs/save", json={"name": "a", "config": {}}).status_code == 201
    response = client.post("/api/configs/save", json={"name": "a", "config": {}, "overwrite": False})
    assert response.status_code == 409
    assert client.post("/api/configs/save", json={"name": "gspo-gsm8k", "config": {}}).status_code == 409
    assert client.delete("/api/configs/gspo-gsm8k").status_code == 409
    assert client.get("/api/configs/load?name=gspo-gsm8k").json["config"]["grpo"]["algorithm"] == "gspo"


def test_a_saved_config_starts_by_name(client):
    client.post("/api/configs/save", json={"name": "by-name", "config": {"dataset": {"source": "builtin:nope"}}})
    response = client.post("/api/training/start", json={"config_name": "by-name"})
    assert response.status_code == 404 and "nope" in response.json["error"]  # the saved config was the one used
    assert client.post("/api/training/start", json={"config_name": "../by-name"}).status_code == 400


@pytest.mark.parametrize("name", ["../x", "..", "a/../../b", "/etc/passwd", "/tmp/x", "a\x00b", "x" * 101,
                                  "", ".hidden", "a b", "con fig.json", "x.json", "~/x", "a\\b", None, 5])
def test_names_that_could_leave_the_folder_are_refused(client, app, name):
    response = client.post("/api/configs/save", json={"name": name, "config": {}})
    assert response.status_code == 400, (name, response.json)
    if isinstance(name, str) and "\x00" in name:
        assert "NUL" in response.json["error"]  # the JSON layer refuses NUL characters before the service
    else:
        detail = response.json["details"][0]
        assert detail["path"] == "name" and detail["hint"].startswith("Try ")
    assert list(Path(app.config["CONFIG_FOLDER"]).iterdir()) == []
    if isinstance(name, str) and name:
        assert client.get("/api/configs/load", query_string={"name": name}).status_code in (400, 404)


def test_traversal_in_the_url_never_reaches_a_file_outside(client, app, tmp_path):
    outside = Path(app.config["CONFIG_FOLDER"]).parent / "secret.json"
    outside.write_text("{}")
    assert client.get("/api/configs/load", query_string={"name": "../secret"}).status_code == 400
    assert client.get("/api/configs/export", query_string={"name": "../secret"}).status_code == 400
    assert client.delete("/api/configs/..%2Fsecret").status_code in (400, 404)
    assert outside.exists()


def test_invalid_posted_config_reports_every_problem_with_its_path(client):
    response = client.post("/api/configs/save", json={"name": "bad", "config": {
        "training": {"batch_size": -1, "learning_rate": 0}, "grpo": {"old_knob": True}}})
    assert response.status_code == 400
    paths = {d["path"] for d in response.json["details"]}
    assert {"training.batch_size", "training.learning_rate", "grpo.old_knob"} <= paths
    assert "3 problems" in response.json["error"]


def test_an_old_or_hand_edited_file_is_validated_on_load(client, app):
    folder = Path(app.config["CONFIG_FOLDER"])
    (folder / "old.json").write_text(json.dumps({"name": "old", "training": {"num_epochs": 1, "use_vllm": True},
                                                 "lora": {"r": 8}}))
    (folder / "broken.json").write_text("{not json")
    response = client.get("/api/configs/load?name=old")
    assert response.status_code == 400
    problems = {d["path"]: d for d in response.json["details"]}
    assert set(problems) == {"training.use_vllm", "lora"}  # unknown keys reported, not dropped
    assert "Remove this key" in problems["lora"]["hint"]
    broken = client.get("/api/configs/load?name=broken")
    assert broken.status_code == 400 and "not valid JSON" in broken.json["error"]
    listed = {c["name"]: c for c in client.get("/api/configs/list").json["configs"]}
    assert listed["broken"]["readable"] is False and listed["old"]["readable"] is True  # hand-copied files show


YAML = """\
# a config kept in git
name: from-yaml
model:
  lora_rank: 8
  lora_alpha: 16
training:
  num_epochs: 2
  learning_rate: 5.0e-5
grpo:
  algorithm: or_grpo
"""


def test_yaml_and_json_import(client, app):
    response = client.post("/api/configs/import", data={"file": (io.BytesIO(YAML.encode()), "mine.yaml")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    assert response.json["config"]["name"] == "from-yaml"
    stored = json.loads((Path(app.config["CONFIG_FOLDER"]) / "from-yaml.json").read_text())
    assert stored["model"]["lora_rank"] == 8 and stored["training"]["learning_rate"] == 5e-5
    assert stored["grpo"]["algorithm"] == "or_grpo"

    again = client.post("/api/configs/import", data={"file": (io.BytesIO(YAML.encode()), "mine.yml")},
                        content_type="multipart/form-data")
    assert again.status_code == 409  # imports never overwrite unless asked

    body = json.dumps({"training": {"num_epochs": 3}}).encode()
    named = client.post("/api/configs/import", data={"file": (io.BytesIO(body), "x.json"), "name": "renamed"},
                        content_type="multipart/form-data")
    assert named.status_code == 201 and named.json["config"]["name"] == "renamed"


@pytest.mark.parametrize("filename, content, status, text", [
    ("bad.yaml", b"training: [unclosed", 400, "not valid YAML"),
    ("bad.yaml", b"!!python/object/apply:os.system ['echo hi']", 400, "not valid YAML"),  # safe loader only
    ("bad.json", b"{", 400, "not valid JSON"),
    ("bad.txt", b"{}", 400, ".json, .yaml or .yml"),
    ("bad.yaml", b"training:\n  batch_size: 0\n", 400, "problem"),
    ("bad.yaml", b"- a list\n", 400, "problem"),
    ("bad.json", b"\xff\xfe", 400, "UTF-8"),
    ("x.json", b'{"name": "../../evil"}', 201, ""),  # a bad inner name falls back to the file's stem
])
def test_invalid_imports_are_refused_with_a_reason(client, app, filename, content, status, text):
    response = client.post("/api/configs/import", data={"file": (io.BytesIO(content), filename)},
                           content_type="multipart/form-data")
    assert response.status_code == status, response.json
    if status == 201:
        assert [p.name for p in Path(app.config["CONFIG_FOLDER"]).iterdir()] == ["x.json"]
        return
    assert text in response.json["error"]
    assert list(Path(app.config["CONFIG_FOLDER"]).iterdir()) == []


def test_an_uploaded_file_name_with_folders_stays_inside(client, app):
    response = client.post("/api/configs/import", data={"file": (io.BytesIO(b"{}"), "../../evil.json")},
                           content_type="multipart/form-data")
    folder = Path(app.config["CONFIG_FOLDER"])
    assert response.status_code == 201 and response.json["config"]["name"] == "evil"
    assert [p.name for p in folder.iterdir()] == ["evil.json"] and not (folder.parent.parent / "evil.json").exists()


def test_import_without_a_file(client):
    response = client.post("/api/configs/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and response.json["details"][0]["path"] == "file"
