"""The ``datasets`` table (uploaded files and added Hub datasets) and the ``prompt_templates`` table."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from services.models.base import utcnow


class DatasetRecord(db.Model):
    """One dataset the user can train on: its file (or Hub id), its profile and its field mapping.

    The profile columns (row count, columns, counts, sample) are filled by the
    processing job; ``status`` changes only through ``services.datasets``.
    """

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # services/auth/scope.py

    source_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "upload" | "hub"
    format: Mapped[str] = mapped_column(String(16), nullable=False)  # json/jsonl/csv/parquet, "hub"
    original_filename: Mapped[str | None] = mapped_column(String(512), nullable=True)
    stored_path: Mapped[str | None] = mapped_column(String(512), nullable=True)  # relative to UPLOAD_FOLDER
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hub_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    config_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    split: Mapped[str | None] = mapped_column(String(128), nullable=True)

    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_details: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # first errors with lines
    warnings: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    row_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    columns: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    duplicate_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    empty_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sample_rows: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )


class PromptTemplate(db.Model):
    """A user's system prompt with its reasoning and solution markers (the built-in default is not a row)."""

    __tablename__ = "prompt_templates"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_prompt_templates_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    system_prompt: Mapped[str] = mapped_column(Text, nullable=False)
    reasoning_start: Mapped[str] = mapped_column(String(64), nullable=False)
    reasoning_end: Mapped[str] = mapped_column(String(64), nullable=False)
    solution_start: Mapped[str] = mapped_column(String(64), nullable=False)
    solution_end: Mapped[str] = mapped_column(String(64), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # services/auth/scope.py
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )
