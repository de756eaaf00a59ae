"""export jobs record their server instance and child start time (start-up recovery)

Revision ID: 0008_export_owner
Revises: 0007_exports
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_export_owner"
down_revision = "0007_exports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("export_jobs") as batch_op:
        batch_op.add_column(sa.Column("child_started", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("server_pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("server_boot_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("server_started", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("export_jobs") as batch_op:
        batch_op.drop_column("server_started")
        batch_op.drop_column("server_boot_id")
        batch_op.drop_column("server_pid")
        batch_op.drop_column("child_started")
