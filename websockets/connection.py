"""The handshake and the end of a connection: who is connected, and ending their connections when their
credentials end.

Accounts mode: the handshake proves a user like an HTTP request does (services/security.py ``socket_access``);
the principal is kept for the connection's events (services/auth/current.py ``bind_socket``) and the connection
joins its user's room, where broadcasts about that user's things go. A user who is disabled, demoted, logs out
everywhere or changes their password is disconnected at once; their reconnection is refused.
"""
from __future__ import annotations

import logging

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit, join_room

from extensions import socketio
from services.auth import users
from services.auth.current import bind_socket, sockets_of, unbind_socket
from services.auth.mode import accounts_enabled
from services.security import socket_access
from services.system_monitor import get_monitor
from websockets.registry import on
from websockets.rooms import user_room

log = logging.getLogger(__name__)


def connection_capacity(threads: int) -> int:
    """Live Socket.IO connections a server with ``threads`` request threads accepts (gunicorn's gthread worker).

    Every connection holds one of those threads for its whole life (a WebSocket, or a long poll at a time), so
    without a cap ``threads`` browser tabs leave none for HTTP: every API request then waits until a tab closes
    (measured: 100 clients on ``--threads 100`` and the API answered nothing). A tenth of the threads, at least
    10, stays for requests."""
    return max(1, threads - max(10, threads // 10))


@on("connect")
def on_connect(auth=None):
    refusal, principal = socket_access(request.environ, auth)
    if refusal:  # socketio's exception, not the builtin of that name: its message reaches the client
        raise ConnectionRefusedError(refusal)
    broadcaster = current_app.extensions["tunewright.system_broadcaster"]
    limit = current_app.config.get("MAX_SOCKET_CONNECTIONS")  # set by gunicorn.conf.py; the dev server has none
    if not broadcaster.client_joined(limit):
        log.warning("Socket.IO connection refused: %d live connections is this server's limit", limit)
        raise ConnectionRefusedError(f"The studio is serving its limit of {limit} live connections: close other "
                                     "tabs, or start gunicorn with more threads (see README, Production).")
    try:
        if accounts_enabled():
            bind_socket(request.sid, principal)
            join_room(user_room(principal.user_id))
        emit("system_update", get_monitor().sample())
    except BaseException:  # a connection that fails here never disconnects: it must not stay counted
        broadcaster.client_left()
        raise


@on("disconnect")
def on_disconnect(reason=None):
    unbind_socket(request.sid)
    current_app.extensions["tunewright.system_broadcaster"].client_left()


def disconnect_user(user_id: int) -> int:
    """End every live connection of a user (their credentials ended); returns how many."""
    sids = sockets_of(user_id)
    for sid in sids:
        unbind_socket(sid)  # first: an event racing the disconnect is refused, not served as them
        try:
            socketio.server.disconnect(sid, namespace="/")
        except Exception:
            log.warning("could not disconnect %s of user %s", sid, user_id, exc_info=True)
    return len(sids)


users.on_revoke(disconnect_user)  # once per process: the module is imported once
