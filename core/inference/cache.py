"""Loaded models kept for the next request, bounded by memory: the least recently used goes first."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from core.inference.backends import load_backend, spec_key


class ModelCache:
    def __init__(self, max_bytes: int, loader: Callable[[dict], Any] = load_backend):
        self.max_bytes = max_bytes
        self.loader = loader
        self._models: OrderedDict[str, Any] = OrderedDict()

    @property
    def used_bytes(self) -> int:
        return sum(getattr(m, "nbytes", 0) for m in self._models.values())

    def keys(self) -> list[str]:
        return list(self._models)

    def get(self, spec: dict) -> Any:
        key = spec_key(spec)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        model = self.loader(spec)
        self._models[key] = model
        # Evict the oldest until the new one fits; a model larger than the budget still runs, alone.
        while self.used_bytes > self.max_bytes and len(self._models) > 1:
            self._models.popitem(last=False)
        return model
