"""Load: a training running, N Socket.IO clients in its room and R requests/s on read endpoints for a window, against
the dev server (`python flask_app.py`) and gunicorn with threads (the README's production command).

Prints, per server: training_update events per client and whether every client got every stored step in order,
the child -> client event latency, requests sent and answered, the achieved rate, API p50/p95/p99, 5xx and failed
requests, and the serving process's RSS before / peak / after. The tiny test model trains (a step every fraction
of a second), so the room gets a steady stream of events. The harness is tests/reliability/load_harness.py, which
tests/reliability/test_load.py asserts on (`make reliability`).

    .venv/bin/python bench/load.py [--window 120] [--clients 100] [--rate 50] [--server both|dev|gunicorn]
                                   [--threads N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import _common  # noqa: F401  (puts the project root on sys.path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=120.0, help="seconds of load (default 120)")
    parser.add_argument("--clients", type=int, default=100, help="Socket.IO clients in the room (default 100)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (default 50)")
    parser.add_argument("--server", choices=("both", "dev", "gunicorn"), default="both")
    parser.add_argument("--threads", type=int, default=None,
                        help="gunicorn's --threads (default: gunicorn.conf.py's)")
    args = parser.parse_args()
    from tests.helpers import build_tiny_model
    from tests.reliability.load_harness import run_load

    folder = Path(tempfile.mkdtemp(prefix="tunewright-load-"))
    model = build_tiny_model(folder / "tiny")
    held = True
    for kind in (("dev", "gunicorn") if args.server == "both" else (args.server,)):
        result = run_load(kind, model, folder / kind, window=args.window, clients=args.clients, rate=args.rate,
                          threads=args.threads, log=lambda line: print(line, flush=True))
        print(result.report(), flush=True)
        held &= not result.sequence_problems and not result.disconnects and result.load.bad == 0
    print("held: every client got every step in order, no failed request" if held else "NOT held: see above")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
