"""The dataset catalogue for the UI: curated Hub datasets, the built-in sets, and adding a Hub dataset."""
from __future__ import annotations

import re
from typing import Any

from flask import current_app

from core.datasets import CATEGORIES, catalog_entries, describe_builtins, find_entry
from core.datasets.hub import hub_status, is_cached
from core.datasets.hub import check_hub_id as _check_hub_id
from core.datasets.spec import DatasetUnavailableError
from extensions import db
from services.auth.scope import new_owner_id
from services.datasets import jobs
from services.datasets.records import DatasetStatus, clean_description, clean_tags, transition
from services.errors import ServiceError
from services.models import DatasetRecord

NAME_PART = re.compile(r"^[\w.-]{1,128}$")


class HubUnavailable(ServiceError):
    status_code = 503


def cache_dir() -> str | None:
    return current_app.config.get("HF_DATASETS_CACHE")


def catalog(category: str | None = None) -> dict[str, Any]:
    """Curated entries (filtered by category), the built-in sets and whether the Hub can be reached now."""
    if category and category.lower() not in {c.lower() for c in CATEGORIES}:
        raise ServiceError(f"Unknown category {category!r}; choose one of {', '.join(CATEGORIES)}.")
    online, reason = hub_status()
    entries = []
    for entry in catalog_entries(category):
        data = entry.to_dict()
        data["cached"] = is_cached(entry.hub_id, entry.config_name, cache_dir())
        data["available"] = online or data["cached"]
        entries.append(data)
    builtins = [b for b in describe_builtins() if not category or b["category"].lower() == category.lower()]
    return {"categories": list(CATEGORIES), "entries": entries, "builtin": builtins,
            "hub": {"online": online, "message": reason}}


def check_hub_id(hub_id: Any) -> str:
    try:
        return _check_hub_id(hub_id.strip() if isinstance(hub_id, str) else hub_id)
    except DatasetUnavailableError as exc:
        raise ServiceError(str(exc)) from None


def add_hub_dataset(payload: dict[str, Any]) -> DatasetRecord:
    """Register a Hub dataset (curated or any owner/name) and queue its download and processing.

    Offline and not cached: refused at once with the reason, so the UI can say so.
    """
    if not isinstance(payload, dict):
        raise ServiceError("Send a JSON object with hub_id and optionally config_name, split, name.")
    hub_id = check_hub_id(payload.get("hub_id"))
    entry = find_entry(hub_id)
    config_name = payload.get("config_name") or (entry.config_name if entry else None)
    split = payload.get("split") or (entry.split if entry else "train")
    for label, value in (("config_name", config_name), ("split", split)):
        if value is not None and (not isinstance(value, str) or not NAME_PART.match(value)):
            raise ServiceError(f"{label} must be a simple name (letters, digits, '-', '_', '.').")
    online, reason = hub_status()
    if not online and not is_cached(hub_id, config_name, cache_dir()):
        raise HubUnavailable(f"{hub_id} cannot be added now: {reason}")
    record = DatasetRecord(
        name=(payload.get("name") or (entry.title if entry else hub_id)).strip()[:255],
        description=clean_description(payload.get("description") or (entry.description if entry else "")),
        tags=clean_tags(payload.get("tags") or ([entry.category] if entry else [])),
        owner_id=new_owner_id(), source_kind="hub", format="hub", hub_id=hub_id, config_name=config_name, split=split,
        mapping=entry.mapping.__dict__.copy() if entry else {}, columns=[], sample_rows=[], error_details=[],
        warnings=[],
    )
    transition(record, DatasetStatus.PROCESSING)
    db.session.add(record)
    db.session.commit()
    jobs.submit(current_app._get_current_object(), record.id)
    return record
