"""Per-session rooms. A client that joins gets the stored history first, then the live events."""
from __future__ import annotations

from flask_socketio import emit, join_room, leave_room

from extensions import socketio
from services.errors import ServiceError
from services.training import get_training_service
from services.training.records import HISTORY_POINTS, session_detail
from websockets.rooms import session_room


@socketio.on("join_session")
def on_join_session(data):
    session_id = str((data or {}).get("session_id", ""))
    try:
        session = get_training_service().get(session_id)
    except ServiceError as exc:
        return {"ok": False, "error": exc.message}
    # Join before reading the history: an event committed in between arrives live (clients de-duplicate by
    # phase and step) instead of being lost.
    join_room(session_room(session_id))
    emit("training_history", {"session_id": session_id, **session_detail(session, max_points=HISTORY_POINTS)})
    return {"ok": True}


@socketio.on("leave_session")
def on_leave_session(data):
    leave_room(session_room(str((data or {}).get("session_id", ""))))
    return {"ok": True}
