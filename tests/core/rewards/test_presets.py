"""Every preset on its own example completions: the high one must score high, the low one low."""
from __future__ import annotations

import os

import pytest

from core.datasets.prompts import DEFAULT_MARKERS as M
from core.rewards import PRESETS, Sample, build_rewards, score_samples
from core.rewards.presets import CATEGORIES
from core.sandbox import isolation
from core.training_config import parse_config


def _total(preset_id: str, example: dict) -> float:
    funcs, weights = build_rewards("preset", preset_id, [], M)
    result = score_samples(funcs, weights, [Sample(example["prompt"], example["completion"], example["fields"])])
    return result["samples"][0]["normalised"]


@pytest.mark.parametrize("preset_id", sorted(PRESETS))
def test_preset_examples_score_high_and_low(preset_id):
    preset = PRESETS[preset_id]
    if any(p.component == "code_execution" for p in preset.parts) and not isolation().available and not os.environ.get("CI"):  # CI must have it
        pytest.skip(isolation().reason)
    high, low = _total(preset_id, preset.example_high), _total(preset_id, preset.example_low)
    assert high >= 0.75, high
    assert low <= 0.35, low
    assert set(preset.needs()) <= set(preset.example_high["fields"])  # the example carries every needed field


def test_presets_cover_every_category_with_stable_ids():
    assert len(PRESETS) >= 14
    assert {p.category for p in PRESETS.values()} == set(CATEGORIES)
    assert {"math", "format"} <= set(PRESETS)
    for preset in PRESETS.values():
        described = preset.describe()
        assert described["algorithm"] in ("grpo", "gspo", "or_grpo") and described["components"]
        parse_config({"reward": {"type": "preset", "preset_name": preset.id}})


def test_math_preset_keeps_its_components_and_weights():
    funcs, weights = build_rewards("preset", "math", [], M)
    assert [f.__name__ for f in funcs] == ["format", "correctness"] and weights == [0.5, 1.0]
