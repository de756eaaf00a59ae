"""Issue 7, access: Host, Origin, the access token beyond loopback, security headers, body limits."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
import socketio

from tests.live_server import start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
EVIL = "http://evil.example"


@pytest.fixture
def exposed_app(test_config):
    """The studio bound to every interface with a fixed token, as `python flask_app.py --host 0.0.0.0` is."""
    from app_factory import create_app

    app = create_app({**test_config, "BIND_HOST": "0.0.0.0", "ACCESS_TOKEN_SETTING": "s3cret-token"})
    yield app
    app.extensions["tunewright.training"].shutdown()


def test_foreign_host_is_refused_loopback_names_are_not(client):
    assert client.get("/api/system/status", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "evil.example:5000"}).status_code == 400
    for host in ("127.0.0.1:5000", "localhost", "[::1]:5000"):
        assert client.get("/api/system/status", headers={"Host": host}).status_code == 200, host


def test_trusted_hosts_are_configurable(test_config):
    from app_factory import create_app

    app = create_app({**test_config, "TRUSTED_HOSTS_SETTING": "studio.lan"})
    client = app.test_client()
    assert client.get("/api/system/status", headers={"Host": "studio.lan"}).status_code == 200
    assert client.get("/api/system/status", headers={"Host": "localhost"}).status_code == 400


def test_cross_site_upload_is_refused_and_writes_nothing(client, app):
    data = {"file": (io.BytesIO(b'{"instruction": "a", "response": "b"}\n' * 1000), "x.jsonl")}
    response = client.post("/api/datasets/upload", data=data, content_type="multipart/form-data",
                           headers={"Origin": EVIL})
    assert response.status_code == 403
    assert "evil.example" in response.json["error"] and "TUNEWRIGHT_ALLOWED_ORIGINS" in response.json["error"]
    assert list(Path(app.config["UPLOAD_FOLDER"]).iterdir()) == []
    assert client.get("/api/datasets/list").json["datasets"] == []


@pytest.mark.parametrize("method,path", [("post", "/api/training/start"), ("delete", "/api/datasets/1"),
                                         ("patch", "/api/datasets/1"), ("post", "/api/prompt-templates")])
def test_state_changing_requests_need_our_origin(client, method, path):
    response = getattr(client, method)(path, json={}, headers={"Origin": EVIL})
    assert response.status_code == 403
    response = getattr(client, method)(path, json={}, headers={"Origin": "null"})  # sandboxed frames, file://
    assert response.status_code == 403
    # Our own origin and no origin at all (curl, scripts) get past the check to the route's own answer.
    for headers in ({"Origin": "http://localhost"}, {}):
        assert getattr(client, method)(path, json={}, headers=headers).status_code != 403


def test_allowed_origins_are_configurable(test_config):
    from app_factory import create_app

    app = create_app({**test_config, "ALLOWED_ORIGINS_SETTING": "https://tools.example.org/ , http://other:8080"})
    client = app.test_client()
    ok = client.post("/api/prompt-templates", json={}, headers={"Origin": "https://tools.example.org"})
    assert ok.status_code != 403
    assert client.post("/api/prompt-templates", json={}, headers={"Origin": EVIL}).status_code == 403


def test_reads_are_not_blocked_by_origin(client):
    assert client.get("/api/system/status", headers={"Origin": EVIL}).status_code == 200


def test_security_headers_on_pages_api_and_errors(client):
    for path in ("/", "/api/system/status", "/api/nope", "/wizard/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_templates_have_no_inline_script_the_csp_would_block():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler_attr = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        if inline_script.search(text) or handler_attr.search(text) or "javascript:" in text:
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


def test_json_bodies_are_capped(test_config):
    from app_factory import create_app

    app = create_app({**test_config, "MAX_BODY_BYTES": 64 * 1024})
    client = app.test_client()
    big = {"config": {"name": "x", "dataset": {"system_prompt": "y" * 100_000}}}
    response = client.post("/api/training/start", json=big)
    assert response.status_code == 413 and "error" in response.json


# -- the access token -------------------------------------------------------------------------------------
def test_loopback_needs_no_token(client):
    assert client.get("/api/training/sessions").status_code == 200


def test_exposed_server_needs_the_token_on_the_api(exposed_app):
    client = exposed_app.test_client()
    response = client.get("/api/training/sessions")
    assert response.status_code == 401 and "Bearer" in response.json["error"]
    assert client.get("/api/training/sessions", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/api/training/sessions", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200


def test_exposed_server_asks_the_browser_for_the_token_then_uses_a_cookie(exposed_app):
    client = exposed_app.test_client()
    response = client.get("/wizard/model")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"])
    assert page.status_code == 401 and b'name="token"' in page.data
    assert client.post("/login", data={"token": "nope", "next": "/wizard/model"}).status_code == 401
    login = client.post("/login", data={"token": "s3cret-token", "next": "//evil.example/x"})
    assert login.status_code == 302 and login.headers["Location"] == "/"  # never off-site
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/wizard/model").status_code == 200
    assert client.get("/api/training/sessions").status_code == 200


def test_token_in_the_url_becomes_a_cookie_and_leaves_the_address_bar(exposed_app):
    client = exposed_app.test_client()
    response = client.get("/wizard/train?session=abc&token=s3cret-token")
    assert response.status_code == 302 and response.headers["Location"] == "/wizard/train?session=abc"
    assert client.get("/wizard/train").status_code == 200


def test_generated_token_when_none_is_set(test_config):
    from app_factory import create_app

    app = create_app({**test_config, "BIND_HOST": "10.1.2.3"})
    token = app.config["ACCESS_TOKEN"]
    assert token and len(token) >= 24
    client = app.test_client()
    assert client.get("/api/system/status", headers={"Host": "10.1.2.3"}).status_code == 401
    assert client.get("/api/system/status", headers={"Host": "10.1.2.3", "Authorization": f"Bearer {token}"}
                      ).status_code == 200


# -- Socket.IO ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_websocket_from_a_foreign_origin_is_refused(live_server):
    foreign = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        foreign.connect(live_server.url, transports=["websocket"], headers={"Origin": EVIL}, wait_timeout=10)
    polling = requests.get(f"{live_server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": EVIL},
                           timeout=10)
    assert polling.status_code == 400
    own = requests.get(f"{live_server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": live_server.url},
                       timeout=10)
    assert own.status_code == 200 and own.text.startswith("0{")  # the engine.io handshake
    script = socketio.Client(reconnection=False)  # no Origin of its own choosing: allowed, like curl
    script.connect(live_server.url, transports=["websocket"], wait_timeout=10)
    assert script.connected
    script.disconnect()


@pytest.mark.slow
def test_exposed_server_refuses_websockets_without_the_token(tmp_path):
    server = start_server(tmp_path, TUNEWRIGHT_TOKEN="live-token", TUNEWRIGHT_TRUSTED_HOSTS="127.0.0.1",
                          TUNEWRIGHT_HOST="0.0.0.0")
    try:
        assert "?token=live-token" in server.log()  # printed with the URL, as Jupyter does
        assert requests.get(f"{server.url}/api/training/sessions", timeout=10).status_code == 401
        anonymous = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            anonymous.connect(server.url, transports=["websocket"], wait_timeout=10)
        member = socketio.Client(reconnection=False)
        member.connect(server.url, transports=["websocket"], auth={"token": "live-token"}, wait_timeout=10)
        assert member.connected
        member.disconnect()
    finally:
        stop_server(server)
