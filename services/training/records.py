"""What a session's events leave in the database, and the JSON shapes the API and history replay use."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from extensions import db
from services.models.training import TrainingMetric, TrainingSample, TrainingSession

LOG_LINES_KEPT = 200


def upsert_metric(session_id: str, phase: str, step: int, global_step: int, values: dict[str, Any]) -> None:
    """One row per (session, phase, step): TRL's end-of-train summary merges into the last step's row, and a
    resumed run that logs a step again replaces it, so history never holds duplicates."""
    row = db.session.execute(select(TrainingMetric).filter_by(session_id=session_id, phase=phase, step=step)
                             ).scalar_one_or_none()
    if row is None:
        db.session.add(TrainingMetric(session_id=session_id, phase=phase, step=step, global_step=global_step,
                                      values=values))
    else:
        row.values = {**row.values, **values}
        row.global_step = global_step


def append_logs(session: TrainingSession, lines: list[dict]) -> None:
    session.last_logs = (list(session.last_logs or []) + lines)[-LOG_LINES_KEPT:]


def add_samples(session_id: str, phase: str, step: int, samples: list[dict]) -> None:
    for sample in samples:
        db.session.add(TrainingSample(session_id=session_id, phase=phase, step=step, prompt=sample["prompt"],
                                      completion=sample["completion"], scores=sample["scores"]))


def drop_rows_after(session_id: str, phase: str, step: int) -> None:
    """Before a resume from a checkpoint at ``step``: later rows of that phase will be logged again."""
    for model in (TrainingMetric, TrainingSample):
        db.session.execute(db.delete(model).where(model.session_id == session_id, model.phase == phase,
                                                  model.step > step))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def session_summary(session: TrainingSession) -> dict[str, Any]:
    return {
        "id": session.id, "name": session.name, "status": session.status, "priority": session.priority,
        "phase": session.phase, "step": session.step, "global_step": session.global_step,
        "total_steps": session.total_steps, "progress": session.progress, "error": session.error,
        "dataset_id": session.dataset_id, "output_dir": session.output_dir, "device": session.device,
        "created_at": _iso(session.created_at), "started_at": _iso(session.started_at),
        "finished_at": _iso(session.finished_at),
    }


def metric_history(session_id: str) -> list[dict[str, Any]]:
    rows = db.session.execute(select(TrainingMetric).filter_by(session_id=session_id)
                              .order_by(TrainingMetric.global_step, TrainingMetric.id)).scalars()
    return [{"phase": r.phase, "step": r.step, "global_step": r.global_step, **r.values} for r in rows]


def sample_history(session_id: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.session.execute(select(TrainingSample).filter_by(session_id=session_id)
                              .order_by(TrainingSample.id.desc()).limit(limit)).scalars()
    return [{"phase": r.phase, "step": r.step, "prompt": r.prompt, "completion": r.completion, "scores": r.scores}
            for r in reversed(list(rows))]


def session_detail(session: TrainingSession) -> dict[str, Any]:
    return {"session": session_summary(session), "config": session.config, "metrics": metric_history(session.id),
            "samples": sample_history(session.id), "logs": session.last_logs or []}
