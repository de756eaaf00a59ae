"""Request fields that reach a generation, each checked against its bound before anything is queued: a bad or
oversized value is a fast 400 that names the field, never work for the inference worker."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from core.inference.limits import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_SYSTEM_PROMPT_CHARS
from services.errors import ServiceError

SETTING_LIMITS = {"temperature": (0.0, 2.0, 0.7), "top_p": (0.01, 1.0, 0.95), "max_tokens": (1, MAX_NEW_TOKENS, 128),
                  "seed": (0, 2**31 - 1, 0)}


def field_error(path: str, message: str, hint: str = "") -> ServiceError:
    return ServiceError(f"{path}: {message}", details=[{"path": path, "message": message, "hint": hint}])


def clean_settings(raw: dict) -> dict:
    """Sampling settings within their bounds; a bad value is a 400 that names the field."""
    settings = {}
    for name, (low, high, default) in SETTING_LIMITS.items():
        value = raw.get(name, default)
        try:
            value = int(value) if isinstance(default, int) else float(value)
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None or not (low <= value <= high) or value != value:
            raise ServiceError(f"{name} must be a number from {low} to {high}.",
                               details=[{"path": name, "message": f"between {low} and {high}", "hint": ""}])
        settings[name] = value
    return settings


def clean_prompt(value: Any, path: str = "prompt") -> str:
    """A non-empty prompt of at most ``MAX_PROMPT_CHARS`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise ServiceError("Write a prompt first.", details=[{"path": path, "message": "empty", "hint": ""}])
    if len(value) > MAX_PROMPT_CHARS:
        raise field_error(path, f"at most {MAX_PROMPT_CHARS} characters (got {len(value)})",
                          "Shorten the prompt; the model's context is smaller still.")
    return value.strip()


def clean_system_prompt(value: Any, path: str = "system_prompt") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise field_error(path, "must be text")
    if len(value) > MAX_SYSTEM_PROMPT_CHARS:
        raise field_error(path, f"at most {MAX_SYSTEM_PROMPT_CHARS} characters (got {len(value)})")
    return value


MAX_REFERENCE_CHARS = 1024  # a model id, session id or path inside a data folder


def clean_reference(value: Any, path: str) -> str | None:
    """A model reference (``model_id``, ``session_id``, ``model_path``): absent, or text of a sane length."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_REFERENCE_CHARS:
        raise field_error(path, f"must be text of at most {MAX_REFERENCE_CHARS} characters",
                          "Use an id from /api/models/list.")
    return value


def parse_request(model: type[BaseModel], data: Any) -> BaseModel:
    """``data`` validated by a pydantic request model; every problem a 400 detail with its field path."""
    try:
        return model.model_validate(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        details = [{"path": ".".join(map(str, e["loc"])), "message": e["msg"], "hint": ""}
                   for e in exc.errors(include_url=False)]
        raise ServiceError("; ".join(f"{d['path']}: {d['message']}" for d in details), details=details) from None
