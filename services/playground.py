"""The Test step: which models can be tried, and generation through the inference worker process.

The worker (core.inference.worker) holds the loaded models; this service starts it on first use, sends it
requests, and routes its replies to whoever asked: a Socket.IO client (streamed ``test_token`` events) or a
request thread waiting for the whole answer. Every finished generation is stored as a test run (history).
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.export.sources import checkpoints
from extensions import db, socketio
from services.errors import NotFoundError, ServiceError
from services.models.exports import ExportJob, TestRun
from services.models.training import TrainingSession
from services.session_models import base_model_path, session_settings, session_source
from services.storage import UnsafePathError, resolve_inside

log = logging.getLogger(__name__)

OnEvent = Callable[[dict], None]
SETTING_LIMITS = {"temperature": (0.0, 2.0, 0.7), "top_p": (0.01, 1.0, 0.95), "max_tokens": (1, 2048, 128),
                  "seed": (0, 2**31 - 1, 0)}


def clean_settings(raw: dict) -> dict:
    """Sampling settings within their bounds; a bad value is a 400 that names the field."""
    settings = {}
    for name, (low, high, default) in SETTING_LIMITS.items():
        value = raw.get(name, default)
        try:
            value = int(value) if isinstance(default, int) else float(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not (low <= value <= high) or value != value:
            raise ServiceError(f"{name} must be a number from {low} to {high}.",
                               details=[{"path": name, "message": f"between {low} and {high}", "hint": ""}])
        settings[name] = value
    return settings


class Playground:
    def __init__(self, app):
        self.app = app
        self.max_bytes = int(app.config.get("INFERENCE_CACHE_BYTES") or 4 * 1024**3)
        self._lock = threading.Lock()
        self._handlers: dict[str, OnEvent] = {}
        self._ids = itertools.count(1)
        self._process = None
        self._conn = None

    # -- model resolution -----------------------------------------------------------------------------------
    def resolve(self, model_id: str | None = None, session_id: str | None = None,
                model_path: str | None = None) -> dict[str, Any]:
        """A model reference -> {id, label, kind, spec, system_prompt, session_id}. References:
        ``base:<name>``, ``session:<id>`` (final weights), ``session:<id>:<checkpoint>``, ``export:<id>``,
        or a ``model_path`` inside the project's outputs, exports or model cache."""
        cache = self.app.config["MODEL_CACHE"]
        if session_id and not model_id:
            model_id = f"session:{session_id}"
        if model_path and not model_id:
            return self._from_path(model_path)
        kind, _, rest = (model_id or "").partition(":")
        if kind == "base" and rest:
            from core.model_registry import Availability, availability

            status, reason = availability(rest, cache)
            if status is Availability.UNAVAILABLE:  # the same rule as training: catalogue, Hub or a model folder
                raise NotFoundError(f"Model {rest!r} is not available: {reason}")
            path = base_model_path(rest, cache)
            return {"id": model_id, "kind": "base", "spec": {"kind": "hf", "path": path}, "system_prompt": None,
                    "session_id": None}
        if kind == "session" and rest:
            sid, _, checkpoint = rest.partition(":")
            session = self._session(sid)
            source = session_source(session, cache, checkpoint or None)
            spec = {"kind": "hf", "path": source.base_model, "adapter": source.path} if source.kind == "adapter" \
                else {"kind": "hf", "path": source.path}
            return {"id": model_id, "kind": "checkpoint" if checkpoint else "session", "spec": spec,
                    "system_prompt": session_settings(session)["system_prompt"], "session_id": sid,
                    "base_id": f"base:{session.config['model']['name']}"}
        if kind == "export" and rest:
            job = db.session.get(ExportJob, rest)
            if job is None or job.status != "completed" or job.format == "adapter":
                raise NotFoundError(f"No completed GGUF or merged export {rest!r}.")
            session = self._session(job.session_id)
            folder = Path(job.export_dir)
            spec = {"kind": "gguf", "path": str(folder / job.manifest["gguf"])} if job.format == "gguf" \
                else {"kind": "hf", "path": str(folder / "model")}
            return {"id": model_id, "kind": f"export-{job.format}", "spec": spec, "session_id": job.session_id,
                    "system_prompt": session_settings(session)["system_prompt"]}
        raise NotFoundError(f"Unknown model {model_id!r}: use an id from /api/models/list.")

    def _session(self, session_id: str) -> TrainingSession:
        from services.training import get_training_service

        return get_training_service().get(session_id)

    def _from_path(self, model_path: str) -> dict[str, Any]:
        for key in ("OUTPUT_FOLDER", "EXPORT_FOLDER", "MODEL_CACHE"):
            root = Path(self.app.config[key]).resolve()
            candidate = Path(model_path)
            relative = candidate.resolve().relative_to(root).as_posix() if candidate.is_absolute() and \
                root in candidate.resolve().parents else (None if candidate.is_absolute() else model_path)
            if relative is None:
                continue
            try:
                path = resolve_inside(root, relative)
            except UnsafePathError:
                continue
            if path.is_file() and path.suffix == ".gguf":
                spec = {"kind": "gguf", "path": str(path)}
            elif (path / "config.json").is_file():
                spec = {"kind": "hf", "path": str(path)}
            else:
                continue
            return {"id": f"path:{model_path}", "kind": spec["kind"], "spec": spec, "system_prompt": None,
                    "session_id": None}
        raise NotFoundError(f"No model at {model_path!r} inside the project's outputs, exports or model cache.")

    def list_models(self) -> list[dict[str, Any]]:
        """Everything the Test step can pick: base models, sessions' final weights and checkpoints, exports."""
        from services.model_catalog import list_models

        models = [{"id": f"base:{m['id']}", "kind": "base", "label": m["name"], "availability": m["availability"]}
                  for m in list_models(self.app.config["MODEL_CACHE"]) if m["availability"] != "unavailable"]
        sessions = db.session.execute(select(TrainingSession).order_by(TrainingSession.created_at.desc())).scalars()
        for session in sessions:
            try:
                source = session_source(session, self.app.config["MODEL_CACHE"])
            except ServiceError:
                continue
            models.append({"id": f"session:{session.id}", "kind": "session", "session_id": session.id,
                           "label": f"{session.name} ({session.id}): {source.label}", "status": session.status})
            root = Path(session.output_dir)
            for folder in checkpoints(root):
                label = folder.relative_to(root).as_posix()
                models.append({"id": f"session:{session.id}:{label}", "kind": "checkpoint", "session_id": session.id,
                               "label": f"{session.name} ({session.id}): {label}"})
        exports = db.session.execute(select(ExportJob).where(ExportJob.status == "completed",
                                                             ExportJob.format != "adapter")
                                     .order_by(ExportJob.created_at.desc())).scalars()
        for job in exports:
            what = f"GGUF {job.manifest.get('quantization_applied')}" if job.format == "gguf" else "merged"
            models.append({"id": f"export:{job.id}", "kind": f"export-{job.format}", "session_id": job.session_id,
                           "label": f"{what} export {job.id} of {job.session_id}",
                           "verification": (job.manifest.get("verification") or {}).get("status")})
        return models

    # -- the worker -----------------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            from core.inference.worker import run_worker

            ctx = mp.get_context("spawn")
            self._conn, child = ctx.Pipe(duplex=True)
            self._process = ctx.Process(target=run_worker, name="tunewright-inference", daemon=True,
                                        args=(child, self.max_bytes,
                                              str(Path(self.app.config["LOG_DIR"]) / "inference.log")))
            self._process.start()
            child.close()
            socketio.start_background_task(self._reader, self._conn, self._process)

    def _reader(self, conn, process) -> None:
        while True:
            try:
                if not conn.poll(0.05 if socketio.async_mode != "threading" else 1.0):
                    if not process.is_alive():
                        break
                    socketio.sleep(0)
                    continue
                event = conn.recv()
            except (EOFError, OSError):
                break
            handler = self._handlers.get(event.get("request_id"))
            if event.get("type") in ("done", "error"):
                self._handlers.pop(event.get("request_id"), None)
            if handler is not None:
                try:
                    handler(event)
                except Exception:
                    log.exception("playground handler failed")
                    if event.get("type") == "done":  # the asker still hears that it ended
                        handler({**event, "type": "error", "message": "The answer could not be recorded."})
        for request_id, handler in list(self._handlers.items()):  # the worker died: nobody waits forever
            self._handlers.pop(request_id, None)
            handler({"request_id": request_id, "type": "error",
                     "message": "The inference worker stopped (see logs/inference.log)."})

    def submit(self, spec: dict, messages: list[dict], settings: dict, on_event: OnEvent) -> str:
        self._ensure_worker()
        request_id = f"r{next(self._ids)}"
        self._handlers[request_id] = on_event
        with self._lock:
            self._conn.send({"op": "generate", "request_id": request_id, "spec": spec, "messages": messages,
                             "settings": settings})
        return request_id

    def cancel(self, request_id: str) -> None:
        if self._conn is not None:
            with self._lock:
                self._conn.send({"op": "cancel", "request_id": request_id})

    def generate(self, spec: dict, messages: list[dict], settings: dict, timeout: float = 600) -> dict:
        """Wait for a whole answer (the API, compare, batch, evaluation). The generation itself runs in the
        worker; this thread only waits."""
        done = threading.Event()
        result: dict = {}

        def on_event(event: dict) -> None:
            if event["type"] in ("done", "error"):
                result.update(event)
                done.set()

        request_id = self.submit(spec, messages, settings, on_event)
        if not done.wait(timeout):
            self.cancel(request_id)
            raise ServiceError(f"The generation did not finish within {timeout:.0f} s.", status_code=504)
        if result["type"] == "error":
            raise ServiceError(f"Generation failed: {result['message']}", status_code=500)
        return result

    def shutdown(self) -> None:
        with self._lock:
            if self._process is not None and self._process.is_alive():
                try:
                    self._conn.send({"op": "shutdown"})
                except OSError:
                    pass
                self._process.join(5)
                if self._process.is_alive():
                    self._process.kill()

    # -- conversations and history --------------------------------------------------------------------------
    @staticmethod
    def messages(model: dict, prompt: str, system_prompt: str | None = None) -> list[dict]:
        system = system_prompt if system_prompt is not None else model.get("system_prompt")
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]

    def record(self, kind: str, model_id: str, prompt: str, settings: dict, result: dict,
               scores: dict | None = None) -> TestRun:
        run = TestRun(kind=kind, model_id=model_id, prompt=prompt, settings=settings, output=result.get("text", ""),
                      tokens=int(result.get("tokens", 0)), seconds=float(result.get("seconds", 0.0)), scores=scores)
        db.session.add(run)
        db.session.commit()
        return run

    def history(self, limit: int = 50, model_id: str | None = None) -> list[dict]:
        query = select(TestRun).order_by(TestRun.id.desc()).limit(max(1, min(int(limit), 500)))
        if model_id:
            query = query.where(TestRun.model_id == model_id)
        return [{"id": r.id, "kind": r.kind, "model_id": r.model_id, "prompt": r.prompt, "settings": r.settings,
                 "output": r.output, "tokens": r.tokens, "seconds": r.seconds, "scores": r.scores,
                 "created_at": r.created_at.isoformat()} for r in db.session.execute(query).scalars()]

    def test(self, data: dict) -> dict:
        prompt = str(data.get("prompt") or "").strip()
        if not prompt:
            raise ServiceError("Write a prompt first.", details=[{"path": "prompt", "message": "empty", "hint": ""}])
        model = self.resolve(data.get("model_id"), data.get("session_id"), data.get("model_path"))
        settings = clean_settings(data)
        result = self.generate(model["spec"], self.messages(model, prompt, data.get("system_prompt")), settings)
        run = self.record("interactive", model["id"], prompt, settings, result)
        return {"model_id": model["id"], "text": result["text"], "tokens": result["tokens"],
                "seconds": result["seconds"], "run_id": run.id}

    def compare(self, data: dict) -> dict:
        """The same prompt and seed through two models (default: the session's base and its fine-tune)."""
        ids = list(data.get("model_ids") or [])
        if not ids and data.get("session_id"):
            tuned = self.resolve(session_id=str(data["session_id"]))
            ids = [tuned["base_id"], tuned["id"]]
        if len(ids) != 2:
            raise ServiceError("Compare needs two models (model_ids) or a session_id.",
                               details=[{"path": "model_ids", "message": "give two ids", "hint": ""}])
        prompt = str(data.get("prompt") or "").strip()
        if not prompt:
            raise ServiceError("Write a prompt first.", details=[{"path": "prompt", "message": "empty", "hint": ""}])
        settings = clean_settings(data)
        models = [self.resolve(i) for i in ids]
        system = data.get("system_prompt") or next((m["system_prompt"] for m in models if m.get("system_prompt")), None)
        results = []
        for model in models:
            result = self.generate(model["spec"], self.messages(model, prompt, system), settings)
            self.record("compare", model["id"], prompt, settings, result)
            results.append({"model_id": model["id"], "text": result["text"], "tokens": result["tokens"],
                            "seconds": result["seconds"]})
        return {"prompt": prompt, "settings": settings, "results": results}


EXTENSION_KEY = "tunewright.playground"


def init_app(app) -> None:
    app.extensions[EXTENSION_KEY] = Playground(app)


def get_playground() -> Playground:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]
