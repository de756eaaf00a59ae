"""``train --config FILE``: one training run from a config file, here or on a server (``--server URL``).

Here, the run goes through the studio's own engine and store: the app is built in this process (no server),
the training service spawns the child and its supervisor thread records every event in the database, and
this command follows the session from that database. ``sessions``, the studio and its API see the run like
any other. Exit codes: 0 completed, 1 failed, 2 bad config, 130 interrupted (stopped, resumable).
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.api import Api, ApiError, LocalApi, RemoteApi
from cli.common import (EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, add_server_options, fmt,
                        local_app, print_table)
from cli.config_file import ConfigFileError, LoadedConfig, format_errors, load_config
from cli.progress import PhaseBars
from core.checksums import file_sha256

TERMINAL = {"completed", "failed", "stopped", "interrupted"}
EXIT_BY_STATUS = {"completed": EXIT_OK, "failed": EXIT_FAILED, "stopped": EXIT_INTERRUPTED,
                  "interrupted": EXIT_INTERRUPTED}
POLL_SECONDS = 0.5
DATASET_WAIT_SECONDS = 600


@dataclass
class TrainingResult:
    """How a run ended. ``exit_code`` is what the command exits with."""

    session_id: str
    status: str
    exit_code: int
    adapter: str | None = None
    copied_to: str | None = None
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False


class TrainingRefused(Exception):
    """The run could not start for a reason that is not the config (e.g. this database's queue is busy)."""


# -- the dataset behind ``train_file`` -------------------------------------------------------------------------
def register_train_file(api: Api, path: Path, log=print) -> int:
    """The id of a Ready dataset holding ``path``: one uploaded before with the same content, or a new upload
    (processed like any upload). Raises ConfigFileError when the file cannot be used."""
    digest = file_sha256(path)
    for record in api.call("GET", "/datasets/list")["datasets"]:
        if record.get("sha256") == digest and record.get("status") == "Ready":
            log(f"train_file: using dataset {record['id']} ({record['name']}), same content")
            return int(record["id"])
    try:
        record = api.upload("/datasets/upload", path,
                            {"name": path.stem, "description": "uploaded by tunewright train"})
    except ApiError as exc:
        raise ConfigFileError([{"path": "train_file", "message": exc.message, "hint": ""}]) from None
    dataset_id = int(record["dataset"]["id"])
    deadline = time.monotonic() + DATASET_WAIT_SECONDS
    while True:
        record = api.call("GET", f"/datasets/{dataset_id}")["dataset"]
        if record["status"] != "Processing" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    if record["status"] != "Ready":
        problems = [f"line {d.get('line')}: {d.get('message')}" if isinstance(d, dict) else str(d)
                    for d in record.get("error_details") or []]
        raise ConfigFileError([{"path": "train_file", "message": f"dataset {dataset_id} is {record['status']}: "
                                f"{record.get('error') or 'still processing'}", "hint": "; ".join(problems[:5])}])
    log(f"train_file: uploaded as dataset {dataset_id} ({record.get('row_count')} rows)")
    return dataset_id


# -- starting ------------------------------------------------------------------------------------------------
@contextmanager
def children_ignore_sigint():
    """A terminal's Ctrl-C goes to the whole foreground process group. The training child is spawned with
    SIGINT ignored (the disposition survives exec), so Ctrl-C reaches only this process, which then asks the
    child to stop after its step and write a checkpoint."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start(api: Api, loaded: LoadedConfig, session_id: str | None, priority: str) -> dict:
    body = {"config": loaded.config, "priority": priority, **({"session_id": session_id} if session_id else {})}
    try:
        with children_ignore_sigint():
            return api.call("POST", "/training/start", json=body)["session"]
    except ApiError as exc:
        if exc.status in (400, 404, 409, 422):
            raise ConfigFileError([d if isinstance(d, dict) else {"path": "", "message": str(d), "hint": ""}
                                   for d in exc.details] or [{"path": "", "message": exc.message, "hint": ""}]
                                  ) from None
        raise


# -- following -------------------------------------------------------------------------------------------------
class LocalFollower:
    """Reads the session and its latest metric row from the database the supervisor writes to."""

    def __init__(self, app, session_id: str):
        self.app = app
        self.session_id = session_id
        self._forwarded_stop = False

    def poll(self) -> tuple[dict, tuple[str, dict] | None]:
        from sqlalchemy import select

        from extensions import db
        from services.models.training import TrainingMetric, TrainingSession
        from services.training import get_training_service
        from services.training.records import session_summary

        with self.app.app_context():
            session = db.session.get(TrainingSession, self.session_id)
            row = db.session.execute(select(TrainingMetric).filter_by(session_id=self.session_id)
                                     .order_by(TrainingMetric.global_step.desc(), TrainingMetric.id.desc())
                                     .limit(1)).scalar_one_or_none()
            summary = session_summary(session)
            if summary["status"] == "stopping" and not self._forwarded_stop:
                # Stopped from elsewhere (the studio, `sessions stop`): the child is ours, so pass it on.
                self._forwarded_stop = True
                get_training_service().stop(self.session_id)
            return summary, ((row.phase, dict(row.values)) if row is not None else None)

    def request_stop(self, api: Api) -> None:
        self._forwarded_stop = True
        api.call("POST", "/training/stop", json={"session_id": self.session_id})

    def kill(self) -> None:
        self.app.extensions["tunewright.training"].shutdown()

    def wait(self, bars: PhaseBars) -> dict:
        while True:
            summary, metric = self.poll()
            bars.progress(summary["phase"], summary["step"], summary["total_steps"])
            if metric:
                bars.metrics(metric[0], metric[1])
            if summary["status"] in TERMINAL:
                return summary
            time.sleep(POLL_SECONDS)


class RemoteFollower:
    """Joins the session's Socket.IO room on the server and follows its events; a slow poll of the API is the
    safety net for anything missed while reconnecting."""

    SAFETY_POLL_SECONDS = 5.0

    def __init__(self, api: RemoteApi, session_id: str):
        import socketio

        self.api = api
        self.session_id = session_id
        self.summary: dict | None = None
        self.finished = threading.Event()
        self.bars: PhaseBars | None = None
        self.client = socketio.Client(reconnection=True, reconnection_delay=1)
        self.client.on("connect", self._join)
        self.client.on("training_history", self._on_history)
        self.client.on("training_progress", self._on_progress)
        self.client.on("training_update", self._on_update)
        self.client.on("session_status", self._on_status)
        self.client.on("training_complete", self._on_end)
        self.client.on("training_error", self._on_end)

    def _mine(self, data: Any) -> bool:
        return isinstance(data, dict) and data.get("session_id") == self.session_id

    def _join(self) -> None:
        self.client.emit("join_session", {"session_id": self.session_id})

    def _on_history(self, data: dict) -> None:
        if not self._mine(data):
            return
        session = data.get("session") or {}
        if self.bars:
            self.bars.progress(session.get("phase"), session.get("step"), session.get("total_steps"))
            if data.get("metrics"):
                last = data["metrics"][-1]
                self.bars.metrics(last.get("phase"), last)
        self._set_status(session.get("status"))

    def _on_progress(self, data: dict) -> None:
        if self._mine(data) and self.bars:
            self.bars.progress(data.get("phase"), data.get("step"), data.get("total_steps"))

    def _on_update(self, data: dict) -> None:
        if self._mine(data) and self.bars:
            self.bars.metrics(data.get("phase"), data)

    def _on_status(self, data: dict) -> None:
        if self._mine(data):
            self._set_status(data.get("status"))

    def _on_end(self, data: dict) -> None:
        if self._mine(data):
            self._set_status(data.get("status"))

    def _set_status(self, status: str | None) -> None:
        if status in TERMINAL:
            self.finished.set()

    def request_stop(self, api: Api) -> None:
        api.call("POST", "/training/stop", json={"session_id": self.session_id})

    def kill(self) -> None:
        """A server's run cannot be killed from here: it goes on stopping there."""

    def wait(self, bars: PhaseBars) -> dict:
        import socketio

        self.bars = bars
        live = True
        if not self.client.connected:
            try:
                self.client.connect(self.api.url, headers=self.api.headers, transports=["websocket", "polling"],
                                    wait_timeout=10)
            except socketio.exceptions.ConnectionError as exc:
                live = False
                print(f"live events unavailable ({exc}); following by polling the API", file=sys.stderr)
        while True:
            self.finished.wait(self.SAFETY_POLL_SECONDS if live else POLL_SECONDS * 4)
            summary = self.api.call("GET", f"/training/sessions/{self.session_id}")["session"]
            if not live:
                bars.progress(summary["phase"], summary["step"], summary["total_steps"])
            if summary["status"] in TERMINAL:
                return summary

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


def follow(follower, api: Api, bars: PhaseBars, log) -> tuple[dict, bool]:
    """Follow to the end; the first Ctrl-C asks for a graceful stop, the second kills (here) or leaves."""
    interrupted = False
    while True:
        try:
            return follower.wait(bars), interrupted
        except KeyboardInterrupt:
            if interrupted:
                bars.close()
                log("Second Ctrl-C: killing the run (its last step is not checkpointed).")
                follower.kill()
                if isinstance(follower, RemoteFollower):
                    raise
                continue
            interrupted = True
            bars.close()
            log("Stopping after the current step and writing a checkpoint... (Ctrl-C again to kill)")
            try:
                follower.request_stop(api)
            except ApiError as exc:
                log(f"stop refused: {exc.message}")


# -- the run ---------------------------------------------------------------------------------------------------
def _final_metrics(api: Api, session_id: str) -> dict[str, Any]:
    detail = api.call("GET", f"/training/sessions/{session_id}")
    last: dict[str, dict] = {}
    for row in detail.get("metrics") or []:
        last[row["phase"]] = row
    return {phase: {k: v for k, v in row.items() if k in ("step", "loss", "reward", "reward_std", "kl")}
            for phase, row in last.items()}


def busy_queue(api: Api) -> list[str]:
    return [s["id"] for s in api.call("GET", "/training/sessions")["sessions"] if s["status"] == "queued"]


def train(loaded: LoadedConfig, server: str | None = None, token: str | None = None, session_id: str | None = None,
          priority: str = "normal", progress: bool = True, log=None) -> TrainingResult:
    """Run ``loaded`` to its end and report how it ended. Raises ConfigFileError for a config the service
    refuses, TrainingRefused when it cannot start here."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    api: Api = RemoteApi(server, token) if server else LocalApi(local_app(), token)
    if not server:
        queued = busy_queue(api)
        if queued:
            raise TrainingRefused(f"{len(queued)} session(s) wait in this database's queue ({', '.join(queued)}): "
                                  "a server owns them. Submit with --server URL, or stop them with "
                                  "`sessions stop <id>`.")
    if loaded.train_file is not None:
        dataset_id = register_train_file(api, loaded.train_file, log)
        loaded.config["dataset"]["source"] = f"dataset:{dataset_id}"
    session = _start(api, loaded, session_id, priority)
    sid = session["id"]
    log(f"session {sid} started on {api.url}; output in {session['output_dir']}")
    follower = RemoteFollower(api, sid) if server else LocalFollower(api.app, sid)
    bars = PhaseBars(enabled=progress)
    try:
        summary, interrupted = follow(follower, api, bars, log)
    finally:
        bars.close()
        if isinstance(follower, RemoteFollower):
            follower.close()
    status = summary["status"]
    adapter = str(Path(summary["output_dir"]) / "adapter")
    result = TrainingResult(sid, status, EXIT_BY_STATUS.get(status, EXIT_FAILED), adapter=adapter,
                            error=summary.get("error"), metrics=_final_metrics(api, sid), interrupted=interrupted)
    if loaded.output_dir is not None and status in ("completed", "stopped"):
        if server:
            log(f"output_dir: the adapter stays on the server ({adapter}); nothing copied")
        elif Path(adapter).is_dir():
            shutil.copytree(adapter, loaded.output_dir, dirs_exist_ok=True)
            result.copied_to = str(loaded.output_dir)
    return result


def run_training(config_path: str | Path, server: str | None = None, session_id: str | None = None,
                 progress: bool = True) -> TrainingResult:
    """Train from a config file (saved-config JSON, YAML sections or the short form), as ``train --config``
    does; returns how it ended. Raises :class:`cli.config_file.ConfigFileError` (with ``.errors``) for a bad
    config."""
    return train(load_config(config_path), server=server, session_id=session_id, progress=progress)


# -- the command -----------------------------------------------------------------------------------------------
def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train from a config file (JSON or YAML)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, type=Path, help="saved-config JSON, or YAML (full or short form)")
    parser.add_argument("--name", help="session name (default: the config's name, else the file name)")
    parser.add_argument("--session-id", help="choose the session id (letters, digits, - and _)")
    parser.add_argument("--priority", choices=("low", "normal", "high"), default="normal")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--check", action="store_true", help="only validate the config and show it, then exit")
    add_server_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        loaded = load_config(args.config, {"name": args.name} if args.name else None)
    except ConfigFileError as exc:
        print(f"error: {args.config} is not a valid training config ({len(exc.errors)} problem(s)):",
              file=sys.stderr)
        print(format_errors(exc.errors), file=sys.stderr)
        return EXIT_BAD_CONFIG
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.check:
        import json

        print(json.dumps(loaded.config, indent=2))
        return EXIT_OK
    try:
        result = train(loaded, server=args.server, token=args.token, session_id=args.session_id,
                       priority=args.priority, progress=not args.no_progress)
    except ConfigFileError as exc:
        print(f"error: the training service refused the config ({len(exc.errors)} problem(s)):", file=sys.stderr)
        print(format_errors(exc.errors), file=sys.stderr)
        return EXIT_BAD_CONFIG
    except (TrainingRefused, ApiError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return EXIT_FAILED
    _report(result)
    return result.exit_code


def _report(result: TrainingResult) -> None:
    rows = [("session", result.session_id), ("status", result.status)]
    for phase, values in result.metrics.items():
        rows.append((f"{phase} final", ", ".join(f"{k}={fmt(v)}" for k, v in values.items() if v is not None)))
    if result.status in ("completed", "stopped"):
        rows.append(("adapter", result.adapter))
    if result.copied_to:
        rows.append(("copied to", result.copied_to))
    print_table("training run", ("field", "value"), rows)
    if result.status == "failed":
        print(f"error: the run failed: {result.error}", file=sys.stderr)
    elif result.status in ("stopped", "interrupted"):
        print(f"The run was {result.status}; its latest checkpoint is kept. Resume it in the studio or with "
              f"POST /api/training/resume {{\"session_id\": \"{result.session_id}\"}}.", file=sys.stderr)
