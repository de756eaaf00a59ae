"""Rate limits of the endpoints that check a password or mint a credential (login, register, token).

Two limits of ``AUTH_RATE_LIMIT`` each: per client address (every attempt counts, so one address cannot try
many usernames) and per username (only failed attempts count, so a guesser spread over many addresses still
locks one account's guessing, while its owner's successful sign-ins do not use the budget up). A limited
request is a 429 whose Retry-After says when to try again (Flask-Limiter adds the header, errors.py keeps it).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import current_app, request
from flask_limiter.util import get_remote_address

from extensions import limiter
from services.auth.mode import accounts_enabled

_BODY_PEEK_BYTES = 64 * 1024  # a sign-in body is tiny


def auth_rate_limit() -> str:
    return str(current_app.config.get("AUTH_RATE_LIMIT") or "10 per minute")


def submitted_username() -> str:
    """The username a request names (JSON or form), lower-cased; empty when it names none. Decorated limits are
    checked when the view is called, after the request hook (so after its body cap); a sign-in body is tiny
    anyway, and a larger one is not looked at."""
    if request.content_length is None or request.content_length > _BODY_PEEK_BYTES:
        return ""
    value = None
    if request.is_json:
        body = request.get_json(silent=True)
        value = body.get("username") if isinstance(body, dict) else None
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = request.form.get("username")
    return value.strip().lower()[:64] if isinstance(value, str) else ""


def username_key() -> str:
    """The per-username bucket. A PAT exchange (``{token}``) names no user: its bucket is the token's digest,
    so guessing tokens is limited like guessing one password."""
    name = submitted_username()
    if name:
        return "user:" + name
    if request.is_json and (request.content_length or 0) <= _BODY_PEEK_BYTES:
        body = request.get_json(silent=True)
        token = body.get("token") if isinstance(body, dict) else None
        if isinstance(token, str) and token:
            return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    return "user:-"


def failed(response) -> bool:
    """What counts against a username: refusals of the credentials (401, 403), not successes or bad input."""
    return response.status_code in (401, 403)


TOO_MANY = ("Too many sign-in attempts: wait before trying again (the Retry-After header says how many seconds). "
            "Each failed attempt counts against the username and the address.")


def _off() -> bool:
    return not accounts_enabled()


def auth_limits(view: Callable) -> Callable:
    """Both limits on one view (apply under the route decorator). The per-username bucket is shared by the
    endpoints that check a password, so guesses spread over login and token exchange add up."""
    per_user = limiter.shared_limit(auth_rate_limit, scope="auth-username", key_func=username_key,
                                    deduct_when=failed, exempt_when=_off, error_message=TOO_MANY)
    per_address = limiter.limit(auth_rate_limit, key_func=get_remote_address, exempt_when=_off, scope="address",
                                error_message=TOO_MANY)
    return per_address(per_user(view))
