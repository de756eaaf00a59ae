"""A studio in accounts mode served for real (werkzeug's threaded server on a free loopback port) in this test
process, so the real python-socketio client connects over a socket while the test changes users in the same
app (a disable must reach the live connection through the app's own revocation hook)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
import socketio

from tests.auth_helpers import accounts_config, add_user, close_app
from tests.helpers import reset_database
from tests.live_server import free_port


@dataclass
class LiveAccounts:
    app: object
    url: str

    def connect(self, *, token: str | None = None, cookie: str | None = None, header: str | None = None,
                events: tuple[str, ...] = ()) -> tuple[socketio.Client, dict[str, list]]:
        """A connected client and the events it receives (by name). A refused handshake raises
        ``socketio.exceptions.ConnectionError`` with the server's reason as its ``refusal`` attribute."""
        client = socketio.Client(reconnection=False)
        received: dict[str, list] = {name: [] for name in events}
        refusals: list = []
        client.on("connect_error", refusals.append)
        for name in events:
            client.on(name, received[name].append)
        headers = {}
        if cookie:
            headers["Cookie"] = cookie
        if header:
            headers["Authorization"] = f"Bearer {header}"
        try:
            client.connect(self.url, transports=["websocket"], wait_timeout=10, headers=headers,
                           auth={"token": token} if token else None)
        except socketio.exceptions.ConnectionError as error:
            error.refusal = str(refusals[0].get("message") if isinstance(refusals[0], dict) else refusals[0]) \
                if refusals else ""
            raise
        return client, received


def session_cookie(app, user_id: int) -> str:
    """The browser session cookie Flask-Login writes at sign-in (login_user, signed with the app's key)."""
    import flask
    from flask_login import login_user

    from extensions import db
    from services.models.auth import User

    with app.test_request_context("/"):
        login_user(db.session.get(User, user_id))
        value = app.session_interface.get_signing_serializer(app).dumps(dict(flask.session))
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def jwt_for(app, user_id: int) -> str:
    from extensions import db
    from services.auth.tokens import issue_jwt
    from services.models.auth import User

    with app.app_context():
        return issue_jwt(db.session.get(User, user_id))["access_token"]


def pat_for(app, user_id: int, scopes: list[str] | None = None) -> str:
    from tests.auth_helpers import bearer

    return bearer(app, user_id, scopes)["Authorization"].split(" ", 1)[1]


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def live_accounts(tmp_path):
    from werkzeug.serving import make_server

    from app_factory import create_app

    config = accounts_config(tmp_path, SYSTEM_MONITOR_INTERVAL=0.3)
    reset_database(config["SQLALCHEMY_DATABASE_URI"])
    app = create_app(config)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveAccounts(app, f"http://127.0.0.1:{port}")
    server.shutdown()
    thread.join(10)
    close_app(app)


@pytest.fixture
def people(live_accounts):
    """An admin and two users, A and B."""
    app = live_accounts.app
    return {"admin": add_user(app, "root", role="admin"), "a": add_user(app, "alice"), "b": add_user(app, "bob")}


def add_session(app, owner_id: int | None, session_id: str) -> str:
    """A finished session row owned by ``owner_id`` (rows written directly: the socket's scoping is under test)."""
    from extensions import db
    from services.models.training import TrainingSession

    with app.app_context():
        db.session.add(TrainingSession(id=session_id, name=f"s {session_id}", config={}, status="completed",
                                       owner_id=owner_id, output_dir=str(app.config["OUTPUT_FOLDER"]), last_logs=[]))
        db.session.commit()
    return session_id


def add_export(app, owner_id: int | None, session_id: str, export_id: str) -> str:
    from extensions import db
    from services.models import ExportJob

    with app.app_context():
        db.session.add(ExportJob(id=export_id, session_id=session_id, owner_id=owner_id, format="gguf",
                                 status="completed", export_dir=str(app.config["EXPORT_FOLDER"]),
                                 manifest={"gguf": "model.gguf"}))
        db.session.commit()
    return export_id
