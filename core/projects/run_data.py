"""How a project's run reads its frozen mix: the training rows as a dataset spec, the held-out rows by trait.

Both files are written by ``core.projects.mix.build_mix`` into the run's ``mix/`` folder; the training child
reads them like any uploaded JSONL file, so no method needs to know it trains a project.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from core.datasets.loader import DETECT_ROWS
from core.datasets.spec import DatasetSpec, FieldMapping
from core.projects.mix_build import EVAL as EVAL_FILE, MANIFEST as MANIFEST_FILE, TRAIN as TRAIN_FILE

__all__ = ["EVAL_FILE", "MANIFEST_FILE", "TRAIN_FILE", "load_eval_sets", "mix_spec"]


def mix_spec(mix_dir: Path) -> DatasetSpec:
    """The training rows. Rows keep a ``system`` key only when their source had one; the loader checks a
    mapping's columns against the first rows, so ``system`` is mapped when those rows show it (the file is a
    shuffle of the whole mix: a source with system prompts shows up there unless it is a sliver of the mix)."""
    path = mix_dir / TRAIN_FILE
    head = []
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            head = [json.loads(line) for line, _ in zip(handle, range(DETECT_ROWS)) if line.strip()]
    system = "system" if any("system" in row for row in head) else None
    return DatasetSpec("file", str(path), format="jsonl",
                       mapping=FieldMapping(instruction="instruction", response="response", system=system))


def load_eval_sets(path: Path) -> dict[str, list[dict]]:
    """``{trait: [{"instruction", "response", "system"?}, ...]}`` from the held-out file (empty when absent)."""
    sets: dict[str, list[dict]] = defaultdict(list)
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            example = {"instruction": row["instruction"], "response": row.get("response", "")}
            if row.get("system"):
                example["system"] = row["system"]
            sets[row["trait"]].append(example)
    return dict(sets)
