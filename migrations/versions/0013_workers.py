"""workers: the rq executor's training workers, and which worker and attempt a session belongs to

Revision ID: 0013_workers
Revises: 0012_projects
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_workers"
down_revision = "0012_projects"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("boot_id", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=160), nullable=False),
        sa.Column("gpus", sa.JSON(), nullable=False),
        sa.Column("free_memory_mb", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("training_sessions") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("rq_job_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_training_sessions_worker", ["worker"])


def downgrade():
    with op.batch_alter_table("training_sessions") as batch:
        batch.drop_index("ix_training_sessions_worker")
        batch.drop_column("attempt")
        batch.drop_column("rq_job_id")
        batch.drop_column("worker")
    op.drop_table("workers")
