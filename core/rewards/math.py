"""Answers that are numbers: the final number (markers, \\boxed{}, '####', fractions, %, units) against the reference."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.rewards.base import Component, Context, Params, Sample
from core.rewards.text import extract_solution, final_number, numbers_close, parse_number


def answers_match(given: str | None, expected: str) -> bool:
    """Numbers compare numerically (1,000 = 1000.0 = 1e3), anything else as normalised text."""
    if given is None:
        return False
    expected_number = parse_number(expected)
    if expected_number is not None:
        given_number = parse_number(given)
        return given_number is not None and numbers_close(given_number, expected_number)
    return given.strip().lower().rstrip(".") == expected.strip().lower().rstrip(".")


class CorrectnessParams(Params):
    field: str = Field("answer", description="Dataset field with the reference answer.")


def _correctness(sample: Sample, p: CorrectnessParams, ctx: Context):
    expected = sample.field_text(p.field)
    if expected is None:
        return None, f"no {p.field!r} field"
    given = extract_solution(sample.completion, ctx.markers)
    if given is None:
        return 0.0, "no answer between the solution markers"
    ok = answers_match(given, expected)
    return float(ok), f"answer {given[:40]!r} {'matches' if ok else 'differs from'} {expected[:40]!r}"


class NumericParams(Params):
    field: str = Field("answer", description="Dataset field with the reference number.")
    source: Literal["solution", "final"] = Field(
        "final", description="solution: only between the solution markers; final: markers, \\boxed{}, "
                             "'####', 'the answer is', else the last number.")
    rel_tol: float = Field(1e-4, ge=0, le=1, description="Relative tolerance.")
    abs_tol: float = Field(1e-6, ge=0, le=1e6, description="Absolute tolerance.")
    partial_credit: float = Field(0.0, ge=0, le=1, description="Score for a number within 10% of the reference.")


def _numeric(sample: Sample, p: NumericParams, ctx: Context):
    reference = sample.field_text(p.field)
    expected = parse_number(reference) if reference is not None else None
    if expected is None:
        return None, f"the {p.field!r} field holds no number"
    if p.source == "solution":
        text = extract_solution(sample.completion, ctx.markers)
        given = parse_number(text) if text else None
    else:
        given = final_number(sample.completion, ctx.markers)
    if given is None:
        return 0.0, "no number found"
    if numbers_close(given, expected, p.rel_tol, p.abs_tol):
        return 1.0, f"{given:g} = {expected:g}"
    if p.partial_credit and numbers_close(given, expected, 0.1, p.abs_tol):
        return p.partial_credit, f"{given:g} within 10% of {expected:g}"
    return 0.0, f"{given:g} != {expected:g}"


COMPONENTS = [
    Component("correctness", "math", "1 when the answer between the solution markers equals the reference "
              "(numbers numerically, text ignoring case), else 0.", CorrectnessParams, ("answer",), _correctness),
    Component("numeric_match", "math", "1 when the final number (markers, \\boxed{}, fractions, 1,000, 50%, units "
              "stripped) equals the reference within tolerance.", NumericParams, ("answer",), _numeric),
]
