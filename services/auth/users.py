"""Accounts: register, sign in, approve, roles, passwords. Every change that ends a user's credentials raises
their token version (services/auth/tokens.py) and tells the live connections (``on_revoke`` hooks)."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from extensions import db
from services.auth import audit
from services.auth.passwords import hash_password, needs_rehash, problems, verify_password
from services.auth.principal import ROLES, STATUSES
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.auth import User
from services.models.base import utcnow

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,63}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
# Tables whose rows have an owner: on the first switch to accounts, the first admin owns what exists.
OWNED_MODELS: list[type] = []
_revoke_hooks: list[Callable[[int], None]] = []
_DUMMY_HASH: dict[bool, str] = {}


def on_revoke(hook: Callable[[int], None]) -> None:
    """Call ``hook(user_id)`` when a user's credentials end (disable, logout, password change, deletion)."""
    _revoke_hooks.append(hook)


def revoke_credentials(user: User) -> None:
    """End every session, JWT and live connection of ``user`` now (commits)."""
    _revoked(user)


def _revoked(user: User) -> None:
    user.token_version += 1
    db.session.commit()
    for hook in list(_revoke_hooks):
        try:
            hook(user.id)
        except Exception:  # a hook (a Socket.IO disconnect) must never undo the revocation
            current_app.logger.exception("revocation hook failed for user %s", user.id)


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "email": user.email, "full_name": user.full_name,
            "role": user.role, "status": user.status, "must_change_password": user.must_change_password,
            "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


def _owned_models() -> list[type]:
    if not OWNED_MODELS:
        from services.models import (BatchRun, CustomReward, DatasetRecord, Evaluation, ExportJob, ModelVersion,
                                     Project, PromptTemplate, RegisteredModel, SavedConfigMeta, TestRun,
                                     TrainingSession, WizardDraft)

        OWNED_MODELS.extend([DatasetRecord, PromptTemplate, TrainingSession, CustomReward, ExportJob, TestRun,
                             BatchRun, Evaluation, WizardDraft, SavedConfigMeta, RegisteredModel, ModelVersion,
                             Project])
    return OWNED_MODELS


def register(username: Any, email: Any, password: Any, full_name: Any = None) -> User:
    """A new account. The first one is an active admin and inherits everything that exists (the single-user
    studio's data); later ones follow TUNEWRIGHT_SIGNUP (``approval``: pending until an admin approves)."""
    errors = []
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        errors.append("username: 2-64 letters, digits, '_', '.' or '-', starting with a letter or digit.")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
        errors.append("email: an address like name@example.org.")
    if full_name is not None and (not isinstance(full_name, str) or len(full_name) > 200):
        errors.append("full_name: text of at most 200 characters.")
    errors += [f"password: {p}" for p in problems(password, username if isinstance(username, str) else "",
                                                  email if isinstance(email, str) else "")]
    if errors:
        raise ServiceError("The account cannot be created: " + " ".join(errors), details=errors)
    first = db.session.execute(select(func.count(User.id))).scalar_one() == 0
    signup = current_app.config.get("SIGNUP", "approval")
    if not first and signup == "closed":
        raise ServiceError("Sign-up is closed on this studio: ask an administrator for an account.",
                           status_code=403)
    taken = db.session.execute(select(User).where((func.lower(User.username) == username.lower())
                                                  | (func.lower(User.email) == email.lower()))).first()
    if taken:
        raise ConflictError("That username or email is already registered.")
    user = User(username=username, email=email.lower(), full_name=(full_name or None),
                password_hash=hash_password(password), role="admin" if first else "user",
                status="active" if first or signup == "open" else "pending", token_version=1,
                must_change_password=False)
    db.session.add(user)
    db.session.flush()
    if first:
        for model in _owned_models():
            db.session.execute(update(model).where(model.owner_id.is_(None)).values(owner_id=user.id))
    audit.record("user.register", target=f"user:{user.username}", actor_id=user.id, actor=user.username,
                 detail={"role": user.role, "status": user.status, "first": first}, commit=False)
    db.session.commit()
    return user


