"""The Socket.IO event handlers of the studio, registered on each app's Socket.IO server.

Flask-SocketIO's ``@socketio.on`` binds a handler to the server that exists when the module is imported, so a
second app in one process (tests, the CLI beside a test server) would get a server with no handlers. Handlers
are declared here with ``@on(...)`` and bound by ``register`` for every app."""
from __future__ import annotations

from collections.abc import Callable

from flask_socketio import SocketIO

HANDLERS: dict[str, Callable] = {}


def on(event: str) -> Callable[[Callable], Callable]:
    def decorator(handler: Callable) -> Callable:
        assert event not in HANDLERS, f"two handlers for {event!r}"
        HANDLERS[event] = handler
        return handler

    return decorator


def register(socketio: SocketIO) -> None:
    for event, handler in HANDLERS.items():
        socketio.on_event(event, handler)
