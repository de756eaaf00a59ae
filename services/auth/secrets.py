"""Per-user secrets: the credentials a tracker needs (WANDB_API_KEY, MLflow's username and password, …).

Values are encrypted with Fernet under a key derived from SECRET_KEY with HKDF and its own label, so the cookie
signer, the JWT key and this key never coincide, and a database copy without the server's SECRET_KEY reveals
nothing. The API lists names only; a value leaves the server solely as an environment variable of a training
child whose run asked for the tracker that uses it (:func:`secrets_for_run`), never in a config, job, log or
response.
"""
from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select

from core.tracking import SECRET_NAMES, TRACKERS, secrets_for
from extensions import db
from services.auth import audit
from services.auth.scope import owned
from services.errors import NotFoundError, ServiceError
from services.models.auth import UserSecret
from services.models.base import utcnow

MAX_VALUE_LENGTH = 4096
_LABEL = b"tunewright user secrets v1"


def fernet(secret_key: str | bytes | None = None) -> Fernet:
    """The Fernet cipher for user secrets, from ``secret_key`` (the app's SECRET_KEY by default)."""
    key = current_app.config["SECRET_KEY"] if secret_key is None else secret_key
    material = key.encode() if isinstance(key, str) else bytes(key)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(material)
    return Fernet(base64.urlsafe_b64encode(derived))


def _used_by(name: str) -> list[str]:
    return [t.name for t in TRACKERS.values() if name in t.secrets]


def allowed_secrets() -> list[dict[str, Any]]:
    """The names a user may store, each with the trackers that use it."""
    return [{"name": name, "trackers": _used_by(name)} for name in SECRET_NAMES]


def secret_dict(row: UserSecret) -> dict[str, Any]:
    """A secret as the API shows it: its name and dates, never its value."""
    return {"name": row.name, "trackers": _used_by(row.name), "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat()}


def _mine(user_id: int):
    return owned(select(UserSecret), UserSecret).where(UserSecret.owner_id == user_id)


def list_secrets(user_id: int) -> list[UserSecret]:
    return list(db.session.execute(_mine(user_id).order_by(UserSecret.name)).scalars())


def _find(user_id: int, name: str) -> UserSecret | None:
    return db.session.execute(_mine(user_id).where(UserSecret.name == name)).scalar_one_or_none()


def set_secret(user_id: int, name: Any, value: Any) -> UserSecret:
    """Store (or replace) the caller's secret ``name``."""
    if not isinstance(name, str) or name not in SECRET_NAMES:
        raise ServiceError(f"Unknown secret name {name!r}: use one of {', '.join(SECRET_NAMES)}.",
                           details=[{"path": "name", "message": "unknown secret name", "hint": ""}])
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_VALUE_LENGTH or any(c in text for c in "\x00\r\n"):
        raise ServiceError(f"value: 1 to {MAX_VALUE_LENGTH} characters on one line.",
                           details=[{"path": "value", "message": "1 to 4096 characters, one line", "hint": ""}])
    row = _find(user_id, name)
    ciphertext = fernet().encrypt(text.encode()).decode()
    if row is None:
        row = UserSecret(owner_id=user_id, name=name, ciphertext=ciphertext)
        db.session.add(row)
    else:
        row.ciphertext, row.updated_at = ciphertext, utcnow()
    audit.record("secret.set", target=f"secret:{name}", commit=False)
    db.session.commit()
    return row


def delete_secret(user_id: int, name: str) -> None:
    """Delete the caller's secret; a name they have not stored is a 404."""
    row = _find(user_id, name)
    if row is None:
        raise NotFoundError(f"You have no secret named {name!r}.")
    db.session.delete(row)
    audit.record("secret.deleted", target=f"secret:{name}", commit=False)
    db.session.commit()


def secrets_for_run(owner_id: int | None, report_to: list[str]) -> dict[str, str | None]:
    """The environment a run's child gets for its trackers: the owner's decrypted values, and None (unset) for
    the trackers' other credential names, so an account never borrows credentials from the server's own
    environment. Runs without an owner (single mode) get nothing here and keep the server's environment.

    Called by the training service as the server (no request principal), for the session's owner."""
    if owner_id is None:
        return {}
    names = secrets_for(report_to)
    if not names:
        return {}
    rows = db.session.execute(select(UserSecret).where(UserSecret.owner_id == owner_id,
                                                       UserSecret.name.in_(names))).scalars()
    env: dict[str, str | None] = dict.fromkeys(names)
    cipher = fernet()
    for row in rows:
        try:
            env[row.name] = cipher.decrypt(row.ciphertext.encode()).decode()
        except InvalidToken:
            raise ServiceError(f"Your stored secret {row.name} can no longer be decrypted (the server's SECRET_KEY "
                               "changed since it was saved): set it again on the Account page.") from None
    return env

