"""Is the process that owns a session still the one we recorded? A PID alone cannot say: a restarted container's
server often gets the PID its dead predecessor had, and PIDs of children are reused too. A process is the same
one when its PID exists *and* its start time (from the kernel, via psutil) equals the one recorded."""
from __future__ import annotations

import os

import psutil

START_TIME_TOLERANCE = 0.5  # seconds: psutil's create_time is rounded to clock ticks


def process_started(pid: int | None) -> float | None:
    """The start time of process ``pid``, or None when there is none."""
    if not pid:
        return None
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, ValueError):
        return None


def same_process_alive(pid: int | None, started: float | None) -> bool:
    """True when ``pid`` runs and is the process that started at ``started`` (None: PID check only, for rows
    written before start times were recorded)."""
    now_started = process_started(pid)
    if now_started is None:
        return False
    if started is None:
        return True
    return abs(now_started - started) <= START_TIME_TOLERANCE


def owner_alive(row, boot_id: str) -> bool:
    """Is the server instance recorded on ``row`` (``server_boot_id``, ``server_pid``, ``server_started``: a
    training session or an export) still running? ``boot_id`` is this server instance's own id."""
    if row.server_boot_id == boot_id:
        return True
    if row.server_pid == os.getpid():
        return False  # our PID, another instance: the recorded owner died and the PID was reused
    return same_process_alive(row.server_pid, row.server_started)
