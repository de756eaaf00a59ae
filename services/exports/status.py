"""Export statuses and their one transition table (the shape of services/training/status.py)."""
from __future__ import annotations

from enum import Enum

from services.errors import ConflictError


class ExportStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[ExportStatus, frozenset[ExportStatus]] = {
    ExportStatus.QUEUED: frozenset({ExportStatus.RUNNING, ExportStatus.CANCELLED, ExportStatus.FAILED}),
    ExportStatus.RUNNING: frozenset({ExportStatus.COMPLETED, ExportStatus.FAILED, ExportStatus.CANCELLED}),
    ExportStatus.COMPLETED: frozenset(),
    ExportStatus.FAILED: frozenset(),
    ExportStatus.CANCELLED: frozenset(),
}
ACTIVE = frozenset({ExportStatus.QUEUED, ExportStatus.RUNNING})


class InvalidExportTransition(ConflictError):
    pass


def check_transition(current: ExportStatus, new: ExportStatus) -> None:
    if new not in TRANSITIONS[current]:
        raise InvalidExportTransition(f"A {current.value} export cannot become {new.value}.")


def outcome_status(manifest: dict | None, cancelled: bool) -> ExportStatus:
    """How a finished export child maps to a status: cancellation first, then whether it wrote a manifest."""
    if cancelled:
        return ExportStatus.CANCELLED
    return ExportStatus.COMPLETED if manifest is not None else ExportStatus.FAILED
