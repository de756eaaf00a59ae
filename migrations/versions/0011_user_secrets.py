"""user secrets: per-user tracker credentials, stored as Fernet ciphertext only

Revision ID: 0011_user_secrets
Revises: 0010_registry
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_user_secrets"
down_revision = "0010_registry"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "name", name="uq_user_secrets_owner_name"),
    )
    op.create_index("ix_user_secrets_owner_id", "user_secrets", ["owner_id"])


def downgrade():
    op.drop_index("ix_user_secrets_owner_id", table_name="user_secrets")
    op.drop_table("user_secrets")
