"""`system_update` every few seconds to every connected client, from one sampler task per app. It carries machine
totals only (CPU, memory, disk, GPUs), so it goes to everyone in accounts mode too; the handshake that counts the
clients is in websockets/connection.py.

The task is a ``socketio.start_background_task`` (a thread in threading mode,
a green thread under eventlet) and ends when the last client leaves.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask

from extensions import socketio
from services.system_monitor import SystemMonitor, get_monitor
from websockets.emit import safe_emit

log = logging.getLogger(__name__)


class SystemBroadcaster:
    def __init__(self, monitor: SystemMonitor, interval: float):
        self.monitor = monitor
        self.interval = interval
        self.clients = 0
        self._running = False
        self._lock = threading.Lock()

    def client_joined(self, limit: int | None = None) -> bool:
        """Count a new connection; with ``limit``, refuse it (False, not counted) when that many are live already.
        Counting and checking under one lock: simultaneous handshakes cannot overshoot the limit."""
        with self._lock:
            if limit is not None and self.clients >= limit:
                return False
            self.clients += 1
            if self._running:
                return True
            self._running = True
        socketio.start_background_task(self._run)
        return True

    def client_left(self) -> None:
        with self._lock:
            self.clients = max(0, self.clients - 1)

    def _run(self) -> None:
        log.info("system sampler started")
        while True:
            with self._lock:
                if self.clients == 0:
                    self._running = False
                    break
            try:
                safe_emit("system_update", self.monitor.sample())
            except Exception:
                log.warning("system sample failed", exc_info=True)
            socketio.sleep(self.interval)
        log.info("system sampler stopped: no clients")


def init_app(app: Flask) -> None:
    with app.app_context():
        broadcaster = SystemBroadcaster(get_monitor(), app.config["SYSTEM_MONITOR_INTERVAL"])
    app.extensions["tunewright.system_broadcaster"] = broadcaster
