"""``models list|show|alias``: the model registry of this machine's database (or ``--server``)."""
from __future__ import annotations

import argparse
from urllib.parse import quote

from cli.api import ApiError
from cli.common import EXIT_FAILED, EXIT_OK, add_server_options, api_for, print_api_error, print_json, print_table


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("models", help="registered models and their versions")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="every version of every model")
    listing.add_argument("--type", help="lora_adapter, llm, merged, gguf, rag_index")
    listing.add_argument("--status", help="ready, deployed or archived")
    listing.set_defaults(handler=_list)
    show = commands.add_parser("show", help="one model: versions, aliases, metrics and lineage (--json)")
    show.add_argument("name")
    show.set_defaults(handler=_show)
    alias = commands.add_parser("alias", help="point NAME@ALIAS at a version (moving it)")
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version", type=int)
    alias.set_defaults(handler=_alias)
    for sub in (listing, show, alias):
        sub.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    for sub in (listing, show, alias):
        add_server_options(sub)


def _rows(models: list[dict]) -> list[tuple]:
    return [(v["ref"], v["type"], v["method"] or "", v["status"], ", ".join(v["aliases"]),
             f"{v['size_bytes'] / 1e6:.1f} MB", v["digest"][7:19], (v.get("created_at") or "")[:19])
            for m in models for v in m["versions"]]


COLUMNS = ("version", "type", "method", "status", "aliases", "size", "digest", "created")


def _call(args: argparse.Namespace, method: str, path: str, **kwargs):
    try:
        return api_for(args).call(method, path, **kwargs)
    except ApiError as exc:
        print_api_error(exc)
        return None


def _list(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("type", args.type), ("status", args.status)) if v}
    result = _call(args, "GET", "/registry/models", params=params or None)
    if result is None:
        return EXIT_FAILED
    if args.json:
        print_json(result["models"])
    else:
        print_table(f"{len(result['models'])} model(s)", COLUMNS, _rows(result["models"]))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    model = _call(args, "GET", f"/registry/models/{quote(args.name, safe='')}")
    if model is None:
        return EXIT_FAILED
    if args.json:
        print_json(model)
    else:
        print_table(model["name"], COLUMNS, _rows([model]))
    return EXIT_OK


def _alias(args: argparse.Namespace) -> int:
    path = f"/registry/models/{quote(args.name, safe='')}/aliases/{quote(args.alias, safe='')}"
    result = _call(args, "PUT", path, json={"version": args.version})
    if result is None:
        return EXIT_FAILED
    if args.json:
        print_json(result["version"])
    else:
        print(f"{args.name}@{args.alias} -> {result['version']['ref']}")
    return EXIT_OK
