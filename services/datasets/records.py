"""Dataset rows: the status machine, serialisation, listing with filters, edits and deletion."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from flask import current_app

from core.datasets import FieldMapping, mapping_problems
from extensions import db
from services.auth.scope import owned, visible_owner
from services.datasets.usage import sessions_using
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models import DatasetRecord
from services.models.base import utcnow
from services.storage import resolve_inside
from services.auth import audit

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=30)  # a Processing row not touched for this long, with no job here, was cut off
MAX_TAGS, MAX_TAG_LENGTH, MAX_DESCRIPTION = 20, 64, 5000


class DatasetStatus(str, Enum):
    PROCESSING = "Processing"
    READY = "Ready"
    FAILED = "Failed"


# The only place statuses change; anything else is a bug and raises.
TRANSITIONS: dict[str | None, set[DatasetStatus]] = {
    None: {DatasetStatus.PROCESSING},
    DatasetStatus.PROCESSING: {DatasetStatus.READY, DatasetStatus.FAILED},
    DatasetStatus.READY: {DatasetStatus.PROCESSING},
    DatasetStatus.FAILED: {DatasetStatus.PROCESSING},
}


def transition(record: DatasetRecord, status: DatasetStatus, **fields: Any) -> None:
    """Move ``record`` to ``status`` (and set ``fields``); the caller commits."""
    current = DatasetStatus(record.status) if record.status else None
    if status not in TRANSITIONS[current]:
        raise RuntimeError(f"dataset {record.id}: no transition {current} -> {status.value}")
    record.status = status.value
    for name, value in fields.items():
        setattr(record, name, value)
    if status is DatasetStatus.PROCESSING:
        record.progress = 0.0
        record.error = None
        record.error_details = []
    elif status is DatasetStatus.READY:
        record.progress = 1.0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def source_ref(record: DatasetRecord) -> str:
    """What a training config's ``dataset.source`` names to train on this dataset."""
    return f"dataset:{record.id}"


def to_dict(record: DatasetRecord, detail: bool = False) -> dict[str, Any]:
    data = {
        "id": record.id, "name": record.name, "description": record.description, "tags": list(record.tags or []),
        "owner_id": record.owner_id, "source": record.source_kind, "type": record.format,
        "training_source": source_ref(record),
        "original_filename": record.original_filename, "size_bytes": record.size_bytes, "sha256": record.sha256,
        "hub_id": record.hub_id, "config_name": record.config_name, "split": record.split,
        "status": record.status, "progress": round(record.progress or 0.0, 4),
        "error": record.error, "error_details": list(record.error_details or []),
        "warnings": list(record.warnings or []),
        "row_count": record.row_count, "columns": list(record.columns or []),
        "duplicate_count": record.duplicate_count, "empty_count": record.empty_count,
        "mapping": FieldMapping.from_dict(record.mapping).__dict__.copy(),
        "created_at": _aware(record.created_at).isoformat(), "updated_at": _aware(record.updated_at).isoformat(),
    }
    if detail:
        data["sample_rows"] = list(record.sample_rows or [])
    return data


def stored_file(record: DatasetRecord) -> Path:
    """The uploaded file on disk, resolved inside the upload folder (``stored_path`` is relative to it: a bare
    name for files of the single-user studio, ``u<id>/name`` for an account's uploads)."""
    if record.source_kind != "upload" or not record.stored_path:
        raise ServiceError(f"Dataset {record.name!r} comes from the Hub ({record.hub_id}); it has no uploaded file.")
    return resolve_inside(current_app.config["UPLOAD_FOLDER"], record.stored_path)


def _key(dataset_id: int | str) -> int:
    try:
        return int(dataset_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"No dataset with id {dataset_id!r}.") from None


def get_record(dataset_id: int | str, *, admin_ok: bool = False) -> DatasetRecord:
    """The caller's dataset; another user's id is a 404 exactly like a missing one (``admin_ok``: an admin may
    read it, at read-only call sites)."""
    key = _key(dataset_id)
    record = db.session.get(DatasetRecord, key)
    if record is None or not visible_owner(record.owner_id, admin_ok=admin_ok):
        raise NotFoundError(f"No dataset with id {key}.")
    _fail_if_stale(record)
    return record


def record_of_owner(dataset_id: int | str, owner_id: int | None) -> DatasetRecord:
    """The dataset when it belongs to ``owner_id`` (a run's owner, checked when its job starts, whoever's request
    dispatches it); ``owner_id`` None is a run of the single-user studio, which may use any dataset."""
    key = _key(dataset_id)
    record = db.session.get(DatasetRecord, key)
    if record is None or (owner_id is not None and record.owner_id != owner_id):
        raise NotFoundError(f"No dataset with id {key}.")
    return record


