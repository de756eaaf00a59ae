"""Configuration classes, read from the environment (flasky style).

Paths left as ``None`` here are derived in ``app_factory`` from the instance
folder or the project root, so that a test can point every data folder at a
temporary directory by overriding only the few keys it cares about.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent


def _env_path(name: str) -> str | None:
    value = os.environ.get(name)
    return str(Path(value).expanduser().resolve()) if value else None


def _in_storage(folder: str) -> str | None:
    storage = _env_path("TUNEWRIGHT_STORAGE")
    return str(Path(storage) / folder) if storage else None


def _data_dir(name: str, folder: str) -> str:
    """A data folder: its own variable, else under the shared TUNEWRIGHT_STORAGE (scale-out), else the project's."""
    return _env_path(name) or _in_storage(folder) or str(PROJECT_ROOT / folder)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


class Config:
    """Defaults shared by every environment."""

    # None: a random key kept in <instance>/secret_key, so session cookies (the wizard's draft) outlive a restart.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    PERSIST_SECRET_KEY = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")  # None: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    INSTANCE_PATH = _env_path("TUNEWRIGHT_INSTANCE_DIR")  # None: PROJECT_ROOT/instance
    UPLOAD_FOLDER = _data_dir("TUNEWRIGHT_UPLOAD_DIR", "uploads")
    OUTPUT_FOLDER = _data_dir("TUNEWRIGHT_OUTPUT_DIR", "outputs")
    EXPORT_FOLDER = _data_dir("TUNEWRIGHT_EXPORT_DIR", "exports")
    CONFIG_FOLDER = _data_dir("TUNEWRIGHT_CONFIG_DIR", "configs")
    LOG_DIR = _env_path("TUNEWRIGHT_LOG_DIR") or str(PROJECT_ROOT / "logs")
    MODEL_CACHE = _env_path("TUNEWRIGHT_MODEL_CACHE") or _in_storage("models")  # None: <instance>/models

    HF_DATASETS_CACHE = _env_path("HF_DATASETS_CACHE")  # None: the datasets library's own default
    MAX_UPLOAD_BYTES = int(os.environ.get("TUNEWRIGHT_MAX_UPLOAD_BYTES", str(10 * 1024**3)))
    MAX_CONCURRENT_TRAININGS = int(os.environ.get("TUNEWRIGHT_MAX_CONCURRENT_TRAININGS", "0"))  # 0: one per device
    TRAINING_STOP_TIMEOUT = _env_float("TUNEWRIGHT_STOP_TIMEOUT", 300.0)  # seconds before a stop becomes a kill
    # auto: `accelerate launch` only for runs on several GPUs; accelerate: every run through it (one process on a
    # CPU or one GPU), the launcher path's own check on any machine (core/training/launch.py).
    TRAINING_LAUNCHER = os.environ.get("TUNEWRIGHT_TRAINING_LAUNCHER", "auto")
    # Address space of each training process (bytes, or "4G", "512M"; unset or 0: no limit): a run that needs more
    # fails with an out-of-memory error of its own instead of the kernel's OOM killer choosing a victim.
    TRAINING_MEMORY_LIMIT = os.environ.get("TUNEWRIGHT_TRAINING_MEMORY_LIMIT")

    # Access (services/security.py): a configured token is always enforced, loopback included (a reverse proxy
    # reaches a loopback bind from the network). With none configured, the bind decides whether one is generated.
    BIND_HOST = os.environ.get("TUNEWRIGHT_HOST", "127.0.0.1")
    ACCESS_TOKEN_SETTING = os.environ.get("TUNEWRIGHT_TOKEN")  # None: generated at start when one is needed
    REQUIRE_TOKEN: bool | None = None  # without a configured token: None generates one beyond loopback, True always
    TRUSTED_HOSTS_SETTING = os.environ.get("TUNEWRIGHT_TRUSTED_HOSTS")  # comma list, '*' = any; None: derived
    ALLOWED_ORIGINS_SETTING = os.environ.get("TUNEWRIGHT_ALLOWED_ORIGINS", "")  # extra origins, comma list
    # Accounts (services/auth/): TUNEWRIGHT_AUTH=single|accounts; None: accounts beyond loopback or in production.
    AUTH_MODE_SETTING = os.environ.get("TUNEWRIGHT_AUTH")
    SIGNUP = os.environ.get("TUNEWRIGHT_SIGNUP", "approval")  # open | approval | closed (accounts mode)
    _max_running = os.environ.get("TUNEWRIGHT_MAX_RUNNING_PER_USER")
    MAX_RUNNING_PER_USER: int | None = int(_max_running) if _max_running else None  # None: 1 with accounts
    AUDIT_RETENTION_DAYS = int(os.environ.get("TUNEWRIGHT_AUDIT_DAYS", "90"))
    JWT_LIFETIME_SECONDS = int(os.environ.get("TUNEWRIGHT_JWT_SECONDS", "1800"))
    # Flask-Limiter: memory by default (one server process); redis://… shares the counts between processes.
    RATELIMIT_STORAGE_URI = os.environ.get("TUNEWRIGHT_RATELIMIT_STORAGE", "memory://")
    RATELIMIT_HEADERS_ENABLED = True  # 429s carry Retry-After
    AUTH_RATE_LIMIT = os.environ.get("TUNEWRIGHT_AUTH_RATE_LIMIT", "10 per minute")  # per address and per username
    WTF_CSRF_CHECK_DEFAULT = False  # checked in services/security.py, only for requests a browser session carries
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_BODY_BYTES = int(os.environ.get("TUNEWRIGHT_MAX_BODY_BYTES", str(16 * 1024**2)))  # JSON/form bodies
    MIN_FREE_DISK_BYTES = int(os.environ.get("TUNEWRIGHT_MIN_FREE_DISK_BYTES", str(1024**3)))
    # "model=tag,…": the Ollama model a base model is (for FROM under a LoRA ADAPTER) beyond core.model_tags' list.
    OLLAMA_TAGS_SETTING = os.environ.get("TUNEWRIGHT_OLLAMA_TAGS", "")
    # Deploy (services/deploy/): models resident at once (the least recently used is evicted), each model's
    # request queue (waiting + running; full: 429), the max_tokens a /v1 request may ask for, the smoke check's.
    MAX_DEPLOYED = int(os.environ.get("TUNEWRIGHT_MAX_DEPLOYED", "2"))
    DEPLOY_QUEUE_SIZE = int(os.environ.get("TUNEWRIGHT_DEPLOY_QUEUE", "4"))
    DEPLOY_MAX_TOKENS = int(os.environ.get("TUNEWRIGHT_DEPLOY_MAX_TOKENS", "1024"))
    DEPLOY_SMOKE_MAX_TOKENS = int(os.environ.get("TUNEWRIGHT_DEPLOY_SMOKE_TOKENS", "96"))

    # Scale-out (services/executors/, docs/scale-out.md): local runs every child on this machine; rq hands sessions
    # to `tunewright worker` processes through Redis, with Socket.IO's message queue on the same Redis.
    EXECUTOR = os.environ.get("TUNEWRIGHT_EXECUTOR", "local")
    REDIS_URL = os.environ.get("REDIS_URL")
    # A folder every host sees: the data folders default to its subfolders, and paths stored in the database are
    # kept relative to it (services/models/types.py), so each host may mount it where it likes.
    STORAGE = _env_path("TUNEWRIGHT_STORAGE")
    WORKER_HEARTBEAT_SECONDS = _env_float("TUNEWRIGHT_WORKER_HEARTBEAT", 5.0)
    WORKER_GRACE_SECONDS = _env_float("TUNEWRIGHT_WORKER_GRACE", 60.0)  # silent this long: its job is interrupted
    SOCKETIO_ASYNC_MODE = os.environ.get("TUNEWRIGHT_ASYNC_MODE", "threading")
    SYSTEM_MONITOR_INTERVAL = _env_float("TUNEWRIGHT_MONITOR_INTERVAL", 2.0)
    AUTO_MIGRATE = True  # upgrade the schema when the app starts
    LOG_LEVEL = os.environ.get("TUNEWRIGHT_LOG_LEVEL", "INFO")


class DevelopmentConfig(Config):
    DEBUG = False  # the reloader would start a second server process; opt in with FLASK_DEBUG


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    SYSTEM_MONITOR_INTERVAL = _env_float("TUNEWRIGHT_MONITOR_INTERVAL", 0.2)
    PASSWORD_HASH_CHEAP = True  # argon2id with its cheapest parameters: the same code, fast tests


class ProductionConfig(Config):
    PRODUCTION = True  # services/auth/mode.py: accounts unless TUNEWRIGHT_AUTH=single
    SECRET_KEY = os.environ.get("SECRET_KEY")  # required: checked in the factory
    # gunicorn does not tell the app where it is bound: production assumes the network unless told otherwise.
    BIND_HOST = os.environ.get("TUNEWRIGHT_HOST", "0.0.0.0")
    PERSIST_SECRET_KEY = False


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_class(name: str | None = None) -> type[Config]:
    """Pick the config class named by ``name`` or ``TUNEWRIGHT_ENV`` (default development)."""
    name = (name or os.environ.get("TUNEWRIGHT_ENV") or "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown config {name!r}; choose one of {', '.join(CONFIGS)}") from None
