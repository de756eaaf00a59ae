"""The built-in generated sets, by name: always available, offline, identical on every machine."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.datasets import arithmetic, instructions
from core.datasets.spec import DatasetUnavailableError, FieldMapping


@dataclass(frozen=True)
class BuiltinSet:
    name: str
    title: str
    description: str
    category: str
    generate: Callable[..., list[dict]]
    splits: dict[str, int]  # split -> default size
    mapping: FieldMapping
    extra_keys: tuple[str, ...] = ()  # raw keys kept in every loaded row (rewards and SFT use them)


BUILTINS: dict[str, BuiltinSet] = {
    "arithmetic": BuiltinSet(
        name="arithmetic", title="Arithmetic word problems", category="Math",
        description="Seeded one- and two-step word problems with numeric answers and a worked step.",
        generate=arithmetic.generate, splits=dict(arithmetic.DEFAULT_SIZES),
        mapping=FieldMapping(instruction="question", response="answer"), extra_keys=("answer", "reasoning")),
    "instructions": BuiltinSet(
        name="instructions", title="Short instructions", category="General",
        description="Seeded text tasks (reverse, sort, count, capitalise, plurals...) with one exact answer.",
        generate=instructions.generate, splits=dict(instructions.DEFAULT_SIZES),
        mapping=FieldMapping(instruction="instruction", response="response"), extra_keys=("task",)),
}


def get_builtin(name: str) -> BuiltinSet:
    try:
        return BUILTINS[name]
    except KeyError:
        raise DatasetUnavailableError(
            f"no built-in dataset named {name!r}; choose one of {', '.join(BUILTINS)}") from None


def builtin_rows(name: str, split: str = "train", seed: int = 3407) -> list[dict]:
    builtin = get_builtin(name)
    if split not in builtin.splits:
        raise DatasetUnavailableError(
            f"the built-in dataset {name!r} has no split {split!r}; use {' or '.join(builtin.splits)}")
    return builtin.generate(split, seed=seed)


def describe_builtins() -> list[dict]:
    return [{"source": f"builtin:{b.name}", "name": b.name, "title": b.title, "description": b.description,
             "category": b.category, "splits": b.splits, "mapping": vars(b.mapping).copy()}
            for b in BUILTINS.values()]
