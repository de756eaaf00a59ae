"""Entry point of the training child process.

The server spawns one child per session and reads its events from a pipe;
the child never touches the database or Socket.IO, so the same function can
run under a remote worker later. Its stdout/stderr (TRL's prints, native
crash messages) go to the session's log file, whose tail becomes the error of
a session that dies without a word.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.logfiles import open_log, private_opener
from core.training.failures import apply_memory_limit, failure_message, out_of_memory_message

log = logging.getLogger("tunewright.training")

PARENT_POLL_SECONDS = 0.5
ORPHAN_GRACE_SECONDS = 120.0  # after the server died: time to finish the step and checkpoint before exiting


class PipeEmitter:
    """Sends events to the supervisor. If the server is gone, training is asked to stop (keeping a
    checkpoint) and the events it can no longer deliver are spooled to a file that a resume replays, so
    the steps up to that checkpoint keep their metrics."""

    def __init__(self, conn, parent_pid: int, spool_path: Path):
        self.conn = conn
        self.parent_pid = parent_pid
        self.spool_path = spool_path
        self.server_gone = False
        self.training_started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        event.setdefault("time", time.time())
        if event.get("type") == "phase":
            self.training_started.set()
        with self._lock:
            if not self.server_gone:
                try:
                    self.conn.send(event)
                    return
                except (BrokenPipeError, EOFError, OSError):
                    self.server_gone = True
            with open(self.spool_path, "a", encoding="utf-8", opener=private_opener) as spool:
                spool.write(json.dumps(event) + "\n")

    def parent_alive(self) -> bool:
        if os.getppid() != self.parent_pid:
            self.server_gone = True
        return not self.server_gone


class PipeLogHandler(logging.Handler):
    def __init__(self, emit: PipeEmitter):
        super().__init__(logging.INFO)
        self.emit_event = emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emit_event({"type": "log", "level": record.levelname.lower(), "message": self.format(record)})
        except Exception:
            self.handleError(record)


def _setup_output(log_path: Path, emit: PipeEmitter, tag: str = "") -> None:
    """``tag``: a prefix for this process's file lines (the rank, when several processes share the file)."""
    log_file = open_log(log_path)  # owner-only (core.logfiles)
    os.dup2(log_file.fileno(), sys.stdout.fileno())  # native code and prints land in the file too
    os.dup2(log_file.fileno(), sys.stderr.fileno())
    root = logging.getLogger()
    root.handlers.clear()
    file_handler = logging.StreamHandler(log_file)
    file_handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {tag}[%(name)s] %(message)s"))
    pipe_handler = PipeLogHandler(emit)
    pipe_handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(file_handler)
    root.addHandler(pipe_handler)
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "urllib3", "filelock", "bitsandbytes"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _watch_parent(emit: PipeEmitter) -> None:
    """Notice at once when the server is gone. Before training has started there is nothing to keep: exit now
    (loading a model can take minutes). Once it trains, the step's end checkpoints and stops (``should_stop``);
    if that takes longer than the grace period, exit anyway so that no orphan outlives a resume."""
    while os.getppid() == emit.parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    emit.server_gone = True
    if not emit.training_started.is_set():
        log.warning("the server is gone before training started: exiting")
        os._exit(3)
    log.warning("the server is gone: stopping at the end of this step with a checkpoint")
    time.sleep(ORPHAN_GRACE_SECONDS)
    log.error("still running %.0f s after the server died: exiting without a final checkpoint", ORPHAN_GRACE_SECONDS)
    os._exit(4)


