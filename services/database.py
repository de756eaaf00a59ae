"""Database set-up: URL normalisation, SQLite pragmas and schema upgrades at start."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def normalise_database_url(url: str) -> str:
    """Route PostgreSQL URLs to psycopg 3, the driver we install.

    Heroku-style ``postgres://`` and bare ``postgresql://`` would otherwise make
    SQLAlchemy look for psycopg2, which is not a dependency.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the supervisor write metrics while requests read; SQLite leaves FKs off unless asked."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def upgrade_schema(app: Flask) -> None:
    """Bring the database to the newest migration (idempotent, fast when current)."""
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
