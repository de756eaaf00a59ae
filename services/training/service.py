"""The training service: the only code that creates, starts, stops, resumes, finishes and deletes sessions,
and the only code that writes a session's status (through :meth:`TrainingService._transition`)."""
from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.default_model import DEFAULT_MODEL_ID
from core.model_registry import Availability, availability
from core.training.paths import SessionPaths, checkpoint_history, incomplete_checkpoints, resume_state
from core.training_config import ConfigValidationError, TrainingConfig, parse_config
from extensions import db
from services.auth import audit
from services.auth.current import acting_as
from services.auth.folders import owner_folder
from services.auth.principal import LOCAL
from services.auth.scope import new_owner_id, owned, visible_owner
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.base import utcnow
from services.models.training import TrainingSession
from services.output_base import output_roots
from services.storage import check_free_disk, resolve_inside
from services.training import records
from services.training.fair_queue import Queued, Waiting, pick_next, queue_order
from services.training.liveness import owner_alive, process_started, same_process_alive
from services.training.rollout_engine import check_rollout_engine
from services.training.status import ACTIVE, LIVE, RESUMABLE, Status, check_transition
from services.training.worker_sessions import WorkerSessions
from websockets.emit import safe_emit
from websockets.rooms import session_room

if TYPE_CHECKING:
    from flask import Flask

    from services.training.supervisor import Supervisor

log = logging.getLogger(__name__)

PRIORITIES = {"low": 0, "normal": 1, "high": 2}
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
SPOOL_FILE = "undelivered_events.jsonl"
_KEEP = object()  # "leave the error as it is" in _transition


def device_slots() -> list[str]:
    """One slot per GPU (CUDA_VISIBLE_DEVICES index), or the CPU."""
    try:
        from services.system_monitor import read_gpus

        gpus = read_gpus()
    except Exception:
        gpus = []
    return [f"cuda:{g['index']}" for g in gpus] or ["cpu"]