def authenticate(username: Any, password: Any, via: str = "session") -> User:
    """The user these credentials prove, or ServiceError (401 wrong, 403 pending/disabled). A wrong username
    costs the same hash as a wrong password, so timing does not tell which accounts exist. ``via`` (session,
    jwt) goes into the audit log."""
    user = None
    if isinstance(username, str) and isinstance(password, str):
        user = db.session.execute(select(User).where(func.lower(User.username) == username.lower())).scalar_one_or_none()
    if user is None:
        cheap = bool(current_app.config.get("PASSWORD_HASH_CHEAP"))
        if cheap not in _DUMMY_HASH:
            _DUMMY_HASH[cheap] = hash_password("not a password of anyone")
        verify_password(_DUMMY_HASH[cheap], password if isinstance(password, str) else "")
        audit.record("login.failed", target=f"user:{str(username)[:64]}", actor_id=None, actor=None,
                     detail={"via": via, "reason": "unknown user"})
        raise ServiceError("Wrong username or password.", status_code=401)
    if not verify_password(user.password_hash, password):
        audit.record("login.failed", target=f"user:{user.username}", actor_id=user.id, actor=user.username,
                     detail={"via": via, "reason": "wrong password"})
        raise ServiceError("Wrong username or password.", status_code=401)
    if user.status != "active":
        audit.record("login.failed", target=f"user:{user.username}", actor_id=user.id, actor=user.username,
                     detail={"via": via, "reason": user.status})
        if user.status == "pending":
            raise ServiceError("Your account awaits an administrator's approval: you can sign in once an "
                               "administrator has approved it.", status_code=403)
        raise ServiceError("Your account is disabled: ask an administrator.", status_code=403)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record("login", target=f"user:{user.username}", actor_id=user.id, actor=user.username,
                 detail={"via": via}, commit=False)
    db.session.commit()
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"User {user_id} not found.")
    return user


def list_users() -> list[User]:
    return list(db.session.execute(select(User).order_by(User.id)).scalars())


def change_password(user: User, current: Any, new: Any) -> None:
    if not isinstance(current, str) or not verify_password(user.password_hash, current):
        raise ServiceError("The current password is wrong.", status_code=403)
    _set_password(user, new, must_change=False, action="user.password_changed")


def logout_everywhere(user: User) -> None:
    audit.record("logout", target=f"user:{user.username}", commit=False)
    _revoked(user)


def admin_update(user_id: int, role: Any = None, status: Any = None, actor_id: int | None = None) -> User:
    """Approve, disable, promote or demote. An admin cannot demote or disable themselves (the studio would lose
    its last administrator that way), and the last active admin stays."""
    user = get_user(user_id)
    if role is not None and role not in ROLES:
        raise ServiceError(f"role must be one of {', '.join(ROLES)}.")
    if status is not None and status not in STATUSES:
        raise ServiceError(f"status must be one of {', '.join(STATUSES)}.")
    if user.id == actor_id and ((role and role != user.role) or (status and status != "active")):
        raise ServiceError("You cannot change your own role or status: ask another administrator.", status_code=409)
    changes = {}
    if role is not None and role != user.role:
        changes["role"] = [user.role, role]
        user.role = role
    if status is not None and status != user.status:
        changes["status"] = [user.status, status]
        user.status = status
    if changes:
        audit.record("user.updated", target=f"user:{user.username}", detail=changes, commit=False)
        _revoked(user)  # a demoted or disabled user's sessions and tokens end now
    return user


def reset_password(user_id: int, temporary: Any) -> User:
    """An admin sets a temporary password; the user must change it at their next sign-in."""
    user = get_user(user_id)
    _set_password(user, temporary, must_change=True, action="user.password_reset")
    return user


def _set_password(user: User, password: Any, *, must_change: bool, action: str) -> None:
    """Check the rules, store the hash, record it, and end every session and JWT issued before."""
    errors = problems(password, user.username, user.email)
    if errors:
        raise ServiceError(" ".join(errors), details=errors)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    audit.record(action, target=f"user:{user.username}", commit=False)
    _revoked(user)
