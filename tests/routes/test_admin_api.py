"""The administrators' API through the real test client in accounts mode: who may use it, approving, disabling,
promoting, resetting a password (a change is forced at the next sign-in), the audit log and the queue of
every user's jobs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)

pytestmark = pytest.mark.db

PASSWORD = "correct horse 1"


@pytest.fixture
def people(accounts_app):
    admin = add_user(accounts_app, "root", role="admin")
    user = add_user(accounts_app, "bob")
    return {"admin": bearer(accounts_app, admin, ["read", "admin"]), "admin_id": admin,
            "user": bearer(accounts_app, user, ["read", "train", "export", "deploy"]), "user_id": user}


@pytest.mark.parametrize("method, url", [("GET", "/api/admin/users"), ("PATCH", "/api/admin/users/1"),
                                         ("POST", "/api/admin/users/1/password"), ("GET", "/api/admin/audit"),
                                         ("GET", "/api/admin/queue"), ("GET", "/admin")])
def test_a_non_admin_gets_403(accounts_app, people, method, url):
    answer = accounts_app.test_client().open(url, method=method, json={} if method != "GET" else None,
                                             headers={**people["user"], "Accept": "application/json"})
    assert answer.status_code == 403 and "admin" in answer.json["error"]


def test_an_admin_token_without_the_admin_scope_gets_403(accounts_app, people):
    read_only = bearer(accounts_app, people["admin_id"], ["read"])
    assert accounts_app.test_client().get("/api/admin/users", headers=read_only).status_code == 403


def test_anonymous_is_401(accounts_app, people):
    assert accounts_app.test_client().get("/api/admin/users").status_code == 401


def test_list_users_has_the_documented_fields(accounts_app, people):
    users = accounts_app.test_client().get("/api/admin/users", headers=people["admin"]).json["users"]
    assert [u["username"] for u in users] == ["root", "bob"]
    assert {"id", "username", "email", "full_name", "role", "status", "created_at", "last_login_at"} <= set(users[0])


def test_approve_disable_promote_and_demote(accounts_app, people):
    client = accounts_app.test_client()
    carol = add_user(accounts_app, "carol", status="pending")
    url = f"/api/admin/users/{carol}"
    assert client.post("/api/auth/login", json={"username": "carol", "password": PASSWORD}).status_code == 403
    assert client.patch(url, json={"status": "active"}, headers=people["admin"]).json["status"] == "active"
    assert client.post("/api/auth/login", json={"username": "carol", "password": PASSWORD}).status_code == 200
    promoted = client.patch(url, json={"role": "admin"}, headers=people["admin"])
    assert promoted.status_code == 200 and promoted.json["role"] == "admin"
    carols = bearer(accounts_app, carol, ["read", "admin"])
    assert client.get("/api/admin/users", headers=carols).status_code == 200
    assert client.patch(url, json={"role": "user"}, headers=people["admin"]).json["role"] == "user"
    assert client.get("/api/admin/users", headers=carols).status_code == 403  # scopes follow the role today
    assert client.patch(url, json={"status": "disabled"}, headers=people["admin"]).json["status"] == "disabled"
    assert client.get("/api/auth/me", headers=carols).status_code == 401


@pytest.mark.parametrize("body, status", [({"role": "owner"}, 400), ({"status": "gone"}, 400)])
def test_bad_updates_are_400(accounts_app, people, body, status):
    answer = accounts_app.test_client().patch(f"/api/admin/users/{people['user_id']}", json=body,
                                              headers=people["admin"])
    assert answer.status_code == status


def test_an_admin_cannot_demote_or_disable_themselves_and_unknown_users_are_404(accounts_app, people):
    client = accounts_app.test_client()
    url = f"/api/admin/users/{people['admin_id']}"
    assert client.patch(url, json={"role": "user"}, headers=people["admin"]).status_code == 409
    assert client.patch(url, json={"status": "disabled"}, headers=people["admin"]).status_code == 409
    assert client.patch("/api/admin/users/9999", json={"status": "active"}, headers=people["admin"]).status_code == 404


def test_password_reset_forces_a_change_at_the_next_sign_in(accounts_app, people):
    client = accounts_app.test_client()
    url = f"/api/admin/users/{people['user_id']}/password"
    assert client.post(url, json={"password": "short"}, headers=people["admin"]).status_code == 400
    reset = client.post(url, json={"password": "temporary 123"}, headers=people["admin"])
    assert reset.status_code == 200 and reset.json["must_change_password"] is True
    assert client.get("/api/auth/me", headers=people["user"]).status_code == 200  # PATs stay (account endpoint)
    bob = accounts_app.test_client()
    assert bob.post("/api/auth/login", json={"username": "bob", "password": PASSWORD}).status_code == 401
    answer = bob.post("/api/auth/login", json={"username": "bob", "password": "temporary 123"})
    assert answer.status_code == 200 and answer.json["user"]["must_change_password"] is True
    csrf = answer.json["csrf_token"]
    blocked = bob.get("/api/datasets/list")
    assert blocked.status_code == 403 and "password" in blocked.json["error"]
    changed = bob.post("/api/auth/password", json={"current_password": "temporary 123",
                                                   "new_password": "my own pass 9"}, headers={"X-CSRFToken": csrf})
    assert changed.status_code == 200
    assert bob.get("/api/datasets/list").status_code == 200


def test_audit_log_records_logins_failures_tokens_roles_and_resets(accounts_app, people):
    client = accounts_app.test_client()
    client.post("/api/auth/login", json={"username": "bob", "password": "wrong wrong"})
    client.post("/api/auth/login", json={"username": "ghost", "password": "wrong wrong"})
    client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    client.get("/api/auth/me", headers=people["user"])
    created = client.post("/api/auth/tokens", json={"name": "ci", "scopes": ["read"]}, headers=people["user"]).json
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200
    client.get("/api/auth/me", headers={"Authorization": f"Bearer {created['token']}"})  # within the minute: no entry
    client.delete(f"/api/auth/tokens/{created['id']}", headers=people["user"])
    client.patch(f"/api/admin/users/{people['user_id']}", json={"role": "admin"}, headers=people["admin"])
    client.post(f"/api/admin/users/{people['user_id']}/password", json={"password": "temporary 123"},
                headers=people["admin"])
    events = client.get("/api/admin/audit", headers=people["admin"]).json["events"]
    seen = {(e["action"], e["target"]) for e in events}
    assert {("login.failed", "user:bob"), ("login.failed", "user:ghost"), ("login", "user:bob"),
            ("token.created", f"token:{created['prefix']}"), ("token.used", f"token:{created['prefix']}"),
            ("token.revoked", f"token:{created['prefix']}"), ("user.updated", "user:bob"),
            ("user.password_reset", "user:bob")} <= seen
    assert sum(1 for e in events if e["action"] == "token.used" and e["target"] == f"token:{created['prefix']}") == 1
    role_change = next(e for e in events if e["action"] == "user.updated")
    assert role_change["actor"] == "root" and role_change["detail"] == {"role": ["user", "admin"]}
    assert all(e["address"] == "127.0.0.1" for e in events if e["action"].startswith("login"))
    failed = client.get("/api/admin/audit?action=login.failed&limit=1", headers=people["admin"]).json["events"]
    assert len(failed) == 1 and failed[0]["action"] == "login.failed"
    assert client.get("/api/admin/audit?limit=lots", headers=people["admin"]).status_code == 400


def test_old_audit_events_are_pruned_at_start(accounts_app, people):
    from app_factory import create_app
    from extensions import db
    from services.auth import audit
    from services.models.auth import AuditEvent
    from services.models.base import utcnow

    with accounts_app.app_context():
        audit.record("old.event", actor_id=None, actor="x")
        old = db.session.query(AuditEvent).filter_by(action="old.event").one()
        old.at = utcnow() - timedelta(days=accounts_app.config["AUDIT_RETENTION_DAYS"] + 1)
        audit.record("recent.event", actor_id=None, actor="x")
        db.session.commit()
    restarted = create_app({**{k: accounts_app.config[k] for k in (
        "TESTING", "INSTANCE_PATH", "UPLOAD_FOLDER", "OUTPUT_FOLDER", "EXPORT_FOLDER", "CONFIG_FOLDER", "LOG_DIR",
        "MODEL_CACHE", "SQLALCHEMY_DATABASE_URI")}, "AUTH_MODE_SETTING": "accounts"})
    try:
        with restarted.app_context():
            actions = {e.action for e in db.session.query(AuditEvent)}
        assert "recent.event" in actions and "old.event" not in actions
    finally:
        restarted.extensions["tunewright.training"].shutdown()
        for key in ("tunewright.exports", "tunewright.playground"):
            if key in restarted.extensions:
                restarted.extensions[key].shutdown()


def test_the_queue_lists_every_users_queued_and_running_jobs_with_their_owner(accounts_app, people):
    from extensions import db
    from services.models import ExportJob, TrainingSession

    with accounts_app.app_context():
        for ident, owner, status in [("q1", people["user_id"], "queued"), ("r1", people["admin_id"], "running"),
                                     ("done1", people["user_id"], "completed")]:
            db.session.add(TrainingSession(id=ident, name=f"run {ident}", config={}, status=status, owner_id=owner,
                                           output_dir="/nonexistent", last_logs=[]))
        db.session.flush()
        db.session.add(ExportJob(id="x1", session_id="done1", owner_id=people["user_id"], format="gguf",
                                 status="queued", export_dir="/nonexistent"))
        db.session.commit()
    queue = accounts_app.test_client().get("/api/admin/queue", headers=people["admin"]).json
    assert {(s["id"], s["owner"], s["status"]) for s in queue["sessions"]} == {("q1", "bob", "queued"),
                                                                              ("r1", "root", "running")}
    assert [(e["id"], e["owner"], e["session_id"]) for e in queue["exports"]] == [("x1", "bob", "done1")]
