"""``export SESSION --format gguf --quant q4_k_m``: the export service's job from the terminal (or ``--server``).

The command only submits and follows: the export runs in the service's own process, as from the Export step,
and lands in ``exports/<session>/<export id>/`` with its manifest."""
from __future__ import annotations

import argparse
import time

from cli.api import ApiError
from cli.common import EXIT_FAILED, EXIT_OK, add_server_options, api_for, print_api_error, print_json, print_table

FINISHED = ("completed", "failed", "cancelled")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export a trained session: LoRA adapter, merged model or GGUF")
    parser.add_argument("session_id")
    parser.add_argument("--format", default="gguf", choices=("adapter", "merged", "gguf"))
    parser.add_argument("--quant", default="Q4_K_M",
                        help="GGUF quantisation: F16, Q8_0, Q6_K, Q5_K_M, Q4_K_M (default) or Q4_0")
    parser.add_argument("--checkpoint", help="export this checkpoint (e.g. grpo/checkpoint-20) instead of the final "
                                             "weights")
    parser.add_argument("--no-wait", action="store_true", help="submit and print the export's id without waiting")
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    add_server_options(parser)
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    api = api_for(args)
    body = {"session_id": args.session_id, "format": args.format, "quantization": args.quant,
            "checkpoint": args.checkpoint}
    try:
        job = api.call("POST", "/exports/create", json=body)["export"]
        if not args.no_wait:
            last = None
            while job["status"] not in FINISHED:
                line = f"{job['status']}: {job.get('stage') or ''} {round(100 * (job.get('progress') or 0))}%"
                if line != last and not args.json:
                    print(line, flush=True)
                    last = line
                time.sleep(0.5)
                job = api.call("GET", f"/exports/{job['id']}")
    except ApiError as exc:
        print_api_error(exc)
        return EXIT_FAILED
    except KeyboardInterrupt:
        api.call("POST", f"/exports/{job['id']}/cancel")
        raise
    if args.json:
        print_json(job)
    else:
        print_export(job)
    return EXIT_OK if job["status"] in ("completed", "queued", "running") else EXIT_FAILED


def print_export(job: dict) -> None:
    rows = [(key, job.get(key)) for key in ("id", "status", "stage", "format", "quantization", "quantization_applied",
                                            "verification", "size", "error") if job.get(key) is not None]
    rows += [("file", name) for name in job.get("files") or []]
    print_table(f"export of session {job['session_id']}", ("field", "value"), rows)
