"""Deploying registry versions (routes/deploy.py, under /api/registry): a deployed version answers on /v1."""
from __future__ import annotations

from routes.schemas.common import Field, Out
from routes.schemas.registry import RegistryVersion


class DeployStats(Out):
    """This process's traffic to the version since it started."""

    requests: int
    errors: int
    queued: int = Field(description="Requests waiting or being answered now.")
    p50_ms: float | None = None
    p95_ms: float | None = None
    ttft_p50_ms: float | None = Field(None, description="Median time to the first streamed token.")
    resident: bool = Field(description="Whether this process serves it now.")


class Deployed(Out):
    version: RegistryVersion = Field(description="Its deployment holds the smoke check's result.")
    stats: DeployStats
