"""Batch tests and evaluations run in threads of one server process. Each row records that process (PID and
start time, never the PID alone), so a later start can tell a job whose server died (``interrupted``: it can
be deleted or run again) from one that another live server process is still running."""
from __future__ import annotations

import os
from typing import Any

from services.training.liveness import process_started, same_process_alive

ACTIVE = ("queued", "running")
INTERRUPTED_MESSAGE = "The server stopped while this ran; run it again."


def owner_tag() -> dict[str, Any]:
    return {"pid": os.getpid(), "started": process_started(os.getpid())}


def orphaned(tag: Any) -> bool:
    """True when the process recorded in ``tag`` is gone (rows from before tags were written count as gone)."""
    if not isinstance(tag, dict):
        return True
    return not same_process_alive(tag.get("pid"), tag.get("started"))
