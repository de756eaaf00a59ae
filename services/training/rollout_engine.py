"""Refuse, before a session is queued, a rollout engine this server's hardware cannot run (a 400)."""
from __future__ import annotations

from core.training.rollout.engines import engine_errors
from core.training_config import TrainingConfig
from services.errors import ServiceError


def check_rollout_engine(config: TrainingConfig) -> None:
    errors = engine_errors(config)
    if errors:
        raise ServiceError(f"The rollout engine {config.training.rollout_engine!r} cannot run here: "
                           f"{errors[0]['message']}.", details=errors)