class TrainingService(WorkerSessions):
    def __init__(self, app: "Flask"):
        self.app = app
        self._lock = threading.RLock()
        self._supervisors: dict[str, "Supervisor"] = {}
        self._slots = app.config.get("TRAINING_DEVICES") or device_slots()
        self.capacity = int(app.config.get("MAX_CONCURRENT_TRAININGS") or len(self._slots))
        self.stop_timeout = float(app.config.get("TRAINING_STOP_TIMEOUT", 300))
        # This server instance: sessions it runs carry this id (see recover_interrupted).
        self.boot_id = uuid.uuid4().hex
        self.server_started = process_started(os.getpid())
        self.shutting_down = False
        self._last_started: dict[int | None, Any] = {}  # owner -> this server's latest start (round-robin)
        from services.executors import executor_name

        # The rq executor: sessions run on `tunewright worker` processes (services/executors/); None: local children.
        self.remote = None
        if executor_name(app) == "rq":
            from services.executors.rq_dispatch import RqDispatcher

            self.remote = RqDispatcher(app)
        self.stopped = threading.Event()  # ends the rq repair loop

    # -- queries --------------------------------------------------------------------------------------------
    def get(self, session_id: str, *, admin_ok: bool = False) -> TrainingSession:
        """The caller's session (an admin's reads and stops pass ``admin_ok``); another user's is a 404 exactly
        like a missing one."""
        session = self.find(session_id)
        if session is None or not visible_owner(session.owner_id, admin_ok=admin_ok):
            raise NotFoundError(f"No training session {session_id!r}.")
        return session

    def find(self, session_id: str) -> TrainingSession | None:
        """Any session, whoever owns it: for the server's own work (the queue, exports it runs), never for a
        request's id."""
        return db.session.get(TrainingSession, session_id) if SESSION_ID.match(session_id or "") else None

    def list_sessions(self, everyone: bool = False) -> list[dict[str, Any]]:
        """The caller's sessions, newest first (``everyone``: an admin's view of all of them)."""
        query = owned(select(TrainingSession), TrainingSession, admin_ok=everyone)
        rows = db.session.execute(query.order_by(TrainingSession.created_at.desc())).scalars().all()
        waiting = self.waiting()
        return [records.session_summary(s, waiting.get(s.id)) for s in rows]

    def summary(self, session: TrainingSession) -> dict[str, Any]:
        """The session's JSON, with why it waits when it is queued."""
        return records.session_summary(session, self.waiting().get(session.id) if session.status == "queued"
                                       else None)

    def detail(self, session: TrainingSession, max_points: int | None = None) -> dict[str, Any]:
        detail = records.session_detail(session, max_points)
        detail["session"] = self.summary(session)
        return detail

    def session_folder(self, session: TrainingSession) -> Path:
        """The session's output folder: where its row says (``outputs/u<owner>/<id>``, ``outputs/<id>`` made
        before accounts, or a folder named after it under the Output Directory Base), refused unless it lies
        inside one of the output roots."""
        stored = Path(session.output_dir).resolve()
        if stored.name == session.id:
            for root in output_roots():
                if root in stored.parents:
                    return resolve_inside(root, stored.relative_to(root).as_posix())
        return resolve_inside(self.app.config["OUTPUT_FOLDER"], session.id)

    def sessions_using_dataset(self, dataset_id: int) -> list[str]:
        rows = db.session.execute(select(TrainingSession).where(
            TrainingSession.dataset_id == dataset_id,
            TrainingSession.status.in_([s.value for s in ACTIVE]))).scalars()
        return [f"session {s.id} ({s.status})" for s in rows]

    # -- commands -------------------------------------------------------------------------------------------
    def create(self, raw_config: Any, session_id: str | None = None, priority: str = "normal",
               output_parent: Path | None = None) -> TrainingSession:
        """Queue a session owned by the caller (its folder is ``outputs/u<owner>/<id>`` with accounts).

        ``output_parent``: a folder the caller resolved and prepared (a project's output directory, where the
        run's frozen mix already lies in ``<id>/mix/``); the session's folder is ``output_parent/<id>``."""
        try:
            config = parse_config(raw_config if raw_config is not None else {})
        except ConfigValidationError as exc:
            raise ServiceError("The training config is not valid.", details=exc.errors) from None
        if not isinstance(priority, str) or priority not in PRIORITIES:
            raise ServiceError(f"priority must be one of {', '.join(PRIORITIES)}.",
                               details=[{"path": "priority", "message": "unknown priority", "hint": ""}])
        if session_id is not None:
            if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
                raise ServiceError("session_id may hold letters, digits, '-' and '_' only (at most 32).")
            self._check_id_free(session_id, check_folder=output_parent is None)
        self._check_gpus(config)
        self._check_model(config)
        self._check_method(config)
        check_rollout_engine(config)
        dataset_id = self._resolve_dataset(config)[1]
        owner = new_owner_id()
        parent = output_parent or owner_folder(self.app.config["OUTPUT_FOLDER"], owner)
        check_free_disk(parent, self.app.config.get("MIN_FREE_DISK_BYTES", 0))
        if session_id is None:
            session_id = uuid.uuid4().hex[:12]
            while self._id_taken(session_id):
                session_id = uuid.uuid4().hex[:12]
        output_dir = resolve_inside(parent, session_id)
        from services.rewards import resolve_config_rewards

        stored_config = resolve_config_rewards(config.model_dump(mode="json"))  # saved custom rewards inlined
        session = TrainingSession(id=session_id, name=config.name, config=stored_config,
                                  status=Status.QUEUED.value, priority=PRIORITIES[priority], owner_id=owner,
                                  dataset_id=dataset_id, output_dir=str(output_dir), last_logs=[])
        db.session.add(session)
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent create with the same id won the race
            db.session.rollback()
            raise ConflictError(f"Session {session_id!r} exists already; pick another id.") from None
        self._announce(session)
        self.dispatch()
        return session

    def stop(self, session_id: str) -> TrainingSession:
        """Stop a queued or running session: the owner's, or any for an admin."""
        with self._lock:
            session = self.get(session_id, admin_ok=True)
            status = Status(session.status)
            if status is Status.QUEUED:
                self._transition(session, Status.STOPPED, error=None)
                if self.remote is not None:
                    self.remote.cancel(session)
            elif status in LIVE:
                if status is Status.RUNNING:
                    self._transition(session, Status.STOPPING)
                if self.remote is not None and session.worker:
                    self.remote.request_stop(session)
                # Also when already stopping: it may have been asked for by another process (the studio for a
                # run of the CLI), and this process holds the child.
                supervisor = self._supervisors.get(session_id)
                if supervisor is not None:
                    supervisor.request_stop(self.stop_timeout)
            else:
                raise ConflictError(f"Session {session_id} is {status.value}; only queued or running sessions stop.")
            db.session.commit()
            self._announce(session)
            return session

    def resume(self, session_id: str) -> TrainingSession:
        with self._lock:
            session = self.get(session_id)
            if Status(session.status) not in RESUMABLE:
                raise ConflictError(f"Session {session_id} is {session.status}; only "
                                    f"{', '.join(s.value for s in RESUMABLE)} sessions resume.")
            if not session.worker and session.child_pid and same_process_alive(session.child_pid,
                                                                               session.child_started):
                raise ConflictError(f"The previous training process of session {session_id} (pid "
                                    f"{session.child_pid}) is still running: it stops by itself at the end of its "
                                    "step now that its server is gone. Resume again in a moment.")
            output = Path(session.output_dir)
            records.replay_spool(session, output / SPOOL_FILE)
            for folder in incomplete_checkpoints(SessionPaths(output)):  # a save cut short by a full disk or a kill:
                log.warning("session %s: removing the incomplete checkpoint %s", session_id, folder)
                shutil.rmtree(folder, ignore_errors=True)  # never resumed from, and its space is what the run needs
            phase, step = resume_state(SessionPaths(output))
            # Steps a dying server never stored are in the checkpoint's own log history. Commit in small
            # batches: a long write transaction would hold SQLite's lock against the supervisors.
            history, offset = checkpoint_history(SessionPaths(output), phase)
            for index, entry in enumerate(history, 1):
                values = {k: v for k, v in entry.items() if k != "step"}
                records.upsert_metric(session.id, phase, entry["step"], offset + entry["step"], values)
                if index % 100 == 0:
                    db.session.commit()
            records.drop_rows_after(session.id, phase, step)
            if phase == "sft":
                records.drop_rows_after(session.id, "grpo", 0)
            self._transition(session, Status.QUEUED, error=None)
            session.resume_requested = True
            session.rq_job_id = None  # any fitting worker may take it (the last one is kept in ``worker`` till then)
            db.session.commit()
            self._announce(session)
        self.dispatch()
        return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            session = self.get(session_id)
            if Status(session.status) in ACTIVE:
                raise ConflictError(f"Session {session_id} is {session.status}: stop it before deleting it.")
            folder = self.session_folder(session)
            owner = session.owner_id
            from services.registry import get_registry

            get_registry().forget(session_id=session.id)  # versions in its folders (409 while one is deployed)
            exports = self.app.extensions.get("tunewright.exports")
            if exports is not None:  # its exports go with it: running ones end, exports/<id>/ is removed
                exports.drop_session(session.id, owner_id=owner)
            db.session.delete(session)
            db.session.commit()
        shutil.rmtree(folder, ignore_errors=True)
        audit.record("session.deleted", target=f"session:{session_id}", detail={"owner_id": owner})
        safe_emit("session_deleted", {"session_id": session_id, "owner_id": owner})

    # -- queue ----------------------------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Start queued sessions while a device slot is free: by priority, then round-robin between owners (see
        services/training/fair_queue.py), skipping owners at the per-user running limit. A session that cannot
        start fails with its reason and the queue moves on; a slot is only taken by a child that really started.
        Runs as the server: the request that triggered it may be another user's."""
        with self._lock, acting_as(LOCAL):
            if self.shutting_down:
                return
            if self.remote is not None:
                from services.executors import is_worker

                if not is_worker(self.app):  # only the web server routes; a worker runs what it is handed
                    self.remote.dispatch(self)
                return
            while len(self._supervisors) < self.capacity:
                queued, running, last_started = self._queue_state()
                chosen = pick_next(queued, running, last_started, self.per_user_limit)
                session = db.session.get(TrainingSession, chosen.id) if chosen else None
                if session is None:
                    return
                try:
                    self._start(session)
                except Exception as exc:  # a broken stored config, a deleted dataset, a failed spawn...
                    self._supervisors.pop(session.id, None)
                    reason = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
                    if not isinstance(exc, ServiceError):
                        log.exception("session %s could not start", session.id)
                    db.session.rollback()
                    session = db.session.get(TrainingSession, session.id)
                    if session is None or Status(session.status) not in (Status.QUEUED, Status.RUNNING):
                        continue
                    self._transition(session, Status.FAILED, error=f"Could not start: {reason}")
                    db.session.commit()
                    self._announce(session)

    @property
    def per_user_limit(self) -> int:
        """Running sessions one owner may have at once (0: no limit; TUNEWRIGHT_MAX_RUNNING_PER_USER)."""
        return max(0, int(self.app.config.get("MAX_RUNNING_PER_USER") or 0))

    def _queue_state(self) -> tuple[list[Queued], dict[int | None, int], dict[int | None, Any]]:
        """Queued sessions (priority, then age), running sessions per owner, and each owner's latest start."""
        queued = [Queued(*row) for row in db.session.execute(
            select(TrainingSession.id, TrainingSession.owner_id, TrainingSession.priority, TrainingSession.created_at)
            .where(TrainingSession.status == Status.QUEUED.value)
            .order_by(TrainingSession.priority.desc(), TrainingSession.created_at)).all()]
        running = dict(db.session.execute(
            select(TrainingSession.owner_id, func.count()).where(TrainingSession.status.in_([s.value for s in LIVE]))
            .group_by(TrainingSession.owner_id)).all())
        last_started = dict(db.session.execute(
            select(TrainingSession.owner_id, func.max(TrainingSession.started_at))
            .group_by(TrainingSession.owner_id)).all())
        for owner, moment in self._last_started.items():  # a resume keeps its first started_at: remember it here
            last_started[owner] = moment
        return queued, running, last_started

    def waiting(self) -> dict[str, dict[str, Any]]:
        """Each queued session's place and why it waits: ``{id: {position, reason}}`` (every owner's: callers
        show only the rows they may see)."""
        queued, running, last_started = self._queue_state()
        limit = self.per_user_limit
        free, capacity = self.remote.capacity() if self.remote is not None else \
            (self.capacity - len(self._supervisors), self.capacity)
        busy = sum(running.values())
        viewer = current_viewer()
        out: dict[str, dict[str, Any]] = {}
        for place in queue_order(queued, running, last_started, limit):
            out[place.session_id] = {"position": place.position,
                                     "reason": _reason(place, free, busy, capacity, limit,
                                                       running.get(place.owner_id, 0), place.owner_id == viewer)}
        if self.remote is not None:  # handed to a worker: it waits for that worker to pick it up
            for session_id, worker in db.session.execute(select(TrainingSession.id, TrainingSession.worker).where(
                    TrainingSession.status == Status.QUEUED.value, TrainingSession.rq_job_id.is_not(None))).all():
                if session_id in out:
                    out[session_id]["reason"] = f"starting on worker {worker}"
        return out

    def _start(self, session: TrainingSession) -> None:
        from services.training.supervisor import Supervisor

        busy = {s.device for s in self._supervisors.values()}
        device = next(slot for slot in self._slots if slot not in busy) if len(busy) < len(self._slots) \
            else self._slots[0]
        job = self._job(session, device)
        supervisor = Supervisor(self.app, session.id, job, device, on_exit=self.finish, env=self._child_env(session))
        self._transition(session, Status.RUNNING)
        session.started_at = session.started_at or utcnow()
        self._last_started[session.owner_id] = utcnow()
        session.server_pid = os.getpid()
        session.server_boot_id = self.boot_id
        session.server_started = self.server_started
        session.device = device
        db.session.commit()
        self._supervisors[session.id] = supervisor
        pid = supervisor.start()
        try:  # the child runs from here on: a bookkeeping failure must not fail it (resume checks use these)
            session.child_pid, session.child_started = pid, process_started(pid)
            db.session.commit()
        except Exception:
            log.warning("could not record the child process of session %s", session.id, exc_info=True)
            db.session.rollback()
        self._announce(session)

    def finish(self, session_id: str, status: Status, error: str | None, attempt: int | None = None) -> None:
        """Called by the supervisor when the child has exited. ``attempt``: a worker's run, recorded only while the
        worker still holds that attempt (one declared lost and replaced records nothing)."""
        if attempt is not None and not self.holds(session_id, attempt):
            db.session.rollback()
            log.warning("session %s ended %s on a worker that no longer holds it: not recorded", session_id,
                        status.value)
            return
        db.session.commit()
        if status is Status.COMPLETED:
            # Registered before the status turns completed (so whoever sees "completed" finds the version),
            # and outside the lock: hashing a large model's weights takes a while.
            from services.registry import get_registry

            get_registry().register_completed(session_id)
        with self._lock:
            self._supervisors.pop(session_id, None)
            if attempt is not None and not self.holds(session_id, attempt):
                db.session.rollback()
                return
            session = db.session.get(TrainingSession, session_id, populate_existing=True)
            if session is not None:
                if self.shutting_down and status is Status.STOPPED:
                    status, error = Status.INTERRUPTED, ("The server shut down; the session stopped at a "
                                                         "checkpoint. Resume continues from it.")
                self._transition(session, status, error=error)
                session.child_pid = None
                session.child_started = None
                db.session.commit()
                self._announce(session)
                event = "training_complete" if status is Status.COMPLETED else \
                    "training_error" if status is Status.FAILED else None
                if event:
                    safe_emit(event, {"session_id": session_id, "status": status.value, "error": error,
                                      "owner_id": session.owner_id,
                                      "adapter": str(SessionPaths(Path(session.output_dir)).adapter)},
                              to=session_room(session_id))
        self.dispatch()
        if status is Status.COMPLETED:
            from services.projects.validation import validate_in_background

            # A project's run checks its output (no-op otherwise); on a worker in this job, before its process ends.
            validate_in_background(self.app, session_id, wait=attempt is not None)

    def recover_interrupted(self) -> int:
        """Sessions left running by a server instance that is gone become ``interrupted`` (resumable).

        The owner is identified by its boot id and its process start time, never by PID alone. The child's
        PID and start time are kept, so a resume can wait for an orphaned child that is still finishing."""
        with self.app.app_context():
            rows = db.session.execute(select(TrainingSession).where(
                TrainingSession.status.in_([s.value for s in LIVE]))).scalars().all()
            changed = 0
            for session in rows:
                if session.worker and self.remote is not None:
                    continue  # on a worker: its heartbeat tells (services/executors/rq_dispatch.py reconcile)
                if self._owner_alive(session):
                    continue  # run by another live server process (e.g. `flask db upgrade` started beside it)
                self._transition(session, Status.INTERRUPTED,
                                 error="The server stopped while this session ran; resume continues from its "
                                       "latest checkpoint.")
                changed += 1
            db.session.commit()
            return changed

    def _owner_alive(self, session: TrainingSession) -> bool:
        return owner_alive(session, self.boot_id)

    def shutdown(self, timeout: float = 30) -> bool:
        """Kill every child and wait for the supervisors to record it (tests, app teardown)."""
        self.stopped.set()
        for supervisor in list(self._supervisors.values()):
            supervisor.kill()
        return self._wait_for_supervisors(timeout)

    def graceful_shutdown(self, timeout: float | None = None) -> bool:
        """The server is stopping (Ctrl+C, SIGTERM, a gunicorn worker exit): every running child is asked to
        checkpoint and stop, and killed only if it has not within ``timeout`` (the stop timeout by default)."""
        timeout = self.stop_timeout if timeout is None else timeout
        with self._lock:
            self.shutting_down = True
            self.stopped.set()
            supervisors = list(self._supervisors.values())
        if supervisors:
            log.info("stopping %d training session(s) at a checkpoint before exiting", len(supervisors))
        for supervisor in supervisors:
            supervisor.request_stop(timeout)
        return self._wait_for_supervisors(timeout + 15)

    def _wait_for_supervisors(self, timeout: float) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while self._supervisors and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self._supervisors

    # -- helpers --------------------------------------------------------------------------------------------
    def _transition(self, session: TrainingSession, new: Status, error: object = _KEEP) -> None:
        check_transition(Status(session.status), new)
        session.status = new.value
        if new not in ACTIVE:
            session.finished_at = utcnow()
        elif new is Status.QUEUED:
            session.finished_at = None
        if error is not _KEEP:
            session.error = error

    def exists(self, session_id: str) -> bool:
        """Whether a session has this id, whoever owns it (ids are compared case-insensitively: case-insensitive
        file systems share one folder)."""
        return db.session.execute(select(TrainingSession.id).where(
            func.lower(TrainingSession.id) == session_id.lower())).first() is not None

    def _id_taken(self, session_id: str, check_folder: bool = True) -> bool:
        """An existing outputs/<id> (or outputs/u<owner>/<id>) folder is never adopted by a new session."""
        root = Path(self.app.config["OUTPUT_FOLDER"])
        owner = new_owner_id()
        return self.exists(session_id) or (check_folder and (
            (root / session_id).exists() or (owner is not None and (root / f"u{owner}" / session_id).exists())))

    def _check_id_free(self, session_id: str, check_folder: bool = True) -> None:
        if self._id_taken(session_id, check_folder):
            raise ConflictError(f"Session {session_id!r} exists already (or its output folder does); resume it or "
                                "pick another id.")

    def _announce(self, session: TrainingSession) -> None:
        """``owner_id`` lets the emitter send it only to those who may see the session."""
        safe_emit("session_status", {"session_id": session.id, "status": session.status, "name": session.name,
                                     "error": session.error, "owner_id": session.owner_id})

    def _check_model(self, config: TrainingConfig) -> None:
        status, reason = availability(config.model.name, self.app.config["MODEL_CACHE"])
        if status is Availability.UNAVAILABLE:
            raise ServiceError(f"Model {config.model.name!r} is not available: {reason}",
                               details=[{"path": "model.name", "message": reason, "hint": ""}])

    def _resolve_dataset(self, config: TrainingConfig, split: str | None = None, **owner: Any):
        """Another user's stored dataset is a 404 (services/datasets checks it for the caller, or for ``owner=``:
        a queued job resolves as its session's owner, whoever's request dispatched it)."""
        from services.datasets import resolve_for_training

        d = config.dataset
        spec = resolve_for_training(d.source, split or d.split, d.instruction_field, d.response_field, **owner)
        if d.config_name and spec.kind == "hub":
            spec.config_name = d.config_name
        dataset_id = int(d.source.split(":", 1)[1]) if d.source.startswith("dataset:") else None
        return spec, dataset_id

    def _job(self, session: TrainingSession, device: str) -> dict[str, Any]:
        config = parse_config(session.config)
        output_dir = Path(session.output_dir)
        eval_sets_file = None
        if config.dataset.source.startswith("project:"):
            from core.projects.run_data import EVAL_FILE, TRAIN_FILE, mix_spec

            # A project's run: the mix frozen in its own folder when it started. Another session naming the
            # project (a saved config): the project's latest frozen mix.
            mix_dir = output_dir / "mix"
            if not (mix_dir / TRAIN_FILE).is_file():
                mix_dir = Path(self._resolve_dataset(config, owner=session.owner_id)[0].name).parent
            spec, eval_sets_file = mix_spec(mix_dir), str(mix_dir / EVAL_FILE)
        else:
            spec, _ = self._resolve_dataset(config, owner=session.owner_id)
        eval_spec = self._resolve_dataset(config, config.dataset.eval_split, owner=session.owner_id)[0] \
            if config.dataset.eval_split else None
        model_path = config.model.name
        if model_path == DEFAULT_MODEL_ID:
            from core.default_model import is_prepared, prepared_model_dir

            if not is_prepared(self.app.config["MODEL_CACHE"]):
                raise ServiceError("The bundled default model is not prepared yet: run `make run` or "
                                   "`flask --app flask_app prepare-model` once.")
            model_path = str(prepared_model_dir(self.app.config["MODEL_CACHE"]))
        return {"session_id": session.id, "config": session.config, "model_path": model_path,
                "dataset": spec.to_dict(), "eval_dataset": eval_spec.to_dict() if eval_spec else None,
                "eval_sets_file": eval_sets_file,
                "output_dir": str(output_dir), "log_path": str(output_dir / "train.log"),
                "spool_path": str(output_dir / SPOOL_FILE),
                "resume": bool(session.resume_requested), "device": device,
                "num_gpus": config.training.num_gpus,  # > 1: `accelerate launch` (core/training/launch.py)
                "launcher": self.app.config.get("TRAINING_LAUNCHER") or "auto",
                # Bytes of address space the child may use (core/training/failures.py), None: unlimited.
                "memory_limit": self.app.config.get("TRAINING_MEMORY_LIMIT")}

    def _child_env(self, session: TrainingSession) -> dict[str, str | None]:
        """The owner's tracker secrets for the trackers this run reports to: handed to the child process beside
        the job dict, never inside it (the job, the stored config and the logs hold no secret)."""
        from services.auth.secrets import secrets_for_run

        report_to = (session.config or {}).get("training", {}).get("report_to") or []
        return secrets_for_run(session.owner_id, report_to)

    # -- session management (wizard / Sessions page) -------------------------------------------------------
    def rename(self, session_id: str, name: Any) -> TrainingSession:
        """A new display name; the stored config's ``name`` follows so a duplicate carries it."""
        text = name.strip() if isinstance(name, str) else ""
        if not 1 <= len(text) <= 200:
            raise ServiceError("A session name needs 1 to 200 characters.",
                               details=[{"path": "name", "message": "1 to 200 characters", "hint": ""}])
        with self._lock:
            session = self.get(session_id)
            session.name = text
            session.config = {**(session.config or {}), "name": text}
            db.session.commit()
            self._announce(session)
            return session

    def set_priority(self, session_id: str, priority: Any) -> TrainingSession:
        """Change a queued session's priority (low / normal / high); a running one has its slot already."""
        if not isinstance(priority, str) or priority not in PRIORITIES:
            raise ServiceError(f"priority must be one of {', '.join(PRIORITIES)}.",
                               details=[{"path": "priority", "message": "unknown priority",
                                         "hint": f"Use one of: {', '.join(PRIORITIES)}."}])
        with self._lock:
            session = self.get(session_id)
            if Status(session.status) is not Status.QUEUED:
                raise ConflictError(f"Session {session_id} is {session.status}; only a queued session's priority "
                                    "can change.")
            session.priority = PRIORITIES[priority]
            db.session.commit()
            self._announce(session)
        self.dispatch()
        return session

    def queue(self, everyone: bool = False) -> list[dict[str, Any]]:
        """The caller's queued sessions (``everyone``: an admin's view) in the order dispatch takes them, each
        with its place in the whole queue and why it waits."""
        names = {v: k for k, v in PRIORITIES.items()}
        waiting = self.waiting()
        query = owned(select(TrainingSession), TrainingSession, admin_ok=everyone) \
            .where(TrainingSession.status == Status.QUEUED.value)
        rows = sorted(db.session.execute(query).scalars(), key=lambda s: waiting.get(s.id, {}).get("position", 0))
        return [{"session_id": s.id, "owner_id": s.owner_id, "position": waiting[s.id]["position"],
                 "priority": names.get(s.priority, str(s.priority)), "reason": waiting[s.id]["reason"],
                 "waiting_reason": waiting[s.id]["reason"]} for s in rows if s.id in waiting]

    def local_gpus(self) -> int:
        """GPUs this server's sessions may use: its distinct cuda device slots (the TRAINING_DEVICES setting, else
        every GPU found by :func:`device_slots`)."""
        return len({slot for slot in self._slots if slot.startswith("cuda")})

    def _check_gpus(self, config: TrainingConfig) -> None:
        """With local children a run needs its GPUs on this machine (and DeepSpeed installed here). With workers (the
        rq executor) the web server routes it to a worker that has them (services/executors/rq_dispatch.py), so
        nothing is checked here."""
        if self.remote is not None:
            return
        t = config.training
        gpus = self.local_gpus()
        if t.num_gpus > 1 and t.num_gpus > gpus:  # one "GPU" runs on whatever device there is, the CPU too
            have = f"{gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "no GPU"
            message = f"num_gpus is {t.num_gpus} but this server has {have}."
            raise ServiceError(f"The run asks for more GPUs than this server has: {message}", details=[{
                "path": "training.num_gpus", "message": message,
                "hint": f"Set training.num_gpus to {max(gpus, 1)} or less, or run it on a training worker with "
                        f"{t.num_gpus} GPUs (TUNEWRIGHT_EXECUTOR=rq)."}])
        if t.deepspeed != "none":
            import importlib.util

            if importlib.util.find_spec("deepspeed") is None:
                raise ServiceError("DeepSpeed is not installed on this server.", details=[{
                    "path": "training.deepspeed", "message": "deepspeed is not installed on this server",
                    "hint": "Set deepspeed to 'none' (plain DDP), or pip install deepspeed on the server."}])

    # -- training methods (issue 11) --------------------------------------------------------------------------
    def _check_method(self, config: TrainingConfig) -> None:
        """Refuse a method this server cannot run (Unsloth without a GPU) with the reason, before queueing."""
        from core.methods import get_method

        reason = get_method(config.method).unavailable_reason()
        if reason:
            raise ServiceError(f"The {config.method} method is not available on this server: {reason}",
                               details=[{"path": "method", "message": reason,
                                         "hint": "Choose another method (QLoRA and Standard run everywhere)."}])


def current_viewer() -> int | None:
    from services.auth.current import current_owner_id

    return current_owner_id()


def _reason(place: Waiting, free: int, busy: int, capacity: int, limit: int, owner_running: int, mine: bool) -> str:
    """Why a queued session waits, in the words the queue view shows."""
    at = f"position {place.position} in queue"
    if place.blocked == "running":
        who = "you already have" if mine else "its owner already has"
        return f"waiting: {who} {owner_running} running job(s) (limit {limit} per user); {at}"
    if place.blocked == "queued":
        whose = "your" if mine else "its owner's"
        return f"waiting: {whose} earlier queued job(s) start first (limit {limit} per user); {at}"
    if place.position <= free:
        return f"next to start; {at}"
    ahead = f", {place.position - 1} queued session(s) go first" if place.position > 1 else ""
    return f"waiting for a free device ({busy} of {capacity} running); {at}{ahead}"