def _fail_if_stale(record: DatasetRecord) -> None:
    """A Processing row whose job is not running here any more (server restart) becomes Failed."""
    from services.datasets.jobs import is_active

    if record.status != DatasetStatus.PROCESSING.value or is_active(record.id):
        return
    if utcnow() - _aware(record.updated_at) < STALE_AFTER:
        return
    transition(record, DatasetStatus.FAILED,
               error="Processing was interrupted (the server stopped?). Use Reprocess to run it again.")
    db.session.commit()


def list_records(type_: str | None = None, status: str | None = None, tag: str | None = None,
                 source: str | None = None) -> list[DatasetRecord]:
    """The caller's datasets (every dataset in single mode), newest first, filtered."""
    query = owned(db.select(DatasetRecord), DatasetRecord).order_by(DatasetRecord.created_at.desc(),
                                                                   DatasetRecord.id.desc())
    if type_:
        query = query.where(DatasetRecord.format == type_.lower())
    if status:
        query = query.where(db.func.lower(DatasetRecord.status) == status.lower())
    if source:
        query = query.where(DatasetRecord.source_kind == source.lower())
    records = list(db.session.scalars(query))
    if tag:  # tags are a JSON list: filtered here, portable across SQLite and PostgreSQL
        wanted = tag.strip().lower()
        records = [r for r in records if wanted in {t.lower() for t in (r.tags or [])}]
    for record in records:
        _fail_if_stale(record)
    return records


def clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ServiceError("tags must be a list of strings or a comma-separated string.")
    tags = list(dict.fromkeys(t.strip() for t in value if t.strip()))
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise ServiceError(f"At most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters each.")
    return tags


def clean_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ServiceError("name must be a non-empty string.")
    if len(value.strip()) > 255:
        raise ServiceError("name is longer than 255 characters.")
    return value.strip()


def clean_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise ServiceError(f"description must be text of at most {MAX_DESCRIPTION} characters.")
    return value.strip()


EDITABLE = ("name", "description", "tags", "mapping")


def update_record(dataset_id: int | str, changes: dict[str, Any]) -> DatasetRecord:
    """Apply a PATCH: name, description, tags, and the field mapping (checked against the columns)."""
    if not isinstance(changes, dict) or not changes:
        raise ServiceError(f"Send a JSON object with any of: {', '.join(EDITABLE)}.")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ServiceError(f"Cannot change {', '.join(unknown)}; editable fields are {', '.join(EDITABLE)}.")
    record = get_record(dataset_id)
    if "name" in changes:
        record.name = clean_name(changes["name"])
    if "description" in changes:
        record.description = clean_description(changes["description"])
    if "tags" in changes:
        record.tags = clean_tags(changes["tags"])
    if "mapping" in changes:
        record.mapping = validate_mapping(changes["mapping"], record).__dict__.copy()
    db.session.commit()
    return record


def validate_mapping(value: Any, record: DatasetRecord) -> FieldMapping:
    if not isinstance(value, dict):
        raise ServiceError("mapping must be an object with instruction, response, input, messages, system.")
    unknown = sorted(set(value) - set(FieldMapping.__dataclass_fields__))
    if unknown:
        raise ServiceError(f"Unknown mapping field(s): {', '.join(unknown)}.")
    if any(v is not None and not isinstance(v, str) for v in value.values()):
        raise ServiceError("Mapping values must be column names (strings) or null.")
    mapping = FieldMapping.from_dict(value)
    columns = [c["name"] for c in (record.columns or [])]
    problems = mapping_problems(mapping, columns)
    if problems:
        raise ServiceError("This mapping cannot be used.", details=problems)
    return mapping


def delete_record(dataset_id: int | str) -> None:
    """Delete the row and its file; refused while a queued or running training session uses it."""
    record = get_record(dataset_id)
    users = sessions_using(record.id)
    if users:
        raise ConflictError(f"Dataset {record.name!r} is in use by {', '.join(users)}: stop a session (or wait "
                            "for it to finish) and remove the dataset from a project before deleting.", details=users)
    if record.status == DatasetStatus.PROCESSING.value:
        raise ConflictError(f"Dataset {record.name!r} is still processing; delete it once it is Ready or Failed.")
    path = stored_file(record) if record.source_kind == "upload" and record.stored_path else None
    audit.record("dataset.deleted", target=f"dataset:{record.id}", detail={"name": record.name}, commit=False)
    db.session.delete(record)
    db.session.commit()
    if path is not None:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", path, exc_info=True)


def reprocess_record(dataset_id: int | str) -> DatasetRecord:
    """Run processing again (after a failure, an interrupted job, or a changed file)."""
    from services.datasets import jobs

    record = get_record(dataset_id)
    if record.status == DatasetStatus.PROCESSING.value:
        raise ConflictError(f"Dataset {record.name!r} is already processing.")
    transition(record, DatasetStatus.PROCESSING)
    db.session.commit()
    jobs.submit(current_app._get_current_object(), record.id)
    return record
