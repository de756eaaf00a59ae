"""projects: traits fed by datasets, trained as ordinary sessions

Revision ID: 0012_projects
Revises: 0011_user_secrets
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_projects"
down_revision = "0011_user_secrets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("base_model", sa.String(length=500), nullable=False),
        sa.Column("training_type", sa.String(length=16), nullable=False),
        sa.Column("max_rows", sa.Integer(), nullable=False),
        sa.Column("output_dir", sa.String(length=1024), nullable=False),
        sa.Column("traits", sa.JSON(), nullable=False),
        sa.Column("mix", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("runs", sa.JSON(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=True),
        sa.Column("validation", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "name", name="uq_projects_owner_name"),
    )
    op.create_index("ix_projects_owner_id", "projects", ["owner_id"])
    op.create_index("ix_projects_status", "projects", ["status"])
    op.create_index("ix_projects_session_id", "projects", ["session_id"])


def downgrade():
    for name in ("ix_projects_session_id", "ix_projects_status", "ix_projects_owner_id"):
        op.drop_index(name, table_name="projects")
    op.drop_table("projects")
