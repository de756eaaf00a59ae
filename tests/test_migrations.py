"""Migrations build the schema on an empty database (SQLite here, PostgreSQL again in .ci/run)."""
from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app_factory import create_app
from extensions import db
from services.database import MIGRATIONS_DIR
from services.settings_store import delete_setting, get_setting, set_setting
from tests.helpers import reset_database

pytestmark = pytest.mark.db


def test_start_upgrades_an_empty_database_to_head(app):
    with app.app_context():
        inspector = inspect(db.engine)
        assert {"settings", "alembic_version"} <= set(inspector.get_table_names())
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        from alembic.script import ScriptDirectory

        assert version == ScriptDirectory(MIGRATIONS_DIR).get_current_head()
        assert {"training_sessions", "training_metrics", "training_samples"} <= set(inspector.get_table_names())


def test_models_match_the_migrations(app):
    """A model change without a migration shows up here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_reverses_it(app):
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)  # again: nothing to do
        set_setting("probe", {"a": 1})
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert "settings" not in inspect(db.engine).get_table_names()
        upgrade(directory=MIGRATIONS_DIR)
        assert get_setting("probe") is None


def test_settings_round_trip_and_survive_a_restart(test_config):
    reset_database(test_config["SQLALCHEMY_DATABASE_URI"])
    first = create_app(test_config)
    with first.app_context():
        set_setting("default_model", {"path": "/x", "parameters": 134_515_008})
        set_setting("default_model", {"path": "/y"})
        set_setting("theme", "dark")
        db.engine.dispose()
    second = create_app(test_config)  # a server restart on the same database
    with second.app_context():
        assert get_setting("default_model") == {"path": "/y"}
        assert get_setting("missing", "fallback") == "fallback"
        assert delete_setting("theme") is True and delete_setting("theme") is False
        db.engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas only apply to SQLite (this run uses PostgreSQL)")
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
