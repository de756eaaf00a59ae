"""The shipped presets are valid configs of the one schema, and cover what the product promises."""
from __future__ import annotations

import pytest

from core.config_presets import ORDER, PRESET_DIR, load_presets
from core.training_config import parse_config

PRESETS = load_presets()


def test_every_preset_file_is_listed_in_order():
    assert list(PRESETS) == list(ORDER)
    assert {p.stem for p in PRESET_DIR.glob("*.json")} == set(ORDER)


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_validates_with_the_schema(name):
    preset = PRESETS[name]
    config = parse_config(preset["config"])
    assert config.name == name
    assert len(preset["description"]) > 20


def test_the_presets_cover_the_promised_recipes():
    configs = {name: parse_config(p["config"]) for name, p in PRESETS.items()}
    demo = configs["grpo-math-cpu-demo"]
    assert demo.model.name == "HuggingFaceTB/SmolLM2-135M-Instruct" and demo.dataset.source == "builtin:arithmetic"
    assert configs["grpo-math-qwen3-gsm8k"].model.name == "Qwen/Qwen3-1.7B"
    assert configs["grpo-math-qwen3-gsm8k"].dataset.source == "openai/gsm8k"
    assert configs["sft-then-grpo-instructions"].pre_training.enabled
    assert configs["gspo-gsm8k"].grpo.algorithm == "gspo"
    assert configs["gspo-gsm8k"].grpo.resolved_importance_sampling_level == "sequence"
    assert configs["or-grpo-noisy-reward"].grpo.algorithm == "or_grpo"
