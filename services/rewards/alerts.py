"""Reward-health alerts of a session: re-evaluated as metric rows arrive, stored, served."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.rewards.health import reward_alerts, thresholds_dict
from extensions import db
from services.models.rewards import RewardHealthAlert
from services.training import get_training_service

def update_health(session_id: str) -> list[dict[str, Any]]:
    """Re-evaluate the session's alerts from its metric rows; store them; return the alerts that are new."""
    from services.training.records import metric_history

    current = reward_alerts(metric_history(session_id))
    stored = {(a.code, a.component): a for a in db.session.execute(
        select(RewardHealthAlert).filter_by(session_id=session_id)).scalars()}
    new = []
    for alert in current:
        key = (alert["code"], alert["component"] or "")
        row = stored.pop(key, None)
        if row is None:
            db.session.add(RewardHealthAlert(session_id=session_id, code=alert["code"], component=key[1],
                                             first_step=alert["step"], last_step=alert["step"], active=True,
                                             message=alert["message"], hint=alert["hint"]))
            new.append(alert)
        else:
            if not row.active:
                new.append(alert)
            row.active, row.last_step, row.message = True, alert["step"], alert["message"]
    for row in stored.values():
        row.active = False
    return new


def health(session_id: str) -> dict[str, Any]:
    """A session's reward-health alerts; an id that names no session is a 404 (never a query with odd text: a NUL
    byte is an error in PostgreSQL)."""
    get_training_service().get(session_id, admin_ok=True)  # another user's: 404 (an admin may read it)
    rows = db.session.execute(select(RewardHealthAlert).filter_by(session_id=session_id)
                              .order_by(RewardHealthAlert.id)).scalars()
    return {"session_id": session_id, "thresholds": thresholds_dict(), "alerts": [
        {"code": r.code, "component": r.component or None, "first_step": r.first_step, "last_step": r.last_step,
         "active": r.active, "message": r.message, "hint": r.hint} for r in rows]}
