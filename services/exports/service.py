"""The export service: the only code that creates, runs, cancels, finishes and deletes exports, and the only
code that writes an export's status (through :meth:`ExportService._transition`)."""
from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from multiprocessing import connection as mp_connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.export import EXPORTERS, QUANTIZATIONS
from extensions import db
from services.archive import stream_tar_gz
from services.auth.folders import owner_folder
from services.auth.scope import owned, visible_owner
from services.auth.current import acting_as
from services.auth.principal import LOCAL
from services.errors import ConflictError, NotFoundError, ServiceError
from services.exports.status import ACTIVE, RETRYABLE, ExportStatus, check_transition
from services.models.base import utcnow
from services.models.exports import ExportJob
from services.session_models import ollama_base, session_settings, session_source
from services.storage import UnsafePathError, resolve_inside
from services.training.liveness import owner_alive, process_started
from services.auth import audit
from websockets.emit import safe_emit

if TYPE_CHECKING:
    from flask import Flask

    from services.exports.supervisor import ExportSupervisor

log = logging.getLogger(__name__)

EXPORT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
LOG_FILE = "export.log"
_KEEP = object()  # "leave the error as it is" in _transition
INTERRUPTED_AT_START = "The server stopped while this export ran; nothing of it was kept. Retry runs it again."
INTERRUPTED_AT_SHUTDOWN = "The server shut down during this export; nothing of it was kept. Retry runs it again."


