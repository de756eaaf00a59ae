"""The reward workbench's services: presets and components, testing rewards on samples, recommendations from a
dataset's rows, saved custom rewards, and the reward-health alerts stored with a session."""
from __future__ import annotations

from typing import Any

from core.rewards import COMPONENTS, PRESETS
from core.sandbox import isolation
from services.rewards.custom import (create_custom, custom_to_dict, delete_custom, get_custom, list_custom,
                                     resolve_config_rewards, update_custom)
from services.rewards.alerts import health, update_health
from services.rewards.recommend import recommend
from services.rewards.testing import sample_rows, test_reward
from services.rewards.validation import check_dataset_request

__all__ = ["check_dataset_request", "create_custom", "custom_to_dict", "delete_custom", "get_custom", "health", "list_components",
           "list_custom", "list_presets", "recommend", "resolve_config_rewards", "sample_rows", "sandbox_status",
           "test_reward", "update_custom", "update_health"]


def list_presets() -> list[dict[str, Any]]:
    return [p.describe() for p in PRESETS.values()]


def list_components() -> list[dict[str, Any]]:
    return [c.describe() for c in COMPONENTS.values()]


def sandbox_status() -> dict[str, Any]:
    iso = isolation()
    return {"available": iso.available, "reason": iso.reason}
