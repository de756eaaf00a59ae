"""Batch tests and evaluations run in threads of one server process. Each row records that process (PID and
start time, never the PID alone), so a later start can tell a job whose server died (``interrupted``: it can
be deleted or run again) from one that another live server process is still running."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def as_server() -> Iterator[None]:
    """Run a block as the server, not as whoever's request triggered it: a queue started by user A's request may
    start user B's session, and what that start reads (B's dataset, B's session) is not A's to see. Outside a
    request the principal is already the server's (``LOCAL``)."""
    from flask import g, has_request_context

    from services.auth.principal import LOCAL

    if not has_request_context():
        yield
        return
    missing = object()
    saved = g.get("tunewright_principal", missing)
    g.tunewright_principal = LOCAL
    try:
        yield
    finally:
        if saved is missing:
            g.pop("tunewright_principal", None)
        else:
            g.tunewright_principal = saved
