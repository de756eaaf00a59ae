"""Compatibility names for the reward library (``core.rewards``): the trainer, export/evaluation and the CLI
import these; the logic lives only in the library."""
from __future__ import annotations

from collections.abc import Callable

from core.datasets.prompts import Markers
from core.rewards import COMPONENTS, PRESETS, ComponentReward, build_rewards
from core.rewards.format import format_score
from core.rewards.math import answers_match
from core.rewards.text import extract_solution

RewardFunc = Callable[..., list]
REWARD_FACTORIES = COMPONENTS  # component names accepted in ``reward.components``

__all__ = ["COMPONENTS", "PRESETS", "REWARD_FACTORIES", "RewardFunc", "answers_match", "build_rewards",
           "extract_solution", "format_score", "make_correctness_reward", "make_format_reward"]


def make_format_reward(markers: Markers) -> ComponentReward:
    return ComponentReward("format", {}, markers)


def make_correctness_reward(markers: Markers) -> ComponentReward:
    return ComponentReward("correctness", {}, markers)
