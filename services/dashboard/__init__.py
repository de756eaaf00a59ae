"""The dashboard (the home page): the caller's counts, 30 days of training activity, recent runs with a sparkline
of their main metric, deployed models with their traffic, and the machine's figures. One payload for
``GET /api/dashboard``, built from a fixed number of bounded queries whatever the history holds; ``live.py`` tells
the page when it changed.

Whose things: the caller's own, through services/auth/scope.py ``owned`` without ``admin_ok`` (an admin's home page
shows their own work like everyone's; the Admin page is where everyone's is). Single mode: everything.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask

from services.dashboard.queries import activity, counts, deployed_models, recent_runs
from services.models.base import utcnow
from services.system_monitor import get_monitor

ACTIVITY_DAYS = 30
RECENT_RUNS = 8
SPARK_POINTS = 40  # per run: enough for a 120-pixel line, bounded for long runs


def init_app(app: Flask) -> None:
    from services.dashboard.live import install

    install()


def dashboard(today: date | None = None) -> dict[str, Any]:
    """Everything the home page renders, for the current principal. ``today`` (UTC) is the last day of the
    activity series: tests pin it; the page uses the server's date."""
    now: datetime = utcnow()
    return {
        "generated_at": now.isoformat(),
        "counts": counts(),
        "activity": activity(today or now.date(), ACTIVITY_DAYS),
        "recent_runs": recent_runs(RECENT_RUNS, SPARK_POINTS),
        "deployed": deployed_models(),
        "system": get_monitor().sample(),
    }

