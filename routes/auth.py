"""The accounts API (/api/auth): register, sign in and out, JWT exchange, the caller's own account and tokens.

Endpoint names are the ones services/auth/permissions.py classifies. In single mode every endpoint is a 404
that says accounts are off. Sign-in, registration and token exchange are rate-limited (services/auth/limits).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request, session
from flask_login import login_user, logout_user
from flask_wtf.csrf import generate_csrf

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.auth import (AuthAccountDeletion, AuthJwt, AuthLoggedIn, AuthLogin, AuthMe, AuthPasswordChange,
                                 AuthPasswordChanged, AuthRegister, AuthSecret, AuthSecretList, AuthSecretValue,
                                 AuthToken, AuthTokenCreate, AuthTokenCreated, AuthTokenExchange, AuthTokenList,
                                 AuthUser)
from routes.schemas.common import Deleted, Ok
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


# The rate limits stay outermost on the views that check a password, so every attempt counts against the address
# as before, a malformed one too; the view they wrap is SpecTree's, which validates the body (json= or form=).
@bp.post("/register")
@auth_limits
@api.validate(json=AuthRegister, form=AuthRegister, resp=Responses(HTTP_201=AuthUser), tags=["auth"])
def register():
    """Create an account (the first becomes the administrator; later ones may await approval)."""
    body = _body()
    user = users.register(body.get("username"), body.get("email"), body.get("password"), body.get("full_name"))
    return jsonify(users.user_dict(user)), 201


@bp.post("/login")
@auth_limits
@api.validate(json=AuthLogin, form=AuthLogin, resp=Responses(HTTP_200=AuthLoggedIn), tags=["auth"])
def login():
    """Sign in a browser: a session cookie, and the CSRF token its changing requests send."""
    body = _body()
    user = users.authenticate(body.get("username"), body.get("password"), via="session")
    _sign_in(user)
    return jsonify(user=users.user_dict(user), csrf_token=generate_csrf())


@bp.post("/logout")
@api.validate(resp=Responses(HTTP_200=Ok), tags=["auth"])
def logout():
    """Sign out everywhere.

    Signs out everywhere: every browser session and JWT of the user ends (their token version rises).
    Personal access tokens stay until revoked."""
    principal = current_principal()
    if principal.user_id is not None:
        users.logout_everywhere(users.get_user(principal.user_id))
    logout_user()
    session.clear()
    return jsonify(ok=True)


@bp.post("/token")
@auth_limits
@api.validate(json=AuthTokenExchange, resp=Responses(HTTP_200=AuthJwt), tags=["auth"])
def token():
    """Exchange a password or a personal access token for a short-lived JWT.

    ``{username, password}`` or ``{token: "tw_…"}`` -> a short-lived JWT (a PAT's exchange keeps its scopes)."""
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
@api.validate(resp=Responses(HTTP_200=AuthMe), tags=["auth"])
def me():
    """Who the caller is: their account, how they signed in and their scopes."""
    principal = current_principal()
    user = users.user_dict(users.get_user(principal.user_id)) if principal.user_id is not None else None
    return jsonify(user=user, via=principal.via, scopes=sorted(principal.scopes))


@bp.post("/password", endpoint="password")
@api.validate(json=AuthPasswordChange, resp=Responses(HTTP_200=AuthPasswordChanged), tags=["auth"])
def change_password():
    """Change the caller's password.

    Every session and JWT ends (the token version rises); the browser that asked is signed in again."""
    body = json_body()
    user = _me()
    users.change_password(user, body.get("current_password"), body.get("new_password"))
    if current_principal().via == "session":
        _sign_in(user)
        return jsonify(ok=True, csrf_token=generate_csrf())
    return jsonify(ok=True)


@bp.get("/tokens", endpoint="tokens")
@api.validate(resp=Responses(HTTP_200=AuthTokenList), tags=["auth"])
def personal_tokens():
    """The caller's personal access tokens (never their secrets)."""
    return jsonify(tokens=[tokens.token_dict(t) for t in tokens.list_personal_tokens(_me().id)])


@bp.post("/tokens", endpoint="create_token")
@api.validate(json=AuthTokenCreate, resp=Responses(HTTP_201=AuthTokenCreated), tags=["auth"])
def create_token():
    """Create a personal access token with scopes within the caller's own; its secret is shown this once."""
    user = _me()
    body = json_body()
    row, secret = tokens.new_personal_token(user, current_principal(), body.get("name"), body.get("scopes"),
                                            body.get("expires_in_days"))
    return jsonify({**tokens.token_dict(row), "token": secret}), 201


@bp.delete("/tokens/<int:token_id>", endpoint="revoke_token")
@api.validate(resp=Responses(HTTP_200=AuthToken), tags=["auth"])
def revoke_token(token_id: int):
    """Revoke one of the caller's personal access tokens.

    Another user's token id is a 404, like one that does not exist."""
    return jsonify(tokens.token_dict(tokens.revoke_personal_token(_me().id, token_id)))


@bp.get("/secrets", endpoint="secrets")
@api.validate(resp=Responses(HTTP_200=AuthSecretList), tags=["auth"])
def list_secrets():
    """The caller's stored tracker credentials and the names one may have.

    Names only: a stored value never comes back out of the API."""
    user = _me()
    return jsonify(secrets=[secrets.secret_dict(s) for s in secrets.list_secrets(user.id)],
                   allowed=secrets.allowed_secrets())


@bp.put("/secrets/<name>", endpoint="set_secret")
@api.validate(json=AuthSecretValue, resp=Responses(HTTP_200=AuthSecret), tags=["auth"])
def set_secret(name: str):
    """Store (or replace) one of the caller's tracker credentials; the value never comes back out."""
    row = secrets.set_secret(_me().id, name, json_body().get("value"))
    return jsonify(secrets.secret_dict(row))


@bp.delete("/secrets/<name>", endpoint="delete_secret")
@api.validate(resp=Responses(HTTP_200=Deleted), tags=["auth"])
def delete_secret(name: str):
    """Delete one of the caller's tracker credentials.

    A name the caller has not stored (whoever else has) is a 404."""
    secrets.delete_secret(_me().id, name)
    return jsonify(deleted=name)


@bp.delete("/account", endpoint="delete_account")
@api.validate(json=AuthAccountDeletion, resp=Responses(HTTP_200=Deleted), tags=["auth"])
def delete_account():
    """Delete the caller's account and everything it owns (send your username as ``confirm``)."""
    body = json_body()
    result = account.delete_account(_me(), body.get("confirm"))
    logout_user()
    session.clear()
    return jsonify(result)
