"""Deploying registry versions: start a backend, smoke-check it, serve ``/v1`` through it, stop it again.

Which backend (and why):
- GGUF versions: a llama.cpp server child per version (services/deploy/gguf.py). llama-cpp-python's server
  already speaks the OpenAI wire format with streaming, its memory goes when the child ends, and a native crash
  stays in the child.
- transformers / PEFT versions: the Test step's inference worker, one worker process per version
  (services/deploy/worker.py), the studio writing the wire format.

Residency: at most ``MAX_DEPLOYED`` versions run at once, studio-wide; deploying one more evicts the least
recently used (its version goes back to ready with ``status_reason`` "evicted: ..."). Deployments belong to this
server process: after a restart nothing runs, so start-up marks every version still recorded as deployed back to
ready with the reason (:func:`mark_stale_deployments`); deploy it again to serve it. A child that dies while
deployed is reported the same way by its supervisor.
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from core.deploy.wire import ChatRequest, WireError, parse_chat_request
from extensions import db
from services.auth import audit
from services.deploy.gguf import GGUFServer, StartError
from services.deploy.smoke import smoke_check
from services.deploy.stats import ModelStats
from services.deploy.worker import WorkerModel
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.registry import ModelVersion
from services.registry import get_registry
from services.registry.status import VersionStatus

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class Resident:
    version_id: int
    ref: str
    owner_id: int | None
    backend: Any
    deployed_at: float = field(default_factory=time.monotonic)


class DeployFailed(ServiceError):
    """The version did not pass its smoke check (or did not start): it stays ready, and this says why."""

    status_code = 422


class DeployService:
    def __init__(self, app: Flask):
        self.app = app
        config = app.config
        self.max_deployed = max(1, int(config.get("MAX_DEPLOYED") or 2))
        self.queue_size = max(1, int(config.get("DEPLOY_QUEUE_SIZE") or 4))
        self.max_tokens = max(1, int(config.get("DEPLOY_MAX_TOKENS") or 1024))
        self.smoke_tokens = max(1, int(config.get("DEPLOY_SMOKE_MAX_TOKENS") or 96))
        self.n_ctx = int(config.get("DEPLOY_N_CTX") or 2048)
        self.start_seconds = float(config.get("DEPLOY_START_SECONDS") or 120)
        self.time_limit = float(config.get("INFERENCE_TIME_LIMIT") or 300)
        self.retry_after = int(config.get("INFERENCE_RETRY_AFTER") or 10)
        self._resident: dict[int, Resident] = {}
        self._stats: dict[int, ModelStats] = {}
        self._lock = threading.RLock()  # deploy, undeploy and eviction, one at a time
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().shutdown())

    # -- what the dashboard reads ---------------------------------------------------------------------------
    def stats_for(self, version_id: int) -> dict[str, Any]:
        """``requests, errors, p50_ms, p95_ms, ttft_p50_ms, queued, resident`` of one version (this process's
        traffic since it started)."""
        return self._stats_of(version_id).as_dict(resident=version_id in self._resident)

    def resident(self) -> list[dict[str, Any]]:
        return [{"version_id": r.version_id, "ref": r.ref, "backend": r.backend.kind, "pid": r.backend.pid}
                for r in list(self._resident.values())]

    def pid_of(self, version_id: int) -> int | None:
        resident = self._resident.get(version_id)
        return resident.backend.pid if resident else None

    def _stats_of(self, version_id: int) -> ModelStats:
        stats = self._stats.get(version_id)
        if stats is None:
            stats = self._stats.setdefault(version_id, ModelStats(self.queue_size, self.retry_after))
        return stats

    # -- deploy and undeploy --------------------------------------------------------------------------------
    def deploy(self, name: str, number: Any) -> ModelVersion:
        """Start the version's backend, smoke-check it and mark it deployed; on failure it stays ready and
        :class:`DeployFailed` (422) says why. Deploying a deployed version is a no-op."""
        registry = get_registry()
        row = registry.version(name, number)
        with self._lock:
            if row.status == VersionStatus.DEPLOYED and row.id in self._resident:
                return row
            if row.status == VersionStatus.ARCHIVED:
                raise ConflictError(f"{row.ref} is archived: restore it before deploying it.")
            backend = self._backend(row)
            self._make_room(row)
            deployment: dict[str, Any] = {"attempted_at": _now(), "backend": backend.kind}
            try:
                backend.start()
            except StartError as exc:
                deployment["smoke"] = {"ok": False, "stage": "start", "reason": str(exc), "checked_at": _now()}
                registry.set_status(row, VersionStatus.READY, f"deploy failed: {exc}", deployment=deployment)
                raise DeployFailed(f"{row.ref} did not start: {exc}", details=[deployment["smoke"]]) from None
            system_prompt = ((row.lineage or {}).get("config") or {}).get("dataset", {}).get("system_prompt")
            smoke = smoke_check(backend, row.ref, system_prompt, self.smoke_tokens)
            deployment["smoke"] = smoke
            if not smoke["ok"]:
                backend.stop()
                registry.set_status(row, VersionStatus.READY, f"deploy failed: {smoke['reason']}",
                                    deployment=deployment)
                raise DeployFailed(f"{row.ref} failed its smoke check: {smoke['reason']}", details=[smoke])
            deployment.update(deployed_at=_now(), pid=backend.pid)
            self._resident[row.id] = Resident(row.id, row.ref, row.owner_id, backend)
            registry.set_status(row, VersionStatus.DEPLOYED, None, deployment=deployment)
            audit.record("model.deployed", target=f"model:{row.ref}", detail={"backend": backend.kind})
            log.info("deployed %s (%s, pid %s)", row.ref, backend.kind, backend.pid)
            return row

    def undeploy(self, name: str, number: Any) -> ModelVersion:
        row = get_registry().version(name, number)
        if row.status != VersionStatus.DEPLOYED:
            raise ConflictError(f"{row.ref} is not deployed.")
        self._stop(row, "undeployed")
        audit.record("model.undeployed", target=f"model:{row.ref}")
        return row

    def _stop(self, row: ModelVersion, reason: str) -> None:
        """Stop the backend (if this process runs it) and record the version as ready, with ``reason``."""
        with self._lock:
            resident = self._resident.pop(row.id, None)
            if resident is not None:
                resident.backend.stop()
            deployment = {**(row.deployment or {}), "stopped_at": _now(), "stopped": reason}
            get_registry().set_status(row, VersionStatus.READY, None if reason == "undeployed" else reason,
                                      deployment=deployment)
            log.info("%s: %s", row.ref, reason)

    def _make_room(self, incoming: ModelVersion) -> None:
        """Evict least recently used versions until ``incoming`` fits under ``MAX_DEPLOYED``."""
        while len(self._resident) >= self.max_deployed:
            victim = min(self._resident.values(), key=lambda r: self._stats_of(r.version_id).last_used)
            row = db.session.get(ModelVersion, victim.version_id)
            reason = (f"evicted: {incoming.ref} was deployed and at most {self.max_deployed} models stay resident "
                      f"(TUNEWRIGHT_MAX_DEPLOYED); this one was the least recently used")
            if row is None:
                self._resident.pop(victim.version_id, None)
                victim.backend.stop()
                continue
            self._stop(row, reason)

    def _backend(self, row: ModelVersion):
        """The backend that will serve ``row`` (not started yet); 409 for what cannot be served."""
        from services.session_models import base_model_path

        path = Path(row.path)
        if row.type == "rag_index" or row.framework == "faiss":
            raise ConflictError(f"{row.ref} is a RAG index, not a model: it is served by POST /api/rag/<id>/ask, "
                                "not deployed.")
        if not path.exists():
            raise ConflictError(f"{row.ref}'s files are gone ({path.name}): it cannot be deployed.")
        log_dir = Path(self.app.config["LOG_DIR"])
        log_name = f"deploy-{row.id}.log"
        if row.framework == "gguf":
            if row.type == "lora_adapter":
                raise ConflictError(f"{row.ref} is a GGUF LoRA adapter, which needs its base model: deploy the "
                                    "session's GGUF export (the merged model) instead.")
            if path.is_dir():
                ggufs = sorted(path.glob("*.gguf"))
                if len(ggufs) != 1:
                    raise ConflictError(f"{row.ref} holds {len(ggufs)} GGUF files: register the one to serve.")
                path = ggufs[0]
            return GGUFServer(row.ref, str(path), log_dir / log_name, n_ctx=self.n_ctx,
                              start_seconds=self.start_seconds, time_limit=self.time_limit,
                              on_exit=lambda code, version_id=row.id: self._child_exited(version_id, code, log_name))
        if row.framework == "peft":
            if not row.base_model:
                raise ConflictError(f"{row.ref} is an adapter whose base model is not recorded.")
            spec = {"kind": "hf", "path": base_model_path(row.base_model, self.app.config["MODEL_CACHE"]),
                    "adapter": str(path)}
        else:
            spec = {"kind": "hf", "path": str(path)}
        return WorkerModel(self.app, row.ref, spec, self.queue_size, log_name)

    def _child_exited(self, version_id: int, code: int, log_name: str) -> None:
        """Called by a GGUF child's supervisor thread when the child ended by itself."""
        with self.app.app_context(), self._lock:
            if self._resident.pop(version_id, None) is None:
                return
            row = db.session.get(ModelVersion, version_id)
            if row is not None and row.status == VersionStatus.DEPLOYED:
                self._stop(row, f"stopped: its llama.cpp server exited with code {code} (see logs/{log_name})")

    # -- serving --------------------------------------------------------------------------------------------
    def models(self) -> list[ModelVersion]:
        """The caller's deployed versions that this process serves."""
        return [row for row in get_registry().deployed() if row.id in self._resident]

    def _target(self, request: ChatRequest) -> tuple[Resident, int]:
        try:
            row = get_registry().resolve(request.model, deployed_only=True)
        except NotFoundError:
            raise WireError(404, f"The model {request.model[:300]!r} does not exist or is not deployed.",
                            param="model", code="model_not_found") from None
        resident = self._resident.get(row.id)
        if resident is None:
            raise WireError(503, f"{row.ref} is recorded as deployed but is not running here: deploy it again.",
                            type_="server_error", code="model_not_running")
        wanted = request.requested_tokens
        if wanted is not None and wanted > self.max_tokens:
            raise WireError(400, f"max_tokens is {wanted}; this studio allows at most {self.max_tokens} "
                                 "(TUNEWRIGHT_DEPLOY_MAX_TOKENS).", param="max_tokens")
        return resident, wanted or self.max_tokens

    def chat(self, data: Any) -> dict[str, Any] | Iterator[bytes]:
        """A chat completion: the response object, or (``stream: true``) an iterator of SSE bytes whose
        queue place is held until it ends. Raises :class:`WireError` in OpenAI's shape."""
        request = parse_chat_request(data)
        resident, max_tokens = self._target(request)
        stats = self._stats_of(resident.version_id)
        stats.enter(resident.ref)
        started = time.monotonic()
        try:
            if not request.stream:
                result = resident.backend.complete(request, max_tokens)
                stats.leave(time.monotonic() - started, ok=True)
                self._announce_traffic(resident)
                return result
            events = resident.backend.stream(request, max_tokens)
        except Exception:
            stats.leave(time.monotonic() - started, ok=False)
            self._announce_traffic(resident)
            raise
        return self._measured(events, stats, started, resident)

    def _announce_traffic(self, resident: Resident) -> None:
        """The owner's dashboards refetch their figures (request counts and latency live in memory, so the
        database hook of services/dashboard/live.py never sees them). Once per request, unthrottled: a
        deployed model answers at most a few requests a second here, and the page debounces."""
        from services.dashboard.live import notify

        try:
            with self.app.app_context():
                notify(resident.owner_id, ["deployed"])
        except Exception:
            log.warning("could not announce %s's traffic", resident.ref, exc_info=True)

    def _measured(self, events: Iterator[bytes], stats: ModelStats, started: float,
                  resident: Resident) -> Iterator[bytes]:
        first: float | None = None
        ok = False
        try:
            for event in events:
                if first is None:
                    first = time.monotonic() - started
                yield event
            ok = True
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            stats.leave(time.monotonic() - started, ok=ok, ttft=first)
            self._announce_traffic(resident)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every backend (server exit, app teardown in tests). The versions' rows are fixed at the next
        start-up (:func:`mark_stale_deployments`): a database may be gone by now."""
        with self._lock:
            residents, self._resident = list(self._resident.values()), {}
        for resident in residents:
            try:
                resident.backend.stop()
            except Exception:
                log.exception("could not stop %s", resident.ref)


def mark_stale_deployments(app: Flask) -> int:
    """At start-up nothing is deployed yet: versions still recorded as deployed (by a server that stopped or
    crashed) go back to ready, saying so. Returns how many."""
    with app.app_context():
        rows = list(db.session.execute(select(ModelVersion).filter_by(status=VersionStatus.DEPLOYED.value)).scalars())
        for row in rows:
            row.status = VersionStatus.READY.value
            row.status_reason = "not running: the server restarted since it was deployed; deploy it again"
            row.deployment = {**(row.deployment or {}), "stopped_at": _now(), "stopped": "server restart"}
        db.session.commit()
        return len(rows)
