"""The wizard's draft config: one per browser session, stored in the database, always valid.

Each step PATCHes its own section; the merged result must pass the one schema before it replaces the stored
draft, so a bad field never corrupts the steps the user already finished.
"""
from __future__ import annotations

import copy
import secrets
from typing import Any

from core.training_config import ConfigValidationError, default_config, parse_config
from extensions import db
from services import configs
from services.errors import ServiceError
from services.models.wizard import WizardDraft

DRAFT_ID_BYTES = 16


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


def _row(draft_id: str) -> WizardDraft:
    row = db.session.get(WizardDraft, draft_id)
    if row is None:
        row = WizardDraft(id=draft_id, config=default_config())
        db.session.add(row)
        db.session.commit()
    else:
        # A draft stored before the schema changed: fields added since get their defaults; one the schema now
        # refuses (a renamed or removed field) falls back to the default config rather than breaking every step.
        try:
            current = parse_config(row.config).model_dump(mode="json")
        except ConfigValidationError:
            current = default_config()
        if current != row.config:
            row.config = current
            db.session.commit()
    return row


def as_json(row: WizardDraft) -> dict[str, Any]:
    return {"config": row.config, "updated_at": row.updated_at.isoformat()}


def get(draft_id: str) -> dict[str, Any]:
    return as_json(_row(draft_id))


def update(draft_id: str, partial: Any) -> dict[str, Any]:
    if not isinstance(partial, dict):
        raise ServiceError("Send the fields to change as a JSON object, e.g. {\"training\": {\"num_epochs\": 2}}.")
    row = _row(draft_id)
    row.config = _validated(deep_merge(row.config, partial))
    db.session.commit()
    return as_json(row)


def replace(draft_id: str, config: dict[str, Any]) -> dict[str, Any]:
    row = _row(draft_id)
    row.config = _validated(config)
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
