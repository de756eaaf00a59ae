"""``dashboard_update``: tells a user's open dashboards that their counts, runs or models changed; the page then
fetches ``GET /api/dashboard`` once (debounced). Event-driven, no polling.

Why a signal and not the figures themselves: the payload is per principal and scoped by the request
(services/auth/scope.py), while the changes happen in threads with no principal (a supervisor finishing a run, a
dataset worker); computing every owner's dashboard at every change would also cost queries for pages nobody has
open. Why a database hook and not a call in each service: the counts change wherever a session's status, a
dataset or a registry version is written (training, recovery at start, uploads, Hub imports, deletes, the
registry, deploy, account deletion); one ``after_flush``/``after_commit`` listener sees every such write, emits only
after the transaction really committed, and keeps the services unchanged.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from services.models import DatasetRecord, TrainingSession
from services.models.registry import ModelVersion

log = logging.getLogger(__name__)

EVENT = "dashboard_update"
_PENDING = "tunewright.dashboard_changes"  # Session.info key: {owner_id: {what changed}}

# What the dashboard shows of each model: a change to another column (a step, a progress figure) is not news.
WATCHED: dict[type, tuple[str, tuple[str, ...]]] = {
    TrainingSession: ("sessions", ("status", "name")),
    DatasetRecord: ("datasets", ()),
    ModelVersion: ("models", ("status",)),
}
_installed = False


def install() -> None:
    """Listen on every ORM session of the process, once."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _collect)
    event.listen(Session, "after_commit", _emit)
    event.listen(Session, "after_soft_rollback", _forget)
    _installed = True


def _changed(obj: Any, columns: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _collect(session: Session, flush_context: Any) -> None:
    """After a flush (before the commit): which owners' dashboards this transaction changes, and what."""
    try:
        pending: dict[Any, set[str]] | None = None
        for group, is_new_or_gone in ((session.new, True), (session.deleted, True), (session.dirty, False)):
            for obj in group:
                watched = WATCHED.get(type(obj))
                if watched is None or not (is_new_or_gone or _changed(obj, watched[1])):
                    continue
                if pending is None:
                    pending = session.info.setdefault(_PENDING, {})
                pending.setdefault(obj.owner_id, set()).add(watched[0])
    except Exception:  # a dashboard nudge never breaks a write
        log.warning("dashboard change tracking failed", exc_info=True)


def _forget(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)


def _emit(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    for owner_id, what in (changes or {}).items():
        notify(owner_id, sorted(what))


def notify(owner_id: int | None, changed: list[str]) -> None:
    """Send ``dashboard_update`` {owner_id, changed} to the owner's connections (accounts mode: the ``user:<id>``
    room; an admin's dashboard shows their own things, so they get only their own), to everyone in single mode.
    For changes the database does not see (deploy's traffic figures, say)."""
    from flask import has_app_context

    from services.auth.mode import accounts_enabled
    from websockets.emit import safe_emit
    from websockets.rooms import user_room

    if not has_app_context():  # Flask-SQLAlchemy commits only inside one; a direct caller outside has no app
        return
    # Single mode: to=None is a broadcast, and safe_emit sends a broadcast to everyone there.
    room = user_room(owner_id) if accounts_enabled() else None
    safe_emit(EVENT, {"owner_id": owner_id, "changed": changed}, to=room)
