"""Per-trait evaluation inside real runs on the tiny model: which capability a project's run improved."""
from __future__ import annotations

import pytest

from core.methods import get_method
from core.training.runner import TrainingJob
from core.training_config import parse_config
from tests.training_helpers import arithmetic_rows, tiny_config

pytestmark = pytest.mark.slow

CHAT = [{"instruction": f"Say hello to person {i}.", "response": f"Hello, person {i}!"} for i in range(6)]


def run(method: str, model_dir, out, **sections) -> list[dict]:
    sections["training"] = {"batch_size": 4, **sections.get("training", {})}
    config = parse_config({**tiny_config(model_dir, **sections), "method": method})
    events: list[dict] = []
    job = TrainingJob(config=config, model_path=str(model_dir), rows=arithmetic_rows(8), output_dir=out,
                      emit=events.append, should_stop=lambda: False,
                      eval_sets={"reasoning": arithmetic_rows(12)[8:], "general": CHAT})
    assert get_method(method).run(job) == "completed"
    return [e for e in events if e["type"] == "metrics"]


def keys(metrics: list[dict], phase: str) -> set[str]:
    return {key for e in metrics if e["phase"] == phase for key in e["metrics"]}


def test_grpo_reports_loss_per_trait_in_sft_and_reward_per_trait_in_grpo(tiny_model_dir, tmp_path):
    metrics = run("grpo", tiny_model_dir, tmp_path)
    assert {"eval_reasoning_loss", "eval_general_loss"} <= keys(metrics, "sft")
    rewards = [e for e in metrics if e["phase"] == "grpo" and "eval_reasoning_reward" in e["metrics"]]
    assert rewards and all("eval_general_reward" in e["metrics"] for e in rewards)
    assert all(isinstance(e["metrics"]["eval_general_reward"], float) for e in rewards)
    assert rewards[-1]["step"] == max(e["step"] for e in metrics if e["phase"] == "grpo")  # and at the end


def test_sft_methods_report_loss_per_trait_during_and_after(tiny_model_dir, tmp_path):
    metrics = run("standard", tiny_model_dir, tmp_path, standard={"full_finetune": False},
                  training={"batch_size": 2, "save_steps": 2})
    by_step: dict[int, dict] = {}
    for event in metrics:  # one log per trait at a step: the studio merges them into the step's row
        by_step.setdefault(event["step"], {}).update(event["metrics"])
    losses = {step: values for step, values in by_step.items() if "eval_general_loss" in values}
    assert len(losses) >= 2  # at the checkpoint interval and once more after the last step
    assert all(values["eval_reasoning_loss"] > 0 and values["eval_general_loss"] > 0 for values in losses.values())
