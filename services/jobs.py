"""The versioned job API for scripts: a job is a training session seen through a flat, stable JSON shape.

One store, one queue, one monitor: creating a job creates a session through the training service (same
validation, same queue, same child process), and every read goes through it too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.methods import METHODS, get_method
from core.model_tags import UnknownModelName, resolve_model_name
from extensions import db
from services.auth.scope import owned
from services.errors import ConflictError, ServiceError
from services.models.training import TrainingMetric, TrainingSession
from services.storage import resolve_inside
from services.training import get_training_service
from services.training.status import Status
from services.auth import audit

# Flat job fields -> (config section, key). Epochs also go to the chosen method's own section.
SHORTCUTS: dict[str, tuple[str, str]] = {
    "batch_size": ("training", "batch_size"),
    "learning_rate": ("training", "learning_rate"),
    "max_sequence_length": ("training", "max_sequence_length"),
    "gradient_accumulation_steps": ("training", "gradient_accumulation_steps"),
    "max_samples": ("dataset", "max_samples"),
    "lora_rank": ("model", "lora_rank"),
    "lora_alpha": ("model", "lora_alpha"),
    "lora_dropout": ("model", "lora_dropout"),
}
METHOD_EPOCHS = {"standard": "standard", "qlora": "qlora", "unsloth": "unsloth"}
ACCEPTED = {"name", "description", "training_type", "model_name", "dataset_id", "dataset", "epochs", "priority",
            "config", *SHORTCUTS}


def _bad(path: str, message: str, hint: str = "") -> ServiceError:
    return ServiceError(message, details=[{"path": path, "message": message, "hint": hint}])


def _section(config: dict, name: str) -> dict:
    section = config.setdefault(name, {})
    if not isinstance(section, dict):
        raise _bad(f"config.{name}", f"config.{name} must be an object")
    return section


def config_from_payload(data: dict) -> dict:
    """The training config a job payload stands for (validated later by the one schema)."""
    unknown = sorted(set(data) - ACCEPTED)
    if unknown:
        raise _bad(unknown[0], f"unknown field(s): {', '.join(unknown)}",
                   f"Accepted: {', '.join(sorted(ACCEPTED))}; anything else goes in 'config'.")
    training_type = data.get("training_type", "grpo")
    if not isinstance(training_type, str) or training_type not in METHODS:
        raise _bad("training_type", f"unknown training_type {str(training_type)[:100]!r}; valid: "
                                    f"{', '.join(METHODS)}",
                   f"Use one of: {', '.join(METHODS)}.")
    base = data.get("config") or {}
    if not isinstance(base, dict):
        raise _bad("config", "config must be a JSON object (a partial training config)")
    config: dict[str, Any] = {key: dict(value) if isinstance(value, dict) else value for key, value in base.items()}
    config["method"] = training_type
    for key in ("name", "description"):
        if data.get(key) is not None:
            config[key] = data[key]
    if data.get("model_name") is not None:
        if not isinstance(data["model_name"], str) or len(data["model_name"]) > 500:
            raise _bad("model_name", "model_name must be a string of at most 500 characters")
        try:
            resolved = resolve_model_name(data["model_name"])
        except UnknownModelName as exc:
            raise _bad("model_name", str(exc), "Send a Hub id (org/name), a catalogue id or an Ollama tag such "
                                               "as llama3.2:3b; GET /api/models/list shows the catalogue.") from None
        _section(config, "model")["name"] = resolved.model
    if data.get("dataset_id") is not None:
        dataset_id = data["dataset_id"]
        if not isinstance(dataset_id, int) or isinstance(dataset_id, bool):
            raise _bad("dataset_id", "dataset_id must be a number (GET /api/datasets/list)")
        _section(config, "dataset")["source"] = f"dataset:{dataset_id}"
    elif data.get("dataset") is not None:
        if not isinstance(data["dataset"], str):
            raise _bad("dataset", "dataset must be a source string such as builtin:arithmetic")
        _section(config, "dataset")["source"] = data["dataset"]
    for field, (section, key) in SHORTCUTS.items():
        if data.get(field) is not None:
            _section(config, section)[key] = data[field]
    if data.get("epochs") is not None:
        _section(config, "training")["num_epochs"] = data["epochs"]
        if training_type in METHOD_EPOCHS:
            _section(config, METHOD_EPOCHS[training_type])["epochs"] = data["epochs"]
    return config


def create_job(data: dict) -> TrainingSession:
    config = config_from_payload(data)
    priority = data.get("priority", "normal")
    if not isinstance(priority, str):
        raise _bad("priority", "priority must be low, normal or high")
    return get_training_service().create(config, priority=priority)


def list_jobs() -> list[dict]:
    """The caller's jobs (admins too), newest first."""
    query = owned(select(TrainingSession), TrainingSession).order_by(TrainingSession.created_at.desc())
    rows = db.session.execute(query).scalars().all()
    waiting = get_training_service().waiting() if any(s.status == Status.QUEUED.value for s in rows) else {}
    return [job_json(s, waiting.get(s.id)) for s in rows]


