"""Model catalogue for the UI and API: the registry plus what is on this machine."""
from __future__ import annotations

from core.model_registry import catalog_with_availability


def list_models(model_cache: str) -> list[dict]:
    return catalog_with_availability(model_cache)
