"""model registry: registered models, their content-addressed versions, movable aliases

Revision ID: 0010_registry
Revises: 0009_accounts
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0010_registry"
down_revision = "0009_accounts"
branch_labels = None
depends_on = None


def _created(name="created_at"):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade():
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=True, index=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _created(),
        sa.UniqueConstraint("owner_id", "name", name="uq_registered_model_owner_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("owner_id", sa.Integer(), nullable=True, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False, index=True),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("framework", sa.String(length=24), nullable=False),
        sa.Column("base_model", sa.String(length=512), nullable=True),
        sa.Column("method", sa.String(length=24), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False, index=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True, index=True),
        sa.Column("export_id", sa.String(length=32), nullable=True, index=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("deployment", sa.JSON(), nullable=True),
        _created(),
        sa.UniqueConstraint("model_id", "version", name="uq_model_version_number"),
        sa.UniqueConstraint("owner_id", "digest", name="uq_model_version_owner_digest"),
    )
    op.create_table(
        "model_aliases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("registered_models.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        _created("updated_at"),
        sa.UniqueConstraint("model_id", "alias", name="uq_model_alias"),
    )


def downgrade():
    op.drop_table("model_aliases")
    op.drop_table("model_versions")
    op.drop_table("registered_models")
