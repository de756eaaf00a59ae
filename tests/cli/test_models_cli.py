"""`models list|show|alias` on this machine's database: the registry seen from the terminal."""
from __future__ import annotations

import json

import pytest

from tests.registry_fixtures import make_version

pytestmark = pytest.mark.slow


@pytest.fixture
def registered(cli):
    """Two versions of "demo" in the CLI's own database, registered through the registry service."""
    from app_factory import create_app
    from tests.helpers import make_test_config

    config = make_test_config(cli.folder)
    config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{cli.folder / 'instance' / 'tunewright.db'}"
    app = create_app(config)
    make_version(app, None, "demo")
    make_version(app, None, "demo")
    app.extensions["tunewright.training"].shutdown()
    return app


def test_list_show_and_alias(cli, registered):
    listed = cli.run("models", "list")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "demo:v1" in listed.stdout and "demo:v2" in listed.stdout and "lora_adapter" in listed.stdout

    moved = cli.run("models", "alias", "demo", "production", "2")
    assert moved.returncode == 0 and "demo@production -> demo:v2" in moved.stdout
    shown = json.loads(cli.run("models", "show", "demo", "--json").stdout)
    assert shown["aliases"] == {"production": 2} and [v["version"] for v in shown["versions"]] == [1, 2]

    missing = cli.run("models", "show", "nope")
    assert missing.returncode == 1 and "not found" in missing.stderr
    assert cli.run("models", "list", "--status", "archived", "--json").stdout.strip() == "[]"
