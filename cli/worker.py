"""``worker``: run a training worker on this host for a studio using TUNEWRIGHT_EXECUTOR=rq (docs/scale-out.md)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cli.common import EXIT_BAD_CONFIG


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "worker", help="train sessions handed out by a studio through Redis (TUNEWRIGHT_EXECUTOR=rq)",
        description="Needs REDIS_URL, DATABASE_URL (the studio's database) and TUNEWRIGHT_STORAGE (the folder every "
                    "host shares) in the environment, and the same SECRET_KEY as the web server.")
    parser.add_argument("--name", help="a name unique among the workers (default: host name and GPU indices)")
    parser.add_argument("--gpus", default="all", help="GPU indices this worker owns: all (default), none, or 0,1")
    parser.add_argument("--workdir", default=os.environ.get("TUNEWRIGHT_WORKDIR"),
                        help="scratch files and logs of this worker (default: TUNEWRIGHT_WORKDIR, else ./worker)")
    parser.add_argument("--burst", action="store_true", help="exit once its queue is empty (tests, scripts)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TUNEWRIGHT_EXECUTOR", "rq")
    missing = [name for name in ("REDIS_URL", "DATABASE_URL") if not os.environ.get(name)]
    if missing or os.environ["TUNEWRIGHT_EXECUTOR"] != "rq":
        print("tunewright worker: set " + (", ".join(missing) if missing else "TUNEWRIGHT_EXECUTOR=rq")
              + " (the studio's Redis and database; see docs/scale-out.md)", file=sys.stderr)
        return EXIT_BAD_CONFIG
    from services.executors.worker_main import run_worker, select_gpus
    from services.executors.workers import default_name

    indices = select_gpus(args.gpus)
    name = args.name or default_name(indices)
    workdir = Path(args.workdir or "worker").expanduser().resolve()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(workdir / "tmp")
    from app_factory import create_app

    overrides = {"WORKER_NAME": name, "INSTANCE_PATH": str(workdir), "LOG_DIR": str(workdir / "logs"),
                 "LOG_LEVEL": os.environ.get("TUNEWRIGHT_LOG_LEVEL", "INFO")}
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        # A worker paused or cut off mid-transaction must not hold a session's row lock for ever: the server ends
        # such a transaction, and the web server can declare the worker lost.
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True, "connect_args": {"options": "-c idle_in_transaction_session_timeout=30000"}}
    app = create_app(overrides)
    return run_worker(app, name, indices, burst=args.burst)
