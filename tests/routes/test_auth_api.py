"""The accounts API end to end through the real test client in accounts mode: registration and approval,
sign-in and out, password rules and changes, JWTs (expired, revoked), personal tokens and their scopes, rate
limits, and deleting an account with all its data."""
from __future__ import annotations

import io
import time
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)
from tests.dataset_fixtures import QA_ROWS, jsonl_bytes

pytestmark = pytest.mark.db

PASSWORD = "correct horse 1"


def register(client, username, password=PASSWORD, **extra):
    return client.post("/api/auth/register", json={"username": username, "email": f"{username}@example.org",
                                                  "password": password, **extra})


def sign_in(client, username, password=PASSWORD):
    """A browser session; returns the CSRF token of the new session."""
    answer = client.post("/api/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.json
    return answer.json["csrf_token"]


def jwt_of(client, username, password=PASSWORD):
    answer = client.post("/api/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def test_first_account_is_an_active_admin_and_the_next_one_waits_for_approval(accounts_app):
    client = accounts_app.test_client()
    first = register(client, "alice", full_name="Alice A.")
    assert first.status_code == 201, first.json
    assert first.json["role"] == "admin" and first.json["status"] == "active"
    assert first.json["full_name"] == "Alice A." and "password_hash" not in first.json
    second = register(client, "bob")
    assert second.status_code == 201 and second.json["role"] == "user" and second.json["status"] == "pending"

    bob = accounts_app.test_client()
    refused = bob.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert refused.status_code == 403 and "approval" in refused.json["error"]

    token = sign_in(client, "alice")
    approved = client.patch(f"/api/admin/users/{second.json['id']}", json={"status": "active"},
                            headers={"X-CSRFToken": token})
    assert approved.status_code == 200 and approved.json["status"] == "active"
    sign_in(bob, "bob")
    me = bob.get("/api/auth/me")
    assert me.status_code == 200 and me.json["user"]["username"] == "bob" and me.json["via"] == "session"
    assert "admin" not in me.json["scopes"] and "train" in me.json["scopes"]


def test_signup_open_and_closed(accounts_app):
    client = accounts_app.test_client()
    assert register(client, "alice").status_code == 201
    accounts_app.config["SIGNUP"] = "open"
    assert register(client, "bob").json["status"] == "active"
    accounts_app.config["SIGNUP"] = "closed"
    closed = register(client, "carol")
    assert closed.status_code == 403 and "closed" in closed.json["error"]


@pytest.mark.parametrize("password, status", [("seven77", 400), ("eight888", 201), ("", 400),
                                              ("x" * 257, 400), ("dave", 400)])
def test_password_rules(accounts_app, password, status):
    client = accounts_app.test_client()
    answer = client.post("/api/auth/register", json={"username": "dave", "email": "dave@example.org",
                                                    "password": password})
    assert answer.status_code == status, answer.json
    if status == 400:
        assert "password" in answer.json["error"]
    if len(password) == 7:
        assert "at least 8 characters" in answer.json["error"]


def test_bad_registrations_say_what_to_fix(accounts_app):
    client = accounts_app.test_client()
    assert register(client, "alice").status_code == 201
    assert register(client, "ALICE").status_code == 409
    bad = client.post("/api/auth/register", json={"username": "-x", "email": "nope", "password": PASSWORD})
    assert bad.status_code == 400 and "username" in bad.json["error"] and "email" in bad.json["error"]
    assert client.post("/api/auth/register", data="[]", content_type="application/json").status_code == 400


def test_wrong_password_and_unknown_user_read_the_same(accounts_app):
    client = accounts_app.test_client()
    register(client, "alice")
    wrong = client.post("/api/auth/login", json={"username": "alice", "password": "not the password"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["error"] == unknown.json["error"] == "Wrong username or password."


def test_login_rotates_the_session_and_logout_ends_sessions_and_jwts(accounts_app):
    client = accounts_app.test_client()
    register(client, "alice")
    page = client.get("/login").get_data(as_text=True)  # an anonymous session with its own CSRF token
    old_token = page.split('name="csrf-token" content="')[1].split('"')[0]
    new_token = sign_in(client, "alice")
    assert new_token != old_token
    stale = client.post("/api/auth/tokens", json={"name": "t", "scopes": ["read"]}, headers={"X-CSRFToken": old_token})
    assert stale.status_code == 403 and "CSRF" in stale.json["error"]

    other_browser = accounts_app.test_client()
    sign_in(other_browser, "alice")
    token = jwt_of(accounts_app.test_client(), "alice")
    assert accounts_app.test_client().get("/api/auth/me", headers=token).status_code == 200

    assert client.post("/api/auth/logout", headers={"X-CSRFToken": new_token}).status_code == 200
    assert client.get("/api/auth/me").status_code == 401
    assert other_browser.get("/api/auth/me").status_code == 401  # logout is everywhere
    refused = accounts_app.test_client().get("/api/auth/me", headers=token)
    assert refused.status_code == 401 and "revoked" in refused.json["error"]


@pytest.mark.parametrize("scheme, secure", [("http", False), ("https", True)])
def test_session_cookie_is_httponly_lax_and_secure_over_https(accounts_app, scheme, secure):
    client = accounts_app.test_client()
    register(client, "alice")
    answer = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD},
                         base_url=f"{scheme}://localhost")
    assert answer.status_code == 200
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags
    assert ("secure" in flags) is secure


def test_password_change_revokes_jwts_keeps_this_browser_and_needs_the_current_password(accounts_app):
    client = accounts_app.test_client()
    register(client, "alice")
    csrf = sign_in(client, "alice")
    token = jwt_of(accounts_app.test_client(), "alice")
    wrong = client.post("/api/auth/password", json={"current_password": "nope nope", "new_password": "new pass 22"},
                        headers={"X-CSRFToken": csrf})
    assert wrong.status_code == 403
    short = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "short"},
                        headers={"X-CSRFToken": csrf})
    assert short.status_code == 400 and "8" in short.json["error"]
    changed = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "new pass 22"},
                          headers={"X-CSRFToken": csrf})
    assert changed.status_code == 200 and changed.json["csrf_token"]
    assert client.get("/api/auth/me").status_code == 200  # this browser was signed in again
    assert accounts_app.test_client().get("/api/auth/me", headers=token).status_code == 401
    fresh = accounts_app.test_client()
    assert fresh.post("/api/auth/login", json={"username": "alice", "password": PASSWORD}).status_code == 401
    sign_in(fresh, "alice", "new pass 22")


