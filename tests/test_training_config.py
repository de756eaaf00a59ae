"""The one config schema: defaults, partial configs, every error with its path."""
from __future__ import annotations

import pytest

from core.training_config import ConfigValidationError, default_config, parse_config


def test_empty_config_is_complete_and_valid():
    config = parse_config({})
    assert config.model.name == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert config.dataset.source == "builtin:arithmetic"
    assert config.pre_training.enabled is True
    assert "<SOLUTION>" in config.dataset.resolved_system_prompt()


def test_product_example_config_is_accepted():
    example = {
        "name": "math-reasoning-config",
        "model": {"name": "unsloth/Qwen3-1.7B", "lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.0},
        "dataset": {"source": "openai/gsm8k", "split": "train", "instruction_field": "question",
                    "response_field": "answer", "max_samples": None},
        "training": {"num_epochs": 3, "batch_size": 1, "gradient_accumulation_steps": 8, "learning_rate": 0.0002,
                     "warmup_steps": 10, "weight_decay": 0.001, "max_grad_norm": 0.3, "lr_scheduler_type": "constant",
                     "optim": "paged_adamw_32bit", "max_sequence_length": 2048, "max_new_tokens": 512,
                     "temperature": 0.7},
        "grpo": {"kl_penalty": 0.05, "clip_range": 0.2, "importance_sampling_level": "token"},
        "reward": {"type": "preset", "preset_name": "math"},
        "pre_training": {"enabled": True, "epochs": 2, "max_samples": 100, "learning_rate": 0.00005},
    }
    config = parse_config(example)
    dumped = config.model_dump(mode="json")
    for section, values in example.items():
        if isinstance(values, dict):
            for key, value in values.items():
                assert dumped[section][key] == value, (section, key)


def test_defaults_round_trip():
    assert parse_config(default_config()).model_dump(mode="json") == default_config()


def test_every_error_is_reported_with_its_path():
    with pytest.raises(ConfigValidationError) as info:
        parse_config({"training": {"learning_rate": -1, "bogus": 1, "batch_size": "many"},
                      "grpo": {"algorithm": "ppo"}, "unknown_section": {}})
    paths = {e["path"] for e in info.value.errors}
    assert paths == {"training.learning_rate", "training.bogus", "training.batch_size", "grpo.algorithm",
                     "unknown_section"}
    assert all(e["message"] for e in info.value.errors)
    assert next(e for e in info.value.errors if e["path"] == "grpo.algorithm")["hint"].startswith("Use one of")


@pytest.mark.parametrize("config, path", [
    ({"training": {"max_new_tokens": 600, "max_sequence_length": 512}}, "training.max_new_tokens"),
    ({"grpo": {"algorithm": "gspo", "importance_sampling_level": "token"}}, "grpo.importance_sampling_level"),
    ({"reward": {"type": "preset", "preset_name": "astrology"}}, "reward.preset_name"),
    ({"reward": {"type": "components", "components": [{"name": "nope"}]}}, "reward.components.0.name"),
    ({"reward": {"type": "components", "components": []}}, "reward.components"),
    ({"dataset": {"solution_start": "<start_working_out>"}}, "dataset.solution_start"),
    ({"training": {"deepspeed": "zero2"}}, "training.deepspeed"),
    ({"training": {"deepspeed": "zero3", "num_gpus": 1}}, "training.deepspeed"),
])
def test_cross_field_errors_point_at_the_field_to_change(config, path):
    with pytest.raises(ConfigValidationError) as info:
        parse_config(config)
    assert [e["path"] for e in info.value.errors] == [path]


def test_deepspeed_is_accepted_with_several_gpus():
    config = parse_config({"training": {"num_gpus": 4, "deepspeed": "zero3"}})
    assert (config.training.num_gpus, config.training.deepspeed) == (4, "zero3")
    assert parse_config({}).training.deepspeed == "none"


def test_gspo_defaults_to_sequence_level():
    assert parse_config({"grpo": {"algorithm": "gspo"}}).grpo.resolved_importance_sampling_level == "sequence"
    assert parse_config({}).grpo.resolved_importance_sampling_level == "token"


def test_api_validation_returns_every_error(client):
    response = client.post("/api/training/start", json={"config": {"training": {"learning_rate": 0, "x": 1}}})
    assert response.status_code == 400
    assert {d["path"] for d in response.json["details"]} == {"training.learning_rate", "training.x"}


def test_defaults_endpoint(client):
    assert client.get("/api/training/defaults").json["config"] == default_config()
