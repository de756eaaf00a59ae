"""Preview: the first N rows of a dataset mapped to instruction/response, and the prompt the model will see.

Only the first N rows are read (any size of file answers at once). The chat
template comes from the prepared default model's tokenizer when it is there,
else from the bundled GGUF; it is loaded once per process.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path
from typing import Any

from flask import current_app

from core.datasets import (DatasetFormatError, DatasetSpec, DatasetUnavailableError, FieldMapping, RowReader,
                           detect_format, detect_mapping, normalise_row, render_prompt)
from core.datasets.builtin import builtin_rows, get_builtin
from core.datasets.hub import load_hub_dataset
from core.datasets.profile import json_safe
from services.auth.folders import current_owner_folder
from services.datasets.records import get_record, stored_file
from services.errors import ServiceError
from services.storage import resolve_inside

log = logging.getLogger(__name__)

MAX_SAMPLES = 100
DEFAULT_SAMPLES = 5

_tokenizers: dict[str, Any] = {}
_tokenizer_lock = threading.Lock()


def _tokenizer_source(model_cache: str) -> tuple[str, str]:
    from core.default_model import prepared_model_dir

    prepared = prepared_model_dir(model_cache)
    if (prepared / "tokenizer_config.json").is_file():
        return str(prepared), f"{prepared.name} (prepared default model)"
    return "bundled", "SmolLM2-135M-Instruct (bundled tokenizer)"


def preview_tokenizer(model_cache: str) -> tuple[Any, str]:
    """``(tokenizer or None, label)``; None when no tokenizer can be loaded (plain layout is used)."""
    key, label = _tokenizer_source(model_cache)
    with _tokenizer_lock:
        if key not in _tokenizers:
            try:
                if key == "bundled":
                    from core.default_model import load_bundled_tokenizer

                    _tokenizers[key] = load_bundled_tokenizer()
                else:
                    from transformers import AutoTokenizer

                    _tokenizers[key] = AutoTokenizer.from_pretrained(key)
            except Exception:
                log.warning("no tokenizer for the prompt preview", exc_info=True)
                _tokenizers[key] = None
        tokenizer = _tokenizers[key]
    return tokenizer, (label if tokenizer is not None else "no tokenizer available (plain layout)")


def warm_tokenizer(model_cache: str) -> None:
    """Load the preview tokenizer in the background (the wizard page calls this, the preview then is fast)."""
    threading.Thread(target=preview_tokenizer, args=(model_cache,), daemon=True, name="preview-tokenizer").start()


def _samples(value: Any) -> int:
    try:
        count = int(value if value is not None else DEFAULT_SAMPLES)
    except (TypeError, ValueError):
        raise ServiceError("samples must be a whole number.") from None
    if not 1 <= count <= MAX_SAMPLES:
        raise ServiceError(f"samples must be between 1 and {MAX_SAMPLES}.")
    return count


def _first_rows(path: Path, fmt: str, count: int) -> tuple[list[dict], list[str]]:
    reader = RowReader(path, fmt)
    try:
        rows = list(itertools.islice(iter(reader), count))
    except DatasetFormatError as exc:
        raise ServiceError(f"The file cannot be previewed: {exc}", details=[str(exc)]) from None
    columns = reader.columns or list(dict.fromkeys(k for row in rows for k in row))
    return rows, columns


def _source_rows(payload: dict, count: int) -> tuple[list[dict], list[str], FieldMapping, dict]:
    """Raw rows, columns, saved/default mapping and a description of what was read."""
    if payload.get("id") is not None:
        record = get_record(payload["id"])
        about = {"id": record.id, "name": record.name, "total_rows": record.row_count, "status": record.status}
        if record.source_kind == "upload":
            rows, columns = _first_rows(stored_file(record), record.format, count)
        else:
            rows, columns = _hub_rows(record.hub_id, record.config_name, record.split or "train", count)
        return rows, columns, FieldMapping.from_dict(record.mapping), about
    if payload.get("path"):
        # A stored name inside the caller's own upload folder (the upload folder itself in single mode).
        path = resolve_inside(current_owner_folder(current_app.config["UPLOAD_FOLDER"]), str(payload["path"]))
        if not path.is_file():
            raise ServiceError(f"No uploaded file at {payload['path']!r}.", status_code=404)
        fmt = payload.get("format") or detect_format(path)
        rows, columns = _first_rows(path, fmt, count)
        return rows, columns, FieldMapping(), {"path": str(payload["path"]), "total_rows": None}
    source = payload.get("source")
    if isinstance(source, str) and source.startswith("builtin:"):
        name, split = source.split(":", 1)[1], payload.get("split") or "train"
        try:
            builtin = get_builtin(name)
            rows = builtin_rows(name, split)
        except DatasetUnavailableError as exc:
            raise ServiceError(str(exc)) from None
        return rows[:count], list(rows[0]) if rows else [], builtin.mapping, \
            {"source": source, "total_rows": len(rows)}
    if isinstance(source, str) and source.startswith("dataset:"):
        return _source_rows({**payload, "id": source.split(":", 1)[1], "source": None}, count)
    if isinstance(source, str) and source:
        from services.datasets.catalog import check_hub_id
        from core.datasets import find_entry

        hub_id = check_hub_id(source)
        entry = find_entry(hub_id)
        config = payload.get("config_name") or (entry.config_name if entry else None)
        split = payload.get("split") or (entry.split if entry else "train")
        rows, columns = _hub_rows(hub_id, config, split, count)
        return rows, columns, entry.mapping if entry else FieldMapping(), {"source": hub_id, "total_rows": None}
    raise ServiceError("Say what to preview: id (a dataset), path (an uploaded file) or source "
                       "(builtin:<name>, dataset:<id> or a Hub id).")


def _hub_rows(hub_id: str, config: str | None, split: str, count: int) -> tuple[list[dict], list[str]]:
    from services.datasets.catalog import HubUnavailable

    spec = DatasetSpec("hub", hub_id, split=split, config_name=config,
                       cache_dir=current_app.config.get("HF_DATASETS_CACHE"))
    try:
        dataset = load_hub_dataset(spec)
    except DatasetUnavailableError as exc:
        raise HubUnavailable(str(exc)) from None
    rows = [dataset[i] for i in range(min(count, len(dataset)))]
    return rows, list(dataset.column_names)


def _mapping_override(payload: dict, saved: FieldMapping) -> FieldMapping:
    given = payload.get("mapping")
    if given is not None:
        if not isinstance(given, dict):
            raise ServiceError("mapping must be an object.")
        return FieldMapping.from_dict(given)
    return saved.merged(instruction=payload.get("instruction_field"), response=payload.get("response_field"))


def _system_prompt(payload: dict) -> str | None:
    from services import prompt_templates

    if "system_prompt" in payload:
        text = payload["system_prompt"]
        if text is not None and not isinstance(text, str):
            raise ServiceError("system_prompt must be text.")
        return text or None
    return prompt_templates.rendered_system_prompt(payload.get("template_id") or "default")


PREVIEW_CELL_CHARS = 2000  # a preview shows the start of a long cell, and says it did


def clip_cells(value: Any, limit: int = PREVIEW_CELL_CHARS) -> tuple[Any, bool]:
    """``value`` with every string longer than ``limit`` cut (marked with "…"), and whether anything was cut."""
    if isinstance(value, str):
        return (value[:limit] + "…", True) if len(value) > limit else (value, False)
    if isinstance(value, dict):
        pairs = {k: clip_cells(v, limit) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(cut for _, cut in pairs.values())
    if isinstance(value, list):
        items = [clip_cells(v, limit) for v in value[:100]]
        return [v for v, _ in items], len(value) > 100 or any(cut for _, cut in items)
    return value, False


def _clipped_rows(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        clipped, cut = clip_cells(row)
        if cut:
            clipped["truncated"] = True
        out.append(clipped)
    return out


TEXT_FIELDS = ("path", "source", "split", "config_name", "format", "instruction_field", "response_field")
MAX_FIELD_CHARS = 1024  # a path, a Hub id, a column name: longer is never real (and the OS refuses long names)


def _check_text_fields(payload: dict) -> None:
    """Every name the preview reads is text of a sane length (or absent), so no reader is handed a dict."""
    mapping = payload.get("mapping")
    named = [(name, payload.get(name)) for name in TEXT_FIELDS]
    if isinstance(mapping, dict):
        named += [(f"mapping.{key}", value) for key, value in mapping.items()]
    for name, value in named:
        if value is not None and (not isinstance(value, str) or len(value) > MAX_FIELD_CHARS):
            raise ServiceError(f"{name} must be text of at most {MAX_FIELD_CHARS} characters.",
                               details=[{"path": name, "message": "text expected", "hint": ""}])
    template = payload.get("template_id")
    if template is not None and (isinstance(template, bool) or not isinstance(template, (int, str))):
        raise ServiceError("template_id must be a template's id.",
                           details=[{"path": "template_id", "message": "an id expected", "hint": ""}])


def preview(payload: dict) -> dict[str, Any]:
    """Answer ``POST /api/datasets/preview``."""
    if not isinstance(payload, dict):
        raise ServiceError("Send a JSON object: {id | path | source, samples}.")
    _check_text_fields(payload)
    started = time.perf_counter()
    count = _samples(payload.get("samples"))
    rows, columns, saved, about = _source_rows(payload, count)
    mapping = _mapping_override(payload, saved)
    if not mapping.is_usable():
        mapping = detect_mapping(columns, rows)
    examples = [normalise_row(row, mapping) for row in rows] if mapping.is_usable() else []
    system_prompt = _system_prompt(payload)
    result: dict[str, Any] = {
        **about, "columns": columns, "mapping": mapping.__dict__.copy(), "mapping_usable": mapping.is_usable(),
        "rows": _clipped_rows([{"instruction": e["instruction"], "response": e["response"], "raw": json_safe(raw)}
                               for e, raw in zip(examples, rows)] if examples else
                              [{"raw": json_safe(r)} for r in rows]),
        "cell_limit": PREVIEW_CELL_CHARS,
        "system_prompt": system_prompt,
    }
    if payload.get("render", True) and examples:
        tokenizer, label = preview_tokenizer(current_app.config["MODEL_CACHE"])
        result["prompts"] = [clip_cells(render_prompt(tokenizer, e["instruction"], e.get("system") or system_prompt),
                                        4 * PREVIEW_CELL_CHARS)[0] for e in examples]
        result["tokenizer"] = label
    result["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result