def test_a_disabled_user_is_refused_at_once_session_jwt_and_pat(accounts_app):
    admin = add_user(accounts_app, "root", role="admin")
    bob_id = add_user(accounts_app, "bob")
    bob = accounts_app.test_client()
    sign_in(bob, "bob")
    token = jwt_of(accounts_app.test_client(), "bob")
    pat = bearer(accounts_app, bob_id, ["read"])
    anyone = accounts_app.test_client()
    for credentials in (token, pat):
        assert anyone.get("/api/auth/me", headers=credentials).status_code == 200
    assert bob.get("/api/auth/me").status_code == 200

    disabled = anyone.patch(f"/api/admin/users/{bob_id}", json={"status": "disabled"},
                            headers=bearer(accounts_app, admin, ["read", "admin"]))
    assert disabled.status_code == 200 and disabled.json["status"] == "disabled"
    assert bob.get("/api/auth/me").status_code == 401
    for credentials in (token, pat):
        assert anyone.get("/api/auth/me", headers=credentials).status_code == 401
    again = anyone.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert again.status_code == 403 and "disabled" in again.json["error"]


def test_an_expired_or_forged_jwt_is_refused(accounts_app):
    user_id = add_user(accounts_app, "bob")
    now = int(time.time())
    claims = {"sub": str(user_id), "scope": "read", "jti": "x", "iat": now - 3600, "exp": now - 60, "ver": 1}
    from services.auth.tokens import jwt_key

    with accounts_app.app_context():
        key = jwt_key()
    expired = jwt.encode(claims, key, algorithm="HS256")
    client = accounts_app.test_client()
    answer = client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401 and "expired" in answer.json["error"]
    forged = jwt.encode({**claims, "exp": now + 600}, "not the server's secret, though long enough", algorithm="HS256")
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    valid = jwt.encode({**claims, "exp": now + 600}, key, algorithm="HS256")
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {valid}"}).status_code == 200


