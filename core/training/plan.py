"""How many optimiser steps a run's SFT phase takes: counted from the config alone, with no ML library, so the
wizard's estimate (in the web process) and the runner share one rule."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.training_config import TrainingConfig


def sft_steps(config: TrainingConfig, rows: int) -> int:
    pt = config.pre_training
    samples = min(rows, pt.max_samples or rows)
    return math.ceil(math.ceil(samples / pt.batch_size) * pt.epochs)
