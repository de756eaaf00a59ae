"""The audit log: who did what, when, from where. Written by the auth and admin services (logins and their
failures, tokens, roles, deletions, deploys); pruned to ``AUDIT_RETENTION_DAYS``."""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import delete, select

from extensions import db
from services.models.auth import AuditEvent
from services.models.base import utcnow

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 24 * 3600  # a long-running server prunes while it records, at most once a day
_last_prune = {"at": 0.0}


def record(action: str, *, target: str | None = None, actor_id: int | None = None, actor: str | None = None,
           detail: dict[str, Any] | None = None, commit: bool = True) -> None:
    """Add one event. The actor defaults to whoever makes the current request."""
    if actor_id is None and actor is None:
        from services.auth.current import current_principal
        from services.auth.tokens import AuthError

        try:
            principal = current_principal()
            actor_id, actor = principal.user_id, principal.username
        except AuthError:  # nobody signed in (a failed sign-in): the event names its target instead
            pass
    address = request.remote_addr if has_request_context() else None
    db.session.add(AuditEvent(action=action, target=(target or "")[:200] or None, actor_id=actor_id,
                              actor=(actor or "")[:64] or None, address=address, detail=detail))
    if commit:
        db.session.commit()
        if time.monotonic() - _last_prune["at"] > PRUNE_EVERY_SECONDS:
            _last_prune["at"] = time.monotonic()
            prune()


def prune(now=None) -> int:
    days = int(current_app.config.get("AUDIT_RETENTION_DAYS") or 0)
    if days <= 0:
        return 0  # 0: keep everything
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
    db.session.commit()
    return result.rowcount or 0


def prune_at_start(app) -> None:
    """Called by ``services.auth.init_app``: drop expired events, unless the database is not migrated yet (the
    first start creates the tables after this runs; the next start or the daily prune catches up)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    with app.app_context():
        try:
            if inspect(db.engine).has_table(AuditEvent.__tablename__):
                removed = prune()
                _last_prune["at"] = time.monotonic()
                if removed:
                    log.info("audit log: %d events older than %s days removed", removed,
                             app.config.get("AUDIT_RETENTION_DAYS"))
        except SQLAlchemyError:  # an unreachable database must not stop the studio from starting
            log.warning("audit log not pruned at start", exc_info=True)
            db.session.rollback()


def events(limit: int = 200, action: str | None = None, actor_id: int | None = None) -> list[dict[str, Any]]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(int(limit), 1000)))
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return [{"id": e.id, "at": e.at.isoformat(), "actor_id": e.actor_id, "actor": e.actor, "action": e.action,
             "target": e.target, "address": e.address, "detail": e.detail or {}}
            for e in db.session.execute(query).scalars()]
