"""Credentials for scripts: personal access tokens (``tw_…``, stored as SHA-256) and short-lived JWTs.

A PAT is looked up by its digest through a unique index: one query, never a scan, and nothing in the
database can be replayed. A JWT (HS256 with a key derived from the server's SECRET_KEY) carries ``sub``, ``scope``, ``jti``,
``iat``, ``exp`` and ``ver``, the user's token version: logout, password change and disable raise the version,
so every JWT issued before them is refused on its next request.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import func, select

from extensions import db
from services.auth import audit
from services.auth.principal import ROLE_SCOPES, SCOPES, Principal, for_user
from services.errors import NotFoundError, ServiceError
from services.models.auth import ApiToken, User
from services.models.base import utcnow

PAT_PREFIX = "tw_"
_VISIBLE = 10  # "tw_" and 7 characters: enough to tell tokens apart, far too few to guess the rest
_LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


class AuthError(ServiceError):
    status_code = 401


def jwt_key() -> bytes:
    """The JWT signing key: derived from SECRET_KEY (HMAC with a label) rather than the key itself, so tokens and
    session cookies never share a key, and a short SECRET_KEY still signs with a full 32-byte HS256 key."""
    return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"tunewright jwt v1", hashlib.sha256).digest()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def check_scopes(requested: Any, granter: Principal) -> list[str]:
    """The requested scopes, refused when unknown or beyond what the granting principal holds."""
    if not isinstance(requested, list) or not requested or not all(isinstance(s, str) for s in requested):
        raise ServiceError(f"scopes must be a non-empty list of: {', '.join(SCOPES)}.")
    unknown = sorted(set(requested) - set(SCOPES))
    if unknown:
        raise ServiceError(f"Unknown scope(s) {', '.join(unknown)}: choose from {', '.join(SCOPES)}.")
    beyond = sorted(set(requested) - granter.scopes)
    if beyond:
        raise ServiceError(f"You cannot grant scope(s) you do not hold: {', '.join(beyond)}.", status_code=403)
    return [s for s in SCOPES if s in requested]


MAX_EXPIRY_DAYS = 3650
MAX_LIVE_TOKENS = 100  # unrevoked tokens per user: a bound on rows one account can make


def new_personal_token(user: User, granter: Principal, name: Any, scopes: Any,
                       expires_in_days: Any = None) -> tuple[ApiToken, str]:
    """A token requested over the API: a name, scopes within what the granter holds, an optional expiry."""
    errors = []
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        errors.append("name: 1-100 characters that say where the token is used.")
    if expires_in_days is not None and (not isinstance(expires_in_days, int) or isinstance(expires_in_days, bool)
                                        or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS):
        errors.append(f"expires_in_days: a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or null for none.")
    if errors:
        raise ServiceError("The token cannot be created: " + " ".join(errors), details=errors)
    live = db.session.execute(select(func.count(ApiToken.id)).where(ApiToken.user_id == user.id,
                                                                    ApiToken.revoked_at.is_(None))).scalar_one()
    if live >= MAX_LIVE_TOKENS:
        raise ServiceError(f"You have {live} tokens: revoke ones you no longer use first (at most "
                           f"{MAX_LIVE_TOKENS}).", status_code=409)
    granted = check_scopes(scopes, granter)
    return create_personal_token(user, name.strip(), granted, expires_in_days)


def create_personal_token(user: User, name: str, scopes: list[str],
                          expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token; the secret is returned once and never stored."""
    secret = PAT_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    row = ApiToken(user_id=user.id, name=name, prefix=secret[:_VISIBLE], digest=digest(secret), scopes=scopes,
                   expires_at=expires)
    db.session.add(row)
    audit.record("token.created", target=f"token:{row.prefix}", actor_id=user.id, actor=user.username,
                 detail={"name": name, "scopes": scopes, "expires_in_days": expires_in_days}, commit=False)
    db.session.commit()
    return row, secret


def principal_from_personal_token(token: str) -> tuple[Principal, ApiToken]:
    row = db.session.execute(select(ApiToken).where(ApiToken.digest == digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise AuthError("This access token is not valid (unknown or revoked).")
    if row.expires_at is not None and _aware(row.expires_at) <= utcnow():
        raise AuthError("This access token has expired: create a new one on the Account page.")
    user = db.session.get(User, row.user_id)
    if user is None or user.status != "active":
        raise AuthError("The account of this access token is not active.")
    now = utcnow()
    if row.last_used_at is None or now - _aware(row.last_used_at) >= _LAST_USED_EVERY:
        row.last_used_at = now  # and an audit entry: token use is logged at the same pace, not per request
        audit.record("token.used", target=f"token:{row.prefix}", actor_id=user.id, actor=user.username,
                     commit=False)
        db.session.commit()
    return for_user(user, "pat", frozenset(row.scopes)), row


def revoke_personal_token(user_id: int, token_id: int) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFoundError(f"Token {token_id} not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("token.revoked", target=f"token:{row.prefix}", detail={"name": row.name}, commit=False)
        db.session.commit()
    return row


def list_personal_tokens(user_id: int) -> list[ApiToken]:
    return list(db.session.execute(select(ApiToken).where(ApiToken.user_id == user_id)
                                   .order_by(ApiToken.id)).scalars())


def token_dict(row: ApiToken) -> dict[str, Any]:
    def iso(value):
        return _aware(value).isoformat() if value else None

    return {"id": row.id, "name": row.name, "prefix": row.prefix, "scopes": list(row.scopes),
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at),
            "last_used_at": iso(row.last_used_at), "revoked": row.revoked_at is not None}


def issue_jwt(user: User, scopes: frozenset[str] | None = None) -> dict[str, Any]:
    """``{access_token, token_type, expires_in}`` for a user (scopes: the role's, or a PAT's when exchanged)."""
    lifetime = int(current_app.config["JWT_LIFETIME_SECONDS"])
    granted = ROLE_SCOPES.get(user.role, frozenset()) if scopes is None else scopes
    now = datetime.now(timezone.utc)
    claims = {"sub": str(user.id), "scope": " ".join(s for s in SCOPES if s in granted), "jti": uuid.uuid4().hex,
              "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
              "ver": user.token_version}
    token = jwt.encode(claims, jwt_key(), algorithm="HS256")
    return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}


def principal_from_jwt(token: str) -> Principal:
    try:
        claims = jwt.decode(token, jwt_key(), algorithms=["HS256"],
                            options={"require": ["sub", "exp", "iat", "jti", "scope", "ver"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("This access token has expired: ask POST /api/auth/token for a new one.") from None
    except jwt.PyJWTError:
        raise AuthError("This access token is not valid.") from None
    try:
        user = db.session.get(User, int(claims["sub"]))
    except (TypeError, ValueError):
        raise AuthError("This access token is not valid.") from None
    if user is None or user.status != "active":
        raise AuthError("The account of this access token is not active.")
    if claims["ver"] != user.token_version:
        raise AuthError("This access token was revoked (logout or password change): ask for a new one.")
    return for_user(user, "jwt", frozenset(str(claims["scope"]).split()))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith(PAT_PREFIX)
