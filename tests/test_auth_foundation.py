"""Issue 19's foundation: which mode a studio runs in, personal tokens and JWTs, and the scope every endpoint
needs (walked over the URL map, so a new endpoint is checked the moment it exists)."""
from __future__ import annotations

import time

import jwt
import pytest

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


@pytest.mark.parametrize("setting, bind, production, expected", [
    (None, "127.0.0.1", False, "single"),
    (None, "::1", False, "single"),
    (None, "0.0.0.0", False, "accounts"),
    (None, "192.168.1.20", False, "accounts"),
    (None, "127.0.0.1", True, "accounts"),
    ("single", "0.0.0.0", True, "single"),
    ("accounts", "127.0.0.1", False, "accounts"),
])
def test_mode_follows_exposure_unless_set(setting, bind, production, expected):
    from services.auth.mode import resolve_mode

    assert resolve_mode(setting, bind, production) == expected


def test_unknown_mode_is_refused_at_start(test_config):
    from app_factory import create_app

    with pytest.raises(RuntimeError, match="TUNEWRIGHT_AUTH"):
        create_app({**test_config, "AUTH_MODE_SETTING": "everyone"})


def test_production_config_means_accounts(test_config, monkeypatch):
    from app_factory import create_app
    from config import ProductionConfig

    class Production(ProductionConfig):
        SECRET_KEY = "x" * 32
        AUTH_MODE_SETTING = None

    for key, value in test_config.items():
        setattr(Production, key, value)
    Production.TESTING = True
    app = create_app(Production)
    try:
        assert app.config["AUTH_MODE"] == "accounts"
        assert app.config["MAX_RUNNING_PER_USER"] == 1
    finally:
        app.extensions["tunewright.training"].shutdown()


def test_configured_token_is_enforced_on_loopback_in_accounts_mode_until_the_first_account(tmp_path):
    """Today's token is the bootstrap admin credential: needed to create the first (admin) account; afterwards
    it opens nothing."""
    from app_factory import create_app
    from tests.auth_helpers import accounts_config
    from tests.helpers import reset_database

    config = accounts_config(tmp_path, ACCESS_TOKEN_SETTING="boot-token")
    reset_database(config["SQLALCHEMY_DATABASE_URI"])  # PostgreSQL's test database is shared between tests
    app = create_app(config)
    try:
        client = app.test_client()
        boot = {"Authorization": "Bearer boot-token"}
        assert client.get("/api/datasets/list").status_code == 401
        assert client.get("/api/datasets/list", headers=boot).status_code == 200
        add_user(app, "first", role="admin")
        answer = client.get("/api/datasets/list", headers=boot)
        assert answer.status_code == 401 and "not valid" in answer.json["error"]
    finally:
        app.extensions["tunewright.training"].shutdown()


def test_personal_token_is_stored_as_a_digest_and_found_by_it(accounts_app):
    from extensions import db
    from services.auth.tokens import digest
    from services.models.auth import ApiToken

    user = add_user(accounts_app, "ada")
    header = bearer(accounts_app, user, ["read"])
    secret = header["Authorization"].split()[1]
    assert secret.startswith("tw_") and len(secret) >= 3 + 43
    with accounts_app.app_context():
        row = db.session.execute(db.select(ApiToken)).scalar_one()
        assert row.digest == digest(secret) and secret not in (row.prefix, row.digest, str(row.scopes))
        assert secret.startswith(row.prefix) and len(row.prefix) < 16
    client = accounts_app.test_client()
    assert client.get("/api/datasets/list", headers=header).status_code == 200
    assert client.get("/api/datasets/list", headers={"Authorization": secret[:-2] + "xx"}).status_code == 401
    assert client.get("/api/datasets/list", headers={"Authorization": "Bearer " + secret[:-2] + "xx"}).status_code == 401


