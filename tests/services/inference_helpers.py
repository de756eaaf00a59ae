"""Looking at the inference worker from a test: its process, its queue, what it served."""
from __future__ import annotations

import time


def playground(app):
    return app.extensions["tunewright.playground"]


def worker_process(app):
    """The worker's multiprocessing.Process (None before the first request)."""
    pg = playground(app)
    return getattr(getattr(pg, "worker", pg), "_process", None)


def in_flight(app) -> int:
    pg = playground(app)
    client = getattr(pg, "worker", None)
    return len(client._requests) if client is not None else len(getattr(pg, "_handlers", {}))


def wait_until(condition, timeout: float = 60.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
