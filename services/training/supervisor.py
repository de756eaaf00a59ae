"""One supervisor per running session: spawns the child, relays its events, decides how it ended.

The loop is a ``socketio.start_background_task``: a thread in threading mode,
a green thread under eventlet (DESIGN §2, §4), where it polls the pipe and
yields with ``socketio.sleep``.
"""
from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import subprocess
import time
from collections import deque
from collections.abc import Callable
from multiprocessing import connection as mp_connection
from multiprocessing.connection import Listener
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from core.training.failures import exit_message
from extensions import db, socketio
from services.models.training import TrainingSession
from services.training import records
from services.training.status import Status, outcome_status
from websockets.emit import safe_emit
from websockets.rooms import session_room

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05  # eventlet: poll interval
WAIT_SECONDS = 1.0  # threading: longest block, so a stop deadline is checked at least this often
MAX_EVENTS_PER_BATCH = 500
MAX_PENDING_EVENTS = 50_000  # events held while the database refuses writes; beyond them the child waits (pipe full)
RETRY_DELAYS = (0.1, 0.3, 1.0, 2.0, 5.0)  # seconds between attempts at a bookkeeping write
SIGNAL_NAMES = {-9: "SIGKILL: killed, often by the out-of-memory killer", -11: "SIGSEGV: crashed in native code",
                -15: "SIGTERM: terminated", -6: "SIGABRT: aborted"}


def tail_lines(path: Path, count: int = 20) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=count)]
    except OSError:
        return []


OnExit = Callable[[str, Status, "str | None"], None]


class Fenced(Exception):
    """This process no longer holds the session (a worker declared lost, whose job another worker took over)."""


def with_retries(action: Callable[[], Any], what: str) -> Any:
    """Run a database write, retrying transient errors (SQLite's "database is locked", a dropped PostgreSQL
    connection) with a growing pause. The last error is raised once every attempt failed."""
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            return action()
        except OperationalError:
            db.session.rollback()
            if delay is None:
                raise
            log.warning("%s failed (attempt %d), retrying in %.1f s", what, attempt + 1, delay, exc_info=True)
            time.sleep(delay)