def get_job(job_id: str, *, admin_ok: bool = False) -> TrainingSession:
    """The caller's job; ``admin_ok`` at the read-only call sites (an admin reads everyone's)."""
    return get_training_service().get(job_id, admin_ok=admin_ok)


def cancel_job(job_id: str) -> TrainingSession:
    return get_training_service().stop(job_id)  # the owner, or an admin


def waiting_of(session: TrainingSession) -> dict | None:
    return get_training_service().waiting().get(session.id) if session.status == Status.QUEUED.value else None


def _percent(session: TrainingSession) -> float:
    if session.status == Status.COMPLETED.value:
        return 100.0
    if session.total_steps:
        return round(100.0 * (session.step or 0) / session.total_steps, 1)
    return 0.0


def _latest_loss(session_id: str) -> float | None:
    rows = db.session.execute(select(TrainingMetric).filter_by(session_id=session_id)
                              .order_by(TrainingMetric.global_step.desc(), TrainingMetric.id.desc()).limit(20))
    for row in rows.scalars():
        if isinstance(row.values.get("loss"), (int, float)):
            return row.values["loss"]
    return None


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def job_json(session: TrainingSession, waiting: dict | None = None) -> dict:
    """``waiting``: its ``{position, reason}`` while queued (``waiting_of``)."""
    config = session.config or {}
    waiting = waiting if session.status == Status.QUEUED.value else None
    method = config.get("method", "grpo")
    return {"id": session.id, "name": session.name, "description": config.get("description", ""),
            "training_type": method, "model_name": (config.get("model") or {}).get("name"),
            "dataset": (config.get("dataset") or {}).get("source"), "dataset_id": session.dataset_id,
            "status": session.status, "progress": _percent(session), "error": session.error,
            "queue_position": waiting["position"] if waiting else None,
            "waiting_reason": waiting["reason"] if waiting else None,
            "output": f"{session.id}/{get_method(method).outputs[0]}",
            "created_at": _iso(session.created_at), "started_at": _iso(session.started_at),
            "finished_at": _iso(session.finished_at),
            "links": {"self": f"/api/v1/jobs/{session.id}", "status": f"/api/v1/jobs/{session.id}/status",
                      "download": f"/api/v1/jobs/{session.id}/download",
                      "deployment": f"/api/v1/jobs/{session.id}/deployment", "page": f"/sessions/{session.id}"}}


def status_json(session: TrainingSession, waiting: dict | None = None) -> dict:
    progress = session.progress or {}
    waiting = waiting if session.status == Status.QUEUED.value else None
    return {"id": session.id, "status": session.status, "progress": _percent(session), "phase": session.phase,
            "waiting_reason": waiting["reason"] if waiting else None,
            "epoch": progress.get("epoch"), "step": session.step, "total_steps": session.total_steps,
            "loss": _latest_loss(session.id), "eta_seconds": progress.get("eta_seconds"),
            "elapsed_seconds": progress.get("elapsed_seconds"), "error": session.error}


def download_target(job_id: str) -> Path:
    """The job's output (file or folder); 409 with the status until the job has completed. The owner's only:
    handing out another user's weights is an export, which admins may not do either."""
    session = get_job(job_id)
    if session.status != Status.COMPLETED.value:
        raise ConflictError(f"Job {job_id} is {session.status}; its output can be downloaded once it has "
                            "completed.", details=[{"path": "status", "message": session.status, "hint": ""}])
    method = get_method((session.config or {}).get("method", "grpo"))
    target = resolve_inside(get_training_service().session_folder(session), method.outputs[0])
    if not target.exists():
        raise ConflictError(f"Job {job_id} completed but its output {method.outputs[0]}/ is missing.")
    audit.record("job.downloaded", target=f"session:{job_id}")  # weights leaving the studio
    return target
