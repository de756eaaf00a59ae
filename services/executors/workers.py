"""The workers' durable record: each worker's heartbeat row, and who is alive. A worker is alive while its
heartbeat is younger than ``WORKER_GRACE_SECONDS``; its sessions are then its own to report on, and after that
they are ``interrupted`` (never ``failed``: the worker may well have been training fine)."""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import psutil
from flask import current_app
from sqlalchemy import select

from extensions import db
from services.models.base import utcnow
from services.models.training import TrainingSession
from services.models.workers import Worker
from services.training.status import LIVE, Status

QUEUE_PREFIX = "tunewright-worker-"


def queue_name(worker: str) -> str:
    """Each worker listens on a queue of its own: the web server routes (fit, fairness, per-user limits) and RQ
    only delivers."""
    return QUEUE_PREFIX + worker


def default_name(gpu_indices: list[int]) -> str:
    host = socket.gethostname().split(".")[0] or "worker"
    return f"{host}-gpu{'-'.join(map(str, gpu_indices))}" if gpu_indices else f"{host}-cpu"


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def is_alive(worker: Worker, now: datetime | None = None) -> bool:
    grace = float(current_app.config.get("WORKER_GRACE_SECONDS", 60))
    return worker.state != "stopped" and \
        (now or utcnow()) - as_utc(worker.last_heartbeat) <= timedelta(seconds=grace)


def resources(gpus: list[dict]) -> tuple[list[dict], int]:
    """What a heartbeat advertises: the GPUs (free memory each) and the memory a job can use, in MiB: the most
    free on one GPU, or the RAM available on a CPU host."""
    listed = [{"index": g["index"], "name": g["name"], "memory_total_mb": g["memory_total"],
               "memory_free_mb": max(0, g["memory_total"] - g["memory_used"]), "utilization": g.get("utilization")}
              for g in gpus]
    free = max((g["memory_free_mb"] for g in listed), default=None)
    return listed, int(free if free is not None else psutil.virtual_memory().available // 2**20)


def register(name: str, boot_id: str, gpus: list[dict], slots: int) -> Worker:
    listed, free = resources(gpus)
    worker = db.session.get(Worker, name) or Worker(name=name)
    worker.host, worker.pid, worker.boot_id, worker.queue = socket.gethostname(), os.getpid(), boot_id, queue_name(name)
    worker.gpus, worker.free_memory_mb, worker.slots, worker.state = listed, free, slots, "idle"
    worker.started_at = worker.last_heartbeat = utcnow()
    db.session.add(worker)
    db.session.commit()
    return worker


def heartbeat(name: str, boot_id: str, gpus: list[dict], pid: int | None = None) -> bool:
    """Refresh the row; False when another start of the same name took it over (this one should exit)."""
    worker = db.session.get(Worker, name)
    if worker is None or worker.boot_id != boot_id:
        db.session.rollback()
        return False
    worker.gpus, worker.free_memory_mb = resources(gpus)
    worker.last_heartbeat = utcnow()
    worker.pid = pid
    worker.state = "busy" if current_jobs(name) else "idle"
    db.session.commit()
    return True


def mark_stopped(name: str, boot_id: str) -> None:
    worker = db.session.get(Worker, name)
    if worker is not None and worker.boot_id == boot_id:
        worker.state = "stopped"
        db.session.commit()


def current_jobs(name: str) -> list[str]:
    """Sessions handed to this worker and not yet ended (queued on its queue, running or stopping)."""
    return list(db.session.execute(select(TrainingSession.id).where(
        TrainingSession.worker == name,
        TrainingSession.status.in_([s.value for s in LIVE] + [Status.QUEUED.value]),
        (TrainingSession.status != Status.QUEUED.value) | TrainingSession.rq_job_id.is_not(None))).scalars())


def list_workers() -> list[dict[str, Any]]:
    """Every worker known to the database, alive or not, with its current jobs (the Admin page)."""
    now = utcnow()
    rows = db.session.execute(select(Worker).order_by(Worker.name)).scalars().all()
    return [{"name": w.name, "host": w.host, "pid": w.pid, "queue": w.queue, "gpus": w.gpus,
             "free_memory_mb": w.free_memory_mb, "slots": w.slots, "state": w.state, "alive": is_alive(w, now),
             "started_at": as_utc(w.started_at).isoformat(), "last_heartbeat": as_utc(w.last_heartbeat).isoformat(),
             "seconds_since_heartbeat": round((now - as_utc(w.last_heartbeat)).total_seconds(), 1),
             "jobs": current_jobs(w.name)} for w in rows]


def visible_jobs(workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each worker's ``jobs`` cut to the sessions the caller may see (an admin sees all; ``busy`` stays true)."""
    from services.auth.scope import visible_owner

    ids = {job for w in workers for job in w["jobs"]}
    owners = dict(db.session.execute(select(TrainingSession.id, TrainingSession.owner_id)
                                     .where(TrainingSession.id.in_(ids))).all()) if ids else {}
    return [{**w, "busy": bool(w["jobs"]), "jobs": [j for j in w["jobs"] if visible_owner(owners.get(j), admin_ok=True)]}
            for w in workers]
