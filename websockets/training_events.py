"""Per-session rooms. A client that joins gets the stored history first, then the live events. Joining checks
ownership (admins may watch every session); another user's session answers as one that does not exist."""
from __future__ import annotations

from flask_socketio import emit, join_room, leave_room

from services.errors import ServiceError
from services.training.records import HISTORY_POINTS, session_detail
from websockets.access import visible_session
from websockets.registry import on
from websockets.rooms import session_room


@on("join_session")
def on_join_session(data):
    session_id = str((data if isinstance(data, dict) else {}).get("session_id", ""))
    try:
        session = visible_session(session_id, admin_ok=True)
    except ServiceError as exc:
        return {"ok": False, "error": exc.message}
    # Join before reading the history: an event committed in between arrives live (clients de-duplicate by
    # phase and step) instead of being lost.
    join_room(session_room(session_id))
    emit("training_history", {"session_id": session_id, **session_detail(session, max_points=HISTORY_POINTS)})
    return {"ok": True}


@on("leave_session")
def on_leave_session(data):
    leave_room(session_room(str((data if isinstance(data, dict) else {}).get("session_id", ""))))
    return {"ok": True}
