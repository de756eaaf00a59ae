"""The Test step: which models can be tried, and generation through the inference worker process.

The worker (core.inference.worker) holds the loaded models; :class:`~services.inference_client.InferenceClient`
starts it on first use, bounds its queue and time, and routes its replies to whoever asked: a Socket.IO client
(streamed ``test_token`` events) or a request thread waiting for the whole answer. This service is the one way
in: generation (Test step, batches, evaluations, RAG answers) and reward scoring. Every finished interactive
generation is stored as a test run (history).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.export.sources import checkpoints
from extensions import db
from services.auth.scope import get_owned, new_owner_id, owned
from services.errors import NotFoundError, ServiceError
from services.generation_input import (clean_prompt, clean_reference, clean_settings, clean_system_prompt,
                                      field_error)
from services.inference_client import InferenceClient
from services.models.exports import ExportJob, TestRun
from services.models.training import TrainingSession
from services.output_base import output_roots
from services.session_models import base_model_path, session_settings, session_source
from services.storage import UnsafePathError, resolve_inside

log = logging.getLogger(__name__)

OnEvent = Callable[[dict], None]


class Playground:
    def __init__(self, app):
        self.app = app
        self.worker = InferenceClient(app)

    # -- model resolution -----------------------------------------------------------------------------------
    def resolve(self, model_id: str | None = None, session_id: str | None = None,
                model_path: str | None = None) -> dict[str, Any]:
        """A model reference -> {id, label, kind, spec, system_prompt, session_id}. References:
        ``base:<name>``, ``session:<id>`` (final weights), ``session:<id>:<checkpoint>``, ``export:<id>``,
        or a ``model_path`` inside the project's outputs, exports or model cache. Sessions, exports and paths
        into them are the caller's only (another user's is a 404, admins included: testing a model uses it)."""
        cache = self.app.config["MODEL_CACHE"]
        model_id = clean_reference(model_id, "model_id")
        session_id = clean_reference(session_id, "session_id")
        model_path = clean_reference(model_path, "model_path")
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
            try:
                job = get_owned(ExportJob, rest, label="Export")
            except NotFoundError:
                job = None
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
        # (root, whether what lies there belongs to someone): output roots and exports do, the model cache not
        roots = [(root, True) for root in output_roots()] + [
            (Path(self.app.config["EXPORT_FOLDER"]).resolve(), True),
            (Path(self.app.config["MODEL_CACHE"]).resolve(), False)]
        for root, owned_files in roots:
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
            if owned_files and not self._path_visible(path):
                continue
            return {"id": f"path:{model_path}", "kind": spec["kind"], "spec": spec, "system_prompt": None,
                    "session_id": None}
        raise NotFoundError(f"No model at {model_path!r} inside the project's outputs, exports or model cache.")

    @staticmethod
    def _path_visible(path: Path) -> bool:
        """A path under outputs/ or exports/ is the caller's when it lies in one of the caller's sessions' or
        exports' folders (all of them in the single-user studio)."""
        from services.auth.current import current_owner_id

        if current_owner_id() is None:
            return True
        folders = [row for row in db.session.execute(
            owned(select(TrainingSession.output_dir), TrainingSession)).scalars()]
        folders += [row for row in db.session.execute(owned(select(ExportJob.export_dir), ExportJob)).scalars()]
        for folder in folders:
            root = Path(folder).resolve()
            if path == root or root in path.parents:
                return True
        return False

    def list_models(self) -> list[dict[str, Any]]:
        """Everything the Test step can pick: base models, the caller's sessions' final weights and checkpoints,
        the caller's exports."""
        from services.model_catalog import list_models

        models = [{"id": f"base:{m['id']}", "kind": "base", "label": m["name"], "availability": m["availability"]}
                  for m in list_models(self.app.config["MODEL_CACHE"]) if m["availability"] != "unavailable"]
        sessions = db.session.execute(owned(select(TrainingSession), TrainingSession)
                                      .order_by(TrainingSession.created_at.desc())).scalars()
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
        exports = db.session.execute(owned(select(ExportJob), ExportJob).where(ExportJob.status == "completed",
                                                                               ExportJob.format != "adapter")
                                     .order_by(ExportJob.created_at.desc())).scalars()
        for job in exports:
            what = f"GGUF {job.manifest.get('quantization_applied')}" if job.format == "gguf" else "merged"
            models.append({"id": f"export:{job.id}", "kind": f"export-{job.format}", "session_id": job.session_id,
                           "label": f"{what} export {job.id} of {job.session_id}",
                           "verification": (job.manifest.get("verification") or {}).get("status")})
        return models

    # -- the worker -----------------------------------------------------------------------------------------
    def submit(self, spec: dict, messages: list[dict], settings: dict, on_event: OnEvent,
               wait: float | None = None) -> str:
        """Start a streamed generation; events go to ``on_event``. Refused with 429 when the queue is full
        (``wait``: seconds a background job waits for a place instead)."""
        return self.worker.submit({"op": "generate", "spec": spec, "messages": messages, "settings": settings},
                                  on_event, wait)

    def cancel(self, request_id: str) -> None:
        self.worker.cancel(request_id)

    def generate(self, spec: dict, messages: list[dict], settings: dict, wait: float | None = None) -> dict:
        """The whole answer (the API, compare, batch, evaluation, RAG). The generation runs in the worker;
        this thread only waits."""
        return _raise_for_error(self.worker.call({"op": "generate", "spec": spec, "messages": messages,
                                                  "settings": settings}, wait), "Generation")

    def score(self, reward: dict, markers, samples: list[dict], wait: float | None = None) -> dict:
        """Score completions in the worker: ``reward`` is a config's reward section with custom rewards
        resolved; ``samples`` are ``{prompt, completion, fields}``. Returns ``core.rewards.score_samples``'
        result plus ``needed`` (the fields the reward reads)."""
        marker_texts = [markers.reasoning_start, markers.reasoning_end, markers.solution_start, markers.solution_end]
        return _raise_for_error(self.worker.call({"op": "score", "reward": reward, "markers": marker_texts,
                                                  "samples": samples}, wait), "Scoring")["result"]

    def shutdown(self) -> None:
        self.worker.shutdown()

    # -- conversations and history --------------------------------------------------------------------------
    @staticmethod
    def messages(model: dict, prompt: str, system_prompt: str | None = None) -> list[dict]:
        system = system_prompt if system_prompt is not None else model.get("system_prompt")
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]

    def record(self, kind: str, model_id: str, prompt: str, settings: dict, result: dict,
               scores: dict | None = None) -> TestRun:
        run = TestRun(owner_id=new_owner_id(), kind=kind, model_id=model_id, prompt=prompt, settings=settings,
                      output=result.get("text", ""),
                      tokens=int(result.get("tokens", 0)), seconds=float(result.get("seconds", 0.0)), scores=scores)
        db.session.add(run)
        db.session.commit()
        return run

    def history(self, limit: int | str = 50, model_id: str | None = None) -> list[dict]:
        try:
            limit = max(1, min(int(limit), 500))
        except (TypeError, ValueError):
            raise ServiceError("limit must be a whole number from 1 to 500.",
                               details=[{"path": "limit", "message": "not a whole number", "hint": ""}]) from None
        query = owned(select(TestRun), TestRun).order_by(TestRun.id.desc()).limit(limit)
        if model_id:
            query = query.where(TestRun.model_id == model_id)
        return [{"id": r.id, "kind": r.kind, "model_id": r.model_id, "prompt": r.prompt, "settings": r.settings,
                 "output": r.output, "tokens": r.tokens, "seconds": r.seconds, "scores": r.scores,
                 "created_at": r.created_at.isoformat()} for r in db.session.execute(query).scalars()]

    def test(self, data: dict) -> dict:
        prompt = clean_prompt(data.get("prompt"))
        system_prompt = clean_system_prompt(data.get("system_prompt"))
        settings = clean_settings(data)
        model = self.resolve(data.get("model_id"), data.get("session_id"), data.get("model_path"))
        result = self.generate(model["spec"], self.messages(model, prompt, system_prompt), settings)
        run = self.record("interactive", model["id"], prompt, settings, result)
        return {"model_id": model["id"], "text": result["text"], "tokens": result["tokens"],
                "seconds": result["seconds"], "run_id": run.id}

    def compare(self, data: dict) -> dict:
        """The same prompt and seed through two models (default: the session's base and its fine-tune)."""
        ids = data.get("model_ids") or []
        if not isinstance(ids, list):
            raise field_error("model_ids", "must be a list of two model ids")
        ids = [clean_reference(i, f"model_ids.{n}") for n, i in enumerate(ids[:3])]
        if not ids and data.get("session_id"):
            tuned = self.resolve(session_id=str(data["session_id"]))
            ids = [tuned["base_id"], tuned["id"]]
        if len(ids) != 2:
            raise ServiceError("Compare needs two models (model_ids) or a session_id.",
                               details=[{"path": "model_ids", "message": "give two ids", "hint": ""}])
        prompt = clean_prompt(data.get("prompt"))
        settings = clean_settings(data)
        models = [self.resolve(str(i)) for i in ids]
        system = clean_system_prompt(data.get("system_prompt")) or \
            next((m["system_prompt"] for m in models if m.get("system_prompt")), None)
        results = []
        for model in models:
            result = self.generate(model["spec"], self.messages(model, prompt, system), settings)
            self.record("compare", model["id"], prompt, settings, result)
            results.append({"model_id": model["id"], "text": result["text"], "tokens": result["tokens"],
                            "seconds": result["seconds"]})
        return {"prompt": prompt, "settings": settings, "results": results}


def _raise_for_error(result: dict, what: str) -> dict:
    """A worker's ``error`` reply as the HTTP error it means: too long 400, time limit 504, else 500."""
    if result.get("type") != "error":
        return result
    code = result.get("code")
    if code == "too_long":
        raise ServiceError(result["message"], details=[{"path": "prompt", "message": "longer than the model's "
                                                        "context", "hint": "Shorten it."}])
    if code == "timeout":
        raise ServiceError(result["message"], status_code=504)
    raise ServiceError(f"{what} failed: {result.get('message')}", status_code=500)


EXTENSION_KEY = "tunewright.playground"


def init_app(app) -> None:
    app.extensions[EXTENSION_KEY] = Playground(app)


def get_playground() -> Playground:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]
