"""Room names shared by the handlers and the emitters."""


def session_room(session_id: str) -> str:
    return f"session:{session_id}"
