"""The supervisor's side of a launched run (``accelerate launch``, core/training/launch.py): the launcher process
and rank 0's connection, each shaped like what the Supervisor already uses for a multiprocessing child (a
``Process`` and a Pipe end), so its loop runs unchanged.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import threading
import time
import weakref
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, Listener


class LaunchedProcess:
    """A ``subprocess.Popen`` (started with ``start_new_session=True``) with the parts of ``multiprocessing.Process``
    the supervisor uses: ``pid``, ``is_alive()``, ``sentinel``, ``kill()``, ``join()``, ``exitcode``."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.pid = popen.pid
        self.sentinel = self._open_sentinel()

    def _open_sentinel(self) -> int:
        """A file descriptor that becomes readable when the process exits, for ``multiprocessing.connection.wait``:
        a pidfd (Linux 5.3+), else the read end of a pipe whose write end a waiting thread closes."""
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            read_end, write_end = os.pipe()

            def wait_then_close() -> None:
                self.popen.wait()
                os.close(write_end)

            threading.Thread(target=wait_then_close, name=f"launched-{self.pid}-wait", daemon=True).start()
            fd = read_end
        weakref.finalize(self, os.close, fd)
        return fd

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def exitcode(self) -> int | None:
        """None while running; a signal's death is its negative number, as multiprocessing reports it."""
        return self.popen.poll()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def kill(self) -> None:
        """SIGKILL the launcher's process group and every process below it. torchrun starts each rank in a session
        of its own, so the launcher's group alone would leave the ranks running."""
        below = descendants(self.pid)
        for pgid in {self.pid, *(_pgid(pid) for pid in below)} - {None, os.getpgrp()}:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children...)."""
    try:
        import psutil

        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except Exception:  # psutil missing, or the process is gone
        return []


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


class RankZeroConnection:
    """Rank 0's connection to the supervisor, accepted on a ``Listener`` by a helper thread. Until rank 0 connects
    it polls empty (the supervisor sees no events) and its ``fileno()`` is a pipe that becomes readable once it
    has; after that it is the accepted ``Connection``. ``close()`` ends the helper thread too."""

    def __init__(self, listener: Listener):
        self.listener = listener
        self.address = listener.address
        self._conn: Connection | None = None
        self._closing = False
        self._lock = threading.Lock()  # the accept thread's hand-over against close()
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._accept, name="launched-accept", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn = self.listener.accept()
            except (AuthenticationError, EOFError, OSError):  # a stranger on the port, or the listener closed
                continue
            with self._lock:
                if self._closing:
                    conn.close()
                    return
                self._conn = conn
                os.write(self._wake_write, b"!")
            return

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def fileno(self) -> int:
        conn = self._conn
        return conn.fileno() if conn is not None else self._wake_read

    def poll(self, timeout: float = 0.0) -> bool:
        conn = self._conn
        if conn is not None:
            return conn.poll(timeout)
        if timeout:
            started = time.monotonic()
            select.select([self._wake_read], [], [], timeout)
            conn = self._conn
            return conn is not None and conn.poll(max(0.0, timeout - (time.monotonic() - started)))
        return False

    def recv(self):
        if self._conn is None:
            raise OSError("rank 0 has not connected")
        return self._conn.recv()

    def close(self) -> None:
        """Stop listening: a thread still waiting in ``accept()`` is woken by a connection of our own."""
        with self._lock:
            self._closing = True
        if self._thread.is_alive():
            try:
                socket.create_connection(self.address, timeout=1.0).close()
            except OSError:
                pass
            self._thread.join(2.0)
        self.listener.close()
        if self._conn is not None:
            self._conn.close()
        for fd in (self._wake_read, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass
