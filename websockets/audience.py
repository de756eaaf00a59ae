"""Who may receive a broadcast (an emit with no room).

Single mode: everyone, as before. Accounts mode: a broadcast is about one owned thing (a session's status, an
export's progress, a dataset, a batch, an evaluation), so it goes to its owner's room only (``user:<id>``);
admins too get only their own (their normal pages list their own things; the admin views poll the API).
``system_update`` carries machine totals (CPU, memory, disk, GPUs) and goes to everyone. An event this table
does not know is not sent at all in accounts mode, and logged: a new broadcast must say who may see it
(tests/websockets/test_socket_isolation.py checks every broadcast in the code is listed here).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

PUBLIC_EVENTS = frozenset({"system_update"})
# event -> (model class name in services.models, payload key holding the object's id)
OWNED_EVENTS: dict[str, tuple[str, str]] = {
    "session_status": ("TrainingSession", "session_id"),
    "session_deleted": ("TrainingSession", "session_id"),
    "export_status": ("ExportJob", "id"),
    "export_progress": ("ExportJob", "export_id"),
    "export_complete": ("ExportJob", "id"),
    "export_error": ("ExportJob", "export_id"),
    "export_deleted": ("ExportJob", "export_id"),
    "dataset_update": ("DatasetRecord", "id"),
    "batch_progress": ("BatchRun", "batch_id"),
    "batch_complete": ("BatchRun", "id"),
    "evaluation_complete": ("Evaluation", "id"),
}
NOBODY = object()  # the broadcast goes to no one

_owners: dict[tuple[str, Any], int] = {}  # owners never change once set: no lookup per progress event
_owners_lock = threading.Lock()
_CACHE_LIMIT = 4096


def _remember(key: tuple[str, Any], owner_id: int) -> None:
    with _owners_lock:
        if len(_owners) >= _CACHE_LIMIT:
            _owners.clear()
        _owners[key] = owner_id


def _lookup(app: Flask, model_name: str, ident: Any) -> Any:
    """The owner id of a row (None: nobody in particular), or NOBODY when the row does not exist."""
    import services.models as models
    from extensions import db
    from flask import has_app_context

    model = getattr(models, model_name)

    def get():
        row = db.session.get(model, ident)
        return NOBODY if row is None else row.owner_id

    if has_app_context():
        return get()
    with app.app_context():
        return get()


def owner_of(app: Flask, event: str, data: Any) -> Any:
    """The owner id a broadcast of ``event`` is about (None: nobody in particular), or NOBODY: send it to no one.
    The payload's ``owner_id`` when the service included it; otherwise looked up by id. A deleted object is no longer in the database: its owner is remembered from earlier events, else it is the
    caller of the request that deleted it."""
    spec = OWNED_EVENTS.get(event)
    if spec is None or not isinstance(data, dict) or data.get(spec[1]) is None:
        log.warning("broadcast %r has no known owner: not sent in accounts mode (add it to websockets/audience.py)",
                    event)
        return NOBODY
    owner_id = data.get("owner_id")
    if isinstance(owner_id, int) and not isinstance(owner_id, bool):
        return owner_id  # the services put the owner in the payload: no lookup needed
    key = (spec[0], data[spec[1]])
    with _owners_lock:
        if key in _owners:
            return _owners[key]
    owner = _lookup(app, *key)
    if owner is NOBODY:
        from flask import has_request_context

        if has_request_context():
            from services.auth.current import current_principal
            from services.auth.tokens import AuthError

            try:
                return current_principal().user_id
            except AuthError:
                return NOBODY
        return NOBODY
    if owner is not None:
        _remember(key, owner)
    return owner
