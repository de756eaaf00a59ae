"""Who is asking: one ``current_principal()`` for HTTP requests, Socket.IO events and work outside requests.

HTTP: resolved once per request by ``authenticate()`` (called from services/security.py's hook) and kept in
``flask.g``. Socket.IO: resolved at the handshake and kept per connection id. Outside both (CLI commands,
supervisor threads) it is ``LOCAL``: nobody in particular, which sees everything.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import exists, select

from extensions import db, login_manager
from services.auth.mode import accounts_enabled
from services.auth.principal import BOOTSTRAP, LOCAL, Principal, for_user
from services.auth.tokens import (PAT_PREFIX, AuthError, looks_like_jwt, principal_from_jwt,
                                  principal_from_personal_token)
from services.models.auth import User

_sockets: dict[str, Principal] = {}
_sockets_lock = threading.Lock()


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The session cookie holds ``<id>:<token version>``: a raised version (logout elsewhere, password change,
    disable) ends every browser session at once."""
    user_id, _, version = session_id.partition(":")
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or user.status != "active" or str(user.token_version) != version:
        return None
    return user


def any_account_exists() -> bool:
    return bool(db.session.execute(select(exists().where(User.id.isnot(None)))).scalar())


def authenticate(bearer: str | None, bootstrap_token_offered: bool) -> Principal | None:
    """The principal of this request in accounts mode, or None for an anonymous one. ``bootstrap_token_offered``:
    the request carries today's access token (header, cookie or URL), which is an admin credential until the
    first account exists. Raises AuthError (401) for a bearer credential that is present but not valid."""
    if bearer:
        if bearer.startswith(PAT_PREFIX):
            return principal_from_personal_token(bearer)[0]
        if looks_like_jwt(bearer):
            return principal_from_jwt(bearer)
        if not bootstrap_token_offered:
            raise AuthError("This access token is not valid.")
        if any_account_exists():
            raise AuthError("This access token is not valid: the studio's access token only creates the first "
                            "account. Sign in, or use a personal access token.")
    if current_user.is_authenticated:
        return for_user(current_user._get_current_object(), "session")
    if bootstrap_token_offered and not any_account_exists():
        return BOOTSTRAP
    return None


def set_request_principal(principal: Principal | None) -> None:
    g.tunewright_principal = principal


def current_principal() -> Principal:
    """The principal of this request or Socket.IO event; LOCAL in single mode and outside requests."""
    if not has_request_context() or not accounts_enabled():
        return LOCAL
    sid = getattr(request, "sid", None)
    if sid is not None:
        with _sockets_lock:
            principal = _sockets.get(sid)
        if principal is None:
            raise AuthError("This connection is not signed in.")
        return principal
    principal = g.get("tunewright_principal")
    if principal is None:
        raise AuthError("Sign in first.")
    return principal


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Run a block as ``principal``, restoring the caller's after. ``acting_as(LOCAL)`` is the server itself: a
    queue dispatched by user A's request may start user B's session, and what that start reads is not A's to
    see. For anyone else outside a request (a CLI command deleting an account) a request context is pushed."""
    if not has_request_context():
        if principal is LOCAL:
            yield  # outside requests the principal is already the server's
            return
        with current_app.test_request_context("/"):
            set_request_principal(principal)
            yield
        return
    missing = object()
    saved = g.get("tunewright_principal", missing)
    g.tunewright_principal = principal
    try:
        yield
    finally:
        if saved is missing:
            g.pop("tunewright_principal", None)
        else:
            g.tunewright_principal = saved


def current_owner_id() -> int | None:
    """The owner of what this request makes and the filter for what it sees (None: everything, single mode)."""
    return current_principal().user_id


# -- Socket.IO connections ------------------------------------------------------------------------------------
def bind_socket(sid: str, principal: Principal) -> None:
    with _sockets_lock:
        _sockets[sid] = principal


def unbind_socket(sid: str) -> None:
    with _sockets_lock:
        _sockets.pop(sid, None)


def sockets_of(user_id: int) -> list[str]:
    with _sockets_lock:
        return [sid for sid, p in _sockets.items() if p.user_id == user_id]
