"""What every command shares: exit codes, the local app, the API client, tables and error output."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from cli.api import Api, ApiError, LocalApi, RemoteApi

EXIT_OK, EXIT_FAILED, EXIT_BAD_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130

_app = None


def local_app():
    """The studio's app, built once per process (database migrated, data folders from TUNEWRIGHT_*); no
    server is started. Console logging stays at WARNING unless TUNEWRIGHT_LOG_LEVEL says otherwise."""
    global _app
    if _app is None:
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        from app_factory import create_app

        _app = create_app({"LOG_LEVEL": os.environ.get("TUNEWRIGHT_LOG_LEVEL", "WARNING")})
    return _app


def close_local_app() -> None:
    """Kill any child still running (it checkpoints nothing: callers stop gracefully first) and close the
    database, so the process can exit."""
    global _app
    if _app is None:
        return
    _app.extensions["tunewright.training"].shutdown()
    from extensions import db

    with _app.app_context():
        db.session.remove()
        db.engine.dispose()
    _app = None


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", metavar="URL", help="use a running Tunewright server (its JSON API) instead "
                        "of this machine's database; e.g. http://127.0.0.1:5000")
    parser.add_argument("--token", help="a personal access token (tw_…), a JWT, or the studio's access token, sent "
                        "as a Bearer token to --server or to this machine's app (default: $TUNEWRIGHT_TOKEN, then "
                        "the token stored by 'tunewright login', then this machine's own config)")


def api_for(args: argparse.Namespace) -> Api:
    if getattr(args, "server", None):
        return RemoteApi(args.server, getattr(args, "token", None))
    return LocalApi(local_app(), getattr(args, "token", None))


def print_api_error(error: ApiError) -> None:
    print(f"error: {error.message}", file=sys.stderr)
    for detail in error.details:
        if isinstance(detail, dict):
            hint = f" ({detail['hint']})" if detail.get("hint") else ""
            print(f"  {detail.get('path') or '-'}: {detail.get('message', '')}{hint}", file=sys.stderr)
        else:
            print(f"  {detail}", file=sys.stderr)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table on stdout (rich). Off a terminal it is drawn 200 columns wide, so cells are not cut in logs."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False)
    console.print(table)


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return str(value)
