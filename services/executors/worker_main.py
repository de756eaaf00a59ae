"""`tunewright worker`: a training worker on a GPU host. It registers in the database, sends a heartbeat with its
GPUs and free memory every few seconds (a thread of this process), and runs an RQ worker on its own queue: each job
is forked into a work-horse that supervises one training child (rq_job.py)."""
from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import TYPE_CHECKING

import redis

from extensions import db
from services.executors import executor_name
from services.executors.rq_job import bind_app
from services.executors.workers import heartbeat, mark_stopped, queue_name, register

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


def _worker_class():
    from rq import Worker

    class TrainingWorker(Worker):
        """RQ's worker, tolerant of a Redis outage while a job runs: its own Redis heartbeat is skipped, not fatal
        (the database heartbeat is the one the web server reads, and the job keeps training)."""

        def maintain_heartbeats(self, job):
            try:
                super().maintain_heartbeats(job)
            except redis.exceptions.ConnectionError as exc:
                log.warning("Redis is unreachable (%s); the job goes on", exc)

    return TrainingWorker


def select_gpus(spec: str | None) -> list[int]:
    """``all`` (default), ``none``, or a comma list of physical indices. The worker's processes then see only those
    (CUDA_VISIBLE_DEVICES); a single-GPU child is pinned by physical index, as with the local executor."""
    from services.system_monitor import read_gpus

    present = [g["index"] for g in read_gpus()]
    if spec in (None, "", "all"):
        return present
    if spec == "none":
        return []
    wanted = [int(part) for part in spec.split(",") if part.strip()]
    missing = [i for i in wanted if i not in present]
    if missing:
        raise SystemExit(f"no GPU with index {', '.join(map(str, missing))} on this host (found: {present or 'none'})")
    return wanted


def run_worker(app: "Flask", name: str, indices: list[int], burst: bool = False) -> int:
    """Serve jobs until stopped (``burst``: until the queue is empty). ``app`` was built with ``WORKER_NAME``."""
    if executor_name(app) != "rq":
        raise SystemExit("a worker needs TUNEWRIGHT_EXECUTOR=rq and REDIS_URL")
    boot_id = uuid.uuid4().hex
    app.config["WORKER_GPUS"] = list(indices)
    bind_app(app)
    with app.app_context():
        register(name, boot_id, own_gpus(app), slots=1)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeats, args=(app, name, boot_id, stop), name="worker-heartbeat",
                            daemon=True)
    beat.start()
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    from rq import Queue

    worker = _worker_class()([Queue(queue_name(name), connection=connection)], connection=connection,
                             name=f"{name}.{boot_id[:8]}")
    log.info("worker %s listening on %s (GPUs: %s)", name, queue_name(name), indices or "none")
    print(f"tunewright worker {name}: listening on {queue_name(name)}", flush=True)
    try:
        worker.work(burst=burst, with_scheduler=False, logging_level=app.config.get("LOG_LEVEL", "INFO"))
    finally:
        stop.set()
        with app.app_context():
            mark_stopped(name, boot_id)
    return 0


def own_gpus(app: "Flask") -> list[dict]:
    """This worker's GPUs. NVML lists every GPU of the host whatever CUDA_VISIBLE_DEVICES says, so filter by the
    physical indices the worker was given."""
    from services.system_monitor import read_gpus

    mine = set(app.config.get("WORKER_GPUS") or [])
    return [gpu for gpu in read_gpus() if gpu["index"] in mine]


def _heartbeats(app: "Flask", name: str, boot_id: str, stop: threading.Event) -> None:
    interval = float(app.config.get("WORKER_HEARTBEAT_SECONDS", 5))
    while not stop.wait(interval):
        try:
            with app.app_context():
                if not heartbeat(name, boot_id, own_gpus(app), pid=os.getpid()):
                    log.error("another worker named %s has started: this one stops taking jobs", name)
                    os.kill(os.getpid(), 15)
                    return
        except Exception:
            log.warning("heartbeat of worker %s failed; trying again", name, exc_info=True)
            with app.app_context():
                db.session.rollback()
