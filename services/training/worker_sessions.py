"""The training service's part for sessions that run on workers (the rq executor, services/executors/): claiming a
hand-off, the attempt fence every worker write goes through, and a lost worker's sessions. A mixin of
:class:`~services.training.service.TrainingService`, which stays the only writer of a session's status."""
from __future__ import annotations

import logging

from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from extensions import db
from services.errors import ServiceError
from services.models.base import utcnow
from services.models.training import TrainingSession
from services.training.liveness import process_started
from services.training.status import LIVE, Status

log = logging.getLogger(__name__)


class WorkerSessions:
    def holds(self, session_id: str, attempt: int) -> bool:
        """Whether ``attempt`` is still the session's live attempt. The conditional update takes the row's write
        lock until the caller commits, so a concurrent take-over waits for it (the fence of every worker write)."""
        return db.session.execute(update(TrainingSession).where(
            TrainingSession.id == session_id, TrainingSession.attempt == attempt,
            TrainingSession.status.in_([s.value for s in LIVE])).values(updated_at=utcnow())).rowcount == 1

    def claim(self, session_id: str, attempt: int, job_id: str | None, worker: str,
              device: str) -> TrainingSession | None:
        """A worker starts what it was handed, unless it was stopped, re-routed or resumed elsewhere meanwhile."""
        with self._lock:
            claimed = db.session.execute(update(TrainingSession).where(
                TrainingSession.id == session_id, TrainingSession.attempt == attempt,
                TrainingSession.rq_job_id == job_id, TrainingSession.status == Status.QUEUED.value)
                .values(updated_at=utcnow())).rowcount == 1
            if not claimed:
                db.session.rollback()
                return None
            session = db.session.get(TrainingSession, session_id, populate_existing=True)
            self._transition(session, Status.RUNNING)
            session.started_at = session.started_at or utcnow()
            session.worker, session.device = worker, device
            session.server_pid = session.server_boot_id = session.server_started = None
            db.session.commit()
            self._announce(session)
            return session

    def record_child(self, session_id: str, attempt: int, pid: int) -> None:
        if self.holds(session_id, attempt):
            session = db.session.get(TrainingSession, session_id, populate_existing=True)
            session.child_pid, session.child_started = pid, process_started(pid)
        db.session.commit()

    def interrupt_lost(self, session_id: str, attempt: int, worker: str | None) -> None:
        """The session's worker stopped sending heartbeats: ``interrupted`` (its metrics and checkpoints are what
        the worker stored), resumed on another worker at once when its config asks for auto-resume."""
        with self._lock:
            if db.engine.dialect.name == "postgresql":
                # A paused worker may hold the row's lock mid-transaction: give up for this round instead of
                # hanging the repair loop (PostgreSQL ends the worker's idle transaction: cli/worker.py).
                db.session.execute(text("SET LOCAL lock_timeout = '3s'"))
            try:
                held = self.holds(session_id, attempt)
            except OperationalError:
                held = False
            if not held:
                db.session.rollback()
                return
            session = db.session.get(TrainingSession, session_id, populate_existing=True)
            self._transition(session, Status.INTERRUPTED,
                             error=f"Worker {worker} stopped sending heartbeats while this session ran; resume "
                                   "continues from its latest checkpoint on another worker.")
            session.child_pid = session.child_started = None
            db.session.commit()
            self._announce(session)
            auto = bool(((session.config or {}).get("training") or {}).get("auto_resume"))
        log.warning("session %s interrupted: worker %s is lost%s", session_id, worker,
                    "; resuming it automatically" if auto else "")
        if auto:
            try:
                self.resume(session_id)
            except ServiceError as exc:
                log.warning("automatic resume of session %s failed: %s", session_id, exc.message)