def test_a_short_jwt_lifetime_expires(accounts_app):
    add_user(accounts_app, "bob")
    accounts_app.config["JWT_LIFETIME_SECONDS"] = 1
    client = accounts_app.test_client()
    answer = client.post("/api/auth/token", json={"username": "bob", "password": PASSWORD})
    assert answer.json["token_type"] == "bearer" and answer.json["expires_in"] == 1
    headers = {"Authorization": f"Bearer {answer.json['access_token']}"}
    time.sleep(2.1)
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_personal_tokens_are_shown_once_listed_by_prefix_used_and_revoked(accounts_app):
    add_user(accounts_app, "bob")
    carol_id = add_user(accounts_app, "carol")
    client = accounts_app.test_client()
    headers = jwt_of(client, "bob")
    created = client.post("/api/auth/tokens", json={"name": "laptop", "scopes": ["read", "train"],
                                                    "expires_in_days": 30}, headers=headers)
    assert created.status_code == 201, created.json
    secret = created.json["token"]
    assert secret.startswith("tw_") and created.json["prefix"] == secret[:10] and created.json["expires_at"]
    listed = client.get("/api/auth/tokens", headers=headers).json["tokens"]
    assert [t["name"] for t in listed] == ["laptop"] and "token" not in listed[0]
    pat = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/auth/me", headers=pat).json["scopes"] == ["read", "train"]
    assert client.get("/api/auth/tokens", headers=headers).json["tokens"][0]["last_used_at"]

    carols = bearer(accounts_app, carol_id, ["read"])
    assert client.delete(f"/api/auth/tokens/{created.json['id']}", headers=carols).status_code == 404
    assert client.get("/api/auth/me", headers=pat).status_code == 200
    revoked = client.delete(f"/api/auth/tokens/{created.json['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json["revoked"] is True
    assert client.get("/api/auth/me", headers=pat).status_code == 401
    assert client.delete("/api/auth/tokens/999999", headers=headers).status_code == 404


@pytest.mark.parametrize("body, status", [
    ({"name": "x", "scopes": ["admin"]}, 403),          # a user holds no admin scope
    ({"name": "x", "scopes": ["read", "fly"]}, 400),
    ({"name": "x", "scopes": []}, 400),
    ({"name": "", "scopes": ["read"]}, 400),
    ({"name": "x", "scopes": ["read"], "expires_in_days": 0}, 400),
    ({"name": "x", "scopes": ["read"], "expires_in_days": "7"}, 400),
])
def test_token_requests_are_checked(accounts_app, body, status):
    add_user(accounts_app, "bob")
    client = accounts_app.test_client()
    answer = client.post("/api/auth/tokens", json=body, headers=jwt_of(client, "bob"))
    assert answer.status_code == status, answer.json


def test_scopes_never_exceed_the_creators_and_a_read_token_cannot_train(accounts_app):
    bob_id = add_user(accounts_app, "bob")
    client = accounts_app.test_client()
    read_only = bearer(accounts_app, bob_id, ["read"])
    wider = client.post("/api/auth/tokens", json={"name": "x", "scopes": ["read", "train"]}, headers=read_only)
    assert wider.status_code == 403 and "train" in wider.json["error"]
    same = client.post("/api/auth/tokens", json={"name": "x", "scopes": ["read"]}, headers=read_only)
    assert same.status_code == 201

    exchanged = client.post("/api/auth/token", json={"token": read_only["Authorization"][7:]})
    assert exchanged.status_code == 200
    as_jwt = {"Authorization": f"Bearer {exchanged.json['access_token']}"}
    assert client.get("/api/auth/me", headers=as_jwt).json["scopes"] == ["read"]
    for headers in (read_only, as_jwt):
        started = client.post("/api/training/start", json={"config": {}}, headers=headers)
        assert started.status_code == 403 and "train" in started.json["error"]
        assert client.get("/api/datasets/list", headers=headers).status_code == 200
    assert client.post("/api/auth/token", json={"token": "tw_not-a-token"}).status_code == 401
    assert client.post("/api/auth/token", json={"token": 5}).status_code == 400


def test_too_many_failed_logins_get_429_with_retry_after(accounts_app):
    add_user(accounts_app, "bob")
    accounts_app.config["AUTH_RATE_LIMIT"] = "3 per minute"
    client = accounts_app.test_client()
    for _ in range(3):
        assert client.post("/api/auth/login", json={"username": "bob", "password": "wrong guess"}).status_code == 401
    limited = client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
    assert limited.status_code == 429 and limited.is_json and "Too many" in limited.json["error"]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # Per username: the same account from another address is locked too, for the token exchange as well.
    elsewhere = accounts_app.test_client()
    other = {"REMOTE_ADDR": "10.1.2.3"}
    assert elsewhere.post("/api/auth/login", json={"username": "bob", "password": PASSWORD},
                          environ_base=other).status_code == 429
    assert elsewhere.post("/api/auth/token", json={"username": "BOB", "password": PASSWORD},
                          environ_base=other).status_code == 429
    # Another account from that other address is not.
    add_user(accounts_app, "carol")
    assert elsewhere.post("/api/auth/login", json={"username": "carol", "password": PASSWORD},
                          environ_base=other).status_code == 200


def test_successful_logins_do_not_lock_the_username_but_count_per_address(accounts_app):
    add_user(accounts_app, "bob")
    accounts_app.config["AUTH_RATE_LIMIT"] = "3 per minute"

    def attempt(address="127.0.0.1"):  # a new browser each time: no session cookie
        return accounts_app.test_client().post("/api/auth/login", json={"username": "bob", "password": PASSWORD},
                                               environ_base={"REMOTE_ADDR": address}).status_code

    assert [attempt() for _ in range(4)] == [200, 200, 200, 429]
    assert attempt("10.9.9.9") == 200  # the username itself is not locked by successes


def test_accounts_endpoints_are_off_in_single_mode(client):
    for method, url in [("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("GET", "/api/auth/me"),
                        ("GET", "/api/admin/users")]:
        answer = client.open(url, method=method, json={})
        assert answer.status_code == 404 and "TUNEWRIGHT_AUTH=single" in answer.json["error"], url
    for url in ("/account", "/register", "/admin"):
        page = client.get(url)
        assert page.status_code == 404 and "TUNEWRIGHT_AUTH=single" in page.get_data(as_text=True)
    assert client.get("/login").status_code == 302  # no token: nothing to sign in to


def test_the_last_active_admin_cannot_delete_their_account(accounts_app):
    client = accounts_app.test_client()
    register(client, "alice")
    csrf = sign_in(client, "alice")
    mistyped = client.delete("/api/auth/account", json={"confirm": "Alice"}, headers={"X-CSRFToken": csrf})
    assert mistyped.status_code == 400 and "alice" in mistyped.json["error"]
    last = client.delete("/api/auth/account", json={"confirm": "alice"}, headers={"X-CSRFToken": csrf})
    assert last.status_code == 409 and "last active administrator" in last.json["error"]


def _owned_rows(app, owner_id):
    from extensions import db
    from services.auth.users import _owned_models
    from services.models.auth import ApiToken

    with app.app_context():
        found = {model.__name__: db.session.execute(select(model).where(model.owner_id == owner_id)).scalars().all()
                 for model in _owned_models()}
        found["ApiToken"] = db.session.execute(select(ApiToken).where(ApiToken.user_id == owner_id)).scalars().all()
        return {name: len(rows) for name, rows in found.items() if rows}


def _assert_all_owned(app):
    """Every row the services made through the API recorded its owner (none is left for nobody)."""
    from extensions import db
    from services.auth.users import _owned_models

    with app.app_context():
        for model in _owned_models():
            assert db.session.execute(select(model).where(model.owner_id.is_(None))).first() is None, model


def _wait_ready(client, dataset_id, headers, timeout=30.0):
    deadline = time.monotonic() + timeout
    while client.get(f"/api/datasets/{dataset_id}", headers=headers).json["dataset"]["status"] == "Processing":
        assert time.monotonic() < deadline, "dataset still processing"
        time.sleep(0.05)


def _make_everything(app, client, headers, owner_id):
    """A dataset (uploaded: a file), a saved config (a file), and one row of every other owned kind, with a
    session folder holding a file, as ``owner_id``."""
    from extensions import db
    from services.models import (BatchRun, CustomReward, Evaluation, ExportJob, PromptTemplate, TestRun,
                                 TrainingSession, WizardDraft)

    dataset = client.post("/api/datasets/upload", data={"file": (io.BytesIO(jsonl_bytes(QA_ROWS)), "mine.jsonl")},
                          content_type="multipart/form-data", headers=headers)
    assert dataset.status_code == 202, dataset.json
    _wait_ready(client, dataset.json["dataset"]["id"], headers)
    saved = client.post("/api/configs/save", json={"name": f"cfg-{owner_id}", "config": {}}, headers=headers)
    assert saved.status_code == 201, saved.json
    _assert_all_owned(app)
    with app.app_context():
        output = Path(app.config["OUTPUT_FOLDER"]) / f"s{owner_id}"
        output.mkdir()
        (output / "adapter.bin").write_bytes(b"weights")
        db.session.add(TrainingSession(id=f"s{owner_id}", name="run", config={}, status="completed",
                                       owner_id=owner_id, output_dir=str(output), last_logs=[]))
        db.session.flush()
        db.session.add_all([
            ExportJob(id=f"e{owner_id}", session_id=f"s{owner_id}", owner_id=owner_id, format="adapter",
                      status="completed", export_dir=str(Path(app.config["EXPORT_FOLDER"]) / f"s{owner_id}")),
            Evaluation(session_id=f"s{owner_id}", owner_id=owner_id, status="completed", reward={}, n=1, result={}),
            BatchRun(id=f"b{owner_id}", owner_id=owner_id, model_id="m", status="completed", total=0, done=0,
                     settings={}, results=[]),
            TestRun(owner_id=owner_id, kind="test", model_id="m", prompt="p", settings={}, output="o"),
            CustomReward(name=f"reward-{owner_id}", kind="components", components=[], owner_id=owner_id),
            PromptTemplate(name=f"template-{owner_id}", system_prompt="s", reasoning_start="<a>",
                           reasoning_end="</a>", solution_start="<b>", solution_end="</b>", owner_id=owner_id),
            WizardDraft(id=f"d{owner_id}", owner_id=owner_id, config={}),
        ])
        db.session.commit()
    return dataset.json["dataset"]["id"]


def test_deleting_an_account_deletes_all_its_data_and_nothing_else(accounts_app):
    from extensions import db
    from services.models import DatasetRecord
    from services.models.auth import User

    app = accounts_app
    admin_id = add_user(app, "root", role="admin")
    bob_id = add_user(app, "bob")
    client = app.test_client()
    admin_headers = bearer(app, admin_id, ["read", "train"])
    _make_everything(app, client, admin_headers, admin_id)
    bob_headers = jwt_of(client, "bob")
    bob_dataset = _make_everything(app, client, bob_headers, bob_id)
    bob_pat = bearer(app, bob_id, ["read"])
    with app.app_context():
        bob_file = Path(app.config["UPLOAD_FOLDER"]).rglob(db.session.get(DatasetRecord, bob_dataset).stored_path)
        bob_file = next(bob_file)
    before_admin = _owned_rows(app, admin_id)
    assert set(_owned_rows(app, bob_id)) >= {"DatasetRecord", "TrainingSession", "ExportJob", "Evaluation", "BatchRun",
                                             "TestRun", "CustomReward", "PromptTemplate", "WizardDraft",
                                             "SavedConfigMeta", "ApiToken"}
    assert bob_file.is_file() and Path(app.config["OUTPUT_FOLDER"], f"s{bob_id}").is_dir()

    deleted = client.delete("/api/auth/account", json={"confirm": "bob"}, headers=bob_headers)
    assert deleted.status_code == 200, deleted.json
    assert _owned_rows(app, bob_id) == {}
    assert not bob_file.exists() and not Path(app.config["OUTPUT_FOLDER"], f"s{bob_id}").exists()
    assert not list(Path(app.config["CONFIG_FOLDER"]).rglob(f"cfg-{bob_id}*"))
    with app.app_context():
        assert db.session.get(User, bob_id) is None
    assert _owned_rows(app, admin_id) == before_admin  # the other account's data is untouched
    assert client.get("/api/auth/me", headers=bob_pat).status_code == 401
    assert client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD}).status_code == 401
    events = client.get("/api/admin/audit?action=user.deleted",
                        headers=bearer(app, admin_id, ["read", "admin"])).json["events"]
    assert [e["target"] for e in events] == ["user:bob"]


def test_a_browser_session_deletes_its_account_and_is_signed_out(accounts_app):
    add_user(accounts_app, "root", role="admin")
    add_user(accounts_app, "bob")
    client = accounts_app.test_client()
    csrf = sign_in(client, "bob")
    assert client.delete("/api/auth/account", json={"confirm": "bob"}).status_code == 403  # no CSRF token
    assert client.delete("/api/auth/account", json={"confirm": "bob"}, headers={"X-CSRFToken": csrf}).status_code == 200
    assert client.get("/api/auth/me").status_code == 401
