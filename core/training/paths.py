"""Where a session's training output lives and what its checkpoints say, read from the disk alone.

Kept apart from ``core.training.runner`` (which imports transformers, TRL and PEFT) so that the server and the
command line can resume, list and show sessions without loading any ML library.

Everything under ``output_dir`` (= outputs/<session_id>/):
    checkpoints/sft/checkpoint-N, checkpoints/grpo/checkpoint-N   full Trainer checkpoints
    sft_adapter/                                                  adapter after the SFT phase (+ marker)
    adapter/                                                      the final (or stopped) adapter + tokenizer
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SFT_DONE = "tunewright_sft_done.json"


@dataclass
class SessionPaths:
    root: Path

    @property
    def sft_checkpoints(self) -> Path:
        return self.root / "checkpoints" / "sft"

    @property
    def grpo_checkpoints(self) -> Path:
        return self.root / "checkpoints" / "grpo"

    @property
    def sft_adapter(self) -> Path:
        return self.root / "sft_adapter"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def sft_done(self) -> bool:
        return (self.sft_adapter / SFT_DONE).is_file()


TRAINER_STATE = "trainer_state.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin")


def checkpoint_complete(folder: Path) -> bool:
    """Whether the Trainer finished writing this ``checkpoint-N``. It writes the weights, optimizer and RNG state
    first and trainer_state.json last, so a save cut short (a full disk, a kill mid-save) leaves a folder without
    it or with a truncated one: such a folder is never resumed from nor offered as a model."""
    try:
        state = json.loads((folder / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(state, dict) or "global_step" not in state:
        return False
    return any(f.is_file() and f.stat().st_size > 0 for pattern in WEIGHT_PATTERNS for f in folder.glob(pattern))


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` in ``folder`` (:func:`checkpoint_complete`)."""
    candidates = [p for p in folder.glob("checkpoint-*") if _step(p) is not None and checkpoint_complete(p)]
    return max(candidates, key=_step, default=None)


def _step(folder: Path) -> int | None:
    step = folder.name.rsplit("-", 1)[1]
    return int(step) if step.isdigit() else None


def incomplete_checkpoints(paths: "SessionPaths") -> list[Path]:
    """Checkpoint folders of either phase that a save left unfinished (see :func:`checkpoint_complete`)."""
    return [p for folder in (paths.sft_checkpoints, paths.grpo_checkpoints) for p in sorted(folder.glob("checkpoint-*"))
            if p.is_dir() and not checkpoint_complete(p)]


def resume_state(paths: SessionPaths) -> tuple[str, int]:
    """(phase, step) a resumed run restarts after: the latest checkpoint of the phase in progress."""
    if paths.sft_done or not paths.sft_checkpoints.exists():
        checkpoint = latest_checkpoint(paths.grpo_checkpoints)
        phase = "grpo" if paths.sft_done or checkpoint else "sft"
    else:
        checkpoint = latest_checkpoint(paths.sft_checkpoints)
        phase = "sft"
    return phase, int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint else 0


def _finite(value: Any) -> Any:
    """JSON-safe metric values: NaN/inf become None (as the live callback sends them)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def checkpoint_history(paths: SessionPaths, phase: str) -> tuple[list[dict], int]:
    """The metrics TRL recorded in the latest checkpoint of ``phase`` (its trainer_state.json log history) and
    the step offset of that phase, so a resume can restore rows whose live events were lost with a server."""
    folder = paths.sft_checkpoints if phase == "sft" else paths.grpo_checkpoints
    checkpoint = latest_checkpoint(folder)
    if checkpoint is None:
        return [], 0
    history = json.loads((checkpoint / TRAINER_STATE).read_text()).get("log_history", [])
    offset = 0
    if phase == "grpo" and paths.sft_done:
        offset = json.loads((paths.sft_adapter / SFT_DONE).read_text())["steps"]
    return [{key: _finite(value) for key, value in entry.items()} for entry in history if "step" in entry], offset
