"""schemathesis against every operation of the OpenAPI document, in-process (``from_wsgi``), in both modes of
the studio: single-user, and accounts with a personal access token. Generated requests follow the schemas
(positive) and break them (negative); for each one the answer is never a 5xx, fits the document (status, content
type, response schema), and a 4xx is the app's error shape with a message the UI can show.

Bounded: ``EXAMPLES`` requests per operation and mode, derandomized, so a run repeats and fits ``make test``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.auth_helpers import accounts_config, add_user, bearer, close_app
from tests.helpers import make_test_config, reset_database

pytestmark = pytest.mark.slow

EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _app(config: dict):
    from app_factory import create_app

    reset_database(config["SQLALCHEMY_DATABASE_URI"])
    return create_app(config)


@pytest.fixture(scope="module")
def single_app(tmp_path_factory):
    app = _app(make_test_config(tmp_path_factory.mktemp("single")))
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def accounts_app_and_user(tmp_path_factory):
    app = _app(accounts_config(tmp_path_factory.mktemp("accounts")))
    yield app, add_user(app, "fuzzer")
    close_app(app)


@pytest.fixture(scope="module")
def single_schema(single_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", single_app)


@pytest.fixture(scope="module")
def accounts_schema(accounts_app_and_user):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", accounts_app_and_user[0])


def _check(case, **kwargs) -> None:
    response = case.call_and_validate(checks=CHECKS, **kwargs)
    if 400 <= response.status_code < 500:
        where = f"{case.method} {case.formatted_path}: {response.status_code}"
        content_type = next((value[0] if isinstance(value, list) else value
                             for key, value in response.headers.items() if key.lower() == "content-type"), "")
        assert "json" in content_type, f"{where} is not JSON"
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else error  # /v1 answers OpenAI's shape
        assert isinstance(message, str) and message.strip(), f"{where} has no message: {response.text[:300]}"


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing request is printed as is
                suppress_health_check=list(HealthCheck))
# The operations come from the committed document (tests/contract/test_openapi.py keeps it equal to the code's),
# so each one is its own test item; its strategy from the document the app serves.
OPERATIONS = [(path, method.upper()) for path, operations in
              json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())["paths"].items()
              for method in operations]


def _fuzz(schema, path: str, method: str, **kwargs) -> None:
    operation = schema[path][method]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    try:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    except Exception:  # noqa: BLE001 - an operation with nothing to break (no parameters, no body)
        pass

    @FUZZ
    @given(case=st.one_of(strategies))
    def run(case):
        _check(case, **kwargs)

    run()


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_single_user_mode(single_schema, path, method):
    _fuzz(single_schema, path, method)


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_accounts_mode_with_a_token(accounts_schema, accounts_app_and_user, path, method):
    app, user_id = accounts_app_and_user
    # A fresh token each time: a generated request may revoke the one it was sent with.
    _fuzz(accounts_schema, path, method, headers=bearer(app, user_id))
