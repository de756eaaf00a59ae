"""Where sessions run. ``local`` (the default): a child process per session on this machine, supervised by a thread
of the server (services/training/service.py). ``rq``: sessions are handed to ``tunewright worker`` processes on GPU
hosts through Redis + RQ (rq_dispatch.py on the web server, rq_job.py and worker_main.py on the workers), with the
database as the record and Socket.IO's message queue carrying their events to browsers. See docs/scale-out.md."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

EXECUTORS = ("local", "rq")


def executor_name(app: "Flask") -> str:
    name = (app.config.get("EXECUTOR") or "local").strip().lower()
    if name not in EXECUTORS:
        raise RuntimeError(f"TUNEWRIGHT_EXECUTOR must be one of {', '.join(EXECUTORS)} (got {name!r})")
    if name == "rq" and not app.config.get("REDIS_URL"):
        raise RuntimeError("TUNEWRIGHT_EXECUTOR=rq needs REDIS_URL (for example redis://127.0.0.1:6379/0)")
    return name


def is_worker(app: "Flask") -> bool:
    """This process is a `tunewright worker` (it runs jobs; only the web server dispatches)."""
    return bool(app.config.get("WORKER_NAME"))