def export_summary(job: ExportJob) -> dict[str, Any]:
    manifest = job.manifest or {}
    return {"id": job.id, "session_id": job.session_id, "owner_id": job.owner_id, "format": job.format,
            "quantization": job.quantization,
            "checkpoint": job.checkpoint, "status": job.status, "stage": job.stage, "progress": job.progress,
            "message": job.message, "error": job.error, "size": manifest.get("size"),
            "verification": (manifest.get("verification") or {}).get("status"),
            # Two separate results (core/export/verify.py): the file answers like its model; the model stops.
            "fidelity": ((manifest.get("verification") or {}).get("fidelity") or {}).get("status"),
            "behaviour": ((manifest.get("verification") or {}).get("behaviour") or {}).get("summary"),
            "quantization_applied": manifest.get("quantization_applied"),
            "files": [f["name"] for f in manifest.get("files", [])],
            "created_at": job.created_at.isoformat() if job.created_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def export_detail(job: ExportJob) -> dict[str, Any]:
    return {**export_summary(job), "manifest": job.manifest}


class ExportService:
    def __init__(self, app: "Flask"):
        self.app = app
        self._lock = threading.RLock()
        self._running: dict[str, "ExportSupervisor"] = {}
        self.capacity = int(app.config.get("MAX_CONCURRENT_EXPORTS") or 1)
        self._last_stored: dict[str, float] = {}
        # This server instance: exports it runs carry this id (see recover_interrupted).
        self.boot_id = uuid.uuid4().hex
        self.server_started = process_started(os.getpid())
        self.shutting_down = False

    # -- queries --------------------------------------------------------------------------------------------
    def get(self, export_id: str, *, admin_ok: bool = False) -> ExportJob:
        """The caller's export (an admin's reads and cancels pass ``admin_ok``); another user's is a 404."""
        job = db.session.get(ExportJob, export_id) if EXPORT_ID.match(export_id or "") else None
        if job is None or not visible_owner(job.owner_id, admin_ok=admin_ok):
            raise NotFoundError(f"No export {export_id!r}.")
        return job

    def list(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """The caller's exports (admins too), newest first."""
        query = owned(select(ExportJob), ExportJob).order_by(ExportJob.created_at.desc())
        if session_id:
            query = query.where(ExportJob.session_id == session_id)
        return [export_summary(j) for j in db.session.execute(query).scalars()]

    # -- commands -------------------------------------------------------------------------------------------
    def create(self, session_id: str, format: str, quantization: str | None = None,
               checkpoint: str | None = None) -> ExportJob:
        from services.training import get_training_service

        if format not in EXPORTERS:
            raise ServiceError(f"format must be one of {', '.join(EXPORTERS)}.",
                               details=[{"path": "format", "message": f"unknown format {format!r}",
                                         "hint": f"Choose {', '.join(EXPORTERS)}."}])
        if format == "gguf":
            quantization = (quantization or "Q4_K_M").upper()
            if quantization not in QUANTIZATIONS:
                raise ServiceError(f"quantization must be one of {', '.join(QUANTIZATIONS)}.",
                                   details=[{"path": "quantization", "message": f"unknown quantization {quantization!r}",
                                             "hint": "Q4_K_M is a good default for a CPU or a small GPU."}])
        else:
            quantization = None
        session = get_training_service().get(session_id)  # another user's session is a 404, admins included
        source = session_source(session, self.app.config["MODEL_CACHE"], checkpoint)
        if format == "adapter" and source.kind != "adapter":
            raise ServiceError("This session trained all weights: there is no LoRA adapter; export merged or GGUF.",
                               details=[{"path": "format", "message": "no adapter", "hint": "Pick merged or gguf."}])
        export_id = uuid.uuid4().hex[:12]
        export_dir = resolve_inside(owner_folder(self.app.config["EXPORT_FOLDER"], session.owner_id), session.id,
                                    export_id)
        job = ExportJob(id=export_id, session_id=session.id, owner_id=session.owner_id, format=format,
                        quantization=quantization,
                        checkpoint=checkpoint, status=ExportStatus.QUEUED.value, progress=0.0,
                        export_dir=str(export_dir))
        db.session.add(job)
        audit.record("export.created", target=f"export:{export_id}",
                     detail={"session_id": session.id, "format": format}, commit=False)
        db.session.commit()
        self._announce(job)
        self.dispatch()
        return job

    def cancel(self, export_id: str) -> ExportJob:
        """Cancel a queued or running export: the owner's, or any for an admin."""
        with self._lock:
            job = self.get(export_id, admin_ok=True)
            status = ExportStatus(job.status)
            supervisor = self._running.get(export_id)
            if status is ExportStatus.RUNNING and supervisor is not None:
                supervisor.cancel()  # the supervisor records it as cancelled
            elif status in ACTIVE:  # queued, or running under a server that is gone: end its child, record here
                self._end_orphan(job, ExportStatus.CANCELLED, error=None)
                db.session.commit()
                self._announce(job)
            else:
                raise ConflictError(f"Export {export_id} is {status.value}; only queued or running exports cancel.")
            return job

    def retry(self, export_id: str) -> ExportJob:
        """Queue a failed, cancelled or interrupted export again, with the same settings."""
        with self._lock:
            job = self.get(export_id)
            if ExportStatus(job.status) not in RETRYABLE:
                raise ConflictError(f"Export {export_id} is {job.status}; only "
                                    f"{', '.join(s.value for s in RETRYABLE)} exports run again.")
            self._transition(job, ExportStatus.QUEUED, error=None)
            job.stage, job.progress, job.message, job.manifest = None, 0.0, None, None
            job.started_at = job.finished_at = None
            db.session.commit()
            self._announce(job)
        self.dispatch()
        return job

    def delete(self, export_id: str) -> None:
        with self._lock:
            job = self.get(export_id)
            if ExportStatus(job.status) in ACTIVE:
                raise ConflictError(f"Export {export_id} is {job.status}: cancel it before deleting it.")
            folder = self._folder(job)
            owner = job.owner_id
            from services.registry import get_registry

            get_registry().forget(export_id=export_id)  # versions registered from it (409 while deployed)
            db.session.delete(job)
            db.session.commit()
        shutil.rmtree(folder, ignore_errors=True)
        audit.record("export.deleted", target=f"export:{export_id}", detail={"owner_id": owner})
        safe_emit("export_deleted", {"export_id": export_id, "owner_id": owner})

    def drop_session(self, session_id: str, timeout: float = 30, owner_id: int | None = None) -> int:
        """Before a session is deleted: end its queued and running exports (their children and converters
        included), delete their rows and its whole ``exports/[u<owner>/]<session>/`` folder. Returns the rows
        removed. The caller has checked the session is the caller's to delete."""
        with self._lock:
            jobs = db.session.execute(select(ExportJob).where(ExportJob.session_id == session_id)).scalars().all()
            waiting = []
            for job in jobs:
                supervisor = self._running.get(job.id)
                if supervisor is not None:
                    supervisor.cancel()
                    waiting.append(supervisor)
                elif ExportStatus(job.status) in ACTIVE:
                    self._end_orphan(job, ExportStatus.CANCELLED, error=None)
            db.session.commit()
        # No child may still write into the folder removed below. Their sentinels say when they are gone (the
        # supervisors reap them: waiting here must not).
        sentinels = [s.process.sentinel for s in waiting if s.process is not None]
        if sentinels:
            deadline = time.monotonic() + timeout
            while sentinels and time.monotonic() < deadline:
                ready = mp_connection.wait(sentinels, timeout=max(0.0, deadline - time.monotonic()))
                sentinels = [s for s in sentinels if s not in ready]
        with self._lock:
            jobs = db.session.execute(select(ExportJob).where(ExportJob.session_id == session_id)).scalars().all()
            top = Path(self.app.config["EXPORT_FOLDER"]).resolve()
            folders = {self._folder(job).parent for job in jobs} - {top}  # <session>/ folders, never exports/ itself
            gone = [(job.id, job.owner_id) for job in jobs]
            for job in jobs:
                db.session.delete(job)
            db.session.commit()
        root = self.app.config["EXPORT_FOLDER"]
        folders |= {resolve_inside(root, session_id)}
        if owner_id is not None:
            folders.add(resolve_inside(owner_folder(root, owner_id), session_id))
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        for export_id, owner in gone:
            safe_emit("export_deleted", {"export_id": export_id, "owner_id": owner})
        return len(jobs)

    # -- queue ----------------------------------------------------------------------------------------------
    def dispatch(self) -> None:
        from services.exports.supervisor import ExportSupervisor

        with self._lock, acting_as(LOCAL):  # the request that triggered it may be another user's
            if self.shutting_down:
                return
            while len(self._running) < self.capacity:
                job = db.session.execute(select(ExportJob).where(ExportJob.status == ExportStatus.QUEUED.value)
                                         .order_by(ExportJob.created_at).limit(1)).scalar_one_or_none()
                if job is None:
                    return
                try:
                    spec = self._job(job)
                except ServiceError as exc:  # e.g. the session was deleted or its weights went away
                    self._transition(job, ExportStatus.FAILED, error=exc.message)
                    db.session.commit()
                    self._announce(job)
                    continue
                supervisor = ExportSupervisor(job.id, spec, self._on_progress, self._on_exit)
                self._transition(job, ExportStatus.RUNNING)
                job.started_at = utcnow()
                job.server_pid, job.server_boot_id = os.getpid(), self.boot_id
                job.server_started = self.server_started
                db.session.commit()
                self._running[job.id] = supervisor
                job.child_pid = supervisor.start()
                job.child_started = process_started(job.child_pid)
                db.session.commit()
                self._announce(job)

    def _on_progress(self, export_id: str, event: dict) -> None:
        payload = {"export_id": export_id, "stage": event.get("stage"), "progress": event.get("fraction"),
                   "message": event.get("message")}
        now = time.monotonic()
        if now - self._last_stored.get(export_id, 0) >= 0.5 or event.get("stage") in ("verify", "checksum"):
            self._last_stored[export_id] = now
            with self.app.app_context():
                job = db.session.get(ExportJob, export_id)
                if job is not None:
                    job.stage, job.progress, job.message = payload["stage"], payload["progress"] or 0, payload["message"]
                    db.session.commit()
                    payload["session_id"], payload["owner_id"] = job.session_id, job.owner_id
        safe_emit("export_progress", payload)

    def _on_exit(self, export_id: str, status: ExportStatus, manifest: dict | None, error: str | None) -> None:
        with self.app.app_context():
            with self._lock:
                try:
                    self._record_exit(export_id, status, manifest, error)
                except Exception:  # the row stays running under this boot id: the next start interrupts it
                    log.exception("could not record the end of export %s (%s)", export_id, status.value)
                    db.session.rollback()
                finally:  # only now: shutdown waits until the end is recorded, not just seen
                    self._running.pop(export_id, None)
                    self._last_stored.pop(export_id, None)
            self.dispatch()

    def _record_exit(self, export_id: str, status: ExportStatus, manifest: dict | None, error: str | None) -> None:
        job = db.session.get(ExportJob, export_id)
        if job is not None and ExportStatus(job.status) is ExportStatus.RUNNING:
            if self.shutting_down and status is ExportStatus.CANCELLED:
                status, error = ExportStatus.INTERRUPTED, INTERRUPTED_AT_SHUTDOWN
            self._transition(job, status, error=error)
            job.child_pid = job.child_started = None
            if status is ExportStatus.COMPLETED:
                job.manifest, job.progress, job.stage = manifest, 1.0, "done"
            else:
                shutil.rmtree(job.export_dir, ignore_errors=True)  # no half-written files left behind
            db.session.commit()
            self._announce(job)
            if status is ExportStatus.COMPLETED:
                safe_emit("export_complete", export_detail(job))
            elif status is ExportStatus.FAILED:
                safe_emit("export_error", {"export_id": export_id, "session_id": job.session_id,
                                           "owner_id": job.owner_id, "error": error})

    def recover_interrupted(self) -> int:
        """At start-up: exports left running by a server instance that is gone become ``interrupted``
        (deletable, re-runnable); a child of theirs still running is killed with its converter first.
        Queued exports stay queued: :meth:`dispatch` starts them once the server runs."""
        with self.app.app_context(), self._lock:
            rows = db.session.execute(select(ExportJob).where(
                ExportJob.status == ExportStatus.RUNNING.value)).scalars().all()
            changed = 0
            for job in rows:
                if job.id in self._running or owner_alive(job, self.boot_id):
                    continue  # run by another live server process (e.g. `flask db upgrade` started beside it)
                self._end_orphan(job, ExportStatus.INTERRUPTED, error=INTERRUPTED_AT_START)
                changed += 1
            db.session.commit()
            return changed

    def _end_orphan(self, job: ExportJob, status: ExportStatus, error: object = _KEEP) -> None:
        """Record the end of an export that no supervisor of this server watches (queued, or its server is
        gone): kill its child group if it still runs, and remove the half-written folder."""
        from services.exports.supervisor import kill_process_group

        if job.child_pid and job.child_started is not None:
            kill_process_group(job.child_pid, job.child_started)
        self._transition(job, status, error=error)
        job.child_pid = job.child_started = None
        if ExportStatus(job.status) is not ExportStatus.COMPLETED:
            shutil.rmtree(job.export_dir, ignore_errors=True)

    def shutdown(self, timeout: float = 30) -> bool:
        """Kill every export child (and its converter) and wait for the supervisors to record it (tests)."""
        for supervisor in list(self._running.values()):
            supervisor.cancel()
        return self._wait_for_supervisors(timeout)

    def graceful_shutdown(self, timeout: float = 30) -> bool:
        """The server is stopping: an export has no checkpoint to keep, so each running one is abandoned at
        once (its process group killed, recorded ``interrupted``) rather than keeping the server's exit waiting
        on a non-daemon child; queued ones stay queued for the next start."""
        with self._lock:
            self.shutting_down = True
            supervisors = list(self._running.values())
        if supervisors:
            log.info("abandoning %d running export(s) before exiting", len(supervisors))
        for supervisor in supervisors:
            supervisor.cancel()
        return self._wait_for_supervisors(timeout)

    def _wait_for_supervisors(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._running and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self._running

    # -- downloads ------------------------------------------------------------------------------------------
    def file_path(self, export_id: str, name: str, session_id: str | None = None) -> Path:
        """One file of a completed export. Anything that is not one of its manifest's files is a 404, whether
        it is ``..``, an absolute path, or a path into another session's folder."""
        job = self._completed(export_id, session_id)
        names = {f["name"] for f in (job.manifest or {}).get("files", [])} | {"manifest.json"}
        try:
            path = resolve_inside(job.export_dir, name)
        except UnsafePathError:
            raise NotFoundError(f"No file {name!r} in export {export_id}.") from None
        if name not in names or not path.is_file():
            raise NotFoundError(f"No file {name!r} in export {export_id}.")
        return path

    def archive(self, export_id: str, session_id: str | None = None) -> tuple[str, Iterator[bytes]]:
        """A streamed ``.tar.gz`` of the export (manifest first, then its manifest's files). Nothing runs
        until the response is read, and an export deleted meanwhile ends the stream with an error."""
        job = self._completed(export_id, session_id)
        root = self._folder(job)
        names = ["manifest.json"] + [f["name"] for f in job.manifest.get("files", [])]
        prefix = f"{job.session_id}-{job.id}"
        audit.record("export.downloaded", target=f"export:{job.id}")  # weights leaving the studio
        return f"{prefix}.tar.gz", stream_tar_gz(root, prefix, names)

    # -- helpers --------------------------------------------------------------------------------------------
    def _folder(self, job: ExportJob) -> Path:
        """The export's folder: where its row says (``exports/u<owner>/<session>/<id>``, or before accounts
        ``exports/<session>/<id>``), refused unless it lies inside the exports folder."""
        root = Path(self.app.config["EXPORT_FOLDER"]).resolve()
        stored = Path(job.export_dir).resolve()
        if stored.name == job.id and root in stored.parents:
            return resolve_inside(root, stored.relative_to(root).as_posix())
        return resolve_inside(root, job.session_id, job.id)

    def _completed(self, export_id: str, session_id: str | None) -> ExportJob:
        job = self.get(export_id)
        if session_id is not None and session_id != job.session_id:
            raise NotFoundError(f"No export {export_id!r} in session {session_id!r}.")
        if job.status != ExportStatus.COMPLETED.value or not job.manifest:
            raise NotFoundError(f"Export {export_id} is {job.status}: nothing to download yet.")
        return job

    def _transition(self, job: ExportJob, new: ExportStatus, error: object = _KEEP) -> None:
        check_transition(ExportStatus(job.status), new)
        job.status = new.value
        if new not in ACTIVE:
            job.finished_at = utcnow()
        if error is not _KEEP:
            job.error = error

    def _announce(self, job: ExportJob) -> None:
        safe_emit("export_status", export_summary(job))

    def _job(self, job: ExportJob) -> dict[str, Any]:
        from services.training import get_training_service

        session = get_training_service().find(job.session_id)
        if session is None:
            raise NotFoundError(f"No training session {job.session_id!r}.")
        source = session_source(session, self.app.config["MODEL_CACHE"], job.checkpoint)
        settings = session_settings(session)
        model_name = session.config["model"]["name"]
        return {"export_id": job.id, "session_id": session.id, "format": job.format,
                "quantization": job.quantization, "checkpoint": job.checkpoint, "output_dir": session.output_dir,
                "base_model": source.base_model, "base_model_name": model_name,
                "ollama_base": ollama_base(model_name, self.app.config.get("OLLAMA_TAGS_SETTING")),
                "export_dir": job.export_dir, "log_path": str(Path(job.export_dir).parent / f"{job.id}.log"),
                "name": session.name or session.id, "system_prompt": settings["system_prompt"],
                "temperature": settings["temperature"], "top_p": settings["top_p"],
                "num_ctx": settings["num_ctx"], "verify": bool(self.app.config.get("EXPORT_VERIFY", True)),
                "verify_max_tokens": int(self.app.config.get("EXPORT_VERIFY_MAX_TOKENS", 48))}
