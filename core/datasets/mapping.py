"""Field mapping: guess which columns hold the prompt and the reply, and turn a row into instruction/response."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from core.datasets.spec import FieldMapping

# (instruction, response, optional input) in order of preference; names compare case-insensitively.
PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("instruction", "output", ("input", "context")),
    ("instruction", "response", ("context", "input")),
    ("instruction", "completion", ("input",)),
    ("instruction", "answer", ("input", "context")),
    ("question", "answer", ("context",)),
    ("question", "answers", ("context",)),
    ("question", "response", ("context",)),
    ("question", "solution", ("context",)),
    ("prompt", "completion", ()),
    ("prompt", "response", ()),
    ("prompt", "answer", ()),
    ("prompt", "output", ()),
    ("problem", "solution", ()),
    ("problem", "generated_solution", ()),
    ("problem", "answer", ()),
    ("problem", "expected_answer", ()),
    ("query", "response", ("context",)),
    ("query", "answer", ("context",)),
    ("input", "output", ()),
    ("input", "target", ()),
    ("source", "target", ()),
    ("text", "label", ()),
)
INSTRUCTION_NAMES = ("instruction", "question", "prompt", "problem", "query", "input", "source", "text")
RESPONSE_NAMES = ("output", "response", "answer", "completion", "solution", "generated_solution", "answers",
                  "expected_answer", "target", "label")
MESSAGE_NAMES = ("messages", "conversations", "conversation", "chat", "dialog", "dialogue")
SYSTEM_NAMES = ("system", "system_prompt")
ROLE_KEYS = ("role", "from")
CONTENT_KEYS = ("content", "value", "text")
USER_ROLES = {"user", "human", "prompter"}
ASSISTANT_ROLES = {"assistant", "gpt", "model", "bot"}


def is_chat(value: Any) -> bool:
    """A list of turns, each a dict with a role and a content (OpenAI or ShareGPT style)."""
    return (isinstance(value, list) and bool(value) and all(isinstance(t, dict) for t in value)
            and any(k in value[0] for k in ROLE_KEYS) and any(k in value[0] for k in CONTENT_KEYS))


def detect_mapping(columns: Sequence[str], samples: Iterable[dict] = ()) -> FieldMapping:
    """The most likely mapping for these columns; empty fields when nothing fits (the user chooses)."""
    lower = {c.lower(): c for c in columns}
    samples = list(samples)
    system = next((lower[n] for n in SYSTEM_NAMES if n in lower), None)
    for name in sorted(columns, key=lambda c: c.lower() not in MESSAGE_NAMES):
        values = [row.get(name) for row in samples if row.get(name) is not None]
        if values and all(is_chat(v) for v in values):
            return FieldMapping(messages=name, system=system)
    for instruction, response, inputs in PAIRS:
        if instruction in lower and response in lower:
            extra = next((lower[i] for i in inputs if i in lower and i != instruction), None)
            return FieldMapping(instruction=lower[instruction], response=lower[response], input=extra, system=system)
    instruction = next((lower[n] for n in INSTRUCTION_NAMES if n in lower), None)
    response = next((lower[n] for n in RESPONSE_NAMES if n in lower and lower[n] != instruction), None)
    return FieldMapping(instruction=instruction, response=response, system=system)


def mapping_problems(mapping: FieldMapping, columns: Sequence[str]) -> list[str]:
    """Why a mapping cannot be used with these columns (empty when it can)."""
    problems = []
    if not mapping.is_usable():
        problems.append("choose the instruction column (or a chat messages column)")
    known = set(columns)
    for field_name, column in (("instruction", mapping.instruction), ("response", mapping.response),
                               ("input", mapping.input), ("messages", mapping.messages),
                               ("system", mapping.system)):
        if column and known and column not in known:
            problems.append(f"{field_name}: no column named {column!r} (columns: {', '.join(columns)})")
    return problems


def as_text(value: Any) -> str:
    """Text for a cell: strings as they are, SQuAD-style ``{"text": [...]}`` and lists by their first
    non-empty item, anything else nested as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict) and "text" in value:
        return as_text(value["text"])
    if isinstance(value, list) and value and all(not isinstance(v, (dict, list)) for v in value):
        return next((as_text(v) for v in value if as_text(v).strip()), "")
    if isinstance(value, list) and not value:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)


def _turn(turn: dict) -> tuple[str, str]:
    role = next((str(turn[k]).lower() for k in ROLE_KEYS if k in turn), "")
    content = next((as_text(turn[k]) for k in CONTENT_KEYS if k in turn), "")
    return role, content


def normalise_row(row: dict, mapping: FieldMapping) -> dict:
    """``{"instruction", "response"}`` (plus ``system`` when the row has one) from a raw row."""
    out: dict[str, str] = {}
    if mapping.messages:
        turns = [_turn(t) for t in (row.get(mapping.messages) or []) if isinstance(t, dict)]
        reply_at = max((i for i, (role, _) in enumerate(turns) if role in ASSISTANT_ROLES), default=None)
        before = turns[:reply_at] if reply_at is not None else turns
        out["instruction"] = next((c for role, c in reversed(before) if role in USER_ROLES), "")
        out["response"] = turns[reply_at][1] if reply_at is not None else ""
        system = next((c for role, c in turns if role == "system"), "")
        if system:
            out["system"] = system
    else:
        instruction = as_text(row.get(mapping.instruction)) if mapping.instruction else ""
        extra = as_text(row.get(mapping.input)) if mapping.input else ""
        out["instruction"] = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        out["response"] = as_text(row.get(mapping.response)) if mapping.response else ""
    if mapping.system and as_text(row.get(mapping.system)).strip():
        out["system"] = as_text(row.get(mapping.system))
    return out
