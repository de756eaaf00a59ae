"""What this server is and can do (routes/system.py, routes/methods.py): the machine's sample (the same one the
``system_update`` event carries), the rq executor's training workers, and the training methods offered."""
from __future__ import annotations

from typing import Any

from routes.schemas.common import Field, Out


class SystemGpu(Out):
    index: int
    name: str
    utilization: float | None = Field(None, description="Percent.")
    memory_used: int | None = Field(None, description="MiB.")
    memory_total: int | None = Field(None, description="MiB.")
    temperature: float | None = Field(None, description="°C.")


class SystemStatus(Out):
    timestamp: float = Field(description="Seconds since the epoch.")
    cpu: float = Field(description="Percent of all cores.")
    cpu_count: int | None = None
    memory: float = Field(description="Percent of RAM in use.")
    memory_used: int = Field(description="Bytes.")
    memory_total: int = Field(description="Bytes.")
    disk: float = Field(description="Percent used, of the data folders' fullest filesystem.")
    disk_free: int = Field(description="Bytes.")
    disk_total: int = Field(description="Bytes.")
    gpus: list[SystemGpu] = Field(description="Every GPU; empty without one.")


class SystemWorker(Out):
    name: str
    host: str
    pid: int | None = None
    queue: str = Field(description="The worker's own RQ queue.")
    gpus: list[dict[str, Any]]
    free_memory_mb: int = Field(description="Free GPU memory (RAM on a CPU host), MiB.")
    slots: int = Field(description="Jobs it runs at once.")
    state: str = Field(description="idle, busy or stopped.")
    alive: bool
    started_at: str
    last_heartbeat: str
    seconds_since_heartbeat: float
    jobs: list[str] = Field(description="The sessions it runs that the caller may see.")
    busy: bool


class SystemWorkers(Out):
    executor: str = Field(description="local or rq (TUNEWRIGHT_EXECUTOR).")
    workers: list[SystemWorker]
    grace_seconds: float = Field(description="How long a silent worker counts as alive before it is lost.")


class TrainingMethod(Out):
    name: str = Field(description="The config's method value.")
    label: str
    description: str
    requires_gpu: bool
    outputs: list[str] = Field(description="The folders a session of this method writes.")
    available: bool = Field(description="Whether it can run on this server.")
    reason: str | None = Field(None, description="Why it cannot run here.")


class TrainingMethods(Out):
    methods: list[TrainingMethod]
