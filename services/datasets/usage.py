"""Who uses a dataset: checkers registered by other features (training registers its sessions)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

UsageChecker = Callable[[int], list[str]]

_checkers: list[UsageChecker] = []
_lock = threading.Lock()


def register_usage_checker(checker: UsageChecker) -> UsageChecker:
    """Add ``checker(dataset_id) -> ["session 12 (running)", ...]``; registering the same one twice is a no-op.

    Returns the checker so it can be used as a decorator.
    """
    with _lock:
        if checker not in _checkers:
            _checkers.append(checker)
    return checker


def unregister_usage_checker(checker: UsageChecker) -> None:
    with _lock:
        if checker in _checkers:
            _checkers.remove(checker)


def sessions_using(dataset_id: int) -> list[str]:
    """Every description any checker returns. A checker that fails counts as "in use": deleting data a
    running session needs is worse than refusing a delete once."""
    with _lock:
        checkers = list(_checkers)
    found: list[str] = []
    for checker in checkers:
        try:
            found.extend(str(item) for item in (checker(dataset_id) or []))
        except Exception:
            log.exception("dataset usage checker %r failed", checker)
            found.append("a session whose usage could not be checked (see the server log)")
    return found
