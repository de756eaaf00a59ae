"""Training workers of the rq executor (``tunewright worker``): what each advertises in its heartbeat."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from services.models.base import utcnow


class Worker(db.Model):
    """One row per worker name. The database, not Redis, is the record of liveness: a Redis restart forgets RQ's
    own worker keys, never these."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    boot_id: Mapped[str] = mapped_column(String(32), nullable=False)  # a new one per start
    queue: Mapped[str] = mapped_column(String(160), nullable=False)  # its own RQ queue
    gpus: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    free_memory_mb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # GPU (or RAM on a CPU host)
    slots: Mapped[int] = mapped_column(Integer, nullable=False, default=1)  # jobs at once
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="idle")  # idle | busy | stopped
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    last_heartbeat: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
