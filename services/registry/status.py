"""Version statuses and the one transition table (the shape of services/training/status.py)."""
from __future__ import annotations

from enum import Enum

from services.errors import ConflictError


class VersionStatus(str, Enum):
    READY = "ready"
    DEPLOYED = "deployed"
    ARCHIVED = "archived"


TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    VersionStatus.READY: frozenset({VersionStatus.DEPLOYED, VersionStatus.ARCHIVED}),
    VersionStatus.DEPLOYED: frozenset({VersionStatus.READY}),   # undeploy (or eviction) first, then archive
    VersionStatus.ARCHIVED: frozenset({VersionStatus.READY}),
}

# What a version holds: (type, framework). The Models page filters on both.
TYPES = ("llm", "lora_adapter", "merged", "gguf", "rag_index", "classifier")
FRAMEWORKS = ("transformers", "peft", "gguf", "faiss")


def check_transition(current: str, new: VersionStatus, ref: str) -> None:
    if new not in TRANSITIONS[VersionStatus(current)]:
        hint = " Undeploy it first." if current == VersionStatus.DEPLOYED else ""
        raise ConflictError(f"{ref} is {current}: it cannot become {new.value}.{hint}")
