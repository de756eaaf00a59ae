"""Small configs and rows for training tests on the tiny model."""
from __future__ import annotations

import time

from core.datasets.arithmetic import generate


def arithmetic_rows(n: int = 24) -> list[dict]:
    return [{"instruction": r["question"], "response": r["answer"], **r} for r in generate("train", n)]


def tiny_config(model_dir, **sections) -> dict:
    """2 SFT steps + 2 GRPO steps, 8 new tokens, a checkpoint every step."""
    config = {
        "model": {"name": str(model_dir), "lora_rank": 4, "lora_alpha": 8},
        "training": {"samples_per_epoch": 4, "batch_size": 2, "num_generations": 2, "max_new_tokens": 8,
                     "save_steps": 1, "learning_rate": 1e-3,
                     "cpu_autocast": "off"},  # bf16 casts cost more than they save on a 64-wide model
        "grpo": {"kl_penalty": 0.05},
        "pre_training": {"max_samples": 8, "batch_size": 4, "epochs": 1},
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def wait_for(client, session_id, predicate, timeout: float = 180.0) -> dict:
    """Poll a session through the API until ``predicate(detail)``; a failed session fails the wait at once."""
    deadline = time.monotonic() + timeout
    detail = None
    while time.monotonic() < deadline:
        detail = client.get(f"/api/training/sessions/{session_id}").json
        if predicate(detail):
            return detail
        if detail["session"]["status"] == "failed":
            raise AssertionError(f"session failed: {detail['session']['error']}")
        time.sleep(0.2)
    raise AssertionError(f"timed out; last state: {detail and detail['session']}")
