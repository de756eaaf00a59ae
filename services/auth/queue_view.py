"""The administrators' view of the queue: every user's queued and running sessions and exports, with their
owner's username (the users' own queue views show only their own jobs)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from extensions import db
from services.models.auth import User


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def all_jobs() -> dict[str, list[dict[str, Any]]]:
    """``{sessions: […], exports: […]}``, queued and running ones only, in queue order."""
    from services.exports.status import ACTIVE as EXPORT_ACTIVE
    from services.models import ExportJob, TrainingSession
    from services.training.status import ACTIVE as TRAINING_ACTIVE

    names = dict(db.session.execute(select(User.id, User.username)).all())

    def owner(owner_id: int | None) -> str | None:
        return names.get(owner_id, f"user {owner_id} (deleted)") if owner_id is not None else None

    sessions = db.session.execute(
        select(TrainingSession).where(TrainingSession.status.in_([s.value for s in TRAINING_ACTIVE]))
        .order_by(TrainingSession.priority.desc(), TrainingSession.created_at)).scalars()
    exports = db.session.execute(
        select(ExportJob).where(ExportJob.status.in_([s.value for s in EXPORT_ACTIVE]))
        .order_by(ExportJob.created_at)).scalars()
    return {
        "sessions": [{"id": s.id, "name": s.name, "status": s.status, "priority": s.priority,
                      "owner_id": s.owner_id, "owner": owner(s.owner_id), "device": s.device,
                      "created_at": _iso(s.created_at), "started_at": _iso(s.started_at)} for s in sessions],
        "exports": [{"id": e.id, "session_id": e.session_id, "format": e.format, "status": e.status,
                     "progress": e.progress, "owner_id": e.owner_id, "owner": owner(e.owner_id),
                     "created_at": _iso(e.created_at)} for e in exports],
    }
