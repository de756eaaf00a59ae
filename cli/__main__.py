"""``python -m cli <command>`` / ``tunewright <command>``: a registry of commands, one module each.

Each module has ``add_parser(subparsers)``, which registers its sub-command with a ``handler(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# command -> module
COMMANDS: dict[str, str] = {
    "train": "cli.train",
    "learn": "cli.learn",
    "datasets": "cli.datasets",
    "sessions": "cli.sessions",
    "export": "cli.export",
    "exports": "cli.exports",
    "models": "cli.models",
    "projects": "cli.projects",
    "login": "cli.account",
    "logout": "cli.account",
    "worker": "cli.worker",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunewright", description="Tunewright from the terminal: train from a "
                                     "config file, evaluate, optimise the system prompt, manage datasets and "
                                     "sessions.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS.values()):  # a module may register several commands
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        from cli.common import close_local_app

        close_local_app()


if __name__ == "__main__":
    sys.exit(main())
