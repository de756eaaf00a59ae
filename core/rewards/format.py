"""Marker format: the reasoning and solution tags present, in order, once each; and what lies between them."""
from __future__ import annotations

from pydantic import Field

from core.datasets.prompts import Markers
from core.rewards.base import Component, Context, Params, Sample
from core.rewards.text import extract_reasoning, extract_solution, words


def format_score(text: str, markers: Markers) -> float:
    """Fraction of the four markers found in order (partial credit keeps the group's rewards varied)."""
    position, found = 0, 0
    for marker in (markers.reasoning_start, markers.reasoning_end, markers.solution_start, markers.solution_end):
        index = text.find(marker, position)
        if index < 0:
            break
        found += 1
        position = index + len(marker)
    return found / 4


class FormatParams(Params):
    exactly_once: bool = Field(True, description="Halve the score when a marker appears more than once.")


def _format(sample: Sample, p: FormatParams, ctx: Context):
    m = ctx.markers
    score = format_score(sample.completion, m)
    note = f"{int(score * 4)} of 4 markers in order"
    repeated = [x for x in (m.reasoning_start, m.reasoning_end, m.solution_start, m.solution_end)
                if sample.completion.count(x) > 1]
    if p.exactly_once and repeated:
        score /= 2
        note += f"; repeated: {', '.join(repeated)}"
    return score, note


class SectionParams(Params):
    min_reasoning_words: int = Field(3, ge=0, le=10000, description="Reasoning shorter than this counts as empty.")


def _sections(sample: Sample, p: SectionParams, ctx: Context):
    text, m = sample.completion, ctx.markers
    reasoning = extract_reasoning(text, m)
    answer = extract_solution(text, m)
    has_reasoning = reasoning is not None and len(words(reasoning)) >= max(1, p.min_reasoning_words)
    after = answer is not None and bool(answer) and text.rfind(m.solution_start) > text.find(m.reasoning_end) >= 0
    score = 0.5 * has_reasoning + 0.5 * after
    return score, ("reasoning " + ("present" if has_reasoning else "empty or missing") + "; answer "
                   + ("after the reasoning" if after else "missing or before the reasoning"))


COMPONENTS = [
    Component("format", "format", "Markers present in order (each found = 1/4), halved when one repeats.",
              FormatParams, score=_format),
    Component("section_content", "format",
              "0.5 for non-empty reasoning between the reasoning markers, 0.5 for an answer after it.",
              SectionParams, score=_sections),
]
