"""The cap on live Socket.IO connections (gunicorn.conf.py sets it from ``--threads``): past it a handshake is
refused with a message, so a thread is always left for HTTP; a connection that leaves frees its place."""
from __future__ import annotations

import pytest

from websockets.connection import connection_capacity


@pytest.mark.parametrize("threads, capacity", [(500, 450), (100, 90), (20, 10), (4, 1)])
def test_a_tenth_of_the_threads_and_at_least_ten_stay_for_requests(threads, capacity):
    assert connection_capacity(threads) == capacity


def test_connections_past_the_limit_are_refused_until_one_leaves(app):
    from extensions import socketio

    app.config["MAX_SOCKET_CONNECTIONS"] = 2
    first, second = socketio.test_client(app), socketio.test_client(app)
    assert first.is_connected() and second.is_connected()
    refused = socketio.test_client(app)
    assert not refused.is_connected()
    assert app.extensions["tunewright.system_broadcaster"].clients == 2
    first.disconnect()
    again = socketio.test_client(app)
    assert again.is_connected()
    for client in (second, again):
        client.disconnect()
    assert app.extensions["tunewright.system_broadcaster"].clients == 0


def test_without_a_limit_every_connection_is_accepted(app):
    from extensions import socketio

    assert app.config.get("MAX_SOCKET_CONNECTIONS") is None  # the dev server: a thread per connection, no pool
    clients = [socketio.test_client(app) for _ in range(5)]
    assert all(client.is_connected() for client in clients)
    for client in clients:
        client.disconnect()
