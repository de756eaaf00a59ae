"""accounts: users, personal access tokens, audit log; an owner on everything a user makes

Revision ID: 0009_accounts
Revises: 0008_export_owner
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_accounts"
down_revision = "0008_export_owner"
branch_labels = None
depends_on = None

# Tables that had an unused ``owner`` text column (always NULL): it becomes the integer ``owner_id``.
RENAMED = ("datasets", "prompt_templates", "training_sessions", "custom_rewards")
ADDED = ("export_jobs", "test_runs", "batch_runs", "evaluations", "wizard_drafts")
# Names unique per owner, not across the studio: two users may each have a reward called "format".
NAMED = ("custom_rewards", "prompt_templates")
# SQLite reflects the old inline UNIQUE (name) without a name: batch mode names it by this convention to drop it.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _name_unique(table):
    found = [u["name"] for u in sa.inspect(op.get_bind()).get_unique_constraints(table)
             if u["column_names"] == ["name"]]
    return found[0] if found and found[0] else f"uq_{table}_name"


def _name_unique_per_owner(table):
    with op.batch_alter_table(table, naming_convention=_CONVENTION) as batch_op:
        batch_op.drop_constraint(_name_unique(table), type_="unique")
        batch_op.create_unique_constraint(f"uq_{table}_owner_name", ["owner_id", "name"])


def _created(name="created_at", nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        _created(),
        _created("last_login_at", True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _created(),
        _created("expires_at", True),
        _created("last_used_at", True),
        _created("revoked_at", True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        _created("at"),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("at", "actor_id", "action"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])

    op.drop_index("ix_datasets_owner", table_name="datasets")
    for table in RENAMED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("owner")
    for table in RENAMED + ADDED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        op.create_index(f"ix_{table}_owner_id", table, ["owner_id"])

    for table in NAMED:
        _name_unique_per_owner(table)

    # Saved configs are keyed by (owner, name) now: two users may both have a "baseline".
    op.create_table(
        "saved_configs_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _created(),
        _created("updated_at"),
        _created("last_used_at", True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "name", name="uq_saved_configs_owner_name"),
    )
    op.execute("INSERT INTO saved_configs_new (name, description, created_at, updated_at, last_used_at) "
               "SELECT name, description, created_at, updated_at, last_used_at FROM saved_configs")
    op.drop_table("saved_configs")
    op.rename_table("saved_configs_new", "saved_configs")
    op.create_index("ix_saved_configs_owner_id", "saved_configs", ["owner_id"])
    op.create_index("ix_saved_configs_name", "saved_configs", ["name"])


def downgrade():
    op.drop_index("ix_saved_configs_name", table_name="saved_configs")
    op.drop_index("ix_saved_configs_owner_id", table_name="saved_configs")
    op.create_table(
        "saved_configs_old",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _created(),
        _created("updated_at"),
        _created("last_used_at", True),
        sa.PrimaryKeyConstraint("name"),
    )
    # Only configs of no owner (single mode) fit the old name-keyed table.
    op.execute("INSERT INTO saved_configs_old (name, description, created_at, updated_at, last_used_at) "
               "SELECT name, description, created_at, updated_at, last_used_at FROM saved_configs "
               "WHERE owner_id IS NULL")
    op.drop_table("saved_configs")
    op.rename_table("saved_configs_old", "saved_configs")
    for table in NAMED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_owner_name", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_name", ["name"])
    for table in RENAMED + ADDED:
        op.drop_index(f"ix_{table}_owner_id", table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("owner_id")
    for table in RENAMED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("owner", sa.String(length=128), nullable=True))
    op.create_index("ix_datasets_owner", "datasets", ["owner"])
    op.drop_table("audit_events")
    op.drop_table("api_tokens")
    op.drop_table("users")
