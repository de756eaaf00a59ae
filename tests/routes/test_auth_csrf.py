"""CSRF in accounts mode: a state-changing request that a browser session cookie authorises needs the page's
CSRF token (X-CSRFToken header or a csrf_token form field); bearer-token requests are exempt; single mode is
unchanged."""
from __future__ import annotations

import re

import pytest

from tests.auth_helpers import accounts_app, add_user, bearer  # noqa: F401  (fixture)

pytestmark = pytest.mark.db

PASSWORD = "correct horse 1"
TEMPLATE = {"name": "csrf check", "system_prompt": "Think, then answer."}


def meta_token(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def browser_session(accounts_app):
    user_id = add_user(accounts_app, "bob")
    client = accounts_app.test_client()
    assert client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD}).status_code == 200
    return client, user_id


def test_a_session_post_without_the_token_is_403_and_with_the_pages_token_passes(browser_session):
    client, _ = browser_session
    missing = client.post("/api/prompt-templates", json=TEMPLATE)
    assert missing.status_code == 403 and "CSRF" in missing.json["error"]
    wrong = client.post("/api/prompt-templates", json=TEMPLATE, headers={"X-CSRFToken": "not-the-token"})
    assert wrong.status_code == 403
    token = meta_token(client.get("/account").get_data(as_text=True))
    assert client.post("/api/prompt-templates", json=TEMPLATE, headers={"X-CSRFToken": token}).status_code == 201


def test_every_unsafe_method_is_checked(browser_session):
    client, _ = browser_session
    for method in ("PATCH", "PUT", "DELETE"):
        answer = client.open("/api/prompt-templates/1", method=method, json={})
        assert answer.status_code == 403 and "CSRF" in answer.json["error"], method


def test_the_sign_out_form_carries_its_token_as_a_field(browser_session):
    client, _ = browser_session
    html = client.get("/account").get_data(as_text=True)
    field = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": field}).status_code == 302
    assert client.get("/api/auth/me").status_code == 401


def test_bearer_requests_are_exempt_even_beside_a_session_cookie(accounts_app, browser_session):
    client, user_id = browser_session
    answer = client.post("/api/prompt-templates", json=TEMPLATE, headers=bearer(accounts_app, user_id))
    assert answer.status_code == 201
    jwt = accounts_app.test_client().post("/api/auth/token", json={"username": "bob", "password": PASSWORD}).json
    plain = accounts_app.test_client()
    answer = plain.post("/api/prompt-templates", json={**TEMPLATE, "name": "other"},
                        headers={"Authorization": f"Bearer {jwt['access_token']}"})
    assert answer.status_code == 201


def test_single_mode_needs_no_csrf_token(client):
    assert client.post("/api/prompt-templates", json=TEMPLATE).status_code == 201
    assert 'name="csrf-token"' in client.get("/").get_data(as_text=True)
