"""Per deployed model: the bounded request queue (a full one is a 429) and the figures the dashboard shows.

Kept in memory on purpose: they describe this server process's traffic since it started, like a process
metric, and cost nothing per request. Latencies keep the last ``WINDOW`` requests.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from core.deploy.wire import WireError

WINDOW = 1000


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


class ModelStats:
    def __init__(self, queue_size: int, retry_after: int):
        self.queue_size = queue_size
        self.retry_after = retry_after
        self.requests = 0
        self.errors = 0
        self.in_flight = 0
        self.latencies: deque[float] = deque(maxlen=WINDOW)
        self.ttfts: deque[float] = deque(maxlen=WINDOW)
        self.last_used = time.monotonic()
        self._lock = threading.Lock()

    def enter(self, ref: str) -> None:
        """Take a place in the queue (waiting or running), or refuse with 429 when all are taken."""
        with self._lock:
            if self.in_flight >= self.queue_size:
                raise WireError(429, f"{ref} is busy: {self.in_flight} requests are queued or running (at most "
                                     f"{self.queue_size}). Retry in about {self.retry_after} s.",
                                type_="rate_limit_error", code="queue_full", retry_after=self.retry_after)
            self.in_flight += 1
            self.last_used = time.monotonic()

    def leave(self, seconds: float, ok: bool, ttft: float | None = None) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            self.requests += 1
            self.errors += 0 if ok else 1
            self.latencies.append(seconds * 1000)
            if ttft is not None:
                self.ttfts.append(ttft * 1000)
            self.last_used = time.monotonic()

    def as_dict(self, resident: bool) -> dict[str, Any]:
        with self._lock:
            latencies, ttfts = list(self.latencies), list(self.ttfts)
            summary = {"requests": self.requests, "errors": self.errors, "queued": self.in_flight}
        rounded = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {**summary, "p50_ms": rounded(percentile(latencies, 50)), "p95_ms": rounded(percentile(latencies, 95)),
                "ttft_p50_ms": rounded(percentile(ttfts, 50)), "resident": resident}
