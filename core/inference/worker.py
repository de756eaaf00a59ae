"""The inference worker process: owns the model cache and does one request at a time, out of the web process.

Requests arrive over a duplex pipe as dicts with a ``request_id``; only the operations of
:mod:`core.inference.ops` exist: ``{"op": "generate", "spec", "messages", "settings", "time_limit"}`` and
``{"op": "score", "reward", "markers", "samples"}``; besides them ``{"op": "cancel", "request_id"}`` and
``{"op": "shutdown"}``. Replies: ``{"type": "started", "pid"}`` when a request begins, ``token`` pieces while
generating, then ``{"type": "done", ...}`` or ``{"type": "error", "code", "message"}`` with ``code`` one of
``timeout``, ``too_long``, ``failed``.

A generation stops between two tokens when it is cancelled, when the server goes away or when it passes its
wall-clock ``time_limit`` (counted from the model being ready). What cannot be interrupted here (a model load,
a prefill, a scoring pass) is bounded by the server, which kills this process past the limit plus a grace.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import time
import traceback
from collections import deque

from core.logfiles import open_log

from core.inference import ops
from core.inference.limits import DEFAULT_TIME_LIMIT, PromptTooLong

OPS = ("generate", "score")


class _Inbox:
    """Messages from the server: queued requests, cancelled ids, and whether the server is still there."""

    def __init__(self, conn):
        self.conn = conn
        self.pending: deque[dict] = deque()
        self.cancelled: set[str] = set()
        self.alive = True

    def read(self, block: bool) -> None:
        try:
            while self.alive and (block or self.conn.poll(0)):
                message = self.conn.recv()
                block = False
                op = message.get("op")
                if op == "cancel":
                    self.cancelled.add(message["request_id"])
                elif op in OPS:
                    self.pending.append(message)
                elif op == "shutdown":
                    self.alive = False
        except (EOFError, OSError):
            self.alive = False

    def next(self) -> dict | None:
        while self.alive:
            if self.pending:
                return self.pending.popleft()
            self.read(block=True)
        return None


def run_worker(conn, max_bytes: int, log_path: str | None = None) -> None:
    if log_path:
        log_file = open_log(log_path)  # owner-only (core.logfiles)
        os.dup2(log_file.fileno(), sys.stdout.fileno())
        os.dup2(log_file.fileno(), sys.stderr.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the server stops us
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from core.inference.cache import ModelCache

    cache = ModelCache(max_bytes)
    inbox = _Inbox(conn)
    while (request := inbox.next()) is not None:
        request_id = request["request_id"]
        try:
            _handle(request, cache, inbox)
        except PromptTooLong as exc:
            if not _send(conn, {"request_id": request_id, "type": "error", "code": "too_long", "message": str(exc)}):
                return
        except Exception as exc:
            traceback.print_exc()
            if not _send(conn, {"request_id": request_id, "type": "error", "code": "failed",
                                "message": f"{type(exc).__name__}: {exc}"}):
                return
        inbox.cancelled.discard(request_id)
        gc.collect()


def _send(conn, message: dict) -> bool:
    try:
        conn.send(message)
        return True
    except (BrokenPipeError, OSError):
        return False  # the server is gone


def _handle(request: dict, cache, inbox: _Inbox) -> None:
    conn, request_id = inbox.conn, request["request_id"]
    if request_id in inbox.cancelled:
        conn.send({"request_id": request_id, "type": "done", "text": "", "tokens": 0, "seconds": 0.0,
                   "stopped": True, "result": None})
        return
    conn.send({"request_id": request_id, "type": "started", "pid": os.getpid()})
    limit = float(request.get("time_limit") or DEFAULT_TIME_LIMIT)
    started = time.monotonic()
    if request["op"] == "score":
        result = ops.score(request)
        conn.send({"request_id": request_id, "type": "done", "result": result,
                   "seconds": round(time.monotonic() - started, 3)})
        return
    backend = cache.get(request["spec"])
    deadline = time.monotonic() + limit

    def should_stop() -> bool:
        inbox.read(block=False)
        return request_id in inbox.cancelled or not inbox.alive or time.monotonic() > deadline

    pieces: list[str] = []
    for piece in ops.generate(backend, request, should_stop):
        pieces.append(piece)
        conn.send({"request_id": request_id, "type": "token", "text": piece})
    text = "".join(pieces)
    seconds = round(time.monotonic() - started, 3)
    if time.monotonic() > deadline and request_id not in inbox.cancelled:
        conn.send({"request_id": request_id, "type": "error", "code": "timeout", "text": text, "seconds": seconds,
                   "message": f"The generation passed its time limit of {limit:g} s and was stopped."})
        return
    conn.send({"request_id": request_id, "type": "done", "text": text, "tokens": ops.count_tokens(backend, text),
               "seconds": seconds, "stopped": request_id in inbox.cancelled,
               "finish_reason": getattr(backend, "last_finish_reason", None),
               "prompt_tokens": getattr(backend, "last_prompt_tokens", None)})
