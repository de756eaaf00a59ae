"""The sessions list of the sidebar and the Sessions page: each session's summary plus what a user scans for
(method, model, best reward, queue position and why it waits)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from extensions import db
from services.models.training import TrainingMetric, TrainingSession
from services.training import get_training_service
from services.training.service import PRIORITIES

_PRIORITY_NAMES = {v: k for k, v in PRIORITIES.items()}


def _best_rewards(session_ids: list[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    if not session_ids:
        return best
    rows = db.session.execute(select(TrainingMetric.session_id, TrainingMetric.values).where(
        TrainingMetric.session_id.in_(session_ids), TrainingMetric.phase == "grpo"))
    for sid, values in rows:
        reward = values.get("reward") if isinstance(values, dict) else None
        if isinstance(reward, (int, float)) and (sid not in best or reward > best[sid]):
            best[sid] = float(reward)
    return best


def overview(status: str | None = None, model: str | None = None) -> dict[str, Any]:
    """The caller's sessions and queued sessions (admins too: the admin view lists everyone's)."""
    service = get_training_service()
    sessions = service.list_sessions()
    ids = [row["id"] for row in sessions]
    configs = dict(db.session.execute(select(TrainingSession.id, TrainingSession.config)
                                      .where(TrainingSession.id.in_(ids))).all()) if ids else {}
    best = _best_rewards(ids)
    rows, models = [], set()
    for row in sessions:
        config = configs.get(row["id"]) or {}
        row_model = (config.get("model") or {}).get("name")
        models.add(row_model)
        if status and row["status"] != status or model and row_model != model:
            continue
        method = config.get("method", "grpo")
        uses_grpo = method == "grpo" or (method == "unsloth"
                                         and (config.get("unsloth") or {}).get("objective") == "grpo")
        rows.append({**row, "model": row_model, "method": method,
                     # The GRPO variant, only for runs that do GRPO (a Standard run showed "standard/grpo")
                     "algorithm": (config.get("grpo") or {}).get("algorithm") if uses_grpo else None,
                     "priority_name": _PRIORITY_NAMES.get(row["priority"], str(row["priority"])),
                     "best_reward": best.get(row["id"]), "queue_reason": row["waiting_reason"]})
    return {"sessions": rows, "models": sorted(m for m in models if m), "queue": service.queue()}
