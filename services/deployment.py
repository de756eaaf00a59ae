"""How to run a finished session in Ollama or LM Studio: which export holds it, its Modelfile and LM Studio
steps, and the exact commands from download to first answer (the job page and ``GET /api/v1/jobs/<id>/deployment``).

The files themselves always come from the export service (an adapter export carries the GGUF adapter and a
``FROM <library tag>`` Modelfile; a GGUF export carries the whole model, its Modelfile and LMSTUDIO.md), so
what the page shows is exactly what the downloaded archive holds.
"""
from __future__ import annotations

import shlex
from typing import Any

from flask import current_app

from core.export.adapter import LMSTUDIO_NOTE
from services.errors import ConflictError, ServiceError
from services.exports import get_export_service
from services.exports.service import ExportService
from services.models.training import TrainingSession
from services.session_models import ollama_base, session_source

DEFAULT_QUANTIZATION = "Q4_K_M"


def _latest(exports: list[dict], fmt: str) -> dict | None:
    """The newest completed export of ``fmt``, else the newest still running or queued, else the newest."""
    mine = [e for e in exports if e["format"] == fmt]  # newest first
    for wanted in (("completed",), ("running", "queued")):
        for export in mine:
            if export["status"] in wanted:
                return export
    return mine[0] if mine else None


def _read(service: ExportService, export: dict, name: str) -> str | None:
    if export["status"] != "completed" or name not in export["files"]:
        return None
    return service.file_path(export["id"], name).read_text(encoding="utf-8", errors="replace")


def _download(base_url: str, export: dict, session_id: str, token_required: bool) -> tuple[str, list[str]]:
    """The folder the archive unpacks to, and the commands that fetch and unpack it."""
    folder = f"{session_id}-{export['id']}"
    auth = '-H "Authorization: Bearer $TUNEWRIGHT_TOKEN" ' if token_required else ""
    url = f"{base_url.rstrip('/')}/api/exports/{export['id']}/download"
    return folder, [f"curl -fL {auth}-o {folder}.tar.gz {shlex.quote(url)}",
                    f"tar -xzf {folder}.tar.gz && cd {folder}"]


def _adapter_option(service: ExportService, exports: list[dict], session: TrainingSession, base_url: str,
                    token_required: bool) -> dict[str, Any]:
    base = session.config["model"]["name"]
    tag = ollama_base(base, current_app.config.get("OLLAMA_TAGS_SETTING"))
    option: dict[str, Any] = {
        "format": "adapter", "title": f"Ollama: the LoRA adapter on {tag or 'its base model'}",
        "summary": ("Small download (the adapter only); Ollama pulls the base model from its library and applies "
                    "the adapter at load time. LM Studio cannot load adapters."),
        "create": {"session_id": session.id, "format": "adapter"}, "export": _latest(exports, "adapter"),
        "available": tag is not None, "modelfile": None, "commands": [], "lmstudio": None}
    if tag is None:
        option["reason"] = (f"No Ollama model is known to match {base!r} (TUNEWRIGHT_OLLAMA_TAGS=model=tag names "
                            "your own); use the GGUF route, which carries the whole model.")
        return option
    export = option["export"]
    if export and export["status"] == "completed":
        manifest = service.get(export["id"]).manifest or {}
        ollama = manifest.get("ollama") or {}
        option["modelfile"] = _read(service, export, "Modelfile")
        if option["modelfile"] is None:  # an adapter exported before adapters carried a Modelfile, or unconvertible
            option["reason"] = ollama.get("note") or "This export has no Modelfile: export the adapter again."
            return option
        folder, fetch = _download(base_url, export, session.id, token_required)
        option["folder"] = folder
        option["commands"] = [*fetch, ollama["pull"], ollama["create"], ollama["run"]]
    option["lmstudio"] = {"note": LMSTUDIO_NOTE}
    return option


def _gguf_option(service: ExportService, exports: list[dict], session: TrainingSession, base_url: str,
                 token_required: bool) -> dict[str, Any]:
    option: dict[str, Any] = {
        "format": "gguf", "title": "Ollama and LM Studio: the whole model as GGUF",
        "summary": (f"The adapter merged into the base and quantised ({DEFAULT_QUANTIZATION} unless you export "
                    "another); runs anywhere llama.cpp runs, with no base model to fetch."),
        "create": {"session_id": session.id, "format": "gguf", "quantization": DEFAULT_QUANTIZATION},
        "export": _latest(exports, "gguf"), "available": True, "modelfile": None, "commands": [], "lmstudio": None}
    export = option["export"]
    if export and export["status"] == "completed":
        manifest = service.get(export["id"]).manifest or {}
        folder, fetch = _download(base_url, export, session.id, token_required)
        option["folder"] = folder
        option["modelfile"] = _read(service, export, "Modelfile")
        ollama, lmstudio = manifest.get("ollama") or {}, manifest.get("lmstudio") or {}
        option["commands"] = [*fetch, ollama.get("create"), ollama.get("run")]
        gguf = manifest.get("gguf", "")
        target = f"~/.lmstudio/models/{lmstudio.get('folder', 'tunewright/model-GGUF')}"
        option["lmstudio"] = {
            "commands": [*fetch, f"lms import {shlex.quote(gguf)}"],
            "by_hand": [f"mkdir -p {target}", f"cp {shlex.quote(gguf)} {target}/"],
            "steps": _read(service, export, "LMSTUDIO.md")}
    return option


def deployment(session_id: str, base_url: str) -> dict[str, Any]:
    """Every way to run the session outside Tunewright, with what is missing to get there. The owner's sessions
    only: deploying another user's model is not an admin's either."""
    from services.training import get_training_service

    session = get_training_service().get(session_id)
    method = session.config.get("method", "grpo")
    result: dict[str, Any] = {"session_id": session.id, "name": session.name, "status": session.status,
                              "method": method, "base_model": session.config["model"]["name"], "options": []}
    if session.status != "completed":
        result["reason"] = (f"The session is {session.status}: deployment files come from a completed session "
                            "(a stopped one can be exported from the Export step, checkpoint by checkpoint).")
        return result
    try:
        source = session_source(session, current_app.config["MODEL_CACHE"])
    except (ConflictError, ServiceError) as exc:
        result["reason"] = ("A RAG index is served by Tunewright itself (POST /api/rag/<id>/retrieve and /ask); "
                            "enable 'then fine-tune' to get a model to deploy." if method == "rag" else exc.message)
        return result
    service = get_export_service()
    exports = service.list(session.id)
    token_required = result["token_required"] = bool(current_app.config.get("ACCESS_TOKEN"))
    if source.kind == "adapter":
        result["options"].append(_adapter_option(service, exports, session, base_url, token_required))
    result["options"].append(_gguf_option(service, exports, session, base_url, token_required))
    for option in result["options"]:
        option["commands"] = [c for c in option["commands"] if c]
    return result
