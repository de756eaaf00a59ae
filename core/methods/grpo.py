"""GRPO (the headline method): SFT format pre-training, then GRPO/GSPO/OR-GRPO on one LoRA adapter.

The engine lives in :mod:`core.training.runner`; this module only gives it the method interface.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.training.runner import TrainingJob


class GRPOMethod:
    name = "grpo"
    label = "GRPO"
    description = "Reinforcement learning with rewards on groups of sampled answers (GSPO and OR-GRPO variants)."
    requires_gpu = False
    outputs = ("adapter", "checkpoints")

    def unavailable_reason(self) -> str | None:
        return None

    def run(self, job: "TrainingJob") -> str:
        from core.training.runner import run_training

        return run_training(job)
