"""Socket.IO isolation is enumerated, not sampled (issue 19): every event handler registered on the server is
listed here, and each one that takes an id (a session, a model reference, a request) is driven as user B against
user A's object: the answer is exactly the one for an object that does not exist, and nothing of A's is reached.
A new handler fails ``test_every_handler_is_known`` until it has a case. Broadcasts (emits with no room) are
enumerated the same way from the source: each must say who may receive it (websockets/audience.py)."""
from __future__ import annotations

import ast
import importlib
import threading
from pathlib import Path

import pytest

from tests.websockets.live_accounts import (add_export, add_session, live_accounts, pat_for, people,  # noqa: F401
                                            wait_for)

pytestmark = [pytest.mark.slow, pytest.mark.db]
ROOT = Path(__file__).resolve().parents[2]

# Handlers that take no id of anything owned, with the reason.
NOT_ROOM_EVENTS = {
    "connect": "the handshake: tests/websockets/test_socket_accounts.py",
    "disconnect": "ends the caller's own connection",
}


def same_as_missing(other: dict, missing: dict, other_id: str, missing_id: str) -> None:
    assert other.get("ok") is False, other
    assert other == {**missing, "error": missing["error"].replace(missing_id, other_id)}, (other, missing)


def case_join_session(live, people, clients):
    add_session(live.app, people["a"], "alices")
    bob, alice = clients["b"], clients["a"]
    same_as_missing(bob.call("join_session", {"session_id": "alices"}, timeout=10),
                    bob.call("join_session", {"session_id": "nosuch"}, timeout=10), "alices", "nosuch")
    assert alice.call("join_session", {"session_id": "alices"}, timeout=10) == {"ok": True}


def case_leave_session(live, people, clients):
    add_session(live.app, people["a"], "alices")
    bob = clients["b"]
    # Leaving a room grants nothing; the answer does not tell whether the session exists.
    assert bob.call("leave_session", {"session_id": "alices"}, timeout=10) == \
        bob.call("leave_session", {"session_id": "nosuch"}, timeout=10) == {"ok": True}


def case_test_generate(live, people, clients):
    add_session(live.app, people["a"], "alices")
    add_export(live.app, people["a"], "alices", "alicex")
    bob = clients["b"]

    def ask(**reference):
        return bob.call("test_generate", {"prompt": "hello", "max_tokens": 4, **reference}, timeout=30)

    same_as_missing(ask(session_id="alices"), ask(session_id="nosuch"), "alices", "nosuch")
    same_as_missing(ask(model_id="session:alices"), ask(model_id="session:nosuch"), "alices", "nosuch")
    same_as_missing(ask(model_id="session:alices:checkpoint-1"), ask(model_id="session:nosuch:checkpoint-1"),
                    "alices", "nosuch")
    same_as_missing(ask(model_id="export:alicex"), ask(model_id="export:nosuchx"), "alicex", "nosuchx")


def case_test_stop(live, people, clients, tiny_model_dir):
    """B sends test_stop with A's request id (ids are counters): A's generation goes on; A's own stop works."""
    alice, bob = clients["a"], clients["b"]
    tokens, done = [], threading.Event()
    finished = []
    alice.on("test_token", tokens.append)
    alice.on("test_done", lambda d: (finished.append(d), done.set()))
    ack = alice.call("test_generate", {"model_id": f"base:{tiny_model_dir}", "prompt": "Count on.",
                                       "max_tokens": 2000, "temperature": 0.8}, timeout=60)
    assert ack["ok"], ack
    assert wait_for(lambda: len(tokens) >= 2, 120), "A's generation never streamed"
    assert bob.call("test_stop", {"request_id": ack["request_id"]}, timeout=10) == {"ok": True}
    seen = len(tokens)
    assert wait_for(lambda: len(tokens) >= seen + 5 or done.is_set(), 30)
    assert not finished or finished[0]["stopped"] is False, "B stopped A's generation"
    alice.call("test_stop", {"request_id": ack["request_id"]}, timeout=10)
    assert done.wait(120) and finished[0]["request_id"] == ack["request_id"]
    assert finished[0]["stopped"] is True or finished[0]["tokens"] < 2000


CASES = {
    "join_session": case_join_session,
    "leave_session": case_leave_session,
    "test_generate": case_test_generate,
    "test_stop": case_test_stop,
}


def test_every_handler_is_known(live_accounts):
    from extensions import socketio

    registered = set(socketio.server.handlers["/"])
    unknown = registered - set(CASES) - set(NOT_ROOM_EVENTS)
    assert not unknown, f"Socket.IO handlers without an isolation case: {sorted(unknown)} (add one here)"
    assert set(CASES) | set(NOT_ROOM_EVENTS) <= registered, "a case names a handler that no longer exists"


@pytest.mark.parametrize("event", sorted(CASES))
def test_another_users_object_answers_as_a_missing_one(live_accounts, people, event, request):
    app = live_accounts.app
    clients = {name: live_accounts.connect(token=pat_for(app, people[name]))[0] for name in ("a", "b")}
    extra = [request.getfixturevalue("tiny_model_dir")] if event == "test_stop" else []
    try:
        CASES[event](live_accounts, people, clients, *extra)
    finally:
        for client in clients.values():
            client.disconnect()


def _broadcast_events() -> dict[str, str]:
    """Every ``safe_emit`` in the code without ``to=``: event name -> where."""
    found = {}
    for path in sorted([*ROOT.glob("services/**/*.py"), *ROOT.glob("websockets/*.py")]):
        tree = ast.parse(path.read_text())
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "safe_emit" \
                    and not any(k.arg == "to" for k in node.keywords) and len(node.args) < 3:
                first = node.args[0]
                name = first.value if isinstance(first, ast.Constant) else \
                    getattr(importlib.import_module(module), first.id)
                found[name] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_broadcast_says_who_may_receive_it():
    from websockets.audience import OWNED_EVENTS, PUBLIC_EVENTS

    broadcasts = _broadcast_events()
    assert "session_status" in broadcasts and "dataset_update" in broadcasts  # the scan sees the code
    unknown = {e: where for e, where in broadcasts.items() if e not in OWNED_EVENTS and e not in PUBLIC_EVENTS}
    assert not unknown, f"broadcasts without an audience in websockets/audience.py: {unknown}"
