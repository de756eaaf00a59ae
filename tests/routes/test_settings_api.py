"""The settings API and page through the real test client: reading, changing and testing the Output Directory
Base in the single-user studio, and who may do what with accounts (changing it and probing another folder are an
administrator's)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


def test_get_answers_the_default_base(app, client):
    answer = client.get("/api/settings")
    assert answer.status_code == 200
    default = str(Path(app.config["OUTPUT_FOLDER"]).resolve())
    assert answer.json == {"output_base": default, "default_output_base": default, "writable": True,
                           "detail": f"{default} is writable."}


def test_put_changes_the_base_and_get_reads_it_back(app, client, tmp_path):
    target = tmp_path / "big-disk" / "outputs"
    answer = client.put("/api/settings", json={"output_base": str(target)})
    assert answer.status_code == 200, answer.json
    assert answer.json["output_base"] == str(target) and answer.json["writable"] is True and target.is_dir()
    assert client.get("/api/settings").json["output_base"] == str(target)
    assert answer.json["default_output_base"] == str(Path(app.config["OUTPUT_FOLDER"]).resolve())


@pytest.mark.parametrize("body, reason", [
    ({"output_base": "outputs2"}, "must be an absolute path"),
    ({}, "must be a string"),
    ({"output_base": ["/tmp"]}, "must be a string"),
])
def test_put_refusals_are_json_400_with_the_reason(client, body, reason):
    answer = client.put("/api/settings", json=body)
    assert answer.status_code == 400 and reason in answer.json["error"]


def test_put_refuses_a_file_and_keeps_the_old_base(app, client, tmp_path):
    (tmp_path / "file").write_text("x")
    answer = client.put("/api/settings", json={"output_base": str(tmp_path / "file")})
    assert answer.status_code == 400 and "is a file, not a folder" in answer.json["error"]
    assert client.get("/api/settings").json["output_base"] == str(Path(app.config["OUTPUT_FOLDER"]).resolve())


def test_put_needs_a_json_object(client):
    assert client.put("/api/settings", data="x", content_type="text/plain").status_code == 400


def test_test_writable_probes_the_base_or_a_path_and_leaves_nothing(app, client, tmp_path):
    base = Path(app.config["OUTPUT_FOLDER"]).resolve()
    assert client.post("/api/settings/test-writable").json == {
        "path": str(base), "writable": True, "detail": f"{base} is writable."}
    assert client.post("/api/settings/test-writable", json={}).json["writable"] is True
    (tmp_path / "file").write_text("x")
    answer = client.post("/api/settings/test-writable", json={"path": str(tmp_path / "file")}).json
    assert answer["writable"] is False and "is a file" in answer["detail"]
    answer = client.post("/api/settings/test-writable", json={"path": str(tmp_path / "new" / "one")}).json
    assert answer["writable"] is True and not (tmp_path / "new").exists()
    assert client.post("/api/settings/test-writable", json={"path": "relative"}).status_code == 400
    assert list(base.iterdir()) == [] and not list(tmp_path.glob(".tunewright-probe-*"))


def test_the_settings_page_renders_its_frame(client):
    page = client.get("/settings")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="output-base"' in html and 'id="test-writable"' in html and "js/settings.js" in html
    assert 'id="settings-link"' in html and "<script>" not in html  # no inline script (CSP)
    assert 'id="admin-only-note"' not in html  # the single-user studio may change it


# -- accounts -----------------------------------------------------------------------------------------------
@pytest.fixture
def people(accounts_app):
    admin = add_user(accounts_app, "root", role="admin")
    user = add_user(accounts_app, "bob")
    return {"admin": bearer(accounts_app, admin, ["read", "admin"]),
            "admin_read_only": bearer(accounts_app, admin, ["read"]),
            "user": bearer(accounts_app, user, ["read", "train", "export", "deploy"])}


def test_anyone_signed_in_reads_nobody_anonymous(accounts_app, people):
    client = accounts_app.test_client()
    assert client.get("/api/settings", headers=people["user"]).status_code == 200
    assert client.get("/api/settings").status_code == 401


def test_only_an_admin_changes_the_base(accounts_app, people, tmp_path):
    client = accounts_app.test_client()
    body = {"output_base": str(tmp_path / "team")}
    for who in ("user", "admin_read_only"):
        answer = client.put("/api/settings", json=body, headers=people[who])
        assert answer.status_code == 403 and "admin" in answer.json["error"]
    assert not (tmp_path / "team").exists()
    assert client.put("/api/settings", json=body, headers=people["admin"]).status_code == 200
    events = client.get("/api/admin/audit?action=settings.output_base", headers=people["admin"]).json["events"]
    assert [(e["actor"], e["target"]) for e in events] == [("root", str(tmp_path / "team"))]


def test_only_an_admin_probes_another_folder(accounts_app, people, tmp_path):
    client = accounts_app.test_client()
    assert client.post("/api/settings/test-writable", json={}, headers=people["user"]).json["writable"] is True
    answer = client.post("/api/settings/test-writable", json={"path": str(tmp_path)}, headers=people["user"])
    assert answer.status_code == 403 and "administrator" in answer.json["error"]
    answer = client.post("/api/settings/test-writable", json={"path": str(tmp_path)}, headers=people["admin"])
    assert answer.status_code == 200 and answer.json["writable"] is True


def test_the_page_tells_a_non_admin_they_cannot_change_it(accounts_app, people):
    html = accounts_app.test_client().get("/settings", headers=people["user"]).get_data(as_text=True)
    assert 'id="admin-only-note"' in html and re.search(r'id="save-output-base"\s+disabled', html)