def test_expired_and_revoked_personal_tokens_are_refused(accounts_app):
    from datetime import timedelta

    from extensions import db
    from services.auth.tokens import revoke_personal_token
    from services.models.auth import ApiToken
    from services.models.base import utcnow

    user = add_user(accounts_app, "ada")
    header = bearer(accounts_app, user, ["read"])
    client = accounts_app.test_client()
    assert client.get("/api/datasets/list", headers=header).status_code == 200
    with accounts_app.app_context():
        row = db.session.execute(db.select(ApiToken)).scalar_one()
        assert row.last_used_at is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    answer = client.get("/api/datasets/list", headers=header)
    assert answer.status_code == 401 and "expired" in answer.json["error"]
    with accounts_app.app_context():
        row = db.session.execute(db.select(ApiToken)).scalar_one()
        row.expires_at = None
        db.session.commit()
        assert client.get("/api/datasets/list", headers=header).status_code == 200
        revoke_personal_token(user, row.id)
    assert client.get("/api/datasets/list", headers=header).status_code == 401


def _jwt_for(app, user_id, **claims):
    from extensions import db
    from services.auth.tokens import issue_jwt, jwt_key
    from services.models.auth import User

    with app.app_context():
        token = issue_jwt(db.session.get(User, user_id))["access_token"]
    if claims:
        with app.app_context():
            payload = jwt.decode(token, jwt_key(), algorithms=["HS256"])
            payload.update(claims)
            token = jwt.encode(payload, jwt_key(), algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def test_jwt_carries_the_claims_and_is_refused_when_expired_forged_or_revoked(accounts_app):
    from extensions import db
    from services.auth.users import logout_everywhere
    from services.models.auth import User

    user = add_user(accounts_app, "ada")
    client = accounts_app.test_client()
    header = _jwt_for(accounts_app, user)
    from services.auth.tokens import jwt_key

    with accounts_app.app_context():
        claims = jwt.decode(header["Authorization"].split()[1], jwt_key(), algorithms=["HS256"])
    assert {"sub", "scope", "jti", "iat", "exp"} <= set(claims) and claims["exp"] - claims["iat"] == 1800
    assert set(claims["scope"].split()) == {"read", "train", "export", "deploy"}
    assert client.get("/api/datasets/list", headers=header).status_code == 200

    expired = _jwt_for(accounts_app, user, exp=int(time.time()) - 5)
    answer = client.get("/api/datasets/list", headers=expired)
    assert answer.status_code == 401 and "expired" in answer.json["error"]
    forged = jwt.encode({**claims, "sub": str(user)}, "another secret of at least 32 bytes", algorithm="HS256")
    assert client.get("/api/datasets/list", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    none_alg = jwt.encode(claims, None, algorithm="none")
    assert client.get("/api/datasets/list", headers={"Authorization": f"Bearer {none_alg}"}).status_code == 401

    with accounts_app.test_request_context("/"):
        logout_everywhere(db.session.get(User, user))
    answer = client.get("/api/datasets/list", headers=header)
    assert answer.status_code == 401 and "revoked" in answer.json["error"]


def test_disabled_users_credentials_stop_working_at_once(accounts_app):
    from services.auth.users import admin_update

    admin = add_user(accounts_app, "root", role="admin")
    user = add_user(accounts_app, "ada")
    pat, token = bearer(accounts_app, user, ["read"]), _jwt_for(accounts_app, user)
    client = accounts_app.test_client()
    assert client.get("/api/datasets/list", headers=pat).status_code == 200
    with accounts_app.test_request_context("/"):
        from services.auth.current import set_request_principal
        from services.auth.principal import for_user
        from extensions import db
        from services.models.auth import User

        set_request_principal(for_user(db.session.get(User, admin), "pat"))
        admin_update(user, status="disabled", actor_id=admin)
    assert client.get("/api/datasets/list", headers=pat).status_code == 401
    assert client.get("/api/datasets/list", headers=token).status_code == 401


def _unsafe_endpoints(app):
    from services.auth.permissions import ACCOUNT_ENDPOINTS, PUBLIC_ENDPOINTS

    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS | ACCOUNT_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            found.append((rule, method))
    return found


def test_a_read_token_changes_nothing_anywhere(accounts_app):
    """Every state-changing endpoint of the app refuses a read-only token before its view runs."""
    from services.auth.permissions import required_scope

    user = add_user(accounts_app, "reader")
    header = bearer(accounts_app, user, ["read"])
    client = accounts_app.test_client()
    checked = 0
    for rule, method in _unsafe_endpoints(accounts_app):
        scope = required_scope(rule.endpoint, method)
        if scope is None or "read" in (scope if isinstance(scope, tuple) else (scope,)):
            continue  # (a deployed model answers a read token: /v1/chat/completions)
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "x1")
            url = url.replace(f"<path:{argument}>", "x1")
        answer = client.open(url, method=method, json={}, headers=header)
        assert answer.status_code == 403, (rule.rule, method, answer.status_code)
        assert scope in answer.json["error"]
        checked += 1
    assert checked > 30  # the app has dozens of them: the walk really ran


def test_scope_table_classifies_training_export_and_deploy():
    from services.auth.permissions import required_scope

    assert required_scope("training.start", "POST") == "train"
    assert required_scope("api_v1_jobs.create", "POST") == "train"
    assert required_scope("training.sessions", "GET") == "read"
    assert required_scope("exports.create", "POST") == "export"
    assert required_scope("exports.download", "GET") == "export"
    assert required_scope("sessions.deploy", "GET") == "deploy"
    assert required_scope("admin.users", "GET") == "admin"


def test_export_token_cannot_start_training_but_can_read(accounts_app):
    user = add_user(accounts_app, "ada")
    header = bearer(accounts_app, user, ["read", "export"])
    client = accounts_app.test_client()
    answer = client.post("/api/training/start", json={}, headers=header)
    assert answer.status_code == 403 and "'train'" in answer.json["error"]
    assert client.get("/api/training/sessions", headers=header).status_code == 200


def test_a_token_never_holds_more_than_its_users_role(accounts_app):
    """An admin scope on a token of a user who is not (or no longer) an admin grants nothing."""
    from extensions import db
    from services.auth.tokens import create_personal_token
    from services.models.auth import User

    user = add_user(accounts_app, "ada")
    with accounts_app.app_context():
        _, secret = create_personal_token(db.session.get(User, user), "sneaky", ["read", "admin"])
    from services.auth.tokens import principal_from_personal_token

    with accounts_app.app_context():
        principal, _ = principal_from_personal_token(secret)
    assert principal.scopes == frozenset({"read"})


def test_first_account_inherits_what_the_single_user_studio_made(tmp_path):
    """Switching a studio from single to accounts: the first administrator owns everything that exists."""
    from app_factory import create_app
    from extensions import db
    from services.auth.users import register
    from services.models import DatasetRecord, TrainingSession
    from tests.auth_helpers import accounts_config
    from tests.helpers import make_test_config, reset_database

    config = make_test_config(tmp_path)
    reset_database(config["SQLALCHEMY_DATABASE_URI"])  # PostgreSQL's test database is shared between tests
    single = create_app(config)
    with single.app_context():
        db.session.add(DatasetRecord(name="old", source_kind="upload", format="jsonl", status="ready"))
        db.session.commit()
    single.extensions["tunewright.training"].shutdown()

    accounts = create_app(accounts_config(tmp_path))
    try:
        with accounts.test_request_context("/"):
            first = register("founder", "founder@example.org", "long enough 1")
            second = register("later", "later@example.org", "long enough 2")
            assert (first.role, first.status) == ("admin", "active")
            assert (second.role, second.status) == ("user", "pending")
            owners = {r.owner_id for r in db.session.execute(db.select(DatasetRecord)).scalars()}
            assert owners == {first.id}
            assert db.session.execute(db.select(TrainingSession)).first() is None
    finally:
        accounts.extensions["tunewright.training"].shutdown()


def test_one_account_holds_a_bounded_number_of_live_tokens(accounts_app, monkeypatch):
    from services.auth import tokens

    monkeypatch.setattr(tokens, "MAX_LIVE_TOKENS", 3)
    user = add_user(accounts_app, "ada")
    header = bearer(accounts_app, user, ["read"])  # the first of three
    client = accounts_app.test_client()
    made = [client.post("/api/auth/tokens", json={"name": f"t{i}", "scopes": ["read"]}, headers=header)
            for i in range(3)]
    assert [m.status_code for m in made] == [201, 201, 409]
    assert "revoke" in made[2].json["error"]
    assert client.delete(f"/api/auth/tokens/{made[0].json['id']}", headers=header).status_code == 200
    assert client.post("/api/auth/tokens", json={"name": "again", "scopes": ["read"]}, headers=header).status_code == 201
