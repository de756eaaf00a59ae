"""Socket.IO handlers (rooms, replay) and emitters. Emits never block or raise into the caller."""
from flask import Flask


def register_handlers(app: Flask) -> None:
    from websockets import playground_events, system_events, training_events  # noqa: F401  (handlers register on import)

    system_events.init_app(app)