def apply_env(env: dict[str, str | None] | None) -> None:
    """Set (or, for None, remove) environment variables of this process: the owner's tracker credentials. They
    travel beside the job dict, never in it, so nothing that stores or logs a job can hold them."""
    for name, value in (env or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run_child(job: dict[str, Any], conn, stop_event, env: dict[str, str | None] | None = None) -> None:
    """Child-process target. ``job`` is a plain dict (it crosses the process boundary); ``env`` holds secrets
    for this process's environment only (:func:`apply_env`)."""
    apply_env(env)
    # Our own process group: a Ctrl+C in the server's terminal reaches the server, which then asks us to stop
    # at a checkpoint, instead of killing us mid-step.
    os.setpgrp()
    if job.get("device", "cpu").startswith("cuda:"):  # before torch is imported: this child sees one GPU
        os.environ["CUDA_VISIBLE_DEVICES"] = job["device"].split(":", 1)[1]
    emit = PipeEmitter(conn, parent_pid=os.getppid(), spool_path=Path(job["spool_path"]))
    train(job, emit, stop_event)


def train(job: dict[str, Any], emit: PipeEmitter, stop_event, agree: Callable[[bool], bool] | None = None,
          tag: str = "") -> None:
    """The training run shared by :func:`run_child` and ``core.training.distributed_child``: reports through
    ``emit`` and stops at a checkpoint once ``stop_event.is_set()`` or the parent is gone. ``agree`` turns this
    process's stop decision into the one every rank takes (DDP: the ranks must stop after the same step).

    ``job["memory_limit"]`` (bytes, TUNEWRIGHT_TRAINING_MEMORY_LIMIT) caps this process's address space before any
    ML library is imported; a run that dies of memory or of a full disk says so in its error
    (core/training/failures.py)."""
    memory_limit = job.get("memory_limit")
    apply_memory_limit(memory_limit)
    # Built now: once memory has run out, formatting a message may itself fail.
    out_of_memory = out_of_memory_message(memory_limit)
    threading.Thread(target=_watch_parent, args=(emit,), name="parent-watch", daemon=True).start()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        _setup_output(Path(job["log_path"]), emit, tag)  # inside: a full disk may refuse the log file already
        from core.datasets import DatasetSpec, load_examples
        from core.methods import get_method
        from core.training.runner import TrainingJob
        from core.training_config import parse_config

        config = parse_config(job["config"])
        log.info("session %s: loading data and model %s", job["session_id"], job["model_path"])
        spec = DatasetSpec.from_dict(job["dataset"])
        rows = load_examples(spec, config.dataset.max_samples, config.training.seed)
        eval_rows = None
        if job.get("eval_dataset"):
            eval_rows = load_examples(DatasetSpec.from_dict(job["eval_dataset"]), 200, config.training.seed)
        eval_sets = None
        if job.get("eval_sets_file"):  # a project's held-out rows, one set per trait
            from core.projects.run_data import load_eval_sets

            eval_sets = load_eval_sets(Path(job["eval_sets_file"])) or None
        if not rows:
            raise ValueError("the dataset has no usable rows")

        def should_stop() -> bool:
            wanted = stop_event.is_set() or not emit.parent_alive()
            return agree(wanted) if agree is not None else wanted

        run = get_method(config.method).run  # the method chosen by the config (GRPO by default)
        outcome = run(TrainingJob(config=config, model_path=job["model_path"], rows=rows,
                                           eval_rows=eval_rows, eval_sets=eval_sets, output_dir=Path(job["output_dir"]), emit=emit,
                                           should_stop=should_stop, resume=job.get("resume", False),
                                           gguf_cache=job.get("gguf_cache")))
        log.info("session %s: %s", job["session_id"], outcome)
        emit({"type": "done", "outcome": outcome})
    except BaseException as exc:  # the supervisor must hear about every way this can end
        try:
            message = failure_message(exc, memory_limit, Path(job["output_dir"]))
            details = traceback.format_exc()
        except BaseException:  # noqa: BLE001 - out of memory again while describing it
            message, details = out_of_memory, ""
        # The event first, the log file after: on a full disk (the log shares the output folder's disk) writing the
        # traceback fails, and the supervisor must still hear why the run ended.
        emit({"type": "error", "message": message, "traceback": details})
        try:
            log.error("training failed: %s", message)
            traceback.print_exc()
            sys.stdout.flush()
        except BaseException:  # noqa: BLE001 - a full disk refuses the log; the event is sent already
            pass
        os._exit(1)
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # the log file's disk is full
            pass
