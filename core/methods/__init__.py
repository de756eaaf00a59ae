"""Training methods by name (a plain registry, CTFd-style): the worker runs ``METHODS[config.method]``.

``core.training_config.Method`` lists the same names without importing this package; a test keeps the two
equal.
"""
from __future__ import annotations

from core.methods.base import TrainingMethod, describe
from core.methods.grpo import GRPOMethod
from core.methods.qlora import QLoRAMethod
from core.methods.rag import RAGMethod
from core.methods.standard import StandardMethod
from core.methods.unsloth import UnslothMethod

METHODS: dict[str, TrainingMethod] = {m.name: m for m in (GRPOMethod(), QLoRAMethod(), UnslothMethod(),
                                                            StandardMethod(), RAGMethod())}


def get_method(name: str) -> TrainingMethod:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown training method {name!r}; use one of: {', '.join(METHODS)}") from None


def list_methods() -> list[dict]:
    return [describe(m) for m in METHODS.values()]


__all__ = ["METHODS", "TrainingMethod", "get_method", "list_methods"]
