"""``sessions list|show|stop``: the training sessions of this machine's database, or of ``--server``."""
from __future__ import annotations

import argparse

from cli.api import ApiError
from cli.common import EXIT_FAILED, EXIT_OK, add_server_options, api_for, fmt, print_api_error, print_json, \
    print_table


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("sessions", help="list, show or stop training sessions")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext in (("list", "all sessions, newest first"), ("show", "one session: status, metrics, logs"),
                           ("stop", "stop a queued or running session (a checkpoint is written)")):
        sub = commands.add_parser(name, help=helptext)
        if name != "list":
            sub.add_argument("session_id")
        sub.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
        add_server_options(sub)
        sub.set_defaults(handler=globals()[f"_{name}"])


def _steps(session: dict) -> str:
    total = session.get("total_steps")
    return f"{session.get('step', 0)}/{total}" if total else str(session.get("step", 0))


def _list(args: argparse.Namespace) -> int:
    try:
        sessions = api_for(args).call("GET", "/training/sessions")["sessions"]
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(sessions)
        return EXIT_OK
    print_table(f"{len(sessions)} session(s)", ("id", "name", "status", "phase", "step", "created"),
                [(s["id"], s["name"], s["status"], s.get("phase"), _steps(s), (s.get("created_at") or "")[:19])
                 for s in sessions])
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    try:
        detail = api_for(args).call("GET", f"/training/sessions/{args.session_id}")
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(detail)
        return EXIT_OK
    s = detail["session"]
    rows = [(key, s.get(key)) for key in ("id", "name", "status", "phase", "device", "created_at", "started_at",
                                          "finished_at", "output_dir")]
    rows.insert(4, ("step", _steps(s)))
    if s.get("error"):
        rows.append(("error", s["error"].splitlines()[0]))
    print_table(f"session {s['id']}", ("field", "value"), rows)
    metrics = detail.get("metrics") or []
    if metrics:
        keys = [k for k in ("loss", "reward", "reward_std", "kl", "grad_norm", "learning_rate")
                if any(k in m for m in metrics)]
        print_table(f"last metrics ({len(metrics)} steps logged)", ("phase", "step", *keys),
                    [(m["phase"], m["step"], *(fmt(m.get(k)) for k in keys)) for m in metrics[-10:]])
    logs = detail.get("logs") or []
    if logs:
        print("last log lines:")
        for line in logs[-10:]:
            print(f"  [{line.get('level', 'info')}] {line.get('message', '')}")
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    try:
        session = api_for(args).call("POST", "/training/stop", json={"session_id": args.session_id})["session"]
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(session)
    else:
        print(f"session {session['id']}: {session['status']}")
        if session["status"] == "stopping" and not args.server:
            print("Asked through the database: a run of the CLI passes it on within a second; a run of a server "
                  "needs --server URL.")
    return EXIT_OK
