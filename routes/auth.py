"""The accounts API (/api/auth): register, sign in and out, JWT exchange, the caller's own account and tokens.

Endpoint names are the ones services/auth/permissions.py classifies. In single mode every endpoint is a 404
that says accounts are off. Sign-in, registration and token exchange are rate-limited (services/auth/limits).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request, session
from flask_login import login_user, logout_user
from flask_wtf.csrf import generate_csrf

from routes.request_json import json_body
from services.auth import account, secrets, tokens, users
from services.auth.current import current_principal
from services.auth.limits import auth_limits
from services.auth.permissions import require_accounts
from services.errors import ServiceError
from services.models.auth import User

bp = Blueprint("auth", __name__)


@bp.before_request
def _accounts_only():
    require_accounts()


def _body() -> dict:
    """JSON, or a plain form post (a browser without scripts, curl -d)."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    return json_body()


def _me() -> User:
    principal = current_principal()
    if principal.user_id is None:
        raise ServiceError("This needs an account: the studio's access token is not one. Register the first "
                           "account (POST /api/auth/register) and sign in with it.", status_code=403)
    return users.get_user(principal.user_id)


def _sign_in(user: User) -> None:
    """A fresh browser session for ``user``: the old one (and its CSRF token) is dropped, so a session id
    planted before sign-in is worth nothing after it."""
    session.clear()
    login_user(user)


@bp.post("/register")
@auth_limits
def register():
    body = _body()
    user = users.register(body.get("username"), body.get("email"), body.get("password"), body.get("full_name"))
    return jsonify(users.user_dict(user)), 201


@bp.post("/login")
@auth_limits
def login():
    body = _body()
    user = users.authenticate(body.get("username"), body.get("password"), via="session")
    _sign_in(user)
    return jsonify(user=users.user_dict(user), csrf_token=generate_csrf())


@bp.post("/logout")
def logout():
    """Signs out everywhere: every browser session and JWT of the user ends (their token version rises).
    Personal access tokens stay until revoked."""
    principal = current_principal()
    if principal.user_id is not None:
        users.logout_everywhere(users.get_user(principal.user_id))
    logout_user()
    session.clear()
    return jsonify(ok=True)


@bp.post("/token")
@auth_limits
def token():
    """``{username, password}`` or ``{token: "tw_…"}`` -> a short-lived JWT (a PAT's exchange keeps its scopes)."""
    body = json_body()
    if "token" in body:
        secret = body.get("token")
        if not isinstance(secret, str) or not secret.startswith(tokens.PAT_PREFIX):
            raise ServiceError("token: a personal access token (tw_…).")
        principal, _ = tokens.principal_from_personal_token(secret)
        return jsonify(tokens.issue_jwt(users.get_user(principal.user_id), principal.scopes))
    user = users.authenticate(body.get("username"), body.get("password"), via="jwt")
    return jsonify(tokens.issue_jwt(user))


@bp.get("/me")
def me():
    principal = current_principal()
    user = users.user_dict(users.get_user(principal.user_id)) if principal.user_id is not None else None
    return jsonify(user=user, via=principal.via, scopes=sorted(principal.scopes))


@bp.post("/password", endpoint="password")
def change_password():
    """Every session and JWT ends (the token version rises); the browser that asked is signed in again."""
    body = json_body()
    user = _me()
    users.change_password(user, body.get("current_password"), body.get("new_password"))
    if current_principal().via == "session":
        _sign_in(user)
        return jsonify(ok=True, csrf_token=generate_csrf())
    return jsonify(ok=True)


@bp.route("/tokens", methods=["GET", "POST"], endpoint="tokens")
def personal_tokens():
    user = _me()
    if request.method == "GET":
        return jsonify(tokens=[tokens.token_dict(t) for t in tokens.list_personal_tokens(user.id)])
    body = json_body()
    row, secret = tokens.new_personal_token(user, current_principal(), body.get("name"), body.get("scopes"),
                                            body.get("expires_in_days"))
    return jsonify({**tokens.token_dict(row), "token": secret}), 201


@bp.delete("/tokens/<int:token_id>", endpoint="revoke_token")
def revoke_token(token_id: int):
    """Another user's token id is a 404, like one that does not exist."""
    return jsonify(tokens.token_dict(tokens.revoke_personal_token(_me().id, token_id)))


@bp.get("/secrets", endpoint="secrets")
def list_secrets():
    """Names only: a stored value never comes back out of the API."""
    user = _me()
    return jsonify(secrets=[secrets.secret_dict(s) for s in secrets.list_secrets(user.id)],
                   allowed=secrets.allowed_secrets())


@bp.put("/secrets/<name>", endpoint="set_secret")
def set_secret(name: str):
    row = secrets.set_secret(_me().id, name, json_body().get("value"))
    return jsonify(secrets.secret_dict(row))


@bp.delete("/secrets/<name>", endpoint="delete_secret")
def delete_secret(name: str):
    """A name the caller has not stored (whoever else has) is a 404."""
    secrets.delete_secret(_me().id, name)
    return jsonify(deleted=name)


@bp.delete("/account", endpoint="delete_account")
def delete_account():
    body = json_body()
    result = account.delete_account(_me(), body.get("confirm"))
    logout_user()
    session.clear()
    return jsonify(result)
