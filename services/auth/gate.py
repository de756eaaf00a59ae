"""The accounts-mode half of the request hook (services/security.py runs Host, Origin and body checks first):
prove who is asking, keep pending work (a forced password change) first, check the endpoint's scope, and
require a CSRF token from requests that a browser session cookie authorises."""
from __future__ import annotations

from flask import current_app, request
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from services.auth.current import any_account_exists, authenticate, set_request_principal
from services.auth.permissions import ACCOUNT_ENDPOINTS, PUBLIC_ENDPOINTS, required_scope
from services.auth.tokens import AuthError

SIGN_IN_HELP = ("Sign in first: open /login in a browser, or send 'Authorization: Bearer <token>' with a personal "
                "access token (tw_…) or a JWT from POST /api/auth/token.")
FIRST_ACCOUNT_HELP = ("The first account becomes this studio's administrator, so creating it needs the access "
                      "token printed where the server started: open the studio's URL with ?token=… first.")
REGISTER_ENDPOINTS = ("auth.register", "auth_pages.register")


def check_request(bearer: str | None, bootstrap_offered: bool):
    """None to go on, or the response that refuses the request."""
    from services.security import SAFE_METHODS, refuse

    endpoint = request.endpoint or ""
    try:
        principal = authenticate(bearer, bootstrap_offered)
    except AuthError as error:
        return refuse(401, error.message, login=True)
    set_request_principal(principal)
    if principal is None:
        if endpoint in REGISTER_ENDPOINTS and current_app.config.get("ACCESS_TOKEN") and not any_account_exists():
            return refuse(401, FIRST_ACCOUNT_HELP)
        if endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None  # a 404 for an unknown URL stays a 404
        return refuse(401, SIGN_IN_HELP, login=True)
    if principal.user_id is not None and endpoint not in ACCOUNT_ENDPOINTS | PUBLIC_ENDPOINTS:
        from services.models.auth import User
        from extensions import db

        user = db.session.get(User, principal.user_id)
        if user is not None and user.must_change_password:
            return refuse(403, "An administrator reset your password: choose a new one on the Account page "
                               "(POST /api/auth/password) first.")
    scope = required_scope(endpoint, request.method)
    if not principal.allows(scope):
        needed = " or ".join(f"'{s}'" for s in scope) if isinstance(scope, tuple) else f"'{scope}'"
        return refuse(403, f"This needs the {needed} scope, which your credentials do not have.")
    if principal.via == "session" and request.method not in SAFE_METHODS:
        try:
            check_csrf()
        except ValidationError as error:
            return refuse(403, f"CSRF check failed ({error}): reload the page and try again.")
    return None


def check_csrf() -> None:
    """The request's CSRF token (``X-CSRFToken`` header, or the ``csrf_token`` field of a plain form post) must
    be this session's. Not ``csrf.protect()``: that reads ``request.form`` first, which swallows a streamed
    upload before its view reads it, and on HTTPS it demands a Referer that our ``Referrer-Policy: no-referrer``
    never lets the browser send (the Origin check in services/security.py covers what that would)."""
    token = next((request.headers[name] for name in current_app.config["WTF_CSRF_HEADERS"]
                  if request.headers.get(name)), None)
    if token is None and request.mimetype == "application/x-www-form-urlencoded":
        token = request.form.get(current_app.config["WTF_CSRF_FIELD_NAME"])
    validate_csrf(token)
