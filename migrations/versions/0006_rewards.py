"""custom rewards and reward-health alerts

Revision ID: 0006_rewards
Revises: 0003_training
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_rewards"
down_revision = "0005_wizard"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "custom_rewards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "reward_health_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("component", sa.String(length=64), nullable=False),
        sa.Column("first_step", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("hint", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["training_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "code", "component", name="uq_reward_alert"),
    )
    op.create_index("ix_reward_health_alerts_session_id", "reward_health_alerts", ["session_id"])


def downgrade():
    op.drop_index("ix_reward_health_alerts_session_id", table_name="reward_health_alerts")
    op.drop_table("reward_health_alerts")
    op.drop_table("custom_rewards")
