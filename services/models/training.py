"""Training sessions and everything they log: metric rows, sample completions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from services.models.base import utcnow
from services.models.types import StoragePath


class TrainingSession(db.Model):
    __tablename__ = "training_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # services/auth/scope.py
    dataset_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    output_dir: Mapped[str] = mapped_column(StoragePath(512), nullable=False)
    device: Mapped[str | None] = mapped_column(String(32), nullable=True)
    phase: Mapped[str | None] = mapped_column(String(16), nullable=True)
    step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    global_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_steps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_logs: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    server_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Which server instance runs it: a random id per start. A PID alone is reused (a restarted container's
    # server often has the same one), so liveness also compares the process start time.
    server_boot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    server_started: Mapped[float | None] = mapped_column(Float, nullable=True)
    child_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    child_started: Mapped[float | None] = mapped_column(Float, nullable=True)
    resume_requested: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Scale-out (services/executors/rq.py): the worker it was handed to and runs on, the RQ job, and the attempt
    # number that fences a worker declared lost: only the holder of the current attempt may write.
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    rq_job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    metrics: Mapped[list["TrainingMetric"]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                                           passive_deletes=True)
    samples: Mapped[list["TrainingSample"]] = relationship(back_populates="session", cascade="all, delete-orphan",
                                                           passive_deletes=True)


class TrainingMetric(db.Model):
    """One logged step of one phase; TRL's log dict is kept whole in ``values``."""

    __tablename__ = "training_metrics"
    __table_args__ = (UniqueConstraint("session_id", "phase", "step", name="uq_training_metric_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    global_step: Mapped[int] = mapped_column(Integer, nullable=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    session: Mapped[TrainingSession] = relationship(back_populates="metrics")


class TrainingSample(db.Model):
    """A sampled completion with its per-reward scores (a few per GRPO step)."""

    __tablename__ = "training_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    completion: Mapped[str] = mapped_column(Text, nullable=False)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    session: Mapped[TrainingSession] = relationship(back_populates="samples")
