"""training sessions: server instance id and process start times (crash recovery that survives PID reuse)

Revision ID: 0004_hardening
Revises: 0003_training
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_hardening"
down_revision = "0003_training"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("training_sessions") as batch:
        batch.add_column(sa.Column("server_boot_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("server_started", sa.Float(), nullable=True))
        batch.add_column(sa.Column("child_started", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("training_sessions") as batch:
        batch.drop_column("child_started")
        batch.drop_column("server_started")
        batch.drop_column("server_boot_id")
