"""What a version came from and what its run measured, read from the records the run left.

Checksums come from the records themselves (a dataset's stored sha256, an export's manifest), so lineage
states what was checked when the thing was made, not a hash taken later of a file that may have changed.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from extensions import db
from services.models.datasets import DatasetRecord
from services.models.exports import Evaluation, ExportJob
from services.models.training import TrainingMetric, TrainingSession

# Final training figures worth showing beside a version: (metric key, label), first logged value wins per label.
FINAL_METRICS = (("eval_loss", "eval_loss"), ("train_loss", "train_loss"), ("loss", "loss"),
                 ("reward", "reward"), ("mean_token_accuracy", "accuracy"), ("kl", "kl"))


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of a config: keys sorted, so the same settings always hash alike."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _reward_spec(config: dict[str, Any]) -> dict[str, Any]:
    """The reward as configured, a custom reward's source replaced by the hash of its code."""
    reward = json.loads(json.dumps(config.get("reward") or {}, default=str))
    for use in reward.get("custom") or []:
        code = use.pop("code", None)
        if code:
            use["code_sha256"] = hashlib.sha256(code.encode()).hexdigest()
    return reward


def _datasets(session: TrainingSession) -> list[dict[str, Any]]:
    dataset_ids = [session.dataset_id] if session.dataset_id else []
    found = []
    for record in db.session.execute(select(DatasetRecord).where(DatasetRecord.id.in_(dataset_ids))).scalars():
        found.append({"id": record.id, "name": record.name, "source": record.hub_id or record.original_filename,
                      "sha256": record.sha256})
    source = (session.config.get("dataset") or {}).get("source") or ""
    if source.startswith("project:"):
        return [_project_mix(session, source)]
    if not found:
        if source:
            found.append({"id": None, "name": source, "source": source, "sha256": None})
    return found


def _project_mix(session: TrainingSession, source: str) -> dict[str, Any]:
    """A project's run trained on its frozen mix: the manifest's hash stands for the data, its sources listed."""
    from pathlib import Path

    from core.projects.run_data import MANIFEST_FILE

    path = Path(session.output_dir) / "mix" / MANIFEST_FILE
    try:
        raw = path.read_bytes()
        sources = [{"key": s.get("key"), "label": s.get("label"), "sha256": s.get("checksum"),
                    "rows": s.get("rows")} for s in json.loads(raw).get("sources", [])]
    except (OSError, ValueError):
        return {"id": None, "name": f"{source} mix", "source": source, "sha256": None}
    return {"id": None, "name": f"{source} mix", "source": source, "sha256": hashlib.sha256(raw).hexdigest(),
            "manifest": str(path.name), "sources": sources}


def exports_of(session_id: str | None) -> list[dict[str, Any]]:
    """The session's completed exports with their files' checksums (their manifests)."""
    if not session_id:
        return []
    rows = db.session.execute(select(ExportJob).filter_by(session_id=session_id, status="completed")
                              .order_by(ExportJob.created_at)).scalars()
    return [{"id": row.id, "format": row.format, "quantization": row.quantization,
             "files": [{"name": f["name"], "size": f["size"], "sha256": f["sha256"]}
                       for f in (row.manifest or {}).get("files", [])]} for row in rows]


def session_lineage(session: TrainingSession) -> dict[str, Any]:
    config = session.config or {}
    return {"config": config, "config_hash": config_hash(config), "datasets": _datasets(session),
            "reward": _reward_spec(config), "session_id": session.id, "session_name": session.name}


def session_metrics(session: TrainingSession) -> dict[str, Any]:
    """The held-out evaluation (newest completed one, with its sample size and interval) and the last logged
    training figures of each phase."""
    metrics: dict[str, Any] = {}
    evaluation = db.session.execute(select(Evaluation).filter_by(session_id=session.id, status="completed")
                                    .order_by(Evaluation.id.desc()).limit(1)).scalar_one_or_none()
    if evaluation is not None and evaluation.result:
        tuned = evaluation.result.get("fine_tuned", {}).get("total") or {}
        metrics["held_out_reward"] = {k: tuned.get(k) for k in ("mean", "ci_low", "ci_high", "n")}
        metrics["held_out_difference"] = evaluation.result.get("difference")
        metrics["verdict"] = evaluation.result.get("verdict")
    rows = db.session.execute(select(TrainingMetric).filter_by(session_id=session.id)
                              .order_by(TrainingMetric.global_step.desc()).limit(50)).scalars()
    final: dict[str, Any] = {}
    for row in rows:
        for key, label in FINAL_METRICS:
            value = row.values.get(key)
            if label not in final and isinstance(value, (int, float)):
                final[label] = round(float(value), 6)
    metrics["final"] = final
    metrics["steps"] = session.global_step
    return metrics
