"""The wizard's draft config: one per browser session, stored in the database, always valid.

Each step PATCHes its own section; the merged result must pass the one schema before it replaces the stored
draft, so a bad field never corrupts the steps the user already finished.

A draft belongs to the user who stored it: a draft id that reaches another user (a shared browser, a copied
cookie) neither loads nor changes it; the route gives that user a draft id of their own (:func:`usable`).
"""
from __future__ import annotations

import copy
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from core.training_config import ConfigValidationError, default_config, parse_config
from extensions import db
from services import configs
from services.auth.scope import new_owner_id, visible_owner
from services.errors import NotFoundError, ServiceError
from services.models.base import utcnow
from services.models.wizard import WizardDraft

DRAFT_ID_BYTES = 16
MAX_AGE_DAYS = 30  # the draft cookie lives 31 days: older untouched drafts have no browser left to use them


def new_draft_id() -> str:
    return secrets.token_urlsafe(DRAFT_ID_BYTES)


def deep_merge(base: Any, patch: Any) -> Any:
    """Objects merge key by key, recursively; lists and scalars in ``patch`` replace what ``base`` held."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(patch)


def _validated(raw: Any) -> dict[str, Any]:
    try:
        return parse_config(raw).model_dump(mode="json")
    except ConfigValidationError as exc:
        raise ServiceError("The draft was not changed: fix the fields below.", details=exc.errors) from None


def _current(row: WizardDraft) -> dict[str, Any]:
    """A draft stored before the schema changed: fields added since get their defaults; one the schema now
    refuses (a renamed or removed field) falls back to the default config rather than breaking every step."""
    try:
        return parse_config(row.config).model_dump(mode="json")
    except ConfigValidationError:
        return default_config()


def expire_untouched(max_age_days: float = MAX_AGE_DAYS) -> int:
    """Delete drafts nobody changed for ``max_age_days`` (their browsers' cookies are gone or forgotten)."""
    cutoff = utcnow() - timedelta(days=max_age_days)
    removed = db.session.execute(delete(WizardDraft).where(WizardDraft.updated_at < cutoff)).rowcount
    db.session.commit()
    return removed or 0


def _row(draft_id: str | None) -> WizardDraft | None:
    """The caller's stored draft of this id; None when there is none. Another user's draft raises a 404 (the
    route never hands that id on: see :func:`usable`)."""
    row = db.session.get(WizardDraft, draft_id) if draft_id else None
    if row is not None and not visible_owner(row.owner_id):
        raise NotFoundError("No such wizard draft.")
    return row


def usable(draft_id: str) -> bool:
    """Whether this id is free or the caller's own draft (not another user's)."""
    row = db.session.get(WizardDraft, draft_id)
    return row is None or visible_owner(row.owner_id)


def as_json(row: WizardDraft) -> dict[str, Any]:
    return {"config": row.config, "updated_at": row.updated_at.isoformat(), "saved": True}


def get(draft_id: str | None) -> dict[str, Any]:
    """The browser's draft, or the defaults (not stored) when it has none yet: reads never write."""
    row = _row(draft_id)
    if row is None:
        return {"config": default_config(), "updated_at": None, "saved": False}
    return {**as_json(row), "config": _current(row)}


def update(draft_id: str, partial: Any) -> dict[str, Any]:
    if not isinstance(partial, dict):
        raise ServiceError("Send the fields to change as a JSON object, e.g. {\"training\": {\"num_epochs\": 2}}.")
    row = _row(draft_id)
    return _store(draft_id, row, _validated(deep_merge(_current(row) if row else default_config(), partial)))


def replace(draft_id: str, config: dict[str, Any]) -> dict[str, Any]:
    return _store(draft_id, _row(draft_id), _validated(config))


def _store(draft_id: str, row: WizardDraft | None, config: dict[str, Any]) -> dict[str, Any]:
    """Only a change stores a draft (a look at the defaults stores nothing); each new one sweeps away drafts
    untouched for :data:`MAX_AGE_DAYS`."""
    if row is None:
        expire_untouched()
        row = WizardDraft(id=draft_id, config=config, owner_id=new_owner_id())
        db.session.add(row)
    row.config = config
    row.updated_at = utcnow()
    db.session.commit()
    return as_json(row)


def reset(draft_id: str) -> dict[str, Any]:
    return replace(draft_id, default_config())


def from_source(draft_id: str, name: str | None = None, session_id: str | None = None) -> dict[str, Any]:
    """Start the draft from a saved config (or preset) or from a session's config (duplicate a run)."""
    if name:
        config = configs.load(str(name), mark_used=True)
    elif session_id:
        from services.training import get_training_service

        config = get_training_service().get(str(session_id)).config
    else:
        raise ServiceError("Send {\"name\": <saved config>} or {\"session_id\": <session>}.",
                           details=[{"path": "name", "message": "name or session_id is required", "hint": ""}])
    return replace(draft_id, config)
