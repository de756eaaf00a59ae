"""training sessions, metrics and samples

Revision ID: 0003_training
Revises: 0002_datasets
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_training"
down_revision = "0002_datasets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "training_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("output_dir", sa.String(length=512), nullable=False),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("global_step", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_logs", sa.JSON(), nullable=False),
        sa.Column("server_pid", sa.Integer(), nullable=True),
        sa.Column("child_pid", sa.Integer(), nullable=True),
        sa.Column("resume_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_sessions") as batch_op:
        batch_op.create_index("ix_training_sessions_status", ["status"])
        batch_op.create_index("ix_training_sessions_dataset_id", ["dataset_id"])
    for table, extra in (
        ("training_metrics", [sa.Column("global_step", sa.Integer(), nullable=False),
                              sa.Column("values", sa.JSON(), nullable=False),
                              sa.UniqueConstraint("session_id", "phase", "step", name="uq_training_metric_step")]),
        ("training_samples", [sa.Column("prompt", sa.Text(), nullable=False),
                              sa.Column("completion", sa.Text(), nullable=False),
                              sa.Column("scores", sa.JSON(), nullable=False)]),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("session_id", sa.String(length=32), nullable=False),
            sa.Column("phase", sa.String(length=16), nullable=False),
            sa.Column("step", sa.Integer(), nullable=False),
            *extra,
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["session_id"], ["training_sessions.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(f"ix_{table}_session_id", ["session_id"])


def downgrade():
    op.drop_table("training_samples")
    op.drop_table("training_metrics")
    op.drop_table("training_sessions")
