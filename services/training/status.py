"""Session statuses, the one transition table, and the one mapping from a run's outcome to a status."""
from __future__ import annotations

from enum import Enum

from services.errors import ConflictError


class Status(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # found running when the server started: resumable


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.STOPPED, Status.FAILED}),
    Status.RUNNING: frozenset({Status.STOPPING, Status.COMPLETED, Status.STOPPED, Status.FAILED, Status.INTERRUPTED}),
    Status.STOPPING: frozenset({Status.STOPPED, Status.COMPLETED, Status.FAILED, Status.INTERRUPTED}),
    Status.COMPLETED: frozenset(),
    Status.STOPPED: frozenset({Status.QUEUED}),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.INTERRUPTED: frozenset({Status.QUEUED}),
}
ACTIVE = frozenset({Status.QUEUED, Status.RUNNING, Status.STOPPING})
LIVE = frozenset({Status.RUNNING, Status.STOPPING})
RESUMABLE = frozenset(s for s, targets in TRANSITIONS.items() if Status.QUEUED in targets)


class InvalidTransition(ConflictError):
    pass


def check_transition(current: Status, new: Status) -> None:
    if new not in TRANSITIONS[current]:
        raise InvalidTransition(f"A {current.value} session cannot become {new.value}.")


def outcome_status(outcome: str | None, forced_kill: bool) -> Status:
    """How a finished child process maps to a status: its own word first, then how it died."""
    if outcome == "completed":
        return Status.COMPLETED
    if outcome == "stopped" or forced_kill:
        return Status.STOPPED
    return Status.FAILED
