"""``datasets upload|list|preview``: the studio's datasets, on this machine or on ``--server``."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from cli.api import ApiError
from cli.common import EXIT_FAILED, EXIT_OK, add_server_options, api_for, print_api_error, print_json, print_table

WAIT_SECONDS = 600


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("datasets", help="upload, list or preview datasets")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    upload = commands.add_parser("upload", help="upload a JSON, JSONL, CSV or Parquet file and process it")
    upload.add_argument("file", type=Path)
    upload.add_argument("--name", help="display name (default: the file name)")
    upload.add_argument("--description", default="")
    upload.add_argument("--tags", default="", help="comma-separated tags")
    upload.add_argument("--no-wait", action="store_true", help="return at once, while it is still processing")
    upload.set_defaults(handler=_upload)

    listing = commands.add_parser("list", help="all datasets")
    listing.add_argument("--status", help="only this status (Processing, Ready, Failed)")
    listing.set_defaults(handler=_list)

    preview = commands.add_parser("preview", help="the first rows mapped to instruction/response")
    preview.add_argument("dataset", help="a dataset id, or a source such as builtin:arithmetic")
    preview.add_argument("-n", "--samples", type=int, default=5)
    preview.set_defaults(handler=_preview)
    for sub in (upload, listing, preview):
        sub.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
        add_server_options(sub)


def _record_rows(records: list[dict]) -> list[tuple]:
    return [(r["id"], r["name"], r["type"], r["status"], r.get("row_count"), r["training_source"]) for r in records]


RECORD_COLUMNS = ("id", "name", "type", "status", "rows", "train with")


def _upload(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"error: no file at {args.file}")
        return EXIT_FAILED
    api = api_for(args)
    fields = {"name": args.name or args.file.stem, "description": args.description, "tags": args.tags}
    try:
        record = api.upload("/datasets/upload", args.file, fields)["dataset"]
        deadline = time.monotonic() + WAIT_SECONDS
        while not args.no_wait and record["status"] == "Processing" and time.monotonic() < deadline:
            time.sleep(0.3)
            record = api.call("GET", f"/datasets/{record['id']}")["dataset"]
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(record)
    else:
        print_table("uploaded", RECORD_COLUMNS, _record_rows([record]))
        for warning in record.get("warnings") or []:
            print(f"warning: {warning}")
    if record["status"] == "Failed":
        print(f"error: processing failed: {record.get('error')}")
        return EXIT_FAILED
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    try:
        records = api_for(args).call("GET", "/datasets/list", params={"status": args.status} if args.status
                                     else None)["datasets"]
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(records)
    else:
        print_table(f"{len(records)} dataset(s)", RECORD_COLUMNS, _record_rows(records))
    return EXIT_OK


def _preview(args: argparse.Namespace) -> int:
    ref = args.dataset
    body = {"id": int(ref)} if ref.isdigit() else {"source": ref}
    try:
        preview = api_for(args).call("POST", "/datasets/preview", json={**body, "samples": args.samples,
                                                                        "render": False})
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    if args.json:
        print_json(preview)
        return EXIT_OK
    rows = preview.get("rows") or []
    if rows and "instruction" in rows[0]:
        print_table(f"{ref}: first {len(rows)} row(s) (total {preview.get('total_rows') or '?'})",
                    ("#", "instruction", "response"),
                    [(i + 1, r["instruction"], r["response"]) for i, r in enumerate(rows)])
    else:
        print_table(f"{ref}: columns {', '.join(preview.get('columns') or [])} (no instruction column found)",
                    ("#", "row"), [(i + 1, r.get("raw")) for i, r in enumerate(rows)])
    return EXIT_OK
