"""Isolation is enumerated, not sampled: every route with an id or name parameter, as its owner and as another
user. A new route with a parameter fails here until a case (or a NOT_OWNED reason) covers it."""
from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.isolation as package
from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)
from tests.isolation.registry import CASES, NOT_OWNED

pytestmark = pytest.mark.db

for module in pkgutil.iter_modules(package.__path__):
    if module.name.startswith("cases_"):
        importlib.import_module(f"tests.isolation.{module.name}")


def _parametrised_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.arguments]


def test_every_route_with_a_parameter_is_covered(accounts_app):
    missing = sorted({rule.endpoint for rule in _parametrised_rules(accounts_app)} - set(CASES) - set(NOT_OWNED))
    assert missing == [], f"routes with an id or name that the isolation test does not cover: {missing}"
    stale = sorted(set(CASES) - {rule.endpoint for rule in accounts_app.url_map.iter_rules()})
    assert stale == [], f"cases for routes that no longer exist: {stale}"


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_another_users_object_is_404(accounts_app, endpoint):
    from flask import url_for

    app = accounts_app
    owner = add_user(app, "owner-a", role="user")
    other = add_user(app, "other-b", role="user")
    case = CASES[endpoint]
    kwargs = case.make(app, owner)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    with app.test_request_context():
        url = url_for(endpoint, **kwargs)
    client = app.test_client()
    as_owner, as_other = bearer(app, owner), bearer(app, other)
    for method in case.methods:
        assert any(method in r.methods for r in rules), f"{endpoint} has no {method}"
        answer = client.open(url, method=method, json=case.body if method != "GET" else None, headers=as_other)
        expected = 403 if case.admin_only else 404
        assert answer.status_code == expected, (endpoint, method, answer.status_code, answer.get_data(as_text=True))
    # The owner reaches it (after B's attempts, which must not have changed it). Read methods only: a DELETE
    # by the owner is the owner's business, and proving it exists once is enough.
    method = "GET" if "GET" in case.methods else case.methods[0]
    answer = client.open(url, method=method, json=case.body if method != "GET" else None, headers=as_owner)
    if not case.admin_only:
        assert answer.status_code < 400 or answer.status_code in case.owner_statuses, \
            (endpoint, method, answer.status_code, answer.get_data(as_text=True))
