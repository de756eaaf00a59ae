"""The job a worker runs for one session, inside RQ's work-horse (a fork of `tunewright worker`).

It claims the session (only if it is still queued for this attempt), spawns the same training child as the local
executor and supervises it with the same Supervisor: events go to the shared database and, through Socket.IO's
Redis message queue, to the browsers. Every write is fenced by the attempt, so a worker declared lost that comes
back cannot write over the run another worker resumed: its child is killed at its next write."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from extensions import db
from services.executors.rq_dispatch import STOP_KEY
from services.training.status import Status

if TYPE_CHECKING:
    from flask import Flask

    from services.training.supervisor import Supervisor

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0  # how often a running job looks for a stop request and confirms it still holds the session
_app: "Flask | None" = None  # the worker's app, set before RQ forks work-horses


def bind_app(app: "Flask") -> None:
    global _app
    _app = app


def run_session(session_id: str, attempt: int) -> str:
    """RQ job function: the session's outcome, or why this worker did not run it."""
    from rq import get_current_job

    if _app is None:
        raise RuntimeError("run_session runs inside `tunewright worker` only")
    current = get_current_job()
    with _app.app_context():
        db.engine.dispose(close=False)  # the fork must not share its parent's database connections
        return _run(_app, session_id, attempt, current.id if current else None)


def _run(app: "Flask", session_id: str, attempt: int, job_id: str | None) -> str:
    from services.training import get_training_service
    from services.training.supervisor import Supervisor

    service = get_training_service()
    gpus = app.config.get("WORKER_GPUS") or []
    # A physical index: the child sets CUDA_VISIBLE_DEVICES to it (which names physical GPUs whatever the parent
    # sees); a multi-GPU launch uses the worker's own CUDA_VISIBLE_DEVICES instead.
    device = f"cuda:{gpus[0]}" if gpus else "cpu"
    name = app.config["WORKER_NAME"]
    session = service.claim(session_id, attempt, job_id, name, device)
    if session is None:
        log.info("session %s (attempt %d) is no longer queued for this worker: skipped", session_id, attempt)
        return "skipped"
    try:
        job = service._job(session, device)
        env = service._child_env(session)
    except Exception as exc:
        reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        service.finish(session_id, Status.FAILED, f"Could not start on worker {name}: {reason}", attempt=attempt)
        return "failed"
    ticker = _Ticker(app, service, session_id, attempt)
    supervisor = Supervisor(app, session_id, job, device, env=env,
                            on_exit=lambda sid, status, error: service.finish(sid, status, error, attempt=attempt),
                            guard=lambda: service.holds(session_id, attempt), on_tick=ticker)
    try:
        pid = supervisor.spawn()
    except Exception as exc:  # a failed spawn must not leave the session running on a live worker for ever
        log.exception("session %s could not be spawned", session_id)
        service.finish(session_id, Status.FAILED, f"Could not start on worker {name}: {type(exc).__name__}: {exc}",
                       attempt=attempt)
        return "failed"
    service.record_child(session_id, attempt, pid)
    supervisor.supervise()
    if supervisor.fenced:
        return "taken over"
    return supervisor.outcome or "ended"


class _Ticker:
    """About once a second from the supervisor's loop: pass a stop request on to the child (from Redis, or the
    ``stopping`` status when Redis is down), and check this worker still holds the session."""

    def __init__(self, app: "Flask", service, session_id: str, attempt: int):
        self.app, self.service, self.session_id, self.attempt = app, service, session_id, attempt
        self.next_check = 0.0
        self.stop_sent = False

    def __call__(self, supervisor: "Supervisor") -> None:
        from services.models.training import TrainingSession
        from services.training.supervisor import Fenced

        if time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + CHECK_SECONDS
        with self.app.app_context():
            holds = self.service.holds(self.session_id, self.attempt)
            status = db.session.get(TrainingSession, self.session_id, populate_existing=True).status if holds else None
            db.session.commit()
        if not holds:
            raise Fenced(self.session_id)
        if not self.stop_sent and (status == Status.STOPPING.value or self._stop_in_redis()):
            self.stop_sent = True
            log.info("stop requested for session %s: checkpointing and stopping", self.session_id)
            supervisor.request_stop(self.service.stop_timeout)

    def _stop_in_redis(self) -> bool:
        remote = self.service.remote
        try:
            return remote is not None and remote.redis.get(STOP_KEY.format(self.session_id)) == \
                str(self.attempt).encode()
        except Exception:
            return False
