"""Where a session's trained weights are, whatever method produced them.

Every method writes its result into its own folder under ``outputs/<session_id>/``
(PRODUCT.md, "Training methods"); export and the playground find it through
:func:`find_source` only, so a new method slots in by adding a line to ``SOURCE_FOLDERS``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from core.training.paths import checkpoint_complete

# (folder under outputs/<id>/, kind) in order of preference. "adapter": a PEFT adapter on a base model;
# "full": a complete transformers model.
SOURCE_FOLDERS: tuple[tuple[str, str], ...] = (
    ("adapter", "adapter"),          # GRPO (and its SFT pre-training)
    ("qlora_model", "adapter"),      # QLoRA
    ("lora_model", "adapter"),       # Unsloth
    ("standard_model", "full"),      # Standard: full fine-tuning, or a LoRA adapter
)
CHECKPOINT_ROOTS = ("checkpoints/grpo", "checkpoints/sft", "checkpoints")


class SourceNotFound(LookupError):
    """The session has no trained weights (yet) in any folder export knows."""


@dataclass(frozen=True)
class Source:
    kind: str          # "adapter" | "full"
    path: str          # the folder holding the weights
    base_model: str    # the base model folder (same as path for "full")
    label: str         # "adapter", "checkpoints/grpo/checkpoint-4", …

    def as_dict(self) -> dict:
        return asdict(self)


def _is_adapter(folder: Path) -> bool:
    return (folder / "adapter_config.json").is_file()


def _is_model(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _source(folder: Path, root: Path, base_model: str) -> Source | None:
    label = folder.relative_to(root).as_posix()
    if _is_adapter(folder):
        return Source("adapter", str(folder), base_model, label)
    if _is_model(folder):
        return Source("full", str(folder), str(folder), label)
    return None


def checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Every complete ``checkpoint-N`` folder of a session, oldest phase first, then by step. One whose save was cut
    short (a full disk, a kill) is left out: it is never offered as a model (core/training/paths.py)."""
    root = Path(output_dir)
    found: list[Path] = []
    for sub in CHECKPOINT_ROOTS:
        folder = root / sub
        if folder.is_dir():
            found.extend(sorted((p for p in folder.glob("checkpoint-*") if p.is_dir() and checkpoint_complete(p)),
                                key=lambda p: int(p.name.rsplit("-", 1)[1]) if p.name.rsplit("-", 1)[1].isdigit() else 0))
    return found


def find_source(output_dir: str | os.PathLike, base_model: str, checkpoint: str | None = None) -> Source:
    """The weights to export or test: a named checkpoint (``checkpoints/grpo/checkpoint-4``) or the session's
    final result (the first of ``SOURCE_FOLDERS`` that holds weights)."""
    root = Path(output_dir).resolve()
    if checkpoint:
        folder = (root / checkpoint).resolve()
        if root not in folder.parents or folder not in [p.resolve() for p in checkpoints(root)]:
            raise SourceNotFound(f"No checkpoint {checkpoint!r} in this session.")
        source = _source(folder, root, base_model)
        if source is None:
            raise SourceNotFound(f"Checkpoint {checkpoint!r} holds no adapter or model weights.")
        return source
    for name, _kind in SOURCE_FOLDERS:
        folder = root / name
        if folder.is_dir():
            source = _source(folder, root, base_model)
            if source is not None:
                return source
    raise SourceNotFound("This session has no trained weights yet (no adapter or model folder in its outputs).")
