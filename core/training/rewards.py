"""The basic rewards for marker-formatted answers, in TRL's reward-function contract.

Contract: ``fn(prompts, completions, **columns) -> list[float | None]``, one
score per completion, typically in [0, 1]; ``None`` means "not applicable"
(TRL turns it into NaN and leaves it out of the baseline). ``__name__`` is the
metric name: TRL logs ``rewards/<name>/mean``. The full reward library is its
own module; these two are what the default arithmetic config needs.
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable

from core.datasets.prompts import Markers
from core.training.prompts import completion_text

log = logging.getLogger(__name__)

RewardFunc = Callable[..., list]

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _named(fn: RewardFunc, name: str) -> RewardFunc:
    fn.__name__ = name
    fn.__qualname__ = name
    return fn


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


def extract_solution(text: str, markers: Markers) -> str | None:
    start = text.rfind(markers.solution_start)
    if start < 0:
        return None
    start += len(markers.solution_start)
    end = text.find(markers.solution_end, start)
    return (text[start:end] if end >= 0 else text[start:]).strip()


def _as_number(text: str) -> float | None:
    match = _NUMBER.search(text.replace("$", ""))
    if not match:
        return None
    try:
        return float(match.group(0).replace(",", ""))
    except ValueError:
        return None


def answers_match(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    expected_number = _as_number(expected)
    if expected_number is not None:
        given_number = _as_number(given)
        return given_number is not None and math.isclose(given_number, expected_number, rel_tol=1e-6, abs_tol=1e-9)
    return given.strip().lower().rstrip(".") == expected.strip().lower().rstrip(".")


def make_format_reward(markers: Markers) -> RewardFunc:
    def reward(prompts, completions, **_) -> list[float]:
        return [format_score(completion_text(c), markers) for c in completions]

    return _named(reward, "format")


def make_correctness_reward(markers: Markers) -> RewardFunc:
    def reward(prompts, completions, answer=None, **_) -> list[float | None]:
        if answer is None:  # the dataset has no reference answers: not applicable
            return [None] * len(completions)
        return [1.0 if answers_match(extract_solution(completion_text(c), markers), str(a)) else 0.0
                for c, a in zip(completions, answer)]

    return _named(reward, "correctness")


REWARD_FACTORIES: dict[str, Callable[[Markers], RewardFunc]] = {
    "format": make_format_reward,
    "correctness": make_correctness_reward,
}
PRESETS: dict[str, list[tuple[str, float]]] = {
    "math": [("format", 0.5), ("correctness", 1.0)],
    "format": [("format", 1.0)],
}


def build_rewards(reward_type: str, preset_name: str | None, components: list[tuple[str, float]],
                  markers: Markers) -> tuple[list[RewardFunc], list[float]]:
    """Reward functions and their weights for a config's ``reward`` section."""
    chosen = PRESETS[preset_name] if reward_type == "preset" else components
    return [REWARD_FACTORIES[name](markers) for name, _ in chosen], [float(weight) for _, weight in chosen]

