"""Per-user data: in accounts mode each user lists, reads, trains from and changes only their own datasets,
prompt templates, custom rewards, saved configs and wizard drafts, and their files land in their own folders;
in single mode nothing changes (no owner, files in the data folders themselves). Real app, real database, real
files and the real background processing; requests through the HTTP test client with personal tokens."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from extensions import db
from tests.auth_helpers import accounts_app, acting_as, add_user, bearer  # noqa: F401  (fixture)
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes

pytestmark = pytest.mark.db

DATA = jsonl_bytes(QA_ROWS)


def _upload(client, headers=None, name="qa.jsonl", data=DATA) -> dict:
    response = client.post("/api/datasets/upload", data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data", headers=headers or {})
    assert response.status_code == 202, response.json
    return response.json["dataset"]


def _wait(app) -> None:
    from services.datasets import wait_all

    assert wait_all(timeout=30)


@pytest.fixture
def team(accounts_app):
    """Two users and an admin, each with a personal token; ``a`` registered first (the first account)."""
    app = accounts_app
    ids = {name: add_user(app, name, role="admin" if name == "boss" else "user") for name in ("a", "b", "boss")}
    return app, ids, {name: bearer(app, uid) for name, uid in ids.items()}


def test_each_user_lists_only_their_own_data(team):
    app, ids, auth = team
    client = app.test_client()
    mine = {}
    for user in ("a", "b"):
        dataset = _upload(client, auth[user], name=f"{user}.jsonl")
        template = client.post("/api/prompt-templates", json={"name": f"t-{user}"}, headers=auth[user])
        reward = client.post("/api/rewards/custom", json={"name": f"r-{user}", "kind": "components",
                                                            "components": [{"name": "exact_match"}]},
                             headers=auth[user])
        config = client.post("/api/configs/save", json={"name": f"c-{user}", "config": {}}, headers=auth[user])
        assert template.status_code == reward.status_code == config.status_code == 201
        mine[user] = {"dataset": dataset["id"], "template": template.json["template"]["id"],
                      "reward": reward.json["reward"]["id"], "config": f"c-{user}"}
    _wait(app)
    for user in ("a", "b", "boss"):
        headers = auth[user]
        datasets = {d["id"] for d in client.get("/api/datasets/list", headers=headers).json["datasets"]}
        templates = {t["id"] for t in client.get("/api/prompt-templates", headers=headers).json["templates"]}
        rewards = {r["id"] for r in client.get("/api/rewards/custom", headers=headers).json["rewards"]}
        configs = {c["name"] for c in client.get("/api/configs/list", headers=headers).json["configs"]
                   if not c["read_only"]}
        own = mine.get(user)
        assert datasets == ({own["dataset"]} if own else set())
        assert templates == {"default", *([own["template"]] if own else [])}  # the built-in one is everyone's
        assert rewards == ({own["reward"]} if own else set())
        assert configs == ({own["config"]} if own else set())
    with app.app_context():
        from services.models import CustomReward, DatasetRecord, PromptTemplate

        for model in (DatasetRecord, PromptTemplate, CustomReward):
            assert sorted(r.owner_id for r in db.session.scalars(db.select(model))) == sorted([ids["a"], ids["b"]])


def test_uploads_land_in_the_owners_folder(team):
    app, ids, auth = team
    client = app.test_client()
    dataset = _upload(client, auth["b"])
    _wait(app)
    root = Path(app.config["UPLOAD_FOLDER"])
    files = [p for p in root.rglob("*") if p.is_file() and p.name != ".gitkeep"]
    assert [p.relative_to(root).parts[0] for p in files] == [f"u{ids['b']}"]
    detail = client.get(f"/api/datasets/{dataset['id']}", headers=auth["b"]).json["dataset"]
    assert detail["status"] == "Ready" and detail["owner_id"] == ids["b"]
    download = client.get(f"/api/datasets/{dataset['id']}/download", headers=auth["b"])
    assert download.status_code == 200 and download.data == DATA
    # B's preview by path reads B's folder only: A's folder is outside it.
    stored = files[0].name
    assert client.post("/api/datasets/preview", json={"path": stored, "render": False},
                       headers=auth["b"]).status_code == 200
    assert client.post("/api/datasets/preview", json={"path": stored, "render": False},
                       headers=auth["a"]).status_code == 404
    assert client.post("/api/datasets/preview", json={"path": f"../u{ids['b']}/{stored}", "render": False},
                       headers=auth["a"]).status_code == 400


def test_a_duplicate_warning_names_only_the_users_own_dataset(team):
    app, ids, auth = team
    client = app.test_client()
    first = _upload(client, auth["a"])
    _wait(app)
    others = client.get(f"/api/datasets/{_upload(client, auth['b'])['id']}", headers=auth["b"])
    _wait(app)
    again = _upload(client, auth["a"])
    _wait(app)
    b_warnings = client.get(f"/api/datasets/{others.json['dataset']['id']}", headers=auth["b"]).json
    a_warnings = client.get(f"/api/datasets/{again['id']}", headers=auth["a"]).json
    assert not any("uploaded before" in w for w in b_warnings["dataset"]["warnings"])
    assert f"the same file was uploaded before as dataset {first['id']}" in a_warnings["dataset"]["warnings"]


def test_admins_read_but_do_not_change_anothers_dataset(team):
    app, ids, auth = team
    client = app.test_client()
    dataset = _upload(client, auth["a"])
    _wait(app)
    url = f"/api/datasets/{dataset['id']}"
    assert client.get(url, headers=auth["boss"]).status_code == 200  # oversight
    assert client.patch(url, json={"name": "mine now"}, headers=auth["boss"]).status_code == 404
    assert client.delete(url, headers=auth["boss"]).status_code == 404
    assert client.get(f"{url}/download", headers=auth["boss"]).status_code == 404
    assert client.post("/api/datasets/preview", json={"id": dataset["id"], "render": False},
                       headers=auth["boss"]).status_code == 404
    assert client.get(url, headers=auth["a"]).json["dataset"]["name"] == "qa"


def test_nobody_trains_or_tests_with_another_users_dataset_or_reward(team):
    app, ids, auth = team
    client = app.test_client()
    dataset = _upload(client, auth["a"])
    _wait(app)
    reward = client.post("/api/rewards/custom", json={"name": "mine", "kind": "components",
                                                       "components": [{"name": "exact_match"}]}, headers=auth["a"])
    reward_id = reward.json["reward"]["id"]
    sample = [{"prompt": "1+1", "completion": "2", "fields": {"answer": "2"}}]
    for user, expected in (("a", 200), ("b", 404), ("boss", 404)):
        tested = client.post("/api/rewards/test", json={"custom_id": reward_id, "samples": sample},
                             headers=auth[user])
        rows = client.post("/api/rewards/samples", json={"dataset_id": dataset["id"]}, headers=auth[user])
        assert (tested.status_code, rows.status_code) == (expected, expected), (user, tested.json, rows.json)

    from services.datasets import resolve_for_training
    from services.errors import NotFoundError
    from services.rewards import resolve_config_rewards

    source = f"dataset:{dataset['id']}"
    for user in ("b", "boss"):
        context = acting_as(app, ids[user])
        try:
            with pytest.raises(NotFoundError):
                resolve_for_training(source)
            with pytest.raises(Exception, match="not valid"):
                resolve_config_rewards({"reward": {"type": "custom", "custom": [{"id": reward_id}]}})
            # A job dispatched from anyone's request resolves for the session's owner, and for no one else.
            assert resolve_for_training(source, owner=ids["a"]).kind == "file"
            with pytest.raises(NotFoundError):
                resolve_for_training(source, owner=ids[user])
        finally:
            context.pop()


def test_two_users_keep_a_config_of_the_same_name_in_their_own_folders(team):
    app, ids, auth = team
    client = app.test_client()
    for user, epochs in (("a", 1), ("b", 3)):
        response = client.post("/api/configs/save", json={"name": "baseline", "description": user,
                                                          "config": {"training": {"num_epochs": epochs}}},
                               headers=auth[user])
        assert response.status_code == 201, response.json
    root = Path(app.config["CONFIG_FOLDER"])
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.json")) == \
        sorted([f"u{ids['a']}/baseline.json", f"u{ids['b']}/baseline.json"])
    for user, epochs in (("a", 1), ("b", 3)):
        loaded = client.get("/api/configs/load?name=baseline", headers=auth[user]).json
        assert loaded["config"]["training"]["num_epochs"] == epochs
        listed = [c for c in client.get("/api/configs/list", headers=auth[user]).json["configs"]
                  if c["name"] == "baseline"]
        assert [c["description"] for c in listed] == [user]
        exported = client.get("/api/configs/export?name=baseline", headers=auth[user])
        assert json.loads(exported.data)["training"]["num_epochs"] == epochs
    imported = client.post("/api/configs/import", data={"file": (io.BytesIO(b"{}"), "fresh.json")},
                           content_type="multipart/form-data", headers=auth["b"])
    assert imported.status_code == 201 and (root / f"u{ids['b']}" / "fresh.json").is_file()
    assert client.get("/api/configs/load?name=fresh", headers=auth["a"]).status_code == 404
    assert client.delete("/api/configs/baseline", headers=auth["b"]).status_code == 200
    assert (root / f"u{ids['a']}" / "baseline.json").is_file()
    assert client.get("/api/configs/load?name=baseline", headers=auth["a"]).status_code == 200
    with app.app_context():
        from services.models import SavedConfigMeta

        metas = db.session.scalars(db.select(SavedConfigMeta)).all()
        assert sorted((m.owner_id, m.name) for m in metas) == sorted([(ids["a"], "baseline"), (ids["b"], "fresh")])


def test_the_single_user_studios_configs_belong_to_the_first_account(team):
    app, ids, auth = team
    client = app.test_client()
    root = Path(app.config["CONFIG_FOLDER"])
    root.mkdir(parents=True, exist_ok=True)
    (root / "kept-in-git.json").write_text("{}", encoding="utf-8")

    def names(user):
        return {c["name"] for c in client.get("/api/configs/list", headers=auth[user]).json["configs"]
                if not c["read_only"]}

    assert names("a") == {"kept-in-git"} and names("b") == names("boss") == set()
    assert client.get("/api/configs/load?name=kept-in-git", headers=auth["b"]).status_code == 404
    saved = client.post("/api/configs/save", json={"name": "kept-in-git", "config": {"training": {"num_epochs": 2}}},
                        headers=auth["a"])
    assert saved.status_code == 201
    assert json.loads((root / "kept-in-git.json").read_text())["training"]["num_epochs"] == 2  # changed in place
    assert not (root / f"u{ids['a']}" / "kept-in-git.json").exists()


def test_a_wizard_draft_id_reaching_another_user_does_not_load_it(team):
    app, ids, auth = team
    client = app.test_client()  # one browser: its cookie carries the draft id from user to user
    assert client.patch("/api/wizard/draft", json={"training": {"num_epochs": 2}},
                        headers=auth["a"]).status_code == 200
    assert client.get("/api/wizard/draft", headers=auth["a"]).json["saved"] is True  # the cookie carries the id
    seen_by_b = client.get("/api/wizard/draft", headers=auth["b"]).json
    assert seen_by_b["saved"] is False and seen_by_b["config"]["training"]["num_epochs"] != 2
    assert client.patch("/api/wizard/draft", json={"training": {"num_epochs": 5}},
                        headers=auth["b"]).status_code == 200
    with app.app_context():
        from services.models import WizardDraft

        drafts = {d.owner_id: d.config["training"]["num_epochs"] for d in db.session.scalars(db.select(WizardDraft))}
    assert drafts == {ids["a"]: 2, ids["b"]: 5}


def test_single_mode_is_unchanged(app, client):
    dataset = _upload(client)
    _wait(app)
    assert client.post("/api/configs/save", json={"name": "baseline", "config": {}}).status_code == 201
    assert client.post("/api/prompt-templates", json={"name": "t"}).status_code == 201
    assert client.post("/api/rewards/custom", json={"name": "r", "kind": "components",
                                                     "components": [{"name": "exact_match"}]}).status_code == 201
    assert client.patch("/api/wizard/draft", json={"training": {"num_epochs": 2}}).status_code == 200
    uploads = [p for p in Path(app.config["UPLOAD_FOLDER"]).iterdir() if p.name != ".gitkeep"]
    assert [p.is_file() for p in uploads] == [True]  # no u<id> folder
    assert [p.name for p in Path(app.config["CONFIG_FOLDER"]).iterdir()] == ["baseline.json"]
    assert client.get(f"/api/datasets/{dataset['id']}").json["dataset"]["owner_id"] is None
    with app.app_context():
        from services.models import CustomReward, DatasetRecord, PromptTemplate, SavedConfigMeta, WizardDraft

        for model in (DatasetRecord, PromptTemplate, CustomReward, SavedConfigMeta, WizardDraft):
            assert [r.owner_id for r in db.session.scalars(db.select(model))] == [None], model


def test_reward_and_template_names_are_unique_per_user_not_per_studio(team):
    """A second user may pick a name someone else uses (no 409 that would reveal it); one user may not twice."""
    app, _, auth = team
    client = app.test_client()
    reward = {"name": "format check", "kind": "components", "components": [{"name": "format"}]}
    for user in ("a", "b"):
        assert client.post("/api/rewards/custom", json=reward, headers=auth[user]).status_code == 201, user
        assert client.post("/api/prompt-templates", json={"name": "terse"}, headers=auth[user]).status_code == 201
    assert client.post("/api/rewards/custom", json=reward, headers=auth["a"]).status_code == 409
    assert client.post("/api/prompt-templates", json={"name": "terse"}, headers=auth["b"]).status_code == 409


def test_deletions_are_in_the_audit_log_with_who_did_them(team):
    app, ids, auth = team
    admin = bearer(app, ids["boss"], ["read", "admin"])
    client = app.test_client()
    dataset = _upload(client, auth["a"])
    _wait(app)
    assert client.post("/api/configs/save", json={"name": "gone", "config": {}}, headers=auth["a"]).status_code == 201
    assert client.delete(f"/api/datasets/{dataset['id']}", headers=auth["a"]).status_code in (200, 204)
    assert client.delete("/api/configs/gone", headers=auth["a"]).status_code in (200, 204)
    answer = client.get("/api/admin/audit", headers=admin)
    assert answer.status_code == 200, answer.json
    events = answer.json["events"]
    found = {(e["action"], e["target"], e["actor"]) for e in events}
    assert ("dataset.deleted", f"dataset:{dataset['id']}", "a") in found
    assert ("config.deleted", "config:gone", "a") in found
    assert client.get("/api/admin/audit", headers=auth["a"]).status_code == 403
