"""What a session's events leave in the database, and the JSON shapes the API and history replay use."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

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


def record_event(session: TrainingSession, event: dict, logs: list[dict]) -> list[tuple[str, dict]]:
    """Apply one child event to the database (log lines are collected in ``logs``); returns the Socket.IO
    events to emit once the batch is committed."""
    kind, sid = event.get("type"), session.id
    if kind == "metrics":
        upsert_metric(sid, event["phase"], event["step"], event["global_step"], event["metrics"])
        emits = [("training_update", {"session_id": sid, "phase": event["phase"], "step": event["step"],
                                      "global_step": event["global_step"], "logged_at": event.get("time"),
                                      **event["metrics"]})]
        if event["phase"] == "grpo":
            from services.rewards import update_health

            emits += [("reward_health", {"session_id": sid, **alert}) for alert in update_health(sid)]
        return emits
    if kind in ("progress", "phase"):
        session.phase = event["phase"]
        session.step = event["step"]
        session.total_steps = event.get("total_steps")
        if kind == "progress":
            session.global_step = event["global_step"]
            session.progress = {k: event.get(k) for k in ("epoch", "elapsed_seconds", "eta_seconds")}
        return [("training_progress", {"session_id": sid, **{k: v for k, v in event.items() if k != "type"}})]
    if kind == "samples":
        add_samples(sid, event["phase"], event["step"], event["samples"])
        return [("reward_sample", {"session_id": sid, "phase": event["phase"], "step": event["step"],
                                   "samples": event["samples"]})]
    if kind in ("log", "checkpoint"):
        line = {"time": event.get("time"), "level": event.get("level", "info"),
                "message": event.get("message") or f"checkpoint saved: {event['phase']} step {event['step']}"}
        logs.append(line)
        return [("training_log", {"session_id": sid, **line})]
    return []


def replay_spool(session: TrainingSession, spool: Path) -> int:
    """Store the events a child wrote to its spool file while the server was gone; returns how many."""
    if not spool.is_file():
        return 0
    logs: list[dict] = []
    count = 0
    for line in spool.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
        record_event(session, event, logs)
        count += 1
    append_logs(session, logs)
    spool.rename(spool.with_suffix(".replayed"))
    return count


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def session_summary(session: TrainingSession, waiting: dict[str, Any] | None = None) -> dict[str, Any]:
    """``waiting``: the queued session's ``{position, reason}`` (TrainingService.waiting), shown as
    ``queue_position`` and ``waiting_reason`` (both None unless it is queued)."""
    waiting = waiting if session.status == "queued" else None
    return {
        "id": session.id, "name": session.name, "status": session.status, "priority": session.priority,
        "owner_id": session.owner_id, "queue_position": waiting["position"] if waiting else None,
        "waiting_reason": waiting["reason"] if waiting else None,
        "phase": session.phase, "step": session.step, "global_step": session.global_step,
        "total_steps": session.total_steps, "progress": session.progress, "error": session.error,
        "dataset_id": session.dataset_id, "output_dir": session.output_dir, "device": session.device,
        "worker": session.worker, "attempt": session.attempt,
        "created_at": _iso(session.created_at), "started_at": _iso(session.started_at),
        "finished_at": _iso(session.finished_at),
    }


HISTORY_POINTS = 1000  # metric rows replayed on a Socket.IO join: enough for a chart, bounded for long runs


def metric_history(session_id: str, max_points: int | None = None) -> list[dict[str, Any]]:
    """Every metric row in step order, or at most ``max_points`` of them evenly spread (the last always kept),
    chosen in SQL so a long session is never loaded whole for a chart."""
    order = (TrainingMetric.global_step, TrainingMetric.id)
    query = select(TrainingMetric).filter_by(session_id=session_id)
    total = metric_count(session_id) if max_points else 0
    if max_points and total > max_points:
        stride = -(-total // max_points)
        numbered = select(TrainingMetric.id, func.row_number().over(order_by=order).label("n")) \
            .filter_by(session_id=session_id).subquery()
        keep = select(numbered.c.id).where(or_((numbered.c.n - 1) % stride == 0, numbered.c.n == total))
        query = query.where(TrainingMetric.id.in_(keep))
    rows = db.session.execute(query.order_by(*order)).scalars()
    return [{"phase": r.phase, "step": r.step, "global_step": r.global_step, **r.values} for r in rows]


def metric_count(session_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(TrainingMetric).filter_by(session_id=session_id)) or 0


def sample_history(session_id: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = db.session.execute(select(TrainingSample).filter_by(session_id=session_id)
                              .order_by(TrainingSample.id.desc()).limit(limit)).scalars()
    return [{"phase": r.phase, "step": r.step, "prompt": r.prompt, "completion": r.completion, "scores": r.scores}
            for r in reversed(list(rows))]


def session_detail(session: TrainingSession, max_points: int | None = None) -> dict[str, Any]:
    """The session with its history; ``max_points`` thins the metric rows for charts (``metrics_total`` says how
    many there are: the full series is one ``GET /api/training/sessions/<id>`` away)."""
    metrics = metric_history(session.id, max_points)
    return {"session": session_summary(session), "config": session.config, "metrics": metrics,
            "metrics_total": metric_count(session.id) if max_points else len(metrics),
            "samples": sample_history(session.id), "logs": session.last_logs or []}
