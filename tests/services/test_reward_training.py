"""GRPO runs through the API with rewards from the workbench: a saved code reward (sandboxed) next to a saved
no-code reward, a reward without signal (the health alert), and a code reward that always fails."""
from __future__ import annotations

import os

import pytest

from core.sandbox import isolation
from tests.test_training_service import start, status_is, wait_for
from tests.training_helpers import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.db]
needs_sandbox = pytest.mark.skipif(not isolation().available and not os.environ.get("CI"),
                        reason=isolation().reason)  # CI must have the sandbox: fail there, never skip
LENGTH_CODE = "def reward(prompt, completion, **fields):\n    return min(1.0, len(completion) / 40)\n"


def save(client, body) -> int:
    response = client.post("/api/rewards/custom", json=body)
    assert response.status_code == 201, response.json
    return response.json["reward"]["id"]


@needs_sandbox
def test_grpo_logs_a_curve_per_custom_reward(client, tiny_model_dir):
    code_id = save(client, {"name": "Length code", "kind": "code", "code": LENGTH_CODE})
    mixed_id = save(client, {"name": "Digits and length", "kind": "components", "components": [
        {"name": "regex_match", "params": {"pattern": r"\d"}}, {"name": "length", "weight": 0.5,
                                                                "params": {"unit": "characters", "max": 12}}]})
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"temperature": 1.5},
                         reward={"type": "custom", "custom": [{"id": code_id}, {"id": mixed_id, "weight": 0.5}]})
    sid = start(client, config)
    detail = wait_for(client, sid, status_is("completed", "failed"))
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    assert detail["config"]["reward"]["custom"][0]["code"] == LENGTH_CODE  # the config records what ran
    grpo = [r for r in detail["metrics"] if r["phase"] == "grpo"]
    assert len(grpo) == 2
    for row in grpo:
        assert isinstance(row["rewards/length_code/mean"], float) and 0 <= row["rewards/length_code/mean"] <= 1
        assert isinstance(row["rewards/digits_and_length/mean"], float)
        assert "rewards/length_code/std" in row
    assert {"length_code", "digits_and_length"} <= set(detail["samples"][-1]["scores"])


def test_a_reward_without_signal_raises_the_zero_std_alert(client, tiny_model_dir):
    constant = {"name": "length", "params": {"unit": "characters", "min": 0, "max": 100000}}
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 8},
                         reward={"type": "components", "components": [constant]})
    sid = start(client, config)
    detail = wait_for(client, sid, status_is("completed", "failed"))
    assert detail["session"]["status"] == "completed", detail["session"]["error"]
    health = client.get(f"/api/rewards/health/{sid}").json
    alerts = {a["code"]: a for a in health["alerts"]}
    assert "no_signal" in alerts and alerts["no_signal"]["active"]
    assert alerts["no_signal"]["first_step"] == health["thresholds"]["zero_std_steps"]
    assert "partial credit" in alerts["no_signal"]["hint"]


@needs_sandbox
def test_a_code_reward_that_always_fails_stops_the_run_with_the_reason(client, tiny_model_dir):
    broken = save(client, {"name": "Broken", "kind": "code",
                           "code": "def reward(prompt, completion, **fields):\n    raise KeyError('score')\n"})
    config = tiny_config(tiny_model_dir, pre_training={"enabled": False}, training={"samples_per_epoch": 8},
                         reward={"type": "custom", "custom": [{"id": broken}]})
    sid = start(client, config)
    detail = wait_for(client, sid, lambda d: d["session"]["status"] in ("completed", "failed"))
    assert detail["session"]["status"] == "failed"
    assert "3 batches in a row" in detail["session"]["error"] and "KeyError" in detail["session"]["error"]
