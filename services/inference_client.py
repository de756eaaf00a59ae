"""The web process's side of the inference worker: the one client that starts it, bounds its queue, sends it
requests and routes its replies to whoever asked.

Bounded in size: at most ``INFERENCE_QUEUE_SIZE`` requests wait or run; an interactive request beyond that
is refused with :class:`BusyError` (HTTP 429 + Retry-After), a background job (batch, evaluation) waits for a
free place. Bounded in time: each request carries ``INFERENCE_TIME_LIMIT`` seconds, which the worker enforces
between tokens; what it cannot interrupt (a model load, a prefill, a scoring pass) is ended here by killing
the worker once a request has run past the limit plus ``INFERENCE_LOAD_SECONDS`` (a fresh worker starts on
the next request).
"""
from __future__ import annotations

import atexit
import itertools
import logging
import multiprocessing as mp
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.inference.limits import DEFAULT_TIME_LIMIT
from extensions import socketio
from services.errors import ServiceError

log = logging.getLogger(__name__)

OnEvent = Callable[[dict], None]
KILL_GRACE = 10.0  # seconds past a request's limit before the worker is killed


class BusyError(ServiceError):
    """The inference queue is full: try again later (HTTP 429 with Retry-After)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, details=[{"path": "", "message": "inference queue full",
                                            "hint": f"Retry in about {retry_after} s."}])
        self.retry_after = retry_after


@dataclass
class _Request:
    op: str
    on_event: OnEvent
    time_limit: float
    started: float | None = None
    process: object = None
    submitted: float = field(default_factory=time.monotonic)


class InferenceClient:
    def __init__(self, app, queue_size: int | None = None, log_name: str = "inference.log"):
        """``queue_size`` and ``log_name`` let a deployed model have a worker of its own (services/deploy)."""
        self.max_bytes = int(app.config.get("INFERENCE_CACHE_BYTES") or 4 * 1024**3)
        self.queue_size = max(1, int(queue_size or app.config.get("INFERENCE_QUEUE_SIZE") or 8))
        self.time_limit = float(app.config.get("INFERENCE_TIME_LIMIT") or DEFAULT_TIME_LIMIT)
        self.load_seconds = float(app.config.get("INFERENCE_LOAD_SECONDS") or 300)
        self.retry_after = int(app.config.get("INFERENCE_RETRY_AFTER") or 10)
        self.log_path = str(Path(app.config["LOG_DIR"]) / log_name)
        self._lock = threading.Lock()  # the process and the pipe's send side
        self._slots = threading.Condition()  # guards _requests
        self._requests: dict[str, _Request] = {}
        self._ids = itertools.count(1)
        self._process = None
        self._conn = None
        self._timed_out: str | None = None
        self.served: dict[str, int] = {"generate": 0, "score": 0}
        self.shutting_down = False
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().shutdown())

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    @property
    def outstanding(self) -> int:
        return len(self._requests)

    # -- the worker process ---------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return
            from core.inference.worker import run_worker

            ctx = mp.get_context("spawn")
            self._conn, child = ctx.Pipe(duplex=True)
            self._process = ctx.Process(target=run_worker, name="tunewright-inference", daemon=True,
                                        args=(child, self.max_bytes, self.log_path))
            self._process.start()
            child.close()
            socketio.start_background_task(self._reader, self._conn, self._process)

    def _reader(self, conn, process) -> None:
        while True:
            self._watchdog(process)
            try:
                if not conn.poll(0.05 if socketio.async_mode != "threading" else 0.5):
                    if not process.is_alive():
                        break
                    socketio.sleep(0)
                    continue
                event = conn.recv()
            except (EOFError, OSError):
                break
            self._dispatch(event)
        self._fail_all(process)

    def _watchdog(self, process) -> None:
        """Kill a worker whose running request is past its limit plus the load allowance and a grace."""
        now = time.monotonic()
        for request_id, request in list(self._requests.items()):
            if request.process is process and request.started is not None and \
                    now - request.started > request.time_limit + self.load_seconds + KILL_GRACE:
                log.warning("inference request %s ran past its time limit: killing the worker", request_id)
                self._timed_out = request_id
                process.kill()

    def _dispatch(self, event: dict) -> None:
        request_id = event.get("request_id")
        request = self._requests.get(request_id)
        if event.get("type") == "started":
            if request is not None:
                request.started = time.monotonic()
            return
        if event.get("type") in ("done", "error"):
            self._finish(request_id)
            if request is not None and event["type"] == "done":
                self.served[request.op] = self.served.get(request.op, 0) + 1
        if request is None:
            return
        try:
            request.on_event(event)
        except Exception:
            log.exception("inference event handler failed")
            if event.get("type") == "done":  # the asker still hears that it ended
                request.on_event({**event, "type": "error", "code": "failed",
                                  "message": "The answer could not be recorded."})

    def _fail_all(self, process) -> None:
        """The worker died: nobody waits forever."""
        for request_id, request in list(self._requests.items()):
            if request.process is not process:
                continue  # sent to a newer worker
            self._finish(request_id)
            if request_id == self._timed_out:
                event = {"code": "timeout", "message": f"The request passed its time limit of "
                                                       f"{request.time_limit:g} s; the inference worker was restarted."}
            else:
                event = {"code": "failed", "message": "The inference worker stopped (see logs/inference.log)."}
            try:
                request.on_event({"request_id": request_id, "type": "error", **event})
            except Exception:
                log.exception("inference event handler failed")
        self._timed_out = None

    def _finish(self, request_id: str) -> None:
        with self._slots:
            self._requests.pop(request_id, None)
            self._slots.notify_all()

    # -- requests ---------------------------------------------------------------------------------------------
    def submit(self, message: dict, on_event: OnEvent, wait: float | None = None) -> str:
        """Queue one request (``message`` without its id); ``wait``: seconds a background job waits for a free
        place (None: refuse at once with :class:`BusyError`). Returns the request id."""
        if self.shutting_down:
            raise ServiceError("The server is shutting down.", status_code=503)
        request_id = f"r{next(self._ids)}"
        limit = float(message.get("time_limit") or self.time_limit)
        with self._slots:
            if len(self._requests) >= self.queue_size and wait:
                self._slots.wait_for(lambda: len(self._requests) < self.queue_size, wait)
            if len(self._requests) >= self.queue_size:
                raise BusyError(f"The inference worker is busy ({len(self._requests)} requests queued or "
                                f"running, at most {self.queue_size}). Try again in a few seconds.",
                                self.retry_after)
            self._requests[request_id] = _Request(message["op"], on_event, limit)
        try:
            self._ensure_worker()
            with self._lock:
                self._requests[request_id].process = self._process
                self._conn.send({**message, "request_id": request_id, "time_limit": limit})
        except Exception:
            self._finish(request_id)
            raise
        return request_id

    def cancel(self, request_id: str) -> None:
        if self._conn is not None and request_id in self._requests:
            with self._lock:
                try:
                    self._conn.send({"op": "cancel", "request_id": request_id})
                except OSError:
                    pass

    def call(self, message: dict, wait: float | None = None) -> dict:
        """Send a request and wait for its last event (``done`` or ``error``). The worker enforces the limit;
        this thread gives up (and cancels) only when the request has run well past it."""
        done = threading.Event()
        result: dict = {}

        def on_event(event: dict) -> None:
            if event["type"] in ("done", "error"):
                result.update(event)
                done.set()

        request_id = self.submit(message, on_event, wait)
        request = self._requests.get(request_id)
        while not done.wait(1.0):
            if request is not None and request.started is not None and \
                    time.monotonic() - request.started > request.time_limit + self.load_seconds + 3 * KILL_GRACE:
                self.cancel(request_id)
                raise ServiceError(f"The request did not finish within its time limit of {request.time_limit:g} s.",
                                   status_code=504)
        return result

    def shutdown(self, timeout: float = 5) -> None:
        """Stop the worker (app teardown, server exit): ask, wait, then kill."""
        self.shutting_down = True
        with self._lock:
            process, conn = self._process, self._conn
            if process is None or not process.is_alive():
                return
            try:
                conn.send({"op": "shutdown"})
            except OSError:
                pass
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(timeout)
