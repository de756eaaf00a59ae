"""``exports list|show``: the exports of this machine's database (or ``--server``) and how each one stands.

Only reads: a running export is followed where it runs (``export SESSION`` waits for its own)."""
from __future__ import annotations

import argparse

from cli.api import ApiError
from cli.common import EXIT_FAILED, EXIT_OK, add_server_options, api_for, print_api_error, print_json, print_table
from cli.export import print_export


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("exports", help="list exports, or show one export's status")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="all exports, newest first")
    listing.add_argument("--session", help="only the exports of this session")
    listing.set_defaults(handler=_list)
    show = commands.add_parser("show", help="one export: status, stage, files, verification")
    show.add_argument("export_id")
    show.set_defaults(handler=_show)
    for sub in (listing, show):
        sub.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
        add_server_options(sub)


def _list(args: argparse.Namespace) -> int:
    try:
        exports = api_for(args).call("GET", "/exports/list",
                                     params={"session_id": args.session} if args.session else None)["exports"]
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(exports)
        return EXIT_OK
    print_table(f"{len(exports)} export(s)", ("id", "session", "format", "quantization", "status", "created"),
                [(e["id"], e["session_id"], e.get("format"), e.get("quantization"), e["status"],
                  (e.get("created_at") or "")[:19]) for e in exports])
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    try:
        job = api_for(args).call("GET", f"/exports/{args.export_id}")
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(job)
    else:
        print_export(job)
    return EXIT_OK
