"""One supervisor per running export: spawns the child, relays progress, records how it ended.

Written beside (not on top of) the training supervisor, which is specific to training sessions; the loop is a
``socketio.start_background_task`` that polls the pipe, so it runs under threading and eventlet alike.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from extensions import socketio
from services.exports.status import ExportStatus, outcome_status
from services.training.liveness import same_process_alive
from services.training.supervisor import SIGNAL_NAMES, tail_lines

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
PROGRESS_EVERY = 0.5  # seconds between stored progress rows (every event is still emitted)

OnProgress = Callable[[str, dict], None]
OnExit = Callable[[str, ExportStatus, dict | None, str | None], None]


def kill_process_group(pid: int, started: float | None = None) -> bool:
    """SIGKILL the export child ``pid`` and its process group (it leads one: core.export.worker), if it is still
    the process that started at ``started`` (None: trust the PID, for a child of this server). True if one ran."""
    if started is not None and not same_process_alive(pid, started):
        return False
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return True
    except (ProcessLookupError, PermissionError):
        return False
    try:  # the child has not made its group yet, so it has started nothing either
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class ExportSupervisor:
    def __init__(self, export_id: str, job: dict[str, Any], on_progress: OnProgress, on_exit: OnExit):
        self.export_id = export_id
        self.job = job
        self.on_progress = on_progress
        self.on_exit = on_exit
        self.manifest: dict | None = None
        self.error: str | None = None
        self.cancelled = False
        self.process = None
        self._conn = None

    def start(self) -> int:
        from core.export.worker import run_child

        ctx = mp.get_context("spawn")
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=run_child, args=(self.job, child_conn),
                                   name=f"tunewright-export-{self.export_id}", daemon=False)
        self.process.start()
        child_conn.close()
        socketio.start_background_task(self._loop)
        return self.process.pid

    def cancel(self) -> None:
        """An export is a few native steps with nothing worth keeping half-way: cancelling kills the child
        and everything it started (llama.cpp's converter runs in its process group)."""
        self.cancelled = True
        if self.process is not None and self.process.is_alive():  # not reaped: its PID is still its own
            kill_process_group(self.process.pid)

    def _loop(self) -> None:
        try:
            while True:
                closed = False
                try:
                    while self._conn.poll(0):
                        self._handle(self._conn.recv())
                except (EOFError, OSError):
                    closed = True
                # EOF (the child closed its end) or a dead child with nothing left to read: done.
                if closed or (not self.process.is_alive() and not self._safe_poll()):
                    break
                socketio.sleep(POLL_SECONDS)
            self.process.join(5)
        except Exception:
            log.exception("supervisor of export %s failed", self.export_id)
            self.cancel()
            self.cancelled = False
            self.error = self.error or "The server lost track of this export; see the server log."
        status = outcome_status(self.manifest, self.cancelled)
        error = None
        if status is ExportStatus.FAILED:
            code = self.process.exitcode if self.process is not None else None
            reason = self.error or (f"The export process exited with code {code}"
                                    + (f" ({SIGNAL_NAMES[code]})" if code in SIGNAL_NAMES else "") + ".")
            last = tail_lines(Path(self.job["log_path"]), 15)
            error = reason + ("\n--- last log lines ---\n" + "\n".join(last) if last and not self.error else "")
        self.on_exit(self.export_id, status, self.manifest, error)

    def _safe_poll(self) -> bool:
        try:
            return self._conn.poll(0)
        except (EOFError, OSError):
            return False

    def _handle(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "progress":
            self.on_progress(self.export_id, event)
        elif kind == "done":
            self.manifest = event["manifest"]
        elif kind == "error":
            self.error = event["message"]
