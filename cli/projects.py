"""``projects list|show|create|check|preview|start|validate|delete``: projects (traits trained from a mix of
datasets) in this machine's database, or on ``--server``.

Project bodies are read from JSON or YAML files (the same body ``POST /api/projects`` takes); every rule is the
server's own, so a bad file lists the same problems, with their paths, as the studio's wizard.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from cli.api import Api, ApiError
from cli.common import EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_OK, add_server_options, api_for, fmt, print_api_error, \
    print_json, print_table
from cli.config_file import ConfigFileError, format_errors, read_file

# The server validates a completed run in a child process (up to its PROJECT_VALIDATION_TIMEOUT) and stores it.
VALIDATION_WAIT_SECONDS = 900
POLL_SECONDS = 0.5

ACTIONS: dict[str, str] = {
    "list": "all projects, newest first",
    "show": "one project: its settings, traits, and its frozen manifest (started) or the preview of its mix",
    "create": "create a project from a JSON or YAML body",
    "check": "validate a project body (every problem at once); nothing is stored",
    "preview": "the mix of a body (FILE) or of a project (ID): rows, shares and shortfalls per dataset",
    "start": "freeze the project's mix and queue its run (here the command follows it to the end)",
    "validate": "check the output of the project's latest completed run again",
    "delete": "delete a project, its runs and its folder when empty",
}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("projects", help="create, preview, start and validate projects")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext in ACTIONS.items():
        sub = commands.add_parser(name, help=helptext)
        _add_target(sub, name)
        sub.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
        add_server_options(sub)
        sub.set_defaults(handler=globals()[f"_{name}"])


def _add_target(sub: argparse.ArgumentParser, action: str) -> None:
    if action in ("create", "check"):
        sub.add_argument("file", type=Path, help="the project body, JSON or YAML")
    elif action == "preview":
        sub.add_argument("target", help="a project body file, or a project id")
    elif action != "list":
        sub.add_argument("project_id", type=int)
    if action == "start":
        sub.add_argument("--wait", action="store_true", help="follow the run to its end and its validation "
                         "(always so without --server: the run belongs to this process)")
        sub.add_argument("--priority", choices=("low", "normal", "high"), default="normal")
        sub.add_argument("--no-progress", action="store_true", help="no progress bar")


# -- plumbing ------------------------------------------------------------------------------------------------
def _read_body(path: Path) -> dict[str, Any]:
    """The body in ``path``; raises ConfigFileError when it cannot be read or is not a mapping."""
    body = read_file(path)
    if not isinstance(body, dict):
        raise ConfigFileError([{"path": "", "message": "the file must hold a project: a mapping with name, "
                                "max_rows, traits...", "hint": ""}])
    return body


def _bad_file(path: Path, errors: list[dict[str, str]]) -> int:
    print(f"error: {path} is not a valid project ({len(errors)} problem(s)):", file=sys.stderr)
    print(format_errors(errors), file=sys.stderr)
    return EXIT_BAD_CONFIG


def _failed(exc: ApiError) -> int:
    """The server's message and details; a refused body (400) exits as a bad config."""
    print_api_error(exc)
    return EXIT_BAD_CONFIG if exc.status == 400 else EXIT_FAILED


def _share(share: dict) -> str:
    reference = share.get("source") or f"dataset:{share.get('dataset_id')}"
    return f"{reference} {fmt(share['percentage'])} %"


def _traits(project: dict) -> str:
    """``reasoning: builtin:arithmetic 100 %; general: dataset:3 60 %, dataset:4 40 %``"""
    return "; ".join(f"{t['trait_type']}: {', '.join(_share(d) for d in t['datasets'])}" for t in project["traits"])


# -- tables --------------------------------------------------------------------------------------------------
def _print_project(project: dict) -> None:
    rows = [(key, project.get(key)) for key in ("id", "name", "base_model", "training_type", "max_rows", "status",
                                                "session_id", "output_dir", "manifest_sha256")]
    rows.append(("traits", _traits(project)))
    if project.get("error"):
        rows.append(("error", project["error"].splitlines()[0]))
    print_table(f"project {project['id']}", ("field", "value"), rows)


