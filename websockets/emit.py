"""Context-free emit that logs and swallows its own failures, so a broken socket never breaks a sender.

A broadcast (no ``to``) in accounts mode goes only to the users who may see it (websockets/audience.py)."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, has_app_context

from extensions import socketio

log = logging.getLogger(__name__)

_app: Flask | None = None  # the app whose handlers are registered: emits from threads without a context


def init_app(app: Flask) -> None:
    global _app
    _app = app


def _the_app() -> Flask | None:
    return current_app._get_current_object() if has_app_context() else _app


def safe_emit(event: str, data: Any, to: str | None = None) -> None:
    try:
        if to is None:
            to = _audience(event, data)
            if to is False:
                return
        socketio.emit(event, data, to=to)
    except Exception:
        log.warning("emit of %r failed", event, exc_info=True)


def _audience(event: str, data: Any) -> str | None | bool:
    """The room of a broadcast: None (everyone), a user's room, or False (no one)."""
    from services.auth.mode import accounts_enabled
    from websockets.audience import NOBODY, PUBLIC_EVENTS, owner_of
    from websockets.rooms import user_room

    app = _the_app()
    if app is None or not accounts_enabled(app) or event in PUBLIC_EVENTS:
        return None
    owner = owner_of(app, event, data)
    return False if owner is NOBODY else user_room(owner)
