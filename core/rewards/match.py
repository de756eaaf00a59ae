"""Text matching: regex, exact / normalised match, contains / all-of / any-of, multiple choice, length."""
from __future__ import annotations

import re
from typing import Literal

import regex
from pydantic import Field, field_validator

from core.rewards.base import Component, Context, Params, Sample
from core.rewards.text import extract_solution, final_answer, normalise, words

Where = Literal["solution", "final", "whole"]
MAX_PATTERN = 2000
# A user's pattern may backtrack for ever (``(a|aa)+$``): the ``regex`` package stops it after this many seconds
# per text, and releases the GIL while it matches, so other threads (HTTP, Socket.IO, supervisors) run meanwhile.
REGEX_TIMEOUT = 1.0
WHERE_HELP = "solution: between the solution markers; final: the stated final answer; whole: the whole completion."


def _target(sample: Sample, where: str, ctx: Context) -> str | None:
    if where == "solution":
        return extract_solution(sample.completion, ctx.markers)
    if where == "final":
        return final_answer(sample.completion, ctx.markers)
    return sample.completion


class RegexParams(Params):
    pattern: str = Field(..., min_length=1, max_length=MAX_PATTERN,
                         description=f"Python regular expression (matching stops after {REGEX_TIMEOUT:g} s per text).")
    ignore_case: bool = Field(False, description="Match regardless of case.")
    full: bool = Field(False, description="The whole text must match, not just a part of it.")
    where: Where = Field("whole", description=WHERE_HELP)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            regex.compile(value, regex.VERSION0)
        except (regex.error, RecursionError, OverflowError, MemoryError) as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


def _regex(sample: Sample, p: RegexParams, ctx: Context):
    text = _target(sample, p.where, ctx)
    if text is None:
        return 0.0, "nothing to match (no solution markers)"
    flags = regex.VERSION0 | regex.S | (regex.I if p.ignore_case else 0)
    try:
        found = (regex.fullmatch if p.full else regex.search)(p.pattern, text.strip() if p.full else text, flags,
                                                              timeout=REGEX_TIMEOUT)
    except TimeoutError:
        return 0.0, f"the pattern took longer than {REGEX_TIMEOUT:g} s on this text (catastrophic backtracking?)"
    return float(bool(found)), "matches" if found else "no match"


class ExactParams(Params):
    field: str = Field("answer", description="Dataset field with the reference text.")
    normalised: bool = Field(True, description="Ignore case, punctuation, articles and spacing.")
    where: Where = Field("final", description=WHERE_HELP)


def _exact(sample: Sample, p: ExactParams, ctx: Context):
    expected = sample.field_text(p.field)
    given = _target(sample, p.where, ctx)
    if given is None:
        return 0.0, "no answer found"
    a, b = (normalise(given), normalise(expected)) if p.normalised else (given.strip(), expected.strip())
    return float(a == b), "same text" if a == b else f"{given.strip()[:40]!r} != {expected.strip()[:40]!r}"


class ContainsParams(Params):
    terms: list[str] = Field(default_factory=list, max_length=200,
                             description="Terms to look for; empty: the words of the field below.")
    field: str | None = Field(None, description="Dataset field whose value must appear (used when terms is empty).")
    mode: Literal["all", "any", "fraction"] = Field(
        "fraction", description="all: 1 only when every term appears; any: 1 when one does; fraction: share found.")
    ignore_case: bool = Field(True, description="Compare without case.")


def _contains(sample: Sample, p: ContainsParams, ctx: Context):
    terms = list(p.terms)
    if not terms and p.field:
        value = sample.field_text(p.field)
        if value is None:
            return None, f"no {p.field!r} field"
        terms = [value.strip()]
    if not terms:
        return None, "no terms given"
    text = sample.completion.lower() if p.ignore_case else sample.completion
    found = [t for t in terms if (t.lower() if p.ignore_case else t) in text]
    score = {"all": float(len(found) == len(terms)), "any": float(bool(found))}.get(p.mode, len(found) / len(terms))
    return score, f"{len(found)} of {len(terms)} terms found"


class ChoiceParams(Params):
    field: str = Field("answer", description="Dataset field with the correct letter (A-E) or option text.")
    choices_field: str | None = Field("choices", description="Dataset field listing the options, in order.")


_LETTER = re.compile(r"(?:^|[\s(\[*:])([A-Ea-e])(?:[)\].:,]|\s|$)")


def _choice(sample: Sample, p: ChoiceParams, ctx: Context):
    expected = sample.field_text(p.field).strip()
    options = sample.fields.get(p.choices_field) if p.choices_field else None
    options = [str(o) for o in options] if isinstance(options, (list, tuple)) else []
    answer = final_answer(sample.completion, ctx.markers)
    letter_match = _LETTER.search(" " + answer + " ")
    given_letter = letter_match.group(1).upper() if letter_match else None
    if given_letter is None and options:  # the option's text instead of its letter
        given_letter = next((chr(65 + i) for i, o in enumerate(options) if normalise(o) == normalise(answer)), None)
    expected_letter = expected.upper() if re.fullmatch(r"[A-Ea-e]", expected) else next(
        (chr(65 + i) for i, o in enumerate(options) if normalise(o) == normalise(expected)), None)
    if expected_letter is None:
        ok = normalise(answer) == normalise(expected)
        return float(ok), "option text " + ("matches" if ok else "differs")
    if given_letter is None:
        return 0.0, "no option chosen"
    return float(given_letter == expected_letter), f"chose {given_letter}, expected {expected_letter}"


class LengthParams(Params):
    unit: Literal["characters", "words", "tokens"] = Field(
        "words", description="tokens: the trainer's token count (about 1.3 per word when scored outside training).")
    min: int = Field(0, ge=0, le=1_000_000, description="Shortest length that scores 1.")
    max: int = Field(200, ge=1, le=1_000_000, description="Longest length that scores 1.")
    falloff: float = Field(0.5, gt=0, le=10, description="Score falls to 0 at this fraction beyond the range.")


def _length(sample: Sample, p: LengthParams, ctx: Context):
    if p.unit == "characters":
        n = len(sample.completion)
    elif p.unit == "tokens" and sample.tokens is not None:
        n = sample.tokens
    else:
        n = len(words(sample.completion)) * (1.3 if p.unit == "tokens" else 1)
    if p.min <= n <= p.max:
        return 1.0, f"{n:.0f} {p.unit} in [{p.min}, {p.max}]"
    edge = p.min if n < p.min else p.max
    distance = abs(n - edge) / max(edge, 1)
    return max(0.0, 1 - distance / p.falloff), f"{n:.0f} {p.unit} outside [{p.min}, {p.max}]"


COMPONENTS = [
    Component("regex_match", "match", "1 when the regular expression matches (a part of, or the whole) text.",
              RegexParams, score=_regex),
    Component("exact_match", "match", "1 when the stated answer equals the reference, normalised or exactly.",
              ExactParams, ("answer",), _exact),
    Component("contains", "match", "Share of the terms found (or 1 when all / any are, by mode).",
              ContainsParams, score=_contains),
    Component("multiple_choice", "match", "1 when the chosen option (letter or its text) is the correct one.",
              ChoiceParams, ("answer",), _choice),
    Component("length", "match", "1 inside the length range, falling linearly to 0 beyond it.",
              LengthParams, score=_length),
]
