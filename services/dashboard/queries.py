"""The dashboard's queries. Each is bounded: counts and per-day groups are aggregates computed in SQL, recent runs
and their sparklines are one query each with a LIMIT and a per-run stride, deployed versions are capped."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import String, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from extensions import db
from services.auth.scope import owned
from services.models import DatasetRecord, TrainingMetric, TrainingSession
from services.models.registry import ModelVersion
from services.registry.status import VersionStatus
from services.training.status import LIVE, Status

log = logging.getLogger(__name__)

DEPLOYED_LIMIT = 50


class utc_day(FunctionElement):
    """``YYYY-MM-DD`` of a timestamp in UTC, the same text on both databases, so rows group by the UTC day.

    SQLite keeps our timestamps as UTC wall-clock text (``utcnow()`` writes them), so ``date()`` of it is the UTC
    day; PostgreSQL's ``timestamptz::date`` would follow the connection's TimeZone setting, so it is converted
    first."""

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def counts() -> dict[str, int]:
    """My datasets (any status), active trainings (running or stopping), queued jobs (queued sessions) and models:
    registry versions that are not archived (ready or deployed)."""
    datasets = db.session.scalar(owned(select(func.count(DatasetRecord.id)), DatasetRecord)) or 0
    by_status = dict(db.session.execute(
        owned(select(TrainingSession.status, func.count(TrainingSession.id)), TrainingSession)
        .group_by(TrainingSession.status)).all())
    models = db.session.scalar(owned(select(func.count(ModelVersion.id))
                                     .where(ModelVersion.status != VersionStatus.ARCHIVED.value), ModelVersion)) or 0
    return {"datasets": datasets, "active_trainings": sum(by_status.get(s.value, 0) for s in LIVE),
            "queued_jobs": by_status.get(Status.QUEUED.value, 0), "models": models}


def activity_window(today: date, days: int) -> list[date]:
    """The days of the series, oldest first, ``today`` last."""
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def _per_day(column, since: datetime) -> dict[str, int]:
    day = utc_day(column)
    query = owned(select(day, func.count(TrainingSession.id)), TrainingSession) \
        .where(column.is_not(None), column >= since).group_by(day)
    return {str(d): n for d, n in db.session.execute(query).all()}  # at most `days` rows


def activity(today: date, days: int) -> dict[str, list]:
    """Runs started and finished per UTC day, the last ``days`` days, zero-filled. "Started" counts a session on
    the day it was created (submitted: once, even if it waited in the queue or was resumed later); "finished" on
    the day it last ended, whatever the outcome (completed, stopped, failed, interrupted)."""
    window = activity_window(today, days)
    since = datetime.combine(window[0], time.min, tzinfo=timezone.utc)
    started = _per_day(TrainingSession.created_at, since)
    finished = _per_day(TrainingSession.finished_at, since)
    labels = [d.isoformat() for d in window]
    return {"days": labels, "started": [started.get(d, 0) for d in labels],
            "finished": [finished.get(d, 0) for d in labels]}


def recent_runs(limit: int, points: int) -> list[dict[str, Any]]:
    """The newest ``limit`` sessions with a sparkline of their main metric (GRPO's reward, else the loss)."""
    rows = db.session.execute(owned(select(
        TrainingSession.id, TrainingSession.name, TrainingSession.status, TrainingSession.config,
        TrainingSession.created_at, TrainingSession.finished_at), TrainingSession)
        .order_by(TrainingSession.created_at.desc(), TrainingSession.id.desc()).limit(limit)).all()
    series = sparklines([row.id for row in rows], points)
    runs = []
    for row in rows:
        config = row.config or {}
        metric, values = main_metric(series.get(row.id, []))
        runs.append({"id": row.id, "name": row.name, "status": row.status, "method": config.get("method", "grpo"),
                     "model": (config.get("model") or {}).get("name"),
                     "created_at": _iso(row.created_at), "finished_at": _iso(row.finished_at),
                     "metric": metric, "sparkline": values})
    return runs


def sparklines(session_ids: list[str], points: int) -> dict[str, list[tuple[int, dict]]]:
    """At most ``points`` (+ the last) metric rows per session, evenly spread over each run, in one query: the
    stride is computed per session in SQL like services/training/records.py ``metric_history`` does for one."""
    if not session_ids:
        return {}
    order = (TrainingMetric.global_step, TrainingMetric.id)
    numbered = select(
        TrainingMetric.session_id, TrainingMetric.global_step, TrainingMetric.values,
        func.row_number().over(partition_by=TrainingMetric.session_id, order_by=order).label("n"),
        func.count(TrainingMetric.id).over(partition_by=TrainingMetric.session_id).label("total"),
    ).where(TrainingMetric.session_id.in_(session_ids)).subquery()
    stride = (numbered.c.total + (points - 1)) // points  # ceil(total / points), integer division on both databases
    query = select(numbered.c.session_id, numbered.c.global_step, numbered.c["values"]) \
        .where(or_((numbered.c.n - 1) % stride == 0, numbered.c.n == numbered.c.total)) \
        .order_by(numbered.c.session_id, numbered.c.n)
    found: dict[str, list[tuple[int, dict]]] = {}
    for session_id, step, values in db.session.execute(query).all():
        found.setdefault(session_id, []).append((step, values or {}))
    return found


def main_metric(rows: list[tuple[int, dict]]) -> tuple[str | None, list[list[float]]]:
    """``reward`` when the run logged one (GRPO), else ``loss``: its ``[step, value]`` points."""
    for key in ("reward", "loss"):
        points = [[step, float(values[key])] for step, values in rows
                  if isinstance(values.get(key), (int, float)) and not isinstance(values.get(key), bool)]
        if points:
            return key, points
    return None, []


def deployed_models() -> list[dict[str, Any]]:
    """My deployed versions with their traffic figures."""
    rows = db.session.execute(owned(select(ModelVersion), ModelVersion)
                              .where(ModelVersion.status == VersionStatus.DEPLOYED.value)
                              .options(joinedload(ModelVersion.model))
                              .order_by(ModelVersion.id).limit(DEPLOYED_LIMIT)).scalars().all()
    stats_for = _stats_source()
    return [{"id": row.id, "ref": row.ref, "name": row.model.name, "version": row.version, "type": row.type,
             "base_model": row.base_model, "method": row.method, "stats": _stats(stats_for, row.id)}
            for row in rows]


def _stats_source():
    """The deploy service's ``stats_for`` (its figures are this process's traffic, kept in memory)."""
    from services.deploy import get_deployer

    return get_deployer().stats_for


STAT_KEYS = ("requests", "errors", "p50_ms", "p95_ms", "ttft_p50_ms", "queued", "resident")


def _stats(stats_for, version_id: int) -> dict[str, Any] | None:
    if stats_for is None:
        return None
    try:
        stats = stats_for(version_id) or {}
    except Exception:
        log.warning("no deploy figures for version %s", version_id, exc_info=True)
        return None
    return {key: stats.get(key) for key in STAT_KEYS}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
