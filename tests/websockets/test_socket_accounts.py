"""Socket.IO in accounts mode, with the real python-socketio client over a real socket: the handshake needs a
credential (personal token, JWT, or the browser's signed-in session), a user's broadcasts reach only them, and a
disabled user's live connection ends at once."""
from __future__ import annotations

import pytest
import socketio

from tests.websockets.live_accounts import (add_session, jwt_for, live_accounts, pat_for, people,  # noqa: F401
                                            session_cookie, wait_for)

pytestmark = [pytest.mark.slow, pytest.mark.db]


def refused(live, **credentials) -> str:
    with pytest.raises(socketio.exceptions.ConnectionError) as caught:
        live.connect(**credentials)
    return caught.value.refusal


def test_handshake_without_credentials_is_refused(live_accounts, people):
    assert "Sign in first" in refused(live_accounts)
    assert "not valid" in refused(live_accounts, token="tw_" + "x" * 43)
    assert "not valid" in refused(live_accounts, token="a.b.c")
    assert "not valid" in refused(live_accounts, header="tw_" + "y" * 43)


@pytest.mark.parametrize("how", ["pat", "pat-header", "jwt", "jwt-header", "session-cookie"])
def test_handshake_accepts_a_personal_token_a_jwt_and_a_session(live_accounts, people, how):
    app, user = live_accounts.app, people["a"]
    credentials = {"pat": lambda: {"token": pat_for(app, user)},
                   "pat-header": lambda: {"header": pat_for(app, user)},
                   "jwt": lambda: {"token": jwt_for(app, user)},
                   "jwt-header": lambda: {"header": jwt_for(app, user)},
                   "session-cookie": lambda: {"cookie": session_cookie(app, user)}}[how]()
    client, received = live_accounts.connect(events=("system_update",), **credentials)
    try:
        assert wait_for(lambda: received["system_update"]), "no system_update after connecting"
        sid = add_session(app, user, "mine")
        assert client.call("join_session", {"session_id": sid}, timeout=10) == {"ok": True}
    finally:
        client.disconnect()


def test_a_stale_session_cookie_is_refused(live_accounts, people):
    """After a logout everywhere (token version raised), the old browser cookie no longer connects."""
    from extensions import db
    from services.auth import users
    from services.models.auth import User

    app = live_accounts.app
    cookie = session_cookie(app, people["a"])
    with app.app_context():
        users.logout_everywhere(db.session.get(User, people["a"]))
    assert "Sign in first" in refused(live_accounts, cookie=cookie)


def test_join_session_of_another_user_answers_as_a_missing_one(live_accounts, people):
    app = live_accounts.app
    add_session(app, people["a"], "alices")
    bob, _ = live_accounts.connect(token=pat_for(app, people["b"]))
    admin, _ = live_accounts.connect(token=pat_for(app, people["admin"], ["read"]))
    try:
        other = bob.call("join_session", {"session_id": "alices"}, timeout=10)
        missing = bob.call("join_session", {"session_id": "nosuch"}, timeout=10)
        assert other["ok"] is False and other["error"].replace("alices", "nosuch") == missing["error"]
        assert admin.call("join_session", {"session_id": "alices"}, timeout=10) == {"ok": True}  # admins watch
    finally:
        bob.disconnect()
        admin.disconnect()


def test_a_disabled_users_connection_is_dropped_at_once(live_accounts, people):
    from services.auth import users

    app = live_accounts.app
    token = pat_for(app, people["b"])
    bob, _ = live_accounts.connect(token=token)
    alice, _ = live_accounts.connect(token=pat_for(app, people["a"]))
    try:
        assert bob.connected
        with app.app_context():
            users.admin_update(people["b"], status="disabled", actor_id=people["admin"])
        assert wait_for(lambda: not bob.connected, 5), "the disabled user's connection is still open"
        assert alice.connected  # only theirs
        assert "not active" in refused(live_accounts, token=token)
    finally:
        for client in (bob, alice):
            if client.connected:
                client.disconnect()


def test_broadcasts_reach_only_the_owner(live_accounts, people):
    """session_status / export_status / dataset_update about A's things reach A (and not B, not the admin);
    system_update (machine totals) reaches everyone."""
    from websockets.emit import safe_emit

    app = live_accounts.app
    events = ("session_status", "session_deleted", "system_update")
    alice, to_alice = live_accounts.connect(token=pat_for(app, people["a"]), events=events)
    bob, to_bob = live_accounts.connect(token=pat_for(app, people["b"]), events=events)
    admin, to_admin = live_accounts.connect(token=pat_for(app, people["admin"]), events=events)
    try:
        add_session(app, people["a"], "a1")
        add_session(app, people["b"], "b1")
        with app.app_context():
            safe_emit("session_status", {"session_id": "a1", "status": "running", "name": "s a1", "error": None})
            safe_emit("session_status", {"session_id": "b1", "status": "running", "name": "s b1", "error": None})
        # The emit without an app context (a supervisor thread) is routed the same way.
        safe_emit("session_status", {"session_id": "a1", "status": "completed", "name": "s a1", "error": None})
        assert wait_for(lambda: len(to_alice["session_status"]) == 2 and len(to_bob["session_status"]) == 1)
        assert wait_for(lambda: all(to["system_update"] for to in (to_alice, to_bob, to_admin)))
        wait_for(lambda: False, 0.5)  # anything misrouted would have arrived by now
        assert {e["session_id"] for e in to_alice["session_status"]} == {"a1"}
        assert {e["session_id"] for e in to_bob["session_status"]} == {"b1"}
        assert to_admin["session_status"] == []  # admins' pages list their own things; admin views poll
        # A deleted session is gone from the database: its owner is remembered from earlier events.
        from extensions import db
        from services.models.training import TrainingSession

        with app.app_context():
            db.session.delete(db.session.get(TrainingSession, "a1"))
            db.session.commit()
            safe_emit("session_deleted", {"session_id": "a1"})
            safe_emit("not_a_known_broadcast", {"session_id": "a1"})  # unknown: sent to no one
        assert wait_for(lambda: to_alice["session_deleted"] == [{"session_id": "a1"}])
        assert to_bob["session_deleted"] == []
    finally:
        for client in (alice, bob, admin):
            client.disconnect()
