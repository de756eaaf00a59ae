"""The model registry (MLflow's shape: a registered model has numbered versions and movable aliases).

A version is content-addressed: ``digest`` is the SHA-256 over its weight files (services/registry/digest.py),
unique per owner, so registering the same weights twice returns the version that already holds them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from services.models.base import utcnow


class RegisteredModel(db.Model):
    __tablename__ = "registered_models"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_registered_model_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # services/auth/scope.py
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    versions: Mapped[list["ModelVersion"]] = relationship(back_populates="model", cascade="all, delete-orphan",
                                                          order_by="ModelVersion.version")
    aliases: Mapped[list["ModelAlias"]] = relationship(back_populates="model", cascade="all, delete-orphan")


class ModelVersion(db.Model):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_version_number"),
                      UniqueConstraint("owner_id", "digest", name="uq_model_version_owner_digest"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(80), nullable=False, index=True)  # "sha256:<hex>"
    type: Mapped[str] = mapped_column(String(24), nullable=False)        # services/registry/kinds.py
    framework: Mapped[str] = mapped_column(String(24), nullable=False)   # transformers | peft | gguf | faiss
    base_model: Mapped[str | None] = mapped_column(String(512), nullable=True)
    method: Mapped[str | None] = mapped_column(String(24), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="ready", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Absolute path of the weights (a folder, or the .gguf file) inside outputs/ or exports/.
    path: Mapped[str] = mapped_column(String(1024), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    export_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # The last deploy attempt: smoke check result, when, and why it stopped being served (eviction, failure).
    deployment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    model: Mapped[RegisteredModel] = relationship(back_populates="versions")

    @property
    def ref(self) -> str:
        return f"{self.model.name}:v{self.version}"


class ModelAlias(db.Model):
    """``name@alias`` points at one version at a time; moving it is one UPDATE."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias", name="uq_model_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    alias: Mapped[str] = mapped_column(String(64), nullable=False)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    model: Mapped[RegisteredModel] = relationship(back_populates="aliases")
    target: Mapped[ModelVersion] = relationship()
