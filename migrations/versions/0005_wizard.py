"""wizard drafts and saved-config metadata

Revision ID: 0005_wizard
Revises: 0003_training
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_wizard"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wizard_drafts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "saved_configs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("saved_configs")
    op.drop_table("wizard_drafts")
