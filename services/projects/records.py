"""A project row as the API's JSON, and back as the body it was made from (PATCH merges into that)."""
from __future__ import annotations

from typing import Any

from extensions import db
from services.models.projects import Project
from services.models.training import TrainingSession

BODY_FIELDS = ("name", "description", "base_model", "training_type", "max_rows", "output_dir", "traits", "mix",
               "config")


def body_of(project: Project) -> dict[str, Any]:
    return {field: getattr(project, field) for field in BODY_FIELDS}


def run_of(project: Project) -> TrainingSession | None:
    return db.session.get(TrainingSession, project.session_id) if project.session_id else None


def effective_status(project: Project, run: TrainingSession | None) -> str:
    """``draft`` until started; then its run's status (queued, running, completed, failed, stopped...)."""
    return run.status if run is not None else "draft"


def to_dict(project: Project) -> dict[str, Any]:
    run = run_of(project)
    return {"id": project.id, **body_of(project), "owner_id": project.owner_id,
            "status": effective_status(project, run), "session_id": run.id if run else None,
            "manifest_sha256": project.manifest_sha256, "validation": project.validation,
            "error": run.error if run is not None else None,
            "created_at": project.created_at.isoformat(), "updated_at": project.updated_at.isoformat()}
