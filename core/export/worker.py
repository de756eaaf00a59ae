"""Entry point of the export child process: runs :func:`core.export.run_export` and reports over a pipe.

Like the training child it never touches the database or Socket.IO; native tools (the converter,
llama.cpp's quantiser) write to the export's log file, whose tail becomes the error if the child dies.

The child leads its own process group, and llama.cpp's converter (a subprocess) joins it: cancelling kills
the whole group, so no converter keeps running after its export is gone. An export has nothing worth keeping
half-way, so when its server dies the child ends its group too instead of writing into an orphaned folder.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from core.logfiles import open_log

PARENT_POLL_SECONDS = 1.0


def _end_group_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    print("[export] the server is gone: abandoning this export", flush=True)
    os.killpg(0, signal.SIGKILL)


def run_child(job: dict[str, Any], conn) -> None:
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # first: no subprocess may start before the group exists
        threading.Thread(target=_end_group_when_orphaned, args=(os.getppid(),), name="parent-watch",
                         daemon=True).start()
    log_path = Path(job["log_path"])
    log_file = open_log(log_path)  # owner-only (core.logfiles)
    os.dup2(log_file.fileno(), sys.stdout.fileno())
    os.dup2(log_file.fileno(), sys.stderr.fileno())
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    def emit(event: dict) -> None:
        event.setdefault("time", time.time())
        print(f"[export] {event.get('stage', event.get('type'))}: {event.get('message', '')}", flush=True)
        try:
            conn.send(event)
        except (BrokenPipeError, EOFError, OSError):
            pass  # the server is gone; the parent watch ends this export

    try:
        from core.export import run_export

        manifest = run_export(job, emit)
        emit({"type": "done", "manifest": manifest})
    except BaseException as exc:
        traceback.print_exc()
        emit({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        sys.stdout.flush()
        os._exit(1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
