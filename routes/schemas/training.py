"""Training sessions: start, stop, resume, read (routes/training.py, routes/sessions.py, the job API)."""
from __future__ import annotations

from typing import Any, Literal

from routes.schemas.common import Field, In, JsonObject, Name, Out, SessionId

Priority = Literal["low", "normal", "high"]


class StartTraining(In):
    config_name: Name | None = Field(None, description="A saved config (GET /api/configs/list) to train with.")
    config: JsonObject | None = Field(None, description="A training config (GET /api/training/schema); fields "
                                                        "left out take their defaults. Ignored with config_name.")
    session_id: SessionId | None = Field(None, description="Letters, digits, '-' and '_' (at most 32); "
                                                           "generated when absent.")
    priority: Priority = "normal"


class SessionRef(In):
    session_id: SessionId = Field(description="The session's id.")


class SessionDetailQuery(In):
    max_points: int | None = Field(None, ge=2, le=1_000_000, description="Spread this many metric rows evenly "
                                                                          "over the run (the charts' replay).")


class Session(Out):
    id: str
    name: str | None = None
    status: str = Field(description="queued, starting, running, stopping, completed, failed, stopped or "
                                    "interrupted.")
    priority: int | str | None = None
    owner_id: int | None = None
    queue_position: int | None = None
    waiting_reason: str | None = None
    phase: str | None = None
    step: int | None = None
    global_step: int | None = None
    total_steps: int | None = None
    progress: dict[str, Any] | None = Field(None, description="A running session's epoch, elapsed_seconds and "
                                                              "eta_seconds.")
    error: str | None = None
    dataset_id: int | None = None
    output_dir: str | None = None
    device: str | None = None
    worker: str | None = None
    attempt: int | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class SessionEnvelope(Out):
    session: Session


class SessionList(Out):
    sessions: list[Session | dict[str, Any]]


class SessionDetail(Out):
    session: Session
    metrics: list[dict[str, Any]] = Field(default_factory=list, description="Metric rows in step order.")


class ConfigEnvelope(Out):
    config: JsonObject


class Trackers(Out):
    trackers: list[dict[str, Any]]
