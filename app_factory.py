"""Application factory: config, extensions, blueprints, logging. No network, no model loading."""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from config import PROJECT_ROOT, Config, config_class
from core.logfiles import PRIVATE_MODE, private_opener
from extensions import db, migrate, socketio
from services.database import normalise_database_url, upgrade_schema

DATA_FOLDER_KEYS = ("UPLOAD_FOLDER", "OUTPUT_FOLDER", "EXPORT_FOLDER", "CONFIG_FOLDER", "MODEL_CACHE", "LOG_DIR")


def create_app(config: str | type[Config] | Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    ``config`` is a config name (``development``/``testing``/``production``), a
    config class, or a mapping of overrides applied on top of the class chosen
    by ``TUNEWRIGHT_ENV`` (``testing`` when the mapping sets ``TESTING``).
    """
    cls, overrides = _resolve_config(config)
    instance_path = (overrides or {}).get("INSTANCE_PATH") or cls.INSTANCE_PATH or str(PROJECT_ROOT / "instance")
    app = Flask(__name__, instance_path=str(Path(instance_path).resolve()), instance_relative_config=True)
    app.config.from_object(cls)
    if overrides:
        app.config.update(overrides)
    _finish_config(app)
    _configure_logging(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    from services import auth, security

    auth.init_app(app)  # before security: the access hook reads the mode it sets
    security.init_app(app)
    # Same-origin WebSockets only (plus TUNEWRIGHT_ALLOWED_ORIGINS): the same rule as for HTTP requests.
    # With workers (TUNEWRIGHT_EXECUTOR=rq) every process emits through Redis and the web server delivers.
    from services.executors import executor_name

    socketio.init_app(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"],
                      cors_allowed_origins=security.socketio_origin_check(app),
                      message_queue=app.config["REDIS_URL"] if executor_name(app) == "rq" else None)

    import services.models  # noqa: F401  (register tables with the metadata)
    from routes import register_blueprints
    from services.cli import register_cli
    from websockets import register_handlers

    register_blueprints(app)
    register_handlers(app)
    register_cli(app)

    if app.config["AUTO_MIGRATE"]:
        upgrade_schema(app)
        from services.datasets.uploads import remove_stale_parts

        remove_stale_parts(app.config["UPLOAD_FOLDER"])
    from services import dashboard, deploy, evaluation, exports, playground, projects, registry, training

    training.init_app(app)
    exports.init_app(app)
    playground.init_app(app)
    evaluation.init_app(app)
    registry.init_app(app)
    dashboard.init_app(app)
    deploy.init_app(app)
    projects.init_app(app)
    app.logger.info("Tunewright ready (database %s)",
                    make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True))
    return app


def _resolve_config(config) -> tuple[type[Config], dict[str, Any] | None]:
    if config is None or isinstance(config, str):
        return config_class(config), None
    if isinstance(config, type):
        return config, None
    overrides = dict(config)
    return config_class("testing" if overrides.get("TESTING") else None), overrides


def _finish_config(app: Flask) -> None:
    """Derive paths from the instance folder, create data folders, check production secrets."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("MODEL_CACHE"):
        app.config["MODEL_CACHE"] = str(instance / "models")
    for key in DATA_FOLDER_KEYS:
        path = Path(app.config[key]).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        app.config[key] = str(path)
    from services.models.types import set_storage_root

    if app.config.get("STORAGE"):
        Path(app.config["STORAGE"]).mkdir(parents=True, exist_ok=True)
    set_storage_root(app.config.get("STORAGE"))
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or f"sqlite:///{instance / 'tunewright.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    if not app.config.get("SECRET_KEY") and app.config.get("PERSIST_SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in the environment for the production config")
    if app.config["SOCKETIO_ASYNC_MODE"] not in ("threading", "eventlet"):
        raise RuntimeError("TUNEWRIGHT_ASYNC_MODE must be 'threading' or 'eventlet'")
    from core.training.failures import parse_size

    try:  # bytes from here on (None: no limit), so a typo stops the start instead of every run
        app.config["TRAINING_MEMORY_LIMIT"] = parse_size(app.config.get("TRAINING_MEMORY_LIMIT"))
    except ValueError as exc:
        raise RuntimeError(f"TUNEWRIGHT_TRAINING_MEMORY_LIMIT: {exc}") from None


def _instance_secret(path: Path) -> str:
    """A random key created once in the instance folder (owner-readable only) and reused by every start."""
    if path.is_file():
        return path.read_text().strip()
    import secrets

    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


_HANDLER_TAG = "_tunewright"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose files are created owner-only (0600), the rotated ones included."""

    def _open(self):
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=private_opener)


def _configure_logging(app: Flask) -> None:
    """Log to ``LOG_DIR/tunewright.log`` (0600) and the console; replace our handlers when called again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_TAG, False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s")
    log_file = Path(app.config["LOG_DIR"]) / "tunewright.log"
    for old in log_file.parent.glob(log_file.name + ".*"):  # backups written before logs were private
        with contextlib.suppress(OSError):
            old.chmod(PRIVATE_MODE)
    file_handler = PrivateRotatingFileHandler(log_file, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handlers: list[logging.Handler] = [file_handler]
    if not app.testing:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _HANDLER_TAG, True)
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    for noisy in ("werkzeug", "engineio.server", "socketio.server", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
