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
    INTERRUPTED = "interrupted"  # its server stopped (or died) while it ran: nothing kept, re-runnable


TRANSITIONS: dict[ExportStatus, frozenset[ExportStatus]] = {
    ExportStatus.QUEUED: frozenset({ExportStatus.RUNNING, ExportStatus.CANCELLED, ExportStatus.FAILED}),
    ExportStatus.RUNNING: frozenset({ExportStatus.COMPLETED, ExportStatus.FAILED, ExportStatus.CANCELLED,
                                     ExportStatus.INTERRUPTED}),
    ExportStatus.COMPLETED: frozenset(),
    ExportStatus.FAILED: frozenset({ExportStatus.QUEUED}),
    ExportStatus.CANCELLED: frozenset({ExportStatus.QUEUED}),
    ExportStatus.INTERRUPTED: frozenset({ExportStatus.QUEUED}),
}
ACTIVE = frozenset({ExportStatus.QUEUED, ExportStatus.RUNNING})
RETRYABLE = frozenset(s for s, targets in TRANSITIONS.items() if ExportStatus.QUEUED in targets)


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
