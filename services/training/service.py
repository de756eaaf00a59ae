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

from sqlalchemy import select

from core.default_model import DEFAULT_MODEL_ID
from core.model_registry import Availability, availability
from core.training.runner import SessionPaths, checkpoint_history, resume_state
from core.training_config import ConfigValidationError, TrainingConfig, parse_config
from extensions import db
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.base import utcnow
from services.models.training import TrainingSession
from services.storage import resolve_inside
from services.training import records
from services.training.rollout_engine import check_rollout_engine
from services.training.status import ACTIVE, LIVE, RESUMABLE, Status, check_transition
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


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def device_slots() -> list[str]:
    """One slot per GPU (CUDA_VISIBLE_DEVICES index), or the CPU."""
    try:
        from services.system_monitor import read_gpus

        gpus = read_gpus()
    except Exception:
        gpus = []
    return [f"cuda:{g['index']}" for g in gpus] or ["cpu"]


class TrainingService:
    def __init__(self, app: "Flask"):
        self.app = app
        self._lock = threading.RLock()
        self._supervisors: dict[str, "Supervisor"] = {}
        self._slots = app.config.get("TRAINING_DEVICES") or device_slots()
        self.capacity = int(app.config.get("MAX_CONCURRENT_TRAININGS") or len(self._slots))
        self.stop_timeout = float(app.config.get("TRAINING_STOP_TIMEOUT", 300))

    # -- queries --------------------------------------------------------------------------------------------
    def get(self, session_id: str) -> TrainingSession:
        session = db.session.get(TrainingSession, session_id) if SESSION_ID.match(session_id or "") else None
        if session is None:
            raise NotFoundError(f"No training session {session_id!r}.")
        return session

    def list_sessions(self) -> list[dict[str, Any]]:
        rows = db.session.execute(select(TrainingSession).order_by(TrainingSession.created_at.desc())).scalars()
        return [records.session_summary(s) for s in rows]

    def sessions_using_dataset(self, dataset_id: int) -> list[str]:
        rows = db.session.execute(select(TrainingSession).where(
            TrainingSession.dataset_id == dataset_id,
            TrainingSession.status.in_([s.value for s in ACTIVE]))).scalars()
        return [f"session {s.id} ({s.status})" for s in rows]

    # -- commands -------------------------------------------------------------------------------------------
    def create(self, raw_config: Any, session_id: str | None = None, priority: str = "normal",
               owner: str | None = None) -> TrainingSession:
        try:
            config = parse_config(raw_config if raw_config is not None else {})
        except ConfigValidationError as exc:
            raise ServiceError("The training config is not valid.", details=exc.errors) from None
        if priority not in PRIORITIES:
            raise ServiceError(f"priority must be one of {', '.join(PRIORITIES)}.",
                               details=[{"path": "priority", "message": "unknown priority", "hint": ""}])
        if session_id is not None:
            if not SESSION_ID.match(str(session_id)):
                raise ServiceError("session_id may hold letters, digits, '-' and '_' only (at most 32).")
            if db.session.get(TrainingSession, session_id) is not None:
                raise ConflictError(f"Session {session_id!r} exists already; resume it or pick another id.")
        self._check_model(config)
        check_rollout_engine(config)
        dataset_id = self._resolve_dataset(config)[1]
        session_id = session_id or uuid.uuid4().hex[:12]
        output_dir = resolve_inside(self.app.config["OUTPUT_FOLDER"], session_id)
        session = TrainingSession(id=session_id, name=config.name, config=config.model_dump(mode="json"),
                                  status=Status.QUEUED.value, priority=PRIORITIES[priority], owner=owner,
                                  dataset_id=dataset_id, output_dir=str(output_dir), last_logs=[])
        db.session.add(session)
        db.session.commit()
        self._announce(session)
        self.dispatch()
        return session

    def stop(self, session_id: str) -> TrainingSession:
        with self._lock:
            session = self.get(session_id)
            status = Status(session.status)
            if status is Status.QUEUED:
                self._transition(session, Status.STOPPED, error=None)
            elif status is Status.RUNNING:
                self._transition(session, Status.STOPPING)
                supervisor = self._supervisors.get(session_id)
                if supervisor is not None:
                    supervisor.request_stop(self.stop_timeout)
            elif status is not Status.STOPPING:
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
            output = Path(session.output_dir)
            records.replay_spool(session, output / SPOOL_FILE)
            phase, step = resume_state(SessionPaths(output))
            # Steps a dying server never stored are in the checkpoint's own log history.
            history, offset = checkpoint_history(SessionPaths(output), phase)
            for entry in history:
                values = {k: v for k, v in entry.items() if k != "step"}
                records.upsert_metric(session.id, phase, entry["step"], offset + entry["step"], values)
            records.drop_rows_after(session.id, phase, step)
            if phase == "sft":
                records.drop_rows_after(session.id, "grpo", 0)
            self._transition(session, Status.QUEUED, error=None)
            session.resume_requested = True
            db.session.commit()
            self._announce(session)
        self.dispatch()
        return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            session = self.get(session_id)
            if Status(session.status) in ACTIVE:
                raise ConflictError(f"Session {session_id} is {session.status}: stop it before deleting it.")
            folder = resolve_inside(self.app.config["OUTPUT_FOLDER"], session.id)
            db.session.delete(session)
            db.session.commit()
        shutil.rmtree(folder, ignore_errors=True)
        safe_emit("session_deleted", {"session_id": session_id})

    # -- queue ----------------------------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Start queued sessions (priority, then age) while a device slot is free."""
        from services.training.supervisor import Supervisor

        with self._lock:
            while len(self._supervisors) < self.capacity:
                session = db.session.execute(
                    select(TrainingSession).where(TrainingSession.status == Status.QUEUED.value)
                    .order_by(TrainingSession.priority.desc(), TrainingSession.created_at).limit(1)
                ).scalar_one_or_none()
                if session is None:
                    return
                busy = {s.device for s in self._supervisors.values()}
                device = next(slot for slot in self._slots if slot not in busy) if len(busy) < len(self._slots) \
                    else self._slots[0]
                try:
                    job = self._job(session, device)
                except ServiceError as exc:  # e.g. the dataset was deleted while the session waited
                    self._transition(session, Status.FAILED, error=exc.message)
                    db.session.commit()
                    self._announce(session)
                    continue
                supervisor = Supervisor(self.app, self, session.id, job, device)
                self._transition(session, Status.RUNNING)
                session.started_at = session.started_at or utcnow()
                session.server_pid = os.getpid()
                session.device = device
                db.session.commit()
                self._supervisors[session.id] = supervisor
                session.child_pid = supervisor.start()
                db.session.commit()
                self._announce(session)

    def finish(self, session_id: str, status: Status, error: str | None) -> None:
        """Called by the supervisor when the child has exited."""
        with self._lock:
            self._supervisors.pop(session_id, None)
            session = db.session.get(TrainingSession, session_id)
            if session is not None:
                self._transition(session, status, error=error)
                session.child_pid = None
                db.session.commit()
                self._announce(session)
                event = "training_complete" if status is Status.COMPLETED else \
                    "training_error" if status is Status.FAILED else None
                if event:
                    safe_emit(event, {"session_id": session_id, "status": status.value, "error": error,
                                      "adapter": str(SessionPaths(Path(session.output_dir)).adapter)},
                              to=session_room(session_id))
        self.dispatch()

    def recover_interrupted(self) -> int:
        """Sessions left running by a server that is gone become ``interrupted`` (resumable)."""
        with self.app.app_context():
            rows = db.session.execute(select(TrainingSession).where(
                TrainingSession.status.in_([s.value for s in LIVE]))).scalars().all()
            changed = 0
            for session in rows:
                if _pid_alive(session.server_pid):
                    continue  # still owned by a live server process (e.g. `flask db upgrade` beside it)
                self._transition(session, Status.INTERRUPTED,
                                 error="The server stopped while this session ran; resume continues from its "
                                       "latest checkpoint.")
                session.child_pid = None
                changed += 1
            db.session.commit()
            return changed

    def shutdown(self, timeout: float = 30) -> bool:
        """Kill every child and wait for the supervisors to record it (tests, app teardown)."""
        import time

        for supervisor in list(self._supervisors.values()):
            supervisor.kill()
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

    def _announce(self, session: TrainingSession) -> None:
        safe_emit("session_status", {"session_id": session.id, "status": session.status, "name": session.name,
                                     "error": session.error})

    def _check_model(self, config: TrainingConfig) -> None:
        status, reason = availability(config.model.name, self.app.config["MODEL_CACHE"])
        if status is Availability.UNAVAILABLE:
            raise ServiceError(f"Model {config.model.name!r} is not available: {reason}",
                               details=[{"path": "model.name", "message": reason, "hint": ""}])

    def _resolve_dataset(self, config: TrainingConfig, split: str | None = None):
        from services.datasets import resolve_for_training

        d = config.dataset
        spec = resolve_for_training(d.source, split or d.split, d.instruction_field, d.response_field)
        if d.config_name and spec.kind == "hub":
            spec.config_name = d.config_name
        dataset_id = int(d.source.split(":", 1)[1]) if d.source.startswith("dataset:") else None
        return spec, dataset_id

    def _job(self, session: TrainingSession, device: str) -> dict[str, Any]:
        config = parse_config(session.config)
        spec, _ = self._resolve_dataset(config)
        eval_spec = self._resolve_dataset(config, config.dataset.eval_split)[0] if config.dataset.eval_split \
            else None
        model_path = config.model.name
        if model_path == DEFAULT_MODEL_ID:
            from core.default_model import is_prepared, prepared_model_dir

            if not is_prepared(self.app.config["MODEL_CACHE"]):
                raise ServiceError("The bundled default model is not prepared yet: run `make run` or "
                                   "`flask --app flask_app prepare-model` once.")
            model_path = str(prepared_model_dir(self.app.config["MODEL_CACHE"]))
        output_dir = Path(session.output_dir)
        return {"session_id": session.id, "config": session.config, "model_path": model_path,
                "dataset": spec.to_dict(), "eval_dataset": eval_spec.to_dict() if eval_spec else None,
                "output_dir": str(output_dir), "log_path": str(output_dir / "train.log"),
                "spool_path": str(output_dir / SPOOL_FILE),
                "resume": bool(session.resume_requested), "device": device}
