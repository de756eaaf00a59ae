"""System prompt templates: the built-in GRPO default plus the user's own, with their format markers.

The markers travel with the chosen template into the training config, where
the format rewards read them. A template's text may name its markers as
``{reasoning_start}``, ``{reasoning_end}``, ``{solution_start}``, ``{solution_end}``.

The built-in template is everyone's; a saved one is its owner's (another user's id is a 404).
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import timezone
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.datasets.prompts import DEFAULT_MARKERS, DEFAULT_TEMPLATE_NAME, Markers, default_system_prompt, \
    grpo_system_prompt, render_system_prompt
from extensions import db
from services.auth.scope import new_owner_id, owned, visible_owner
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models import PromptTemplate
from services.auth import audit

DEFAULT_ID = "default"
MARKER_FIELDS = tuple(asdict(DEFAULT_MARKERS))
FIELDS = ("name", "system_prompt", *MARKER_FIELDS)
MAX_PROMPT = 8000


def _default() -> dict[str, Any]:
    return {"id": DEFAULT_ID, "name": DEFAULT_TEMPLATE_NAME, "builtin": True,
            "system_prompt": default_system_prompt(DEFAULT_MARKERS),
            "rendered_system_prompt": default_system_prompt(DEFAULT_MARKERS), "markers": asdict(DEFAULT_MARKERS),
            "created_at": None, "updated_at": None}


def _markers(row: PromptTemplate) -> Markers:
    return Markers(**{name: getattr(row, name) for name in MARKER_FIELDS})


def to_dict(row: PromptTemplate) -> dict[str, Any]:
    markers = _markers(row)
    stamp = (lambda d: (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).isoformat())
    return {"id": row.id, "name": row.name, "builtin": False, "system_prompt": row.system_prompt,
            "rendered_system_prompt": render_system_prompt(row.system_prompt, markers), "markers": asdict(markers),
            "created_at": stamp(row.created_at), "updated_at": stamp(row.updated_at)}


def list_templates() -> list[dict[str, Any]]:
    rows = db.session.scalars(owned(db.select(PromptTemplate), PromptTemplate).order_by(PromptTemplate.name))
    return [_default(), *(to_dict(r) for r in rows)]


def _row(template_id: int | str, *, admin_ok: bool = False) -> PromptTemplate:
    """The caller's saved template (``admin_ok``: or, for an admin reading, anyone's)."""
    if str(template_id) == DEFAULT_ID:
        raise ServiceError("The built-in GRPO template cannot be changed or deleted; save a copy under a new name.")
    try:
        row = db.session.get(PromptTemplate, int(template_id))
    except (TypeError, ValueError):
        row = None
    if row is None or not visible_owner(row.owner_id, admin_ok=admin_ok):
        raise NotFoundError(f"No prompt template with id {template_id!r}.")
    return row


def get_template(template_id: int | str, *, admin_ok: bool = False) -> dict[str, Any]:
    if str(template_id) == DEFAULT_ID:
        return _default()
    return to_dict(_row(template_id, admin_ok=admin_ok))


def rendered_system_prompt(template_id: int | str = DEFAULT_ID) -> str:
    return get_template(template_id)["rendered_system_prompt"]


def _clean(payload: Any, current: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ServiceError(f"Send a JSON object with any of: {', '.join(FIELDS)}.")
    flat = dict(payload)
    if isinstance(flat.get("markers"), dict):  # the shape GET returns is accepted back
        flat.update(flat.pop("markers"))
    unknown = sorted(set(flat) - set(FIELDS) - {"id", "builtin", "rendered_system_prompt", "created_at",
                                                 "updated_at"})
    if unknown:
        raise ServiceError(f"Unknown field(s) {', '.join(unknown)}; use {', '.join(FIELDS)}.")
    values = {**current, **{k: flat[k] for k in FIELDS if k in flat}}
    problems = []
    for key in FIELDS:
        if not isinstance(values.get(key), str):
            values[key] = "" if values.get(key) is None else values[key]
            if not isinstance(values[key], str):
                problems.append(f"{key} must be text")
    if problems:
        raise ServiceError("The template is not valid.", details=problems)
    values = {k: (v.strip() if k != "system_prompt" else v) for k, v in values.items()}
    if not values["name"] or len(values["name"]) > 128:
        problems.append("name must be 1 to 128 characters")
    markers = Markers(**{k: values[k] for k in MARKER_FIELDS})
    problems += markers.problems()
    if not values["system_prompt"].strip():  # the GRPO wording, following this template's markers
        values["system_prompt"] = grpo_system_prompt(Markers(*(f"{{{name}}}" for name in MARKER_FIELDS)))
    if len(values["system_prompt"]) > MAX_PROMPT:
        problems.append(f"system_prompt is longer than {MAX_PROMPT} characters")
    if problems:
        raise ServiceError("The template is not valid.", details=problems)
    return values


def _commit(row: PromptTemplate) -> None:
    """Names are unique per owner; checked here too because the database sees two NULL owners as different."""
    query = db.select(PromptTemplate.id).where(PromptTemplate.name == row.name).filter_by(owner_id=row.owner_id)
    with db.session.no_autoflush:
        clash = [found for found in db.session.execute(query).scalars() if found != row.id]
    if clash:
        db.session.rollback()
        raise ConflictError(f"A prompt template named {row.name!r} already exists.")
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConflictError(f"A prompt template named {row.name!r} already exists.") from None


def create_template(payload: Any) -> dict[str, Any]:
    values = _clean(payload, {"name": "", "system_prompt": "", **asdict(DEFAULT_MARKERS)})
    if values["name"].lower() == DEFAULT_TEMPLATE_NAME.lower():
        raise ConflictError(f"{DEFAULT_TEMPLATE_NAME!r} is the built-in template's name; choose another.")
    row = PromptTemplate(**values, owner_id=new_owner_id())
    db.session.add(row)
    _commit(row)
    return to_dict(row)


def update_template(template_id: int | str, payload: Any) -> dict[str, Any]:
    row = _row(template_id)
    current = {k: getattr(row, k) for k in FIELDS}
    values = _clean(payload, current)
    if values["name"].lower() == DEFAULT_TEMPLATE_NAME.lower():
        raise ConflictError(f"{DEFAULT_TEMPLATE_NAME!r} is the built-in template's name; choose another.")
    for key, value in values.items():
        setattr(row, key, value)
    _commit(row)
    return to_dict(row)


def delete_template(template_id: int | str) -> None:
    row = _row(template_id)
    audit.record("template.deleted", target=f"template:{row.id}", detail={"name": row.name}, commit=False)
    db.session.delete(row)
    db.session.commit()
