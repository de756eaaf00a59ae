"""The home page's figures (routes/dashboard.py, services/dashboard): the caller's own work and this machine."""
from __future__ import annotations

from typing import Any

from routes.schemas.common import Field, Out
from routes.schemas.system import SystemStatus


class DashboardCounts(Out):
    datasets: int
    active_trainings: int = Field(description="Running or stopping sessions.")
    queued_jobs: int
    models: int = Field(description="Registry versions that are not archived.")


class DashboardActivity(Out):
    days: list[str] = Field(description="UTC days, oldest first (today last).")
    started: list[int] = Field(description="Sessions created each day.")
    finished: list[int] = Field(description="Sessions that ended each day, whatever the outcome.")


class DashboardRun(Out):
    id: str
    name: str | None = None
    status: str
    method: str | None = Field(None, description="The config's method (grpo, qlora, unsloth, standard, rag).")
    model: str | None = Field(None, description="The base model's name.")
    created_at: str | None = None
    finished_at: str | None = None
    metric: str | None = Field(None, description="The sparkline's metric: reward (GRPO), else loss.")
    sparkline: list[list[float | None]] = Field(description="[step, value] points.")


class DashboardDeployed(Out):
    id: int
    ref: str = Field(description="name:version.")
    name: str
    version: int
    type: str
    base_model: str | None = None
    method: str | None = None
    stats: dict[str, Any] | None = Field(None, description="requests, errors, p50_ms, p95_ms, ttft_p50_ms, "
                                                           "queued, resident (this process's traffic).")


class Dashboard(Out):
    generated_at: str
    counts: DashboardCounts
    activity: DashboardActivity
    recent_runs: list[DashboardRun] = Field(description="The newest sessions with a sparkline of their main metric.")
    deployed: list[DashboardDeployed]
    system: SystemStatus
