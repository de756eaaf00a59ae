"""The export service: the only code that creates, runs, cancels, finishes and deletes exports, and the only
code that writes an export's status (through :meth:`ExportService._transition`)."""
from __future__ import annotations

import os
import re
import shutil
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.export import EXPORTERS, QUANTIZATIONS
from extensions import db
from services.errors import NotFoundError, ServiceError
from services.exports.status import ACTIVE, ExportStatus, check_transition
from services.models.base import utcnow
from services.models.exports import ExportJob
from services.session_models import ollama_base, session_settings, session_source
from services.storage import UnsafePathError, resolve_inside
from websockets.emit import safe_emit

if TYPE_CHECKING:
    from flask import Flask

    from services.exports.supervisor import ExportSupervisor

EXPORT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
LOG_FILE = "export.log"


def export_summary(job: ExportJob) -> dict[str, Any]:
    manifest = job.manifest or {}
    return {"id": job.id, "session_id": job.session_id, "format": job.format, "quantization": job.quantization,
            "checkpoint": job.checkpoint, "status": job.status, "stage": job.stage, "progress": job.progress,
            "message": job.message, "error": job.error, "size": manifest.get("size"),
            "verification": (manifest.get("verification") or {}).get("status"),
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

    # -- queries --------------------------------------------------------------------------------------------
    def get(self, export_id: str) -> ExportJob:
        job = db.session.get(ExportJob, export_id) if EXPORT_ID.match(export_id or "") else None
        if job is None:
            raise NotFoundError(f"No export {export_id!r}.")
        return job

    def list(self, session_id: str | None = None) -> list[dict[str, Any]]:
        query = select(ExportJob).order_by(ExportJob.created_at.desc())
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
        session = get_training_service().get(session_id)
        source = session_source(session, self.app.config["MODEL_CACHE"], checkpoint)
        if format == "adapter" and source.kind != "adapter":
            raise ServiceError("This session trained all weights: there is no LoRA adapter; export merged or GGUF.",
                               details=[{"path": "format", "message": "no adapter", "hint": "Pick merged or gguf."}])
        export_id = uuid.uuid4().hex[:12]
        export_dir = resolve_inside(self.app.config["EXPORT_FOLDER"], session.id, export_id)
        job = ExportJob(id=export_id, session_id=session.id, format=format, quantization=quantization,
                        checkpoint=checkpoint, status=ExportStatus.QUEUED.value, progress=0.0,
                        export_dir=str(export_dir))
        db.session.add(job)
        db.session.commit()
        self._announce(job)
        self.dispatch()
        return job

    def cancel(self, export_id: str) -> ExportJob:
        with self._lock:
            job = self.get(export_id)
            status = ExportStatus(job.status)
            if status is ExportStatus.QUEUED:
                self._transition(job, ExportStatus.CANCELLED, error=None)
                db.session.commit()
                self._announce(job)
            elif status is ExportStatus.RUNNING and export_id in self._running:
                self._running[export_id].cancel()  # the supervisor records it as cancelled
            elif status not in ACTIVE:
                from services.errors import ConflictError

                raise ConflictError(f"Export {export_id} is {status.value}; only queued or running exports cancel.")
            return job

    def delete(self, export_id: str) -> None:
        from services.errors import ConflictError

        with self._lock:
            job = self.get(export_id)
            if ExportStatus(job.status) in ACTIVE:
                raise ConflictError(f"Export {export_id} is {job.status}: cancel it before deleting it.")
            folder = resolve_inside(self.app.config["EXPORT_FOLDER"], job.session_id, job.id)
            db.session.delete(job)
            db.session.commit()
        shutil.rmtree(folder, ignore_errors=True)
        safe_emit("export_deleted", {"export_id": export_id})

    # -- queue ----------------------------------------------------------------------------------------------
    def dispatch(self) -> None:
        from services.exports.supervisor import ExportSupervisor

        with self._lock:
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
                db.session.commit()
                self._running[job.id] = supervisor
                job.child_pid = supervisor.start()
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
                    payload["session_id"] = job.session_id
        safe_emit("export_progress", payload)

    def _on_exit(self, export_id: str, status: ExportStatus, manifest: dict | None, error: str | None) -> None:
        with self.app.app_context():
            with self._lock:
                self._running.pop(export_id, None)
                self._last_stored.pop(export_id, None)
                job = db.session.get(ExportJob, export_id)
                if job is not None:
                    self._transition(job, status, error=error)
                    job.child_pid = None
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
                                                   "error": error})
            self.dispatch()

    def shutdown(self, timeout: float = 30) -> bool:
        for supervisor in list(self._running.values()):
            supervisor.cancel()
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
        """A streamed ``.tar.gz`` of the export (manifest first). A thread writes the archive into a pipe while
        the response reads it, so memory stays bounded whatever the file sizes (tarfile has no pull mode)."""
        job = self._completed(export_id, session_id)
        root = resolve_inside(self.app.config["EXPORT_FOLDER"], job.session_id, job.id)
        names = ["manifest.json"] + [f["name"] for f in job.manifest.get("files", [])]
        prefix = f"{job.session_id}-{job.id}"
        read_fd, write_fd = os.pipe()

        def write() -> None:
            with os.fdopen(write_fd, "wb") as sink:
                try:
                    with tarfile.open(fileobj=sink, mode="w|gz") as tar:
                        for name in names:
                            path = resolve_inside(root, name)
                            if path.is_file():
                                tar.add(path, arcname=f"{prefix}/{name}")
                except BrokenPipeError:
                    pass  # the client went away

        def chunks() -> Iterator[bytes]:
            with os.fdopen(read_fd, "rb") as source:
                while block := source.read(1 << 16):
                    yield block

        threading.Thread(target=write, name=f"tar-{export_id}", daemon=True).start()
        return f"{prefix}.tar.gz", chunks()

    # -- helpers --------------------------------------------------------------------------------------------
    def _completed(self, export_id: str, session_id: str | None) -> ExportJob:
        job = self.get(export_id)
        if session_id is not None and session_id != job.session_id:
            raise NotFoundError(f"No export {export_id!r} in session {session_id!r}.")
        if job.status != ExportStatus.COMPLETED.value or not job.manifest:
            raise NotFoundError(f"Export {export_id} is {job.status}: nothing to download yet.")
        return job

    def _transition(self, job: ExportJob, new: ExportStatus, error: object = ...) -> None:
        check_transition(ExportStatus(job.status), new)
        job.status = new.value
        if new not in ACTIVE:
            job.finished_at = utcnow()
        if error is not ...:
            job.error = error

    def _announce(self, job: ExportJob) -> None:
        safe_emit("export_status", export_summary(job))

    def _job(self, job: ExportJob) -> dict[str, Any]:
        from services.training import get_training_service

        session = get_training_service().get(job.session_id)
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
