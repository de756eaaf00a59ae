"""Shared fixtures (flaskr style): ``app``, ``client``, ``runner``, plus a tiny trainable model and a live server."""
from __future__ import annotations

import os
import tempfile

# Before anything imports huggingface_hub: tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ["TUNEWRIGHT_ENV"] = "testing"
# A configured token is enforced even on loopback: one in the developer's shell must not lock the tests out.
os.environ.pop("TUNEWRIGHT_TOKEN", None)
# A prompt saved by `learn optimize-prompt` in this checkout must not change the default tests expect.
os.environ["TUNEWRIGHT_PROMPTS_DIR"] = tempfile.mkdtemp(prefix="tunewright-prompts-")

import pytest

from tests.helpers import build_tiny_model, make_test_config, reset_database

pytest_plugins = ["tests.live_server", "tests.browser", "tests.export_fixtures"]


@pytest.fixture
def test_config(tmp_path) -> dict:
    """Every data folder and the database inside this test's temporary folder."""
    return make_test_config(tmp_path)


@pytest.fixture
def app(test_config):
    from app_factory import create_app

    reset_database(test_config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(test_config)
    yield app
    app.extensions["tunewright.training"].shutdown()
    if "tunewright.exports" in app.extensions:
        app.extensions["tunewright.exports"].shutdown()
    if "tunewright.playground" in app.extensions:
        app.extensions["tunewright.playground"].shutdown()
    if "tunewright.deploy" in app.extensions:
        app.extensions["tunewright.deploy"].shutdown()
    from extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer random Llama (hidden 64) with the bundled SmolLM2 tokenizer and chat template.

    For every test that trains: it loads in well under a second and a training
    step takes milliseconds. The real 135 M model is for the demo and benchmarks.
    """
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))
