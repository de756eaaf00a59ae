"""Room names shared by the handlers and the emitters."""
from __future__ import annotations


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


def user_room(user_id: int | None) -> str:
    """Every connection of one user (accounts mode) joins this room at the handshake; broadcasts about that user's
    things go to it. ``None`` is nobody in particular: the bootstrap access token before the first account."""
    return f"user:{'local' if user_id is None else int(user_id)}"
