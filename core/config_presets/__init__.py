"""Shipped, read-only training config presets (one JSON file each: ``{"description", "config"}``).

Kept as plain files so they are the same format a user saves and can be copied into ``configs/``.
"""
from __future__ import annotations

import json
from pathlib import Path

PRESET_DIR = Path(__file__).resolve().parent
# Listed in this order (the CPU demo first); files not named here follow alphabetically.
ORDER = ("grpo-math-cpu-demo", "grpo-math-qwen3-gsm8k", "sft-then-grpo-instructions", "gspo-gsm8k",
         "or-grpo-noisy-reward")


def load_presets() -> dict[str, dict]:
    """``{name: {"description", "config"}}`` in listing order; names are the file stems."""
    presets = {}
    paths = sorted(PRESET_DIR.glob("*.json"), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER),
                                                           p.stem))
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        presets[path.stem] = {"description": data.get("description", ""), "config": data["config"]}
    return presets
