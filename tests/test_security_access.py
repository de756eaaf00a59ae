"""Issue 7, access: Host, Origin, the access token beyond loopback, security headers, body limits. Issue 18: a
configured token is enforced on loopback too, a generated one is never logged, log files are owner-only."""
from __future__ import annotations

import io
import logging
import multiprocessing
import os
import re
import stat
import subprocess
import sys
import time
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


# -- issue 18: access follows the real exposure ---------------------------------------------------------------
@pytest.fixture
def private_umask():
    """The common umask (0644 files): what the log files must not end up with."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_configured_token_is_enforced_on_loopback(test_config):
    """The README's reverse-proxy setup: bound to loopback, reached from the network through the proxy."""
    from app_factory import create_app

    app = create_app({**test_config, "BIND_HOST": "127.0.0.1", "ACCESS_TOKEN_SETTING": "proxy-token"})
    try:
        client = app.test_client()
        for host in ("127.0.0.1", "127.0.0.1:5000", "localhost", "[::1]:5000"):
            refused = client.get("/api/training/sessions", headers={"Host": host})
            assert refused.status_code == 401 and "Bearer" in refused.json["error"], host
        assert client.get("/wizard/model", headers={"Host": "127.0.0.1"}).status_code == 302  # to /login
        assert client.get("/api/training/sessions", headers={"Host": "127.0.0.1",
                                                             "Authorization": "Bearer proxy-token"}).status_code == 200
        assert app.config["ACCESS_TOKEN"] == "proxy-token"
    finally:
        app.extensions["tunewright.training"].shutdown()


def test_generated_token_is_not_logged_and_the_log_is_private(test_config, private_umask, capsys):
    from app_factory import create_app

    app = create_app({**test_config, "BIND_HOST": "10.1.2.3"})
    try:
        token = app.config["ACCESS_TOKEN"]
        for handler in logging.getLogger().handlers:
            handler.flush()
        log_file = Path(test_config["LOG_DIR"]) / "tunewright.log"
        assert token not in log_file.read_text()
        assert "access token generated" in log_file.read_text()
        assert _mode(log_file) == 0o600
        from services.security import announce_token

        announce_token(app)  # what gunicorn's post_worker_init prints: on stderr, not through logging
        assert token in capsys.readouterr().err
        assert token not in log_file.read_text()
    finally:
        app.extensions["tunewright.training"].shutdown()


def test_existing_logs_are_narrowed_to_the_owner(test_config, private_umask):
    """Logs written before (0644, maybe holding an old token) become 0600 at the next start, backups too."""
    from app_factory import create_app

    logs = Path(test_config["LOG_DIR"])
    logs.mkdir(parents=True, exist_ok=True)
    for name in ("tunewright.log", "tunewright.log.1"):
        (logs / name).write_text("old\n")
        (logs / name).chmod(0o644)
    app = create_app(test_config)
    app.extensions["tunewright.training"].shutdown()
    assert _mode(logs / "tunewright.log") == 0o600 and _mode(logs / "tunewright.log.1") == 0o600


def _inference_child(folder: Path) -> int:
    from core.inference.worker import run_worker

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=True)
    process = ctx.Process(target=run_worker, args=(child, 1, str(folder / "logs" / "inference.log")))
    process.start()
    child.close()
    parent.send({"op": "shutdown"})
    process.join(60)
    return process.exitcode


def _training_child(folder: Path) -> int:
    from core.training.worker import run_child

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    job = {"session_id": "s", "config": {"training": {"no_such_field": 1}},
           "log_path": str(folder / "outputs" / "train.log"), "spool_path": str(folder / "outputs" / "events.spool")}
    stop = ctx.Event()
    process = ctx.Process(target=run_child, args=(job, child, stop))
    process.start()
    child.close()
    process.join(120)
    return process.exitcode


def _export_child(folder: Path) -> int:
    from core.export.worker import run_child

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=run_child, args=({"log_path": str(folder / "exports" / "e1.log")}, child))
    process.start()
    child.close()
    process.join(120)
    return process.exitcode


@pytest.mark.slow
@pytest.mark.parametrize("start, log", [(_inference_child, "logs/inference.log"),
                                        (_training_child, "outputs/train.log"),
                                        (_export_child, "exports/e1.log")])
def test_worker_logs_are_created_private(tmp_path, private_umask, start, log):
    """The inference worker, a training child and an export child each create their log 0600 (the training
    child and the export child here fail at once on a bad job, after opening the log)."""
    exit_code = start(tmp_path)
    path = tmp_path / log
    assert path.is_file(), exit_code
    assert _mode(path) == 0o600


@pytest.mark.slow
def test_loopback_server_with_a_token_refuses_requests_and_websockets_without_it(tmp_path):
    server = start_server(tmp_path, TUNEWRIGHT_TOKEN="proxy-token")  # binds 127.0.0.1, as behind a proxy
    try:
        refused = requests.get(f"{server.url}/api/training/sessions", headers={"Host": "127.0.0.1"}, timeout=10)
        assert refused.status_code == 401
        assert requests.get(f"{server.url}/api/training/sessions", timeout=10,
                            headers={"Authorization": "Bearer proxy-token"}).status_code == 200
        anonymous = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            anonymous.connect(server.url, transports=["websocket"], wait_timeout=10)
        member = socketio.Client(reconnection=False)
        member.connect(server.url, transports=["websocket"], auth={"token": "proxy-token"}, wait_timeout=10)
        assert member.connected
        member.disconnect()
    finally:
        stop_server(server)


@pytest.mark.slow
def test_gunicorn_prints_a_generated_token_on_the_terminal_only(tmp_path, private_umask):
    """The production config under gunicorn (bound beyond loopback by default): the token is on stderr, the
    log file never has it and is owner-only."""
    from tests.live_server import free_port

    port = free_port()
    folder = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TUNEWRIGHT_TOKEN", "TUNEWRIGHT_HOST")}
    env.update(TUNEWRIGHT_ENV="production", SECRET_KEY="test", TUNEWRIGHT_TRUSTED_HOSTS="127.0.0.1",
               TUNEWRIGHT_INSTANCE_DIR=str(folder / "instance"), TUNEWRIGHT_UPLOAD_DIR=str(folder / "uploads"),
               TUNEWRIGHT_OUTPUT_DIR=str(folder / "outputs"), TUNEWRIGHT_EXPORT_DIR=str(folder / "exports"),
               TUNEWRIGHT_CONFIG_DIR=str(folder / "configs"), TUNEWRIGHT_LOG_DIR=str(folder / "logs"),
               TUNEWRIGHT_MODEL_CACHE=str(folder / "models"))
    terminal = tmp_path / "terminal.txt"
    with open(terminal, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b",
                                    f"127.0.0.1:{port}", "flask_app:app"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        token = None
        while time.monotonic() < deadline and token is None:
            found = re.search(r"token\b.*?([A-Za-z0-9_-]{32})", terminal.read_text(errors="replace"))
            token = found.group(1) if found else None
            time.sleep(0.3)
        assert token, terminal.read_text(errors="replace")[-3000:]
        url = f"http://127.0.0.1:{port}/api/training/sessions"
        assert requests.get(url, timeout=30).status_code == 401
        assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=60)
    log_file = folder / "logs" / "tunewright.log"
    assert token not in log_file.read_text()
    assert "access token generated" in log_file.read_text()
    assert _mode(log_file) == 0o600
