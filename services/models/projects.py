"""The ``projects`` table: a base model, a method, a row budget and traits fed by datasets.

The body's fields (traits, mix options, training settings) are stored as validated JSON in the shape of
``core.projects.spec.ProjectBody``. A project's runs are ordinary training sessions; ``session_id`` names the
latest (``runs`` all of them), whose folder holds the frozen mix (``<output_dir>/<session_id>/mix/``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from services.models.base import utcnow
from services.models.types import StoragePath


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_projects_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # services/auth/scope.py
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    base_model: Mapped[str] = mapped_column(String(500), nullable=False)
    training_type: Mapped[str] = mapped_column(String(16), nullable=False)
    max_rows: Mapped[int] = mapped_column(Integer, nullable=False)
    output_dir: Mapped[str] = mapped_column(StoragePath(1024), nullable=False)  # resolved, under the output base
    traits: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    mix: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    runs: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)  # every run's session id
    manifest_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow,
                                                 nullable=False)
