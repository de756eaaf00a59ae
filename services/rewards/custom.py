"""Saved custom rewards: no-code combinations of components, or code run in the sandbox. Each is its owner's:
listed, read, tested, trained with, changed and deleted by its owner only (another user's id is a 404)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.rewards import PRESETS, metric_name
from extensions import db
from services.errors import ConflictError, NotFoundError, ServiceError
from services.auth.scope import new_owner_id, owned, visible_owner
from services.ids import as_id
from services.models.rewards import CustomReward
from services.rewards.validation import check_code, check_components, bad_request, require_sandbox
from services.auth import audit

def custom_to_dict(record: CustomReward) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "metric": metric_name(record.name), "kind": record.kind,
            "description": record.description, "components": record.components, "code": record.code,
            "created_at": record.created_at.isoformat() if record.created_at else None,
            "updated_at": record.updated_at.isoformat() if record.updated_at else None}


def list_custom() -> list[dict[str, Any]]:
    rows = db.session.execute(owned(select(CustomReward), CustomReward).order_by(CustomReward.name)).scalars()
    return [custom_to_dict(r) for r in rows]


def get_custom(reward_id: Any, *, admin_ok: bool = False) -> CustomReward:
    """The caller's saved reward; a 404 when there is none or it is another user's (``admin_ok``: an admin may
    read it), a 400 when ``reward_id`` (from a body: URLs are bounded by their converter) cannot be an id at all
    (not a positive integer up to 2^63 - 1, which the driver cannot take)."""
    key = as_id(reward_id)
    if key is None:
        raise bad_request(f"{str(reward_id)[:40]!r} is not a custom reward id (a positive integer up to 2^63 - 1).",
                          "custom_id", "Pick one from GET /api/rewards/custom.")
    record = db.session.get(CustomReward, key)
    if record is None or not visible_owner(record.owner_id, admin_ok=admin_ok):
        raise NotFoundError(f"No custom reward {str(reward_id)[:40]!r}.")
    return record


def _apply(record: CustomReward, body: dict[str, Any], creating: bool) -> None:
    unknown = set(body) - {"name", "kind", "components", "code", "description"}
    if unknown:
        raise bad_request(f"Unknown keys: {', '.join(sorted(unknown))}.", sorted(unknown)[0], "Remove them.")
    if creating or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            raise bad_request("Give the reward a name (1-100 characters).", "name")
        name = name.strip()
        # Unique per owner (the database's constraint cannot see two NULL owners of single mode as equal).
        clash = db.session.execute(select(CustomReward).filter_by(name=name, owner_id=record.owner_id)
                                   ).scalar_one_or_none()
        if clash is not None and clash.id != record.id:
            raise ConflictError(f"A custom reward named {name!r} exists already.",
                                details=[{"path": "name", "message": "name taken", "hint": "Pick another name."}])
        record.name = name
    kind = body.get("kind", record.kind)
    if kind not in ("components", "code"):
        raise bad_request("kind must be 'components' or 'code'.", "kind")
    record.kind = kind
    if "description" in body:
        record.description = str(body["description"] or "")[:1000]
    if kind == "components" and (creating or "components" in body or "kind" in body):
        record.components, record.code = check_components(body.get("components"), "components"), None
    if kind == "code" and (creating or "code" in body or "kind" in body):
        record.code, record.components = check_code(body.get("code")), []


def create_custom(body: dict[str, Any]) -> CustomReward:
    record = CustomReward(description="", components=[], owner_id=new_owner_id())
    _apply(record, body, creating=True)
    db.session.add(record)
    db.session.commit()
    return record


def update_custom(reward_id: Any, body: dict[str, Any]) -> CustomReward:
    record = get_custom(reward_id)
    _apply(record, body, creating=False)
    db.session.commit()
    return record


def delete_custom(reward_id: Any) -> None:
    record = get_custom(reward_id)
    audit.record("reward.deleted", target=f"reward:{record.id}", detail={"name": record.name}, commit=False)
    db.session.delete(record)
    db.session.commit()


def definition(record: CustomReward) -> dict[str, Any]:
    return {"name": record.name, "kind": record.kind, "components": record.components, "code": record.code}


def resolve_config_rewards(config: dict[str, Any]) -> dict[str, Any]:
    """Before a run starts: fill each ``reward.custom`` use with the saved definition (the config then records
    exactly what ran, and the training child needs no database). Refuses unknown ids, another user's rewards
    (admins' included: nobody trains with someone else's reward) and code rewards on a machine without isolation
    (code rewards and the code_execution component)."""
    reward = config.get("reward") or {}
    uses = reward.get("custom") or []
    for i, use in enumerate(uses):
        key = as_id(use.get("id"))
        record = db.session.get(CustomReward, key) if key is not None else None
        if record is None or not visible_owner(record.owner_id):
            raise ServiceError("The training config is not valid.", details=[{
                "path": f"reward.custom.{i}.id", "message": f"no custom reward {str(use.get('id'))[:40]!r}",
                "hint": "Pick one from GET /api/rewards/custom."}])
        if record.kind == "code":
            require_sandbox(f"reward.custom.{i}.id")
        use.update(definition(record))
    executes = [p.component for p in PRESETS[reward["preset_name"]].parts] if reward.get("type") == "preset" \
        and reward.get("preset_name") in PRESETS else []
    executes += [c.get("name") for c in reward.get("components") or []] if reward.get("type") == "components" else []
    executes += [c.get("name") for use in uses for c in use.get("components") or []]
    if "code_execution" in executes:
        require_sandbox("reward")
    return config
