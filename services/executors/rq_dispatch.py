"""The web server's half of the rq executor: it routes queued sessions to workers, passes stop requests on, and
repairs what a lost worker or a restarted Redis leaves behind.

Routing lives here, not in RQ: every worker listens on a queue of its own, and the web server hands a session to a
live worker with a free slot whose advertised memory fits the session's estimate (the wizard's), taking sessions
in the fair-queue order (priority, round-robin between owners, per-user limits). RQ then only delivers the job and
forks the work-horse that supervises the training child. The database stays the record: a session handed to a
worker is still ``queued`` with ``worker`` and ``rq_job_id`` set, and ``attempt`` fences every later write."""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from core.model_registry import CATALOG
from core.training_config import parse_config
from extensions import db
from services.models.base import utcnow
from services.models.training import TrainingSession
from services.models.workers import Worker
from services.training.fair_queue import Queued, pick_next
from services.training.status import LIVE, Status
from services.executors.workers import as_utc, current_jobs, is_alive, queue_name

if TYPE_CHECKING:
    from flask import Flask

    from services.training.service import TrainingService

log = logging.getLogger(__name__)

JOB_FUNCTION = "services.executors.rq_job.run_session"
STOP_KEY = "tunewright:stop:{}"
RECONCILE_SECONDS = 2.0
HANDOFF_GRACE = timedelta(seconds=10)  # a hand-off younger than this may not be in Redis yet


def required_memory_mb(config: dict[str, Any]) -> int:
    """The memory a session needs on one device, from the model catalogue's LoRA estimate (0: unknown, fits)."""
    try:
        name = parse_config(config).model.name
    except Exception:
        return 0
    entry = next((e for e in CATALOG if e.id == name), None)
    return int(entry.vram_lora_gb * 1024) if entry and entry.vram_lora_gb else 0


def required_gpus(config: dict[str, Any]) -> int:
    return int(((config or {}).get("training") or {}).get("num_gpus") or 1)


def fits(worker: Worker, config: dict[str, Any]) -> bool:
    """A job asking for N > 1 GPUs needs a worker owning N; any job needs its memory estimate free (on a GPU, or
    in RAM on a CPU worker)."""
    gpus = required_gpus(config)
    if gpus > 1 and len(worker.gpus or []) < gpus:
        return False
    return worker.free_memory_mb >= required_memory_mb(config)