def _print_preview(preview: dict, title: str) -> None:
    columns = ("trait", "dataset", "rows", "requested", "available", "eval", "share of rows", "share of tokens",
               "duplication", "shortfall")
    print_table(f"{title}: {preview['total_rows']} training rows, {preview['total_eval_rows']} held out",
                columns, [(s["trait"], s["key"], s["rows"], s["requested_rows"], s["available_rows"], s["eval_rows"],
                           _percent(s["share_of_rows"]), _percent(s.get("share_of_tokens")),
                           fmt(s["duplication_factor"]), s["shortfall"]) for s in preview["sources"]])
    _print_warnings(preview)


def _print_manifest(manifest: dict) -> None:
    totals = manifest["totals"]
    print_table(f"frozen mix: {totals['train_rows']} training rows, {totals['eval_rows']} held out (seed "
                f"{manifest['seed']})", ("trait", "dataset", "rows", "eval", "distinct", "shortfall", "checksum"),
                [(s["trait"], s["key"], s["rows"], s["eval_rows"], s["distinct_rows"], s["shortfall"],
                  (s.get("checksum") or "")[:16]) for s in manifest["sources"]])
    _print_warnings(manifest)


def _print_validation(validation: dict) -> None:
    verdict = "passed" if validation.get("passed") else "FAILED"
    print_table(f"validation {verdict} (run {validation.get('session_id', '?')})", ("check", "passed", "detail"),
                [(c["name"], "yes" if c["passed"] else "no", c.get("detail")) for c in validation["checks"]])


def _print_warnings(plan: dict) -> None:
    for warning in plan.get("warnings") or []:
        print(f"warning: {warning}")


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f} %"


# -- commands ------------------------------------------------------------------------------------------------
def _list(args: argparse.Namespace) -> int:
    try:
        projects = api_for(args).call("GET", "/projects")["projects"]
    except ApiError as exc:
        return _failed(exc)
    if args.json:
        print_json(projects)
        return EXIT_OK
    print_table(f"{len(projects)} project(s)", ("id", "name", "method", "max rows", "status", "run", "created"),
                [(p["id"], p["name"], p["training_type"], p["max_rows"], p["status"], p.get("session_id"),
                  (p.get("created_at") or "")[:19]) for p in projects])
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    """The project, then what its mix is: the frozen manifest once started, else the preview of its body."""
    api = api_for(args)
    try:
        project = api.call("GET", f"/projects/{args.project_id}")["project"]
    except ApiError as exc:
        return _failed(exc)
    kind = "manifest" if project.get("session_id") else "preview"
    try:
        mix = api.call("GET", f"/projects/{args.project_id}/{kind}")[kind]
    except ApiError as exc:  # a mix that cannot be read (a dataset gone) does not hide the project
        mix = None
        print_api_error(exc)
    if args.json:
        print_json({"project": project, kind: mix})
        return EXIT_OK
    _print_project(project)
    if mix is not None and kind == "manifest":
        _print_manifest(mix)
    elif mix is not None:
        _print_preview(mix, "mix preview")
    if project.get("validation"):
        _print_validation(project["validation"])
    return EXIT_OK


def _create(args: argparse.Namespace) -> int:
    try:
        body = _read_body(args.file)
    except ConfigFileError as exc:
        return _bad_file(args.file, exc.errors)
    try:
        project = api_for(args).call("POST", "/projects", json=body)["project"]
    except ApiError as exc:
        return _failed(exc)
    if args.json:
        print_json(project)
    else:
        print(f"project {project['id']} created: {project['name']} (output in {project['output_dir']})")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    try:
        result = api_for(args).call("POST", "/projects/check", json=_read_body(args.file))
    except ConfigFileError as exc:
        return _bad_file(args.file, exc.errors)
    except ApiError as exc:
        return _failed(exc)
    if args.json:
        print_json(result)
    elif result["valid"]:
        print(f"{args.file}: valid; {result['max_rows']} rows, output in {result['output_dir']}")
    if not result["valid"]:
        return _bad_file(args.file, result["errors"])
    return EXIT_OK


