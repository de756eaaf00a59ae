"""The server side of the sandbox: one long-lived bubblewrap worker per reward code, fed batches.

The worker starts once (≈ the cost of a Python start) and then scores batches over a pipe; a crash, a hang
or a killed worker only costs the samples in flight (they score ``None`` with the reason) and the next batch
starts a fresh worker. Nothing here ever executes the user's code.

Every worker has a reaper thread that waits for its exit, so one that dies on its own while idle (the OOM
killer, a signal, its parent bubblewrap gone) leaves no zombie behind, whether or not it is used again.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import signal
import subprocess
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from core.sandbox.isolation import isolation, spawn

WORKER_SOURCE = (Path(__file__).with_name("worker.py")).read_text(encoding="utf-8")
MAX_REPLY = 16 * 1024 * 1024
START_GRACE = 20.0  # seconds a (slow, loaded) machine may take to start the worker

Result = tuple[float | None, str | None]


class SandboxUnavailable(RuntimeError):
    """This machine cannot isolate user code; the message says why and how to fix it."""


class Sandbox:
    def __init__(self, code: str, per_sample_timeout: float = 2.0, memory_mb: int = 256):
        self.code = code
        self.per_sample_timeout = float(per_sample_timeout)
        self.memory_mb = int(memory_mb)
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        iso = isolation()
        if not iso.available:
            raise SandboxUnavailable(iso.reason)
        proc = spawn(iso, [iso.python, "-I", "-S", "-c", WORKER_SOURCE], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=_reap, args=(proc,), name=f"sandbox-reaper-{proc.pid}", daemon=True).start()
        config = {"code": self.code, "timeout": self.per_sample_timeout, "memory_mb": self.memory_mb}
        proc.stdin.write((json.dumps(config) + "\n").encode())
        proc.stdin.flush()
        return proc

    def run(self, items: list[dict[str, Any]]) -> list[Result]:
        """(score, error) per item: ``{"prompt", "completion", "fields"}``. Never raises for the user's code."""
        if not items:
            return []
        with self._lock:
            first = self._proc is None or self._proc.returncode is not None or self._proc.poll() is not None
            if first:
                self._proc = self._start()
            deadline = len(items) * (self.per_sample_timeout + 2.5) + 5.0 + (START_GRACE if first else 0.0)
            try:
                self._proc.stdin.write((json.dumps({"items": _plain(items)}) + "\n").encode())
                self._proc.stdin.flush()
                reply = self._read_line(deadline)
            except OSError:  # a broken pipe: the worker is gone
                reply = b""
            if not reply:
                reason = (f"the sandbox did not answer within {deadline:.0f} s" if reply is None
                          else "the sandbox worker stopped before answering (killed or crashed)")
                self._kill()
                return [(None, reason)] * len(items)
            try:
                results = json.loads(reply)["results"]
                return [(_score(r[0]), r[1]) for r in results][:len(items)] + \
                    [(None, "no result")] * max(0, len(items) - len(results))
            except (ValueError, KeyError, TypeError, IndexError):
                self._kill()
                return [(None, "the sandbox returned a malformed answer")] * len(items)

    def _read_line(self, timeout: float) -> bytes | None:
        """One reply line; ``b""`` when the worker died, ``None`` on timeout."""
        fd = self._proc.stdout.fileno()
        buffer, end = b"", time.monotonic() + timeout
        while b"\n" not in buffer:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk or len(buffer) > MAX_REPLY:
                return b""
            buffer += chunk
        return buffer.split(b"\n", 1)[0]

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # its reaper thread still waits for it
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            self._kill()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None


def _reap(proc: subprocess.Popen) -> None:
    """Wait for the worker's exit, however it comes: the kernel then forgets it (no zombie)."""
    try:
        proc.wait()
    except Exception:  # noqa: BLE001 - a reaper must never raise into the thread machinery
        pass


def _score(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _plain(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON-safe items (dataset fields may hold numbers, lists, dicts; anything else becomes text)."""
    return json.loads(json.dumps(items, default=str))


_SHARED: OrderedDict[tuple, Sandbox] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 8


def shared_sandbox(code: str, per_sample_timeout: float = 2.0, memory_mb: int = 256) -> Sandbox:
    """The long-lived worker for this code (kept for reuse; the least recently used is closed past 8)."""
    key = (hashlib.sha256(code.encode()).hexdigest(), float(per_sample_timeout), int(memory_mb))
    with _SHARED_LOCK:
        sandbox = _SHARED.pop(key, None) or Sandbox(code, per_sample_timeout, memory_mb)
        _SHARED[key] = sandbox
        while len(_SHARED) > _SHARED_MAX:
            _SHARED.popitem(last=False)[1].close()
        return sandbox


@atexit.register
def close_all() -> None:
    with _SHARED_LOCK:
        for sandbox in _SHARED.values():
            sandbox.close()
        _SHARED.clear()