class Supervisor:
    """Knows nothing of the training service: it reports the end through ``on_exit(session_id, status, error)``
    (rq's callback style), so the same loop can supervise other kinds of worker."""

    def __init__(self, app: "Flask", session_id: str, job: dict[str, Any], device: str = "cpu",
                 on_exit: OnExit | None = None, env: dict[str, str | None] | None = None,
                 guard: Callable[[], bool] | None = None, on_tick: Callable[["Supervisor"], None] | None = None):
        """``guard``: run inside each write's transaction; False means this process lost the session (the write is
        dropped, the child killed, nothing more recorded). ``on_tick``: called about once a second (a remote
        worker checks for stop requests there)."""
        self.app = app
        self.guard = guard
        self.on_tick = on_tick
        self.fenced = False
        self.env = env  # the child's extra environment (secrets): handed to it at spawn, kept out of ``job``
        self.device = device
        self.on_exit = on_exit
        self.session_id = session_id
        self.job = job
        self.room = session_room(session_id)
        self.outcome: str | None = None
        self.error: str | None = None
        self.forced_kill = False
        self.stop_deadline: float | None = None
        self.process = None
        self._conn = None
        self._stop_event = None
        self.launched = False  # run under `accelerate launch` (core/training/launch.py), not as a multiprocessing child
        self._stop_file: Path | None = None  # a launched run's stop request

    # -- control (called from request threads) -------------------------------------------------------------
    def spawn(self) -> int:
        from core.training.launch import uses_launcher

        if uses_launcher(self.job):
            return self._launch()
        from core.training.worker import run_child

        ctx = mp.get_context("spawn")  # fork would copy the server's threads and sockets into the child
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._stop_event = ctx.Event()
        self.process = ctx.Process(target=run_child, args=(self.job, child_conn, self._stop_event, self.env),
                                   name=f"tunewright-train-{self.session_id}", daemon=False)
        self.process.start()
        child_conn.close()
        return self.process.pid

    def _launch(self) -> int:
        """Several GPUs (or ``launcher == "accelerate"``): run ``accelerate launch`` in a session of its own; rank 0
        connects back to a Listener and sends the same events as a multiprocessing child. Secrets travel in the
        launcher's environment, never in the job file."""
        from core.logfiles import open_log
        from core.training.launch import JOB_FILE, STOP_FILE, launch_env, prepare_launch, write_job_file
        from services.training.launched import LaunchedProcess, RankZeroConnection

        output = Path(self.job["output_dir"])
        output.mkdir(parents=True, exist_ok=True)
        self._stop_file = output / STOP_FILE
        self._stop_file.unlink(missing_ok=True)  # a request left by the previous run must not stop a resume
        authkey = os.urandom(16)
        listener = Listener(("127.0.0.1", 0), authkey=authkey)
        try:
            job = {**self.job, "listener": {"address": list(listener.address), "authkey": authkey.hex()}}
            job_path = write_job_file(output / JOB_FILE, job)
            argv = prepare_launch(job, job_path)
            with open_log(self.job["log_path"]) as log_file:  # the launcher's own output; each rank appends too
                popen = subprocess.Popen(argv, env=launch_env(os.environ, self.env, job), stdin=subprocess.DEVNULL,
                                         stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        except BaseException:
            listener.close()
            raise
        self._conn = RankZeroConnection(listener)
        self.process = LaunchedProcess(popen)
        self.launched = True
        log.info("session %s: launched %s (pid %d)", self.session_id, " ".join(argv[1:]), popen.pid)
        return popen.pid

    def start(self) -> int:
        """Spawn the child and supervise it from a background task."""
        pid = self.spawn()
        socketio.start_background_task(self._loop)
        return pid

    def supervise(self) -> None:
        """Relay the spawned child's events in this thread until it has exited (a worker's job)."""
        self._loop()

    def request_stop(self, timeout: float) -> None:
        if self._stop_event is not None:
            self._stop_event.set()
        if self._stop_file is not None:
            self._stop_file.touch()
        self.stop_deadline = time.monotonic() + timeout

    def kill(self) -> None:
        """Hard stop: SIGKILL the child (the supervisor then records the session as stopped)."""
        if self.process is not None and self.process.is_alive():
            self.forced_kill = True
            self.process.kill()

    # -- the loop ---------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        """Relay events until the child has exited. A failing database write is retried and its events kept;
        it never kills a healthy child (only a stop past its deadline does). No event is ever dropped: past
        ``MAX_PENDING_EVENTS`` the pipe is left unread, so the child waits in its next send until the database is
        back, and events that still cannot be stored once the child has gone go to the spool a resume replays."""
        pending: list[dict] = []
        closed = False
        failures = 0
        while True:
            try:
                if not closed and len(pending) < MAX_PENDING_EVENTS:
                    events, closed = self._drain()
                    pending.extend(events)
                if pending:
                    self._apply(pending)
                    pending = []
                failures = 0
                if self.on_tick is not None:
                    self.on_tick(self)
            except Fenced:
                log.warning("session %s was taken over by another worker: killing this copy of it", self.session_id)
                self.fenced = True
                self.kill()
                self.process.join(30)
                self._close_launched()
                return
            except Exception:
                failures += 1
                log.exception("supervisor of session %s could not record %d event(s); keeping them",
                              self.session_id, len(pending))
                if closed and not self.process.is_alive() and failures >= 10:
                    self._spool(pending)
                    break
                time.sleep(1.0)
            if self.stop_deadline is not None and time.monotonic() > self.stop_deadline:
                log.warning("session %s did not stop in time: killing it", self.session_id)
                self.stop_deadline = None
                self.kill()
            if closed and not self.process.is_alive() and not pending:
                break
            if closed and not self.process.is_alive():
                continue  # only the last events are left to store
            self._wait_for_events(closed)
        self.process.join(5)
        self._close_launched()
        self._finish()

    def _spool(self, events: list[dict]) -> None:
        """The database stayed unwritable after the child exited: keep its last events in the session's spool file
        (the one a child writes when its server is gone), which a resume replays before it continues."""
        try:
            from core.logfiles import private_opener

            with open(self.job["spool_path"], "a", encoding="utf-8", opener=private_opener) as spool:
                for event in events:
                    spool.write(json.dumps(event, default=str) + "\n")
            log.error("session %s: the database refused %d event(s); kept in %s for a resume", self.session_id,
                      len(events), self.job["spool_path"])
        except (OSError, KeyError):
            log.exception("session %s: %d event(s) could be neither stored nor spooled", self.session_id,
                          len(events))

    def _close_launched(self) -> None:
        """A launched run's listener and its accept thread end with the run (a multiprocessing Pipe needs nothing)."""
        if self.launched:
            self._conn.close()

    def _wait_for_events(self, closed: bool = False) -> None:
        """Sleep until the child sends something or exits. In threading mode this blocks on the pipe and
        the process sentinel (no periodic wake-ups stealing a core from training); under eventlet it
        polls and yields to the hub."""
        if socketio.async_mode == "threading":
            # A closed pipe is always "ready": then only the process's exit is worth waiting for.
            mp_connection.wait([self.process.sentinel] if closed else [self._conn, self.process.sentinel],
                               timeout=WAIT_SECONDS)
        else:
            socketio.sleep(POLL_SECONDS)

    def _drain(self) -> tuple[list[dict], bool]:
        events: list[dict] = []
        try:
            while len(events) < MAX_EVENTS_PER_BATCH and self._conn.poll(0):
                events.append(self._conn.recv())
        except (EOFError, OSError):
            return events, True
        return events, not self.process.is_alive() and not self._conn.poll(0)

    def _apply(self, events: list[dict]) -> None:
        """Write a batch in one transaction, then emit it (emits after commit: a client joining now sees it
        either in the history or live)."""
        outgoing: list[tuple[str, dict]] = []

        def write() -> None:
            outgoing.clear()
            if self.guard is not None and not self.guard():
                db.session.rollback()
                raise Fenced(self.session_id)
            session = db.session.get(TrainingSession, self.session_id)
            logs: list[dict] = []
            for event in events:
                outgoing.extend(self._record(session, event, logs))
            if logs:
                records.append_logs(session, logs)
            db.session.commit()

        with self.app.app_context():
            with_retries(write, f"recording events of session {self.session_id}")
        for name, payload in outgoing:
            safe_emit(name, payload, to=self.room)

    def _record(self, session: TrainingSession, event: dict, logs: list[dict]) -> list[tuple[str, dict]]:
        if event.get("type") == "done":
            self.outcome = event["outcome"]
        elif event.get("type") == "error":
            self.error = event["message"]
        return records.record_event(session, event, logs)

    def _finish(self) -> None:
        exitcode = self.process.exitcode if self.process is not None else None
        status = outcome_status(self.outcome, self.forced_kill)
        error = None
        if status is Status.FAILED:
            reason = self.error or exit_message(exitcode, SIGNAL_NAMES.get(exitcode), self.job.get("memory_limit"))
            last = tail_lines(Path(self.job["log_path"]))
            error = reason + ("\n--- last log lines ---\n" + "\n".join(last) if last else "")
        elif self.forced_kill:
            error = "Stopped by force: the process did not finish its step in time (no checkpoint of the last step)."
        if self.on_exit is not None:
            with self.app.app_context():
                try:
                    with_retries(lambda: self.on_exit(self.session_id, status, error),
                                 f"recording the end of session {self.session_id}")
                except Exception:
                    log.exception("could not record the end of session %s (%s); a restart marks it interrupted",
                                  self.session_id, status.value)
        log.info("session %s ended %s (exit code %s)", self.session_id, status.value, exitcode)
