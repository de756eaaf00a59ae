"""datasets and prompt_templates tables

Revision ID: 0002_datasets
Revises: 0001_settings
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_datasets"
down_revision = "0001_settings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("original_filename", sa.String(length=512), nullable=True),
        sa.Column("stored_path", sa.String(length=512), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("hub_id", sa.String(length=255), nullable=True),
        sa.Column("config_name", sa.String(length=255), nullable=True),
        sa.Column("split", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_details", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("duplicate_count", sa.BigInteger(), nullable=True),
        sa.Column("empty_count", sa.BigInteger(), nullable=True),
        sa.Column("sample_rows", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_datasets_owner", "datasets", ["owner"])
    op.create_index("ix_datasets_status", "datasets", ["status"])
    op.create_table(
        "prompt_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("reasoning_start", sa.String(length=64), nullable=False),
        sa.Column("reasoning_end", sa.String(length=64), nullable=False),
        sa.Column("solution_start", sa.String(length=64), nullable=False),
        sa.Column("solution_end", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade():
    op.drop_table("prompt_templates")
    op.drop_index("ix_datasets_status", table_name="datasets")
    op.drop_index("ix_datasets_owner", table_name="datasets")
    op.drop_table("datasets")
