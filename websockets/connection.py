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


@on("connect")
def on_connect(auth=None):
    refusal, principal = socket_access(request.environ, auth)
    if refusal:  # socketio's exception, not the builtin of that name: its message reaches the client
        raise ConnectionRefusedError(refusal)
    if accounts_enabled():
        bind_socket(request.sid, principal)
        join_room(user_room(principal.user_id))
    emit("system_update", get_monitor().sample())
    current_app.extensions["tunewright.system_broadcaster"].client_joined()


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