class RqDispatcher:
    def __init__(self, app: "Flask"):
        from redis import Redis

        self.app = app
        self.redis = Redis.from_url(app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5)

    # -- routing ----------------------------------------------------------------------------------------------
    def live_workers(self) -> list[Worker]:
        now = utcnow()
        return [w for w in db.session.execute(select(Worker).order_by(Worker.name)).scalars() if is_alive(w, now)]

    def capacity(self) -> tuple[int, int]:
        """(free slots, all slots) of the live workers."""
        workers = self.live_workers()
        total = sum(w.slots for w in workers)
        return max(0, total - sum(min(w.slots, len(current_jobs(w.name))) for w in workers)), total

    def dispatch(self, service: "TrainingService") -> None:
        """Hand queued sessions to free workers that fit them, in the fair-queue order. Called under the service's
        lock; the conditional updates make a concurrent dispatcher (a second web process) harmless."""
        free = {w.name: w.slots - len(current_jobs(w.name)) for w in self.live_workers()}
        free = {name: n for name, n in free.items() if n > 0}
        if not free:
            return
        workers = {w.name: w for w in db.session.execute(select(Worker).where(Worker.name.in_(free))).scalars()}
        rows = db.session.execute(select(TrainingSession).where(TrainingSession.status == Status.QUEUED.value,
                                                                TrainingSession.rq_job_id.is_(None))
                                  .order_by(TrainingSession.priority.desc(), TrainingSession.created_at)).scalars()
        configs = {}
        candidates = []
        for row in rows:
            configs[row.id] = row.config
            candidates.append(Queued(row.id, row.owner_id, row.priority, row.created_at))
        running = Counter(dict(db.session.execute(
            select(TrainingSession.owner_id, func.count()).where(
                TrainingSession.status.in_([s.value for s in LIVE]) |
                ((TrainingSession.status == Status.QUEUED.value) & TrainingSession.rq_job_id.is_not(None)))
            .group_by(TrainingSession.owner_id)).all()))
        _, _, last_started = service._queue_state()
        while free and candidates:
            chosen = pick_next(candidates, running, last_started, service.per_user_limit)
            if chosen is None:
                return
            candidates.remove(chosen)
            target = next((workers[name] for name in sorted(free, key=lambda n: -free[n])
                           if fits(workers[name], configs[chosen.id])), None)
            if target is None:
                continue  # nothing free fits it now; a smaller session behind it may still start
            if not self.hand(chosen.id, target.name):
                return
            running[chosen.owner_id] += 1
            last_started[chosen.owner_id] = utcnow()
            free[target.name] -= 1
            if not free[target.name]:
                del free[target.name]

    def hand(self, session_id: str, worker: str) -> bool:
        """Give one queued session to a worker: claim the row (new attempt), then enqueue on the worker's queue. A
        failed enqueue (Redis down) gives the row back; False stops this dispatch round."""
        from rq import Queue

        job_id = f"tw-{session_id}-{uuid.uuid4().hex[:8]}"
        claimed = db.session.execute(
            update(TrainingSession).where(TrainingSession.id == session_id,
                                          TrainingSession.status == Status.QUEUED.value,
                                          TrainingSession.rq_job_id.is_(None))
            .values(worker=worker, rq_job_id=job_id, attempt=TrainingSession.attempt + 1, updated_at=utcnow())
        ).rowcount == 1
        db.session.commit()
        if not claimed:
            return True  # another dispatcher took it
        attempt = db.session.execute(select(TrainingSession.attempt).where(TrainingSession.id == session_id)
                                     ).scalar_one()
        try:
            Queue(queue_name(worker), connection=self.redis).enqueue_call(
                JOB_FUNCTION, args=(session_id, attempt), job_id=job_id, timeout=-1, result_ttl=86400,
                failure_ttl=7 * 86400, description=f"training session {session_id} (attempt {attempt})")
        except Exception as exc:
            log.warning("could not enqueue session %s on worker %s (%s); it stays queued", session_id, worker, exc)
            self.release(session_id, job_id)
            return False
        log.info("session %s handed to worker %s (attempt %d, job %s)", session_id, worker, attempt, job_id)
        return True

    def release(self, session_id: str, job_id: str) -> bool:
        """Take a hand-off back (its job is gone from Redis, or its worker is lost): queued for any worker again."""
        released = db.session.execute(
            update(TrainingSession).where(TrainingSession.id == session_id, TrainingSession.rq_job_id == job_id,
                                          TrainingSession.status == Status.QUEUED.value)
            .values(worker=None, rq_job_id=None, updated_at=utcnow())).rowcount == 1
        db.session.commit()
        return released

    # -- stop ---------------------------------------------------------------------------------------------------
    def request_stop(self, session: TrainingSession) -> None:
        """Tell the session's worker to checkpoint and stop (it also sees the ``stopping`` status in the database,
        so a stop survives a Redis outage)."""
        try:
            self.redis.set(STOP_KEY.format(session.id), session.attempt, ex=7 * 86400)
        except Exception as exc:
            log.warning("could not publish the stop of session %s to Redis (%s); the worker reads the database",
                        session.id, exc)

    def cancel(self, session: TrainingSession) -> None:
        """A queued session was stopped: drop its job from the worker's queue (the worker would refuse it anyway:
        the row is no longer queued)."""
        if not session.rq_job_id:
            return
        try:
            from rq.job import Job

            Job.fetch(session.rq_job_id, connection=self.redis).cancel()
        except Exception:
            pass

    # -- repair ---------------------------------------------------------------------------------------------------
    def reconcile(self, service: "TrainingService") -> None:
        """One round of repairs, then a dispatch: sessions of a worker whose heartbeat stopped become
        ``interrupted`` (and resume elsewhere when their config asks for auto-resume); hand-offs whose worker is
        lost, or whose job Redis no longer has (a restart), are queued again."""
        alive = {w.name for w in self.live_workers()}
        lost = db.session.execute(select(TrainingSession).where(
            TrainingSession.status.in_([s.value for s in LIVE]), TrainingSession.worker.is_not(None),
            TrainingSession.worker.not_in(alive) if alive else TrainingSession.worker.is_not(None))).scalars().all()
        for session in lost:
            service.interrupt_lost(session.id, session.attempt, session.worker)
        handed = db.session.execute(select(TrainingSession).where(
            TrainingSession.status == Status.QUEUED.value, TrainingSession.rq_job_id.is_not(None))).scalars().all()
        for session in handed:
            if session.worker not in alive:
                self.release(session.id, session.rq_job_id)
            elif utcnow() - as_utc(session.updated_at) > HANDOFF_GRACE and not self._job_known(session.rq_job_id):
                log.warning("Redis lost the job of session %s: queueing it again", session.id)
                self.release(session.id, session.rq_job_id)
        service.dispatch()

    def _job_known(self, job_id: str) -> bool:
        try:
            from rq.job import Job

            return Job.exists(job_id, connection=self.redis)
        except Exception:
            return True  # Redis is unreachable: nothing to conclude yet

    def loop(self, service: "TrainingService", stopped) -> None:
        """The web server's repair loop (a background task), every RECONCILE_SECONDS until ``stopped`` is set."""
        from services.auth.current import acting_as
        from services.auth.principal import LOCAL

        while not stopped.wait(RECONCILE_SECONDS):
            try:
                with self.app.app_context(), acting_as(LOCAL):
                    self.reconcile(service)
            except Exception:
                log.exception("the scale-out repair round failed; trying again")
