"""The errors blueprint: JSON for the API, an HTML page for people."""
from __future__ import annotations

import pytest

from services.errors import ConflictError, ServiceError


@pytest.fixture
def failing_app(app):
    def refused():
        raise ServiceError("learning_rate must be positive", details=[{"field": "training.learning_rate"}])

    def conflict():
        raise ConflictError("dataset is in use by session 7")

    def broken():
        raise ZeroDivisionError("secret internals")

    app.add_url_rule("/api/_test/refused", view_func=refused)
    app.add_url_rule("/api/_test/conflict", view_func=conflict)
    app.add_url_rule("/api/_test/broken", view_func=broken)
    app.add_url_rule("/_test/broken", "page_broken", view_func=broken)
    return app


def test_api_404_is_json(client):
    response = client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.is_json
    assert set(response.json) == {"error", "details"}
    assert response.json["details"] == []


def test_api_405_is_json(client):
    response = client.delete("/api/system/status")
    assert response.status_code == 405
    assert response.is_json and response.json["error"]


def test_page_404_is_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)
    assert 'id="system-bar"' in response.get_data(as_text=True)  # the normal layout, not a bare page


def test_json_clients_get_json_outside_the_api(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.is_json


def test_unknown_wizard_step_names_the_step(client):
    response = client.get("/wizard/teleport")
    assert response.status_code == 404
    assert "teleport" in response.get_data(as_text=True)


def test_service_errors_become_4xx_with_details(failing_app):
    client = failing_app.test_client()
    response = client.get("/api/_test/refused")
    assert response.status_code == 400
    assert response.json == {"error": "learning_rate must be positive",
                             "details": [{"field": "training.learning_rate"}]}
    assert client.get("/api/_test/conflict").status_code == 409


def test_unexpected_errors_are_logged_500s_that_leak_nothing(failing_app, caplog):
    client = failing_app.test_client()
    response = client.get("/api/_test/broken")
    assert response.status_code == 500 and response.is_json
    assert "secret internals" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text
    page = client.get("/_test/broken")
    assert page.status_code == 500 and page.mimetype == "text/html"
