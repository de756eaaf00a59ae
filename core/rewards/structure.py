"""Structure: sequential steps, JSON (and a small schema), markdown elements, citation patterns (APA / MLA)."""
from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import Field

from core.rewards.base import Component, Context, Params, Sample

_NUMBERED = re.compile(r"^\s*(?:step\s*)?(\d+)[.):]\s+\S", re.I | re.M)
_ORDER_WORDS = ("first", "second", "next", "then", "after that", "finally", "lastly")


class StepsParams(Params):
    min_steps: int = Field(3, ge=1, le=100, description="Steps needed for a full score.")


def _steps(sample: Sample, p: StepsParams, ctx: Context):
    numbers = [int(n) for n in _NUMBERED.findall(sample.completion)]
    in_order = 0
    for i, n in enumerate(numbers):
        if n == i + 1:
            in_order = i + 1
        else:
            break
    text = sample.completion.lower()
    ordinal = sum(1 for w in _ORDER_WORDS if re.search(rf"\b{w}\b", text))
    steps = max(in_order, ordinal)
    kind = "numbered steps" if in_order >= ordinal else "sequence words"
    return min(1.0, steps / p.min_steps), f"{steps} {kind}"


class JsonParams(Params):
    required_keys: list[str] = Field(default_factory=list, max_length=100,
                                     description="Keys the top-level object must have.")
    key_types: dict[str, Literal["string", "number", "integer", "boolean", "array", "object", "null"]] = Field(
        default_factory=dict, description="Expected JSON type per key.")
    allow_fenced: bool = Field(True, description="Accept JSON inside a ```json fence or with text around it.")


_TYPES = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "array": list, "object": dict,
          "null": type(None)}


def _json_candidate(text: str, fenced: bool) -> str:
    if not fenced:
        return text.strip()
    fence = re.search(r"```(?:json)?\s*\n(.*?)```", text, re.S)
    if fence:
        return fence.group(1).strip()
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    end = max(text.rfind("}"), text.rfind("]"))
    return text[start:end + 1] if 0 <= start < end else text.strip()


def _json(sample: Sample, p: JsonParams, ctx: Context):
    try:
        value = json.loads(_json_candidate(sample.completion, p.allow_fenced))
    except (ValueError, RecursionError) as exc:
        return 0.0, f"not valid JSON: {exc}"[:120]
    checks = len(p.required_keys) + len(p.key_types)
    if not checks:
        return 1.0, "valid JSON"
    if not isinstance(value, dict):
        return 0.5, "valid JSON, but not an object"
    passed = sum(k in value for k in p.required_keys)
    for key, kind in p.key_types.items():
        v = value.get(key)
        passed += key in value and isinstance(v, _TYPES[kind]) and not (kind in ("number", "integer")
                                                                      and isinstance(v, bool))
    return 0.5 + 0.5 * passed / checks, f"valid JSON; {passed} of {checks} schema checks pass"


class MarkdownParams(Params):
    headings: bool = Field(True, description="Count '#' headings.")
    lists: bool = Field(True, description="Count bulleted or numbered lists.")
    code_fences: bool = Field(False, description="Count closed ``` code fences.")
    emphasis: bool = Field(False, description="Count **bold** or *italic* text.")


def _markdown(sample: Sample, p: MarkdownParams, ctx: Context):
    text = sample.completion
    checks = {"headings": bool(re.search(r"^#{1,6}\s+\S", text, re.M)),
              "lists": bool(re.search(r"^\s*(?:[-*+]|\d+[.)])\s+\S", text, re.M)),
              "code_fences": text.count("```") >= 2 and text.count("```") % 2 == 0,
              "emphasis": bool(re.search(r"(\*\*|__)[^*_\n]+\1|(?<![*\w])\*[^*\n]+\*(?!\*)", text))}
    wanted = [name for name in checks if getattr(p, name)]
    if not wanted:
        return None, "no element selected"
    have = [name for name in wanted if checks[name]]
    return len(have) / len(wanted), f"has {', '.join(have) or 'none'} of {', '.join(wanted)}"


APA_IN_TEXT = re.compile(r"\(([A-Z][A-Za-z'\-]+(?: (?:et al\.|& [A-Z][A-Za-z'\-]+))?), (\d{4}[a-z]?|n\.d\.)\)")
_APA_REFERENCE = re.compile(r"^[A-Z][A-Za-z'\-]+, (?:[A-Z]\. ?)+.*\((\d{4}[a-z]?|n\.d\.)\)\. .+", re.M)
MLA_IN_TEXT = re.compile(r"\(([A-Z][A-Za-z'\-]+(?: et al\.| and [A-Z][A-Za-z'\-]+)?) (\d+(?:[-–]\d+)?)\)")
_MLA_REFERENCE = re.compile(r"^[A-Z][A-Za-z'\-]+, [A-Z][A-Za-z'\-]+.*\. .*[\"“].+[\"”]|^[A-Z][A-Za-z'\-]+, "
                            r"[A-Z][A-Za-z'\-]+\. \*?[A-Z].+\.", re.M)


class CitationParams(Params):
    style: Literal["apa", "mla", "any"] = Field("apa", description="Citation style to look for.")


def _citation(sample: Sample, p: CitationParams, ctx: Context):
    text = sample.completion
    styles = ["apa", "mla"] if p.style == "any" else [p.style]
    best, note = 0.0, "no citation in the chosen style"
    for style in styles:
        in_text, ref = (APA_IN_TEXT, _APA_REFERENCE) if style == "apa" else (MLA_IN_TEXT, _MLA_REFERENCE)
        found_in_text, found_ref = bool(in_text.search(text)), bool(ref.search(text))
        score = 0.5 * found_in_text + 0.5 * found_ref
        if score > best:
            best = score
            note = f"{style.upper()}: in-text citation {'found' if found_in_text else 'missing'}, reference " + \
                   ("found" if found_ref else "missing")
    return best, note


COMPONENTS = [
    Component("steps", "structure", "Numbered steps (1., 2., 3.) or first/then/finally words, up to min_steps.",
              StepsParams, score=_steps),
    Component("json_valid", "structure", "1 for valid JSON meeting the key checks; 0.5 valid but failing them.",
              JsonParams, score=_json),
    Component("markdown", "structure", "Share of the chosen markdown elements (headings, lists, fences) present.",
              MarkdownParams, score=_markdown),
    Component("citation", "structure", "0.5 for an in-text citation and 0.5 for a reference entry, APA or MLA.",
              CitationParams, score=_citation),
]
