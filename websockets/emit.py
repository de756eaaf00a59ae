"""Context-free emit that logs and swallows its own failures, so a broken socket never breaks a sender."""
from __future__ import annotations

import logging
from typing import Any

from extensions import socketio

log = logging.getLogger(__name__)


def safe_emit(event: str, data: Any, to: str | None = None) -> None:
    try:
        socketio.emit(event, data, to=to)
    except Exception:
        log.warning("emit of %r failed", event, exc_info=True)
