"""Shared by the reward services: parameter and code validation, sandbox checks, error shapes."""
from __future__ import annotations

import ast
from typing import Any

from pydantic import ValidationError

from core.datasets.prompts import Markers
from core.rewards import COMPONENTS
from core.sandbox import isolation
from core.training_config import DatasetSection
from services.errors import ServiceError
from services.ids import as_id

MAX_CODE = 100_000
MAX_NAME = 1000  # a dataset source, split or field name


def bad_request(message: str, path: str, hint: str = "", status: int | None = None) -> ServiceError:
    return ServiceError(message, details=[{"path": path, "message": message, "hint": hint}], status_code=status)

def check_components(raw: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("Give at least one component.", path, "Pick components from GET /api/rewards/components.")
    details, clean = [], []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or item["name"] not in COMPONENTS:
            details.append({"path": f"{path}.{i}.name", "message": f"unknown component {item!r}"[:200],
                            "hint": f"Use one of: {', '.join(COMPONENTS)}."})
            continue
        weight = item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not -100 <= weight <= 100:
            details.append({"path": f"{path}.{i}.weight", "message": "weight must be a number in [-100, 100]",
                            "hint": ""})
            continue
        if not isinstance(item.get("params") or {}, dict):
            details.append({"path": f"{path}.{i}.params", "message": "params must be an object",
                            "hint": "See the component's parameter schema."})
            continue
        try:
            params = COMPONENTS[item["name"]].parse_params(item.get("params") or {}).model_dump()
        except ValidationError as exc:
            details += [{"path": ".".join([path, str(i), "params", *map(str, e["loc"])]), "message": e["msg"],
                         "hint": "See the component's parameter schema."} for e in exc.errors(include_url=False)]
            continue
        clean.append({"name": item["name"], "weight": float(weight), "params": params})
    if details:
        raise ServiceError("The reward components are not valid.", details=details)
    return clean


def check_code(raw: Any, path: str = "code") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("Write the reward function.", path, "def reward(prompt, completion, **fields): return 1.0")
    if len(raw) > MAX_CODE:
        raise bad_request(f"The code is longer than {MAX_CODE} characters.", path)
    try:
        tree = ast.parse(raw)  # parsing only: the code itself never runs in the server
    except SyntaxError as exc:
        raise bad_request(f"Syntax error on line {exc.lineno}: {exc.msg}", path) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes; nesting deeper than the parser's stack
        raise bad_request(f"The code cannot be parsed: {type(exc).__name__}: {str(exc)[:200]}", path,
                          "Remove NUL bytes and deeply nested expressions.") from None
    if not any(isinstance(n, ast.FunctionDef) and n.name == "reward" for n in tree.body):
        raise bad_request("Define a top-level function named reward.", path,
                     "def reward(prompt, completion, **fields) -> float | None")
    return raw


def check_dataset_request(body: dict[str, Any]) -> dict[str, Any]:
    """The dataset a reward request names (``dataset_id`` or ``source``, ``split`` and the field names): each of
    the right type before anything resolves it, so a number or an object there is a 400, not a crash."""
    if body.get("dataset_id") is not None and as_id(body["dataset_id"]) is None:
        raise bad_request("dataset_id must be a dataset's id (a positive integer).", "dataset_id",
                          "Pick one from GET /api/datasets/list.")
    for key in ("source", "split", "instruction_field", "response_field"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
            raise bad_request(f"{key} must be a text of at most {MAX_NAME} characters.", key)
    return body


def require_sandbox(path: str) -> None:
    iso = isolation()
    if not iso.available:
        raise bad_request(f"Code rewards cannot run on this machine: {iso.reason}", path,
                     "Install bubblewrap (scripts/setup_sandbox.sh) or use a preset or no-code reward.", 503)


def parse_markers(raw: Any) -> Markers:
    if raw is None:
        return Markers()
    try:
        section = DatasetSection.model_validate(raw if isinstance(raw, dict) else {})
    except ValidationError:
        raise bad_request("markers must hold reasoning_start, reasoning_end, solution_start, solution_end.",
                     "markers") from None
    return Markers(section.reasoning_start, section.reasoning_end, section.solution_start, section.solution_end)
