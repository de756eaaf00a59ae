"""Prose: concise summaries (coverage against length), creative writing (diversity, repetition), reasoning quality."""
from __future__ import annotations

import re

from pydantic import Field

from core.rewards.base import Component, Context, Params, Sample
from core.rewards.text import (extract_reasoning, extract_solution, final_answer, key_terms, normalise, parse_number,
                               numbers_close, words)


class SummaryParams(Params):
    field: str = Field("response", description="Dataset field with the reference text (or reference summary).")
    max_ratio: float = Field(0.5, gt=0, le=5, description="Summaries longer than this share of the reference "
                                                          "lose credit proportionally.")
    terms: int = Field(15, ge=1, le=200, description="How many key terms of the reference count.")


def _summary(sample: Sample, p: SummaryParams, ctx: Context):
    reference = sample.field_text(p.field)
    terms = key_terms(reference, p.terms)
    if not terms:
        return None, "the reference has no key terms"
    summary = set(words(sample.completion))
    coverage = sum(t in summary for t in terms) / len(terms)
    ratio = len(words(sample.completion)) / max(1, len(words(reference)))
    brevity = 1.0 if ratio <= p.max_ratio else max(0.0, p.max_ratio / ratio)
    return coverage * brevity, f"covers {coverage:.0%} of key terms at {ratio:.0%} of the length"


class CreativeParams(Params):
    n: int = Field(2, ge=1, le=5, description="n-gram size for distinctness.")
    min_words: int = Field(20, ge=1, le=10000, description="Texts shorter than this are scaled down.")


def _creative(sample: Sample, p: CreativeParams, ctx: Context):
    tokens = words(sample.completion)
    if not tokens:
        return 0.0, "empty"
    grams = [tuple(tokens[i:i + p.n]) for i in range(max(1, len(tokens) - p.n + 1))]
    distinct = len(set(grams)) / len(grams)
    type_token = len(set(tokens)) / len(tokens)
    lines = [normalise(s) for s in re.split(r"[.!?\n]+", sample.completion) if normalise(s)]
    repeated = 1 - len(set(lines)) / len(lines) if lines else 0.0
    size = min(1.0, len(tokens) / p.min_words)
    score = (0.5 * distinct + 0.5 * type_token) * (1 - repeated) * size
    return score, f"distinct {p.n}-grams {distinct:.0%}, vocabulary {type_token:.0%}, repeated sentences {repeated:.0%}"


_CONNECTIVES = ("because", "therefore", "so", "thus", "hence", "since", "which means", "as a result", "then",
                "first", "next", "finally", "consequently")


class ReasoningParams(Params):
    field: str | None = Field("answer", description="Reference answer the conclusion should agree with "
                                                    "(optional; without it that part is left out).")
    min_steps: int = Field(2, ge=1, le=50, description="Sentences or lines of reasoning for full credit.")


def _reasoning(sample: Sample, p: ReasoningParams, ctx: Context):
    text = sample.completion
    body = extract_reasoning(text, ctx.markers) or text
    steps = [s for s in re.split(r"(?<=[.!?])\s+|\n+", body) if len(words(s)) >= 2]
    step_score = min(1.0, len(steps) / p.min_steps)
    lowered = f" {body.lower()} "
    used = [c for c in _CONNECTIVES if f" {c} " in lowered or f" {c}," in lowered]
    connective_score = min(1.0, len(used) / 2)
    parts, notes = [step_score, connective_score], [f"{len(steps)} steps", f"connectives: {', '.join(used) or 'none'}"]
    reference = sample.field_text(p.field) if p.field else None
    if reference is not None:
        stated = extract_solution(text, ctx.markers) or final_answer(text, ctx.markers)
        a, b = parse_number(stated or ""), parse_number(reference)
        consistent = numbers_close(a, b, 1e-4) if a is not None and b is not None else \
            normalise(stated or "") == normalise(reference)
        in_reasoning = reference.strip() in body or (b is not None and any(
            numbers_close(x, b, 1e-4) for x in [parse_number(t) for t in re.findall(r"[-\d.,/]+", body)] if x is not None))
        parts.append(0.5 * consistent + 0.5 * (consistent and in_reasoning))
        notes.append("conclusion " + ("agrees with" if consistent else "differs from") + " the reference")
    return sum(parts) / len(parts), "; ".join(notes)


COMPONENTS = [
    Component("summary", "writing", "Share of the reference's key terms covered, reduced when the summary is long.",
              SummaryParams, ("response",), _summary),
    Component("creative", "writing", "Lexical diversity (distinct n-grams, vocabulary) with a repetition penalty.",
              CreativeParams, score=_creative),
    Component("reasoning_quality", "writing", "Explicit steps, connectives, and a conclusion that agrees with "
              "the reference answer (derived in the reasoning).", ReasoningParams, score=_reasoning),
]