def _preview(args: argparse.Namespace) -> int:
    target = args.target
    try:
        if target.isdigit():
            preview = api_for(args).call("GET", f"/projects/{target}/preview")["preview"]
        else:
            preview = api_for(args).call("POST", "/projects/preview", json=_read_body(Path(target)))["preview"]
    except ConfigFileError as exc:
        return _bad_file(Path(target), exc.errors)
    except ApiError as exc:
        return _failed(exc)
    if args.json:
        print_json(preview)
        return EXIT_OK
    _print_preview(preview, f"mix of {'project ' + target if target.isdigit() else target}")
    if preview.get("tokens_note"):
        print(f"note: {preview['tokens_note']}")
    return EXIT_OK


def _start(args: argparse.Namespace) -> int:
    from cli.train import busy_queue, children_ignore_sigint

    api = api_for(args)
    try:
        if not args.server and busy_queue(api):
            print("error: sessions wait in this database's queue: a server owns them. Start with --server URL.",
                  file=sys.stderr)
            return EXIT_FAILED
        with children_ignore_sigint():  # here the training child is ours: Ctrl-C stops it gracefully instead
            project = api.call("POST", f"/projects/{args.project_id}/start",
                               json={"priority": args.priority})["project"]
    except ApiError as exc:
        return _failed(exc)
    if args.server and not args.wait:  # a server's run goes on without us; here it is this process's child
        if args.json:
            print_json(project)
        else:
            print(f"project {project['id']}: run {project['session_id']} {project['status']}")
        return EXIT_OK
    print(f"project {project['id']}: run {project['session_id']} started on {api.url}", file=sys.stderr)
    return _follow_run(api, args, project)


def _follow_run(api: Api, args: argparse.Namespace, project: dict) -> int:
    """Progress bars until the run ends, then its validation; exits as ``train`` does, 1 when validation fails."""
    from cli.progress import PhaseBars
    from cli.train import EXIT_BY_STATUS, LocalFollower, RemoteFollower, follow

    session_id = project["session_id"]
    follower = RemoteFollower(api, session_id) if args.server else LocalFollower(api.app, session_id)
    bars = PhaseBars(enabled=not args.no_progress and not args.json)
    try:
        summary, _ = follow(follower, api, bars, lambda message: print(message, file=sys.stderr, flush=True))
    finally:
        bars.close()
        if isinstance(follower, RemoteFollower):
            follower.close()
    try:
        project = _settled(api, project["id"]) if summary["status"] == "completed" else \
            api.call("GET", f"/projects/{project['id']}")["project"]
    except ApiError as exc:
        return _failed(exc)
    return _report(args, project, EXIT_BY_STATUS.get(summary["status"], EXIT_FAILED))


def _settled(api: Api, project_id: int) -> dict:
    """The project once the server has stored the validation of its completed run (or the wait ran out)."""
    deadline = time.monotonic() + VALIDATION_WAIT_SECONDS
    while True:
        project = api.call("GET", f"/projects/{project_id}")["project"]
        if project.get("validation") or time.monotonic() > deadline:
            return project
        time.sleep(POLL_SECONDS)


def _report(args: argparse.Namespace, project: dict, code: int) -> int:
    validation = project.get("validation")
    if code == EXIT_OK and not (validation and validation.get("passed")):
        code = EXIT_FAILED
    if args.json:
        print_json(project)
        return code
    _print_project(project)
    if validation:
        _print_validation(validation)
        if not validation.get("passed"):
            print("error: the run completed but its output failed validation", file=sys.stderr)
    elif project["status"] == "completed":
        print(f"error: no validation after {VALIDATION_WAIT_SECONDS} s; run 'projects validate {project['id']}'",
              file=sys.stderr)
    if project["status"] != "completed":
        print(f"error: the run ended {project['status']}: {project.get('error') or '-'}", file=sys.stderr)
    return code


def _validate(args: argparse.Namespace) -> int:
    try:
        result = api_for(args).call("POST", f"/projects/{args.project_id}/validate")
    except ApiError as exc:
        return _failed(exc)
    if args.json:
        print_json(result)
    else:
        _print_validation(result)
    return EXIT_OK if result["passed"] else EXIT_FAILED


def _delete(args: argparse.Namespace) -> int:
    try:
        api_for(args).call("DELETE", f"/projects/{args.project_id}")
    except ApiError as exc:
        return _failed(exc)
    if args.json:
        print_json({"deleted": args.project_id})
    else:
        print(f"project {args.project_id} deleted")
    return EXIT_OK
