"""Export a trained session: LoRA adapter (+ GGUF adapter and Modelfile for Ollama), merged HF model, or GGUF
(+ Ollama Modelfile, LM Studio notes).

Plain Python (no Flask): the export worker process, the CLI and the benchmark call :func:`run_export` with a
job dict and an ``emit`` callback; each exporter returns what goes into the manifest.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.checksums import file_sha256
from core.export.adapter import export_adapter
from core.export.gguf import QUANTIZATIONS, export_gguf
from core.export.sources import Source, SourceNotFound, find_source

Emit = Callable[[dict], None]
MANIFEST = "manifest.json"


@dataclass
class ExportContext:
    job: dict[str, Any]
    source: Source
    export_dir: Path
    emit: Emit

    def progress(self, stage: str, fraction: float, message: str) -> None:
        self.emit({"type": "progress", "stage": stage, "fraction": round(fraction, 3), "message": message})


def export_merged(ctx: ExportContext) -> dict[str, Any]:
    from core.export import hf, modelfile

    tokenizer = hf.load_tokenizer(ctx.source)
    try:
        shape = modelfile.chat_shape(tokenizer)
    except modelfile.TemplateError:
        shape = None
    stops = modelfile.stop_tokens(tokenizer, shape)
    ctx.progress("merge", 0.1, "Merging the adapter into the base model")
    folder = hf.merge(ctx.source, ctx.export_dir / "model",
                      [i for i in tokenizer.convert_tokens_to_ids(stops) if i is not None])
    return {"files": sorted(p for p in folder.rglob("*") if p.is_file()), "model": hf.model_info(folder),
            "stop_tokens": stops, "verification": {"status": "checked", "note": "saved with save_pretrained"}}


# format name -> exporter (CTFd-style registry: the API, the UI and the CLI offer exactly these).
EXPORTERS: dict[str, Callable[[ExportContext], dict[str, Any]]] = {
    "adapter": export_adapter,
    "merged": export_merged,
    "gguf": export_gguf,
}


sha256 = file_sha256  # kept under its old name: the export manifest's checksum


def run_export(job: dict[str, Any], emit: Emit = lambda event: None) -> dict[str, Any]:
    """Run one export; return (and write) its manifest. ``job`` keys: export_id, session_id, format,
    quantization, output_dir (the session's outputs), base_model (a folder), export_dir, and optionally
    checkpoint, name, system_prompt, temperature, top_p, num_ctx, verify, verify_max_tokens."""
    started = time.monotonic()
    fmt = job["format"]
    if fmt not in EXPORTERS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(EXPORTERS)}.")
    source = find_source(job["output_dir"], job["base_model"], job.get("checkpoint"))
    export_dir = Path(job["export_dir"])
    export_dir.mkdir(parents=True, exist_ok=True)
    ctx = ExportContext(job, source, export_dir, emit)
    ctx.progress("start", 0.0, f"Exporting {source.label} as {fmt}")
    result = EXPORTERS[fmt](ctx)
    ctx.progress("checksum", 0.97, "Computing checksums")
    files = [{"name": p.relative_to(export_dir).as_posix(), "size": p.stat().st_size, "sha256": sha256(p)}
             for p in result.pop("files")]
    manifest = {"export_id": job.get("export_id"), "session_id": job.get("session_id"), "format": fmt,
                "quantization": result.pop("quantization", job.get("quantization") if fmt == "gguf" else None),
                "size": sum(f["size"] for f in files), "files": files, "source_checkpoint": source.label,
                "source": source.as_dict(), "base_model": job.get("base_model_name") or job["base_model"],
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 2), **result}
    (export_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


__all__ = ["EXPORTERS", "QUANTIZATIONS", "ExportContext", "MANIFEST", "SourceNotFound", "find_source", "run_export"]
