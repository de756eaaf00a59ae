"""What a connection may reach through an event's ids: the same rule as HTTP (services/auth/scope.py), and the
same answer for another user's object as for one that does not exist, so an id reveals nothing."""
from __future__ import annotations

from typing import Any

from services.auth.scope import visible_owner
from services.errors import NotFoundError


def visible_session(session_id: str, *, admin_ok: bool) -> Any:
    """The training session, or NotFoundError (also when it is someone else's). ``admin_ok``: admins may watch
    (read) every session; they may not generate from another user's model."""
    from services.training import get_training_service

    return get_training_service().get(session_id, admin_ok=admin_ok)  # the service's own scoping and 404


def check_model_reference(model_id: Any, session_id: Any) -> None:
    """Refuse a playground model reference (``session:<id>[:checkpoint]``, ``export:<id>``, or a ``session_id``)
    that names another user's session or export, answering as the playground does for a missing one."""
    from extensions import db
    from services.models import ExportJob

    if isinstance(session_id, str) and session_id:
        visible_session(session_id, admin_ok=False)
    kind, _, rest = model_id.partition(":") if isinstance(model_id, str) else ("", "", "")
    if kind == "session" and rest:
        visible_session(rest.partition(":")[0], admin_ok=False)
    elif kind == "export" and rest:
        job = db.session.get(ExportJob, rest)
        if job is not None and not visible_owner(job.owner_id):
            raise NotFoundError(f"No completed GGUF or merged export {rest!r}.")
