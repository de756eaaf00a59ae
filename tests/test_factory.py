"""create_app with each config, from the environment and from overrides."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app_factory import create_app
from services.database import normalise_database_url

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json
from app_factory import create_app
app = create_app()
keys = ["TESTING", "DEBUG", "SQLALCHEMY_DATABASE_URI", "UPLOAD_FOLDER", "MODEL_CACHE", "LOG_DIR",
        "SOCKETIO_ASYNC_MODE", "SECRET_KEY"]
print(json.dumps({k: app.config.get(k) for k in keys} | {"blueprints": sorted(app.blueprints)}))
"""


def run_factory(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    full_env.update(TUNEWRIGHT_INSTANCE_DIR=str(tmp_path / "inst"), TUNEWRIGHT_UPLOAD_DIR=str(tmp_path / "up"),
                    TUNEWRIGHT_OUTPUT_DIR=str(tmp_path / "out"), TUNEWRIGHT_EXPORT_DIR=str(tmp_path / "exp"),
                    TUNEWRIGHT_CONFIG_DIR=str(tmp_path / "cfg"), TUNEWRIGHT_LOG_DIR=str(tmp_path / "logs"))
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("env_name, testing", [("development", False), ("testing", True), ("production", False)])
def test_config_from_environment(tmp_path, env_name, testing):
    result = run_factory(tmp_path, TUNEWRIGHT_ENV=env_name, SECRET_KEY="s3cret")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])
    assert config["TESTING"] is testing
    assert config["UPLOAD_FOLDER"] == str((tmp_path / "up").resolve())
    assert config["MODEL_CACHE"] == str((tmp_path / "inst" / "models").resolve())
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{(tmp_path / 'inst' / 'tunewright.db').resolve()}"
    assert config["SOCKETIO_ASYNC_MODE"] == "threading"
    assert {"pages", "errors", "system", "models"} <= set(config["blueprints"])
    if env_name != "testing":
        assert config["SECRET_KEY"] == "s3cret"
    assert (tmp_path / "inst" / "tunewright.db").is_file()
    assert (tmp_path / "logs" / "tunewright.log").is_file()


@pytest.mark.slow
def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_factory(tmp_path, TUNEWRIGHT_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.slow
def test_unknown_config_name_is_a_clear_error(tmp_path):
    result = run_factory(tmp_path, TUNEWRIGHT_ENV="staging")
    assert result.returncode != 0
    assert "unknown config 'staging'" in result.stderr


def test_overrides_point_every_folder_at_the_test_directory(app, test_config, tmp_path):
    assert app.testing
    for key in ("UPLOAD_FOLDER", "OUTPUT_FOLDER", "EXPORT_FOLDER", "CONFIG_FOLDER", "MODEL_CACHE", "LOG_DIR"):
        assert Path(app.config[key]).is_dir()
        assert Path(app.config[key]).is_relative_to(tmp_path)


def test_bad_async_mode_is_refused(test_config):
    with pytest.raises(RuntimeError, match="TUNEWRIGHT_ASYNC_MODE"):
        create_app(test_config | {"SOCKETIO_ASYNC_MODE": "gevent"})


@pytest.mark.parametrize("url, expected", [
    ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
    ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls_use_the_installed_driver(url, expected):
    assert normalise_database_url(url) == expected


def test_index_page_renders_wizard_navigation_and_system_bar(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for label in ("Model", "Dataset", "Config", "Rewards", "Train", "Export", "Test"):
        assert f"{label}</a>" in html
    assert 'id="system-bar"' in html
    assert "vendor/socket.io.min.js" in html and "cdn" not in html.lower()
