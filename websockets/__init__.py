"""Socket.IO handlers (rooms, replay) and emitters. Emits never block or raise into the caller."""
from flask import Flask


def register_handlers(app: Flask) -> None:
    from extensions import socketio
    from websockets import connection, emit, playground_events, system_events, training_events  # noqa: F401
    from websockets.registry import register

    register(socketio)  # on this app's Socket.IO server (the modules above declare the handlers)
    system_events.init_app(app)
    emit.init_app(app)
