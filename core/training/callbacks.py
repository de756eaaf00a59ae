"""The bridge from TRL trainers to the outside world: every log dict, progress, samples and stop requests.

Events are small dicts handed to ``emit`` (in the child process: a pipe to the
server's supervisor). The callback never blocks on anything but that call.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from transformers import TrainerCallback

from core.rewards.base import RewardAborted
from core.training.prompts import completion_text

log = logging.getLogger(__name__)

Emit = Callable[[dict], None]


def _clean(value: Any) -> Any:
    """JSON-safe metric values: NaN/inf become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def clean_metrics(logs: dict[str, Any]) -> dict[str, Any]:
    return {key: _clean(value) for key, value in logs.items()}


class RewardRecorder:
    """Wraps reward functions to keep the latest batch's completions and per-reward scores.

    A reward that raises scores the batch as ``None`` (not applicable) and the
    error is logged, so one broken reward does not end a long run.
    """

    def __init__(self):
        self.prompts: list = []
        self.completions: list = []
        self.scores: dict[str, list] = {}

    def wrap(self, fn: Callable) -> Callable:
        name = fn.__name__

        def recorded(prompts, completions, **kwargs):
            try:
                scores = list(fn(prompts, completions, **kwargs))
            except RewardAborted:
                raise  # a reward that keeps failing ends the run with its reason
            except Exception as exc:  # user-facing: the log names the reward and the error
                log.error("reward %r failed on this batch and was skipped: %s", name, exc)
                scores = [None] * len(completions)
            if completions is not self.completions:
                self.prompts, self.completions, self.scores = prompts, completions, {}
            self.scores[name] = scores
            return scores

        recorded.__name__ = name
        return recorded

    def take(self, count: int) -> list[dict]:
        """Up to ``count`` samples from the last batch, then forget it (each batch is shown once)."""
        samples = []
        for i in range(min(count, len(self.completions))):
            prompt = self.prompts[i]
            user = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
            scores = {name: _clean(values[i]) for name, values in self.scores.items()}
            samples.append({"prompt": user, "completion": completion_text(self.completions[i]), "scores": scores})
        self.prompts, self.completions, self.scores = [], [], {}
        return samples


class EventCallback(TrainerCallback):
    """Forwards TRL's logs unchanged, plus progress, checkpoints and samples; honours stop requests."""

    def __init__(self, phase: str, emit: Emit, should_stop: Callable[[], bool], step_offset: int = 0,
                 recorder: RewardRecorder | None = None, samples_per_step: int = 2):
        self.phase = phase
        self.emit = emit
        self.should_stop = should_stop
        self.step_offset = step_offset
        self.recorder = recorder
        self.samples_per_step = samples_per_step
        self.stop_requested = False
        self._started = 0.0
        self._first_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.monotonic()
        self._first_step = state.global_step  # > 0 when resuming
        self.emit({"type": "phase", "phase": self.phase, "step": state.global_step, "total_steps": state.max_steps})

    def on_step_end(self, args, state, control, **kwargs):
        done = state.global_step - self._first_step
        elapsed = time.monotonic() - self._started
        remaining = max(0, state.max_steps - state.global_step)
        self.emit({"type": "progress", "phase": self.phase, "step": state.global_step,
                   "global_step": self.step_offset + state.global_step, "total_steps": state.max_steps,
                   "epoch": _clean(state.epoch), "elapsed_seconds": round(elapsed, 1),
                   "eta_seconds": round(elapsed / done * remaining, 1) if done else None})
        if self.should_stop():
            self.stop_requested = True
            control.should_training_stop = True
            control.should_save = True  # a full checkpoint of this step: resume starts right after it
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        metrics = clean_metrics(logs or {})
        self.emit({"type": "metrics", "phase": self.phase, "step": state.global_step,
                   "global_step": self.step_offset + state.global_step, "metrics": metrics})
        if self.recorder is not None:
            samples = self.recorder.take(self.samples_per_step)
            if samples:
                self.emit({"type": "samples", "phase": self.phase, "step": state.global_step, "samples": samples})

    def on_save(self, args, state, control, **kwargs):
        self.emit({"type": "checkpoint", "phase": self.phase, "step": state.global_step,
                   "path": f"{args.output_dir}/checkpoint-{state.global_step}"})
