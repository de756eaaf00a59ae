"""Exports (routes/exports.py): a session's adapter, merged model or GGUF file, made in the background."""
from __future__ import annotations

from typing import Any, Literal

from core.export import EXPORTERS, QUANTIZATIONS
from routes.schemas.common import Field, In, Out, SessionId, many
from services.generation_input import MAX_REFERENCE_CHARS

ExportFormat = Literal[tuple(EXPORTERS)]  # type: ignore[valid-type]


class ExportCreate(In):
    session_id: SessionId = Field(description="The session whose weights are exported.")
    format: ExportFormat = Field(description="adapter: the LoRA adapter; merged: base and adapter merged; gguf: "
                                             "a llama.cpp file.")
    quantization: str | None = Field(None, max_length=32,
                                     description=f"gguf only, any case: {', '.join(QUANTIZATIONS)} (default "
                                                 "Q4_K_M).")
    checkpoint: str | None = Field(None, max_length=MAX_REFERENCE_CHARS,
                                   description="A checkpoint folder of the session; empty or left out: the final "
                                               "weights.")


class ExportListQuery(In):
    session_id: SessionId | None = Field(None, description="Only this session's exports.")


class ExportDownloadQuery(In):
    file: str | None = Field(None, max_length=MAX_REFERENCE_CHARS,
                             description="One file of the manifest; left out: the whole export as a .tar.gz.")
    session_id: SessionId | None = Field(None, description="When given, the export must belong to this session.")


# -- responses --------------------------------------------------------------------------------------------------
class ExportFormats(Out):
    formats: list[str]
    quantizations: list[str]


class ExportSummary(Out):
    id: str
    session_id: str
    owner_id: int | None = None
    format: str
    quantization: str | None = None
    checkpoint: str | None = None
    status: str = Field(description="queued, running, completed, failed, cancelled or interrupted.")
    stage: str | None = None
    progress: float | None = None
    message: str | None = None
    error: str | None = None
    size: int | None = Field(None, description="Bytes of all its files, once completed.")
    verification: str | None = None
    fidelity: str | None = Field(None, description="Whether the file answers like the model it was made from.")
    behaviour: str | None = Field(None, description="Whether the model stops its answers.")
    quantization_applied: str | None = None
    files: list[str] = many("The files of its manifest.")
    created_at: str | None = None
    finished_at: str | None = None


class ExportEnvelope(Out):
    export: ExportSummary


class ExportList(Out):
    exports: list[ExportSummary]


class ExportDetail(ExportSummary):
    manifest: dict[str, Any] | None = Field(None, description="Once completed: its files with sizes and SHA-256, "
                                                              "the source checkpoint, the verification.")
