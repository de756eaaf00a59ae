"""The inference worker process: owns the model cache, generates one request at a time, streams tokens back.

Requests arrive over a duplex pipe as dicts: ``{"op": "generate", "request_id", "spec", "messages",
"settings"}`` or ``{"op": "cancel", "request_id"}``. Replies: ``{"request_id", "type": "token", "text"}``,
then ``{"type": "done", "text", "tokens", "seconds", "stopped"}`` or ``{"type": "error", "message"}``.
A cancel is read between tokens, so Stop takes effect within one token.
"""
from __future__ import annotations

import gc
import os
import sys
import time
import traceback
from collections import deque

from core.logfiles import open_log


def run_worker(conn, max_bytes: int, log_path: str | None = None) -> None:
    if log_path:
        log_file = open_log(log_path)  # owner-only (core.logfiles)
        os.dup2(log_file.fileno(), sys.stdout.fileno())
        os.dup2(log_file.fileno(), sys.stderr.fileno())
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from core.inference.cache import ModelCache

    cache = ModelCache(max_bytes)
    pending: deque[dict] = deque()
    cancelled: set[str] = set()

    def read(block: bool) -> bool:
        """Take messages off the pipe; False when the server has gone."""
        try:
            while block or conn.poll(0):
                message = conn.recv()
                block = False
                if message.get("op") == "cancel":
                    cancelled.add(message["request_id"])
                elif message.get("op") == "generate":
                    pending.append(message)
                elif message.get("op") == "shutdown":
                    return False
        except (EOFError, OSError):
            return False
        return True

    while True:
        if not pending and not read(block=True):
            return
        if not pending:
            continue
        request = pending.popleft()
        request_id = request["request_id"]
        if request_id in cancelled:
            cancelled.discard(request_id)
            conn.send({"request_id": request_id, "type": "done", "text": "", "tokens": 0, "seconds": 0.0,
                       "stopped": True})
            continue
        started = time.monotonic()
        pieces: list[str] = []
        alive = True
        try:
            backend = cache.get(request["spec"])

            def should_stop() -> bool:
                nonlocal alive
                alive = read(block=False) and alive
                return request_id in cancelled or not alive

            for piece in backend.stream(request["messages"], request.get("settings", {}), should_stop):
                pieces.append(piece)
                conn.send({"request_id": request_id, "type": "token", "text": piece})
            text = "".join(pieces)
            tokens = len(backend.tokenizer(text, add_special_tokens=False)["input_ids"]) if hasattr(backend, "tokenizer") \
                else len(backend.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0
            conn.send({"request_id": request_id, "type": "done", "text": text, "tokens": tokens,
                       "seconds": round(time.monotonic() - started, 3), "stopped": request_id in cancelled})
        except Exception as exc:
            traceback.print_exc()
            try:
                conn.send({"request_id": request_id, "type": "error", "message": f"{type(exc).__name__}: {exc}"})
            except (BrokenPipeError, OSError):
                return  # the server is gone
        cancelled.discard(request_id)
        gc.collect()
        if not alive:
            return
