"""Saved custom rewards (no-code combinations or sandboxed code) and the reward-health alerts of sessions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from services.models.base import utcnow


class CustomReward(db.Model):
    __tablename__ = "custom_rewards"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_custom_rewards_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # components | code
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    components: Mapped[list[Any]] = mapped_column(JSON, nullable=False, default=list)
    code: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # services/auth/scope.py
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow,
                                                 nullable=False)


class RewardHealthAlert(db.Model):
    __tablename__ = "reward_health_alerts"
    __table_args__ = (UniqueConstraint("session_id", "code", "component", name="uq_reward_alert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32), ForeignKey("training_sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    component: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    first_step: Mapped[int] = mapped_column(Integer, nullable=False)
    last_step: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    hint: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
