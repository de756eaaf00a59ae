"""``learn evaluate`` and ``learn optimize-prompt``: score a model on ``{prompt, response}`` rows.

The model is the latest completed session's adapter on its base (default), a session id, a folder (a LoRA
adapter, found by its adapter_config.json, or a full model) or the bundled default model's id. Scores come
from ``core.evaluation``: exact and normalised match, the reward preset (the training rewards themselves),
and loss/perplexity of the reference responses.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.api import ApiError, LocalApi
from cli.common import EXIT_BAD_CONFIG, EXIT_OK, fmt, local_app, print_table

METRICS = ("reward", "normalised_match", "exact_match", "loss")


class ModelNotFound(Exception):
    pass


@dataclass
class ModelChoice:
    label: str
    base: str
    adapter: str | None
    config: Any  # core.training_config.TrainingConfig: the session's, or the defaults
    session_id: str | None = None


def _prepared_default(app) -> str:
    from core.default_model import is_prepared, prepared_model_dir

    if not is_prepared(app.config["MODEL_CACHE"]):
        raise ModelNotFound("the bundled default model is not prepared: run `flask --app flask_app prepare-model`")
    return str(prepared_model_dir(app.config["MODEL_CACHE"]))


def _from_folder(folder: Path, app, config) -> ModelChoice:
    from core.default_model import DEFAULT_MODEL_ID

    adapter_config = folder / "adapter_config.json"
    if adapter_config.is_file():
        base = json.loads(adapter_config.read_text()).get("base_model_name_or_path") or config.model.name
        if base == DEFAULT_MODEL_ID:
            base = _prepared_default(app)
        return ModelChoice(str(folder), base, str(folder), config)
    if (folder / "config.json").is_file():
        return ModelChoice(str(folder), str(folder), None, config)
    raise ModelNotFound(f"{folder} holds neither a LoRA adapter (adapter_config.json) nor a model (config.json)")


def resolve_model(ref: str | None, app) -> ModelChoice:
    from core.default_model import DEFAULT_MODEL_ID
    from core.training_config import TrainingConfig, parse_config

    defaults = TrainingConfig()
    if ref and Path(ref).is_dir():
        return _from_folder(Path(ref).resolve(), app, defaults)
    if ref == DEFAULT_MODEL_ID:
        return ModelChoice(ref, _prepared_default(app), None, defaults)
    api = LocalApi(app)
    if ref:
        try:
            sessions = [api.call("GET", f"/training/sessions/{ref}")["session"]]
        except ApiError as exc:
            raise ModelNotFound(f"{ref!r} is neither a folder nor a session: {exc.message}") from None
    else:
        sessions = [s for s in api.call("GET", "/training/sessions")["sessions"] if s["status"] == "completed"]
    for session in sessions:
        adapter = Path(session["output_dir"]) / "adapter"
        if adapter.is_dir():
            config = parse_config(api.call("GET", f"/training/sessions/{session['id']}")["config"])
            choice = _from_folder(adapter, app, config)
            return ModelChoice(f"session {session['id']} ({session['name']})", choice.base, choice.adapter, config,
                               session["id"])
    raise ModelNotFound(f"session {ref} has no adapter (yet)" if ref else
                        "no completed training session with an adapter: train one, or pass --model")


def _reward_spec(args: argparse.Namespace, config):
    from core.evaluation import RewardSpec

    if args.preset:
        return RewardSpec("preset", args.preset, [])
    r = config.reward
    return RewardSpec(r.type, r.preset_name, [(c.name, c.weight) for c in r.components])


def _setup(args: argparse.Namespace):
    """(app, model choice, rows, markers, reward spec) or raises with a message for the user."""
    from core.datasets import DatasetFormatError, DatasetUnavailableError
    from core.evaluation import read_rows
    from core.training.prompts import markers_from_config
    from core.training.rewards import PRESETS

    if not args.file.is_file():
        raise ModelNotFound(f"no file at {args.file}")
    if args.preset and args.preset not in PRESETS:
        raise ModelNotFound(f"unknown preset {args.preset!r}; use one of {', '.join(PRESETS)}")
    try:
        rows = read_rows(args.file)
    except (DatasetFormatError, DatasetUnavailableError, ValueError) as exc:
        raise ModelNotFound(f"{args.file} cannot be read: {exc}") from None
    if args.max_rows:
        rows = rows[: args.max_rows]
    if not rows:
        raise ModelNotFound(f"{args.file} has no rows with a prompt")
    app = local_app()
    choice = resolve_model(args.model, app)
    return app, choice, rows, markers_from_config(choice.config.dataset), _reward_spec(args, choice.config)


def _output_path(args: argparse.Namespace, app, kind: str) -> Path:
    if args.output:
        return args.output
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return Path(app.config["OUTPUT_FOLDER"]) / "evaluations" / f"{kind}-{args.file.stem}-{stamp}.json"


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def _model_info(choice: ModelChoice) -> dict:
    return {"label": choice.label, "base": choice.base, "adapter": choice.adapter, "session_id": choice.session_id}


# -- evaluate ---------------------------------------------------------------------------------------------------
def _evaluate(args: argparse.Namespace) -> int:
    from core.evaluation import evaluate, load_model

    try:
        app, choice, rows, markers, reward = _setup(args)
    except ModelNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    system_prompt = args.system_prompt if args.system_prompt is not None else \
        choice.config.dataset.resolved_system_prompt()
    max_new = args.max_new_tokens or choice.config.training.max_new_tokens
    print(f"evaluating {choice.label} on {len(rows)} row(s) of {args.file} ({reward.label})", file=sys.stderr)
    model, tokenizer = load_model(choice.base, choice.adapter)
    result = evaluate(model, tokenizer, rows, system_prompt or None, markers, reward, max_new, args.batch_size)
    m = result["metrics"]
    table = [("rows", m["n"]), ("exact match", fmt(m["exact_match"])), ("normalised match", fmt(m["normalised_match"])),
             (f"reward ({reward.label})", fmt(m["reward"]))]
    table += [(f"  reward/{name}", fmt(value)) for name, value in m["rewards"].items()]
    table += [("loss (responses)", fmt(m["loss"])), ("perplexity", fmt(m["perplexity"]))]
    print_table(f"evaluation of {choice.label}", ("metric", "value"), table)
    output = _output_path(args, app, "evaluate")
    _write(output, {"model": _model_info(choice), "file": str(args.file.resolve()), "system_prompt": system_prompt,
                    "reward": reward.label, "max_new_tokens": max_new, **result})
    print(f"written: {output}")
    return EXIT_OK


# -- optimize-prompt --------------------------------------------------------------------------------------------
def read_candidates(path: Path) -> list[str]:
    """Candidates separated by lines holding only ``---``; without such lines, one candidate per line."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if any(line.strip() == "---" for line in lines):
        blocks, current = [], []
        for line in lines + ["---"]:
            if line.strip() == "---":
                blocks.append("\n".join(current).strip())
                current = []
            else:
                current.append(line)
        candidates = blocks
    else:
        candidates = [line.strip() for line in lines]
    return list(dict.fromkeys(c for c in candidates if c))


def _rank_key(metric: str):
    def key(entry: dict) -> tuple:
        m = entry["metrics"]
        value = m.get(metric)
        primary = -(value if value is not None else float("inf")) if metric == "loss" else \
            (value if value is not None else float("-inf"))
        loss = m.get("loss")
        return (primary, m.get("normalised_match") or 0, m.get("exact_match") or 0,
                -(loss if loss is not None else float("inf")))
    return key


def _optimize(args: argparse.Namespace) -> int:
    from core.datasets.prompts import render_system_prompt, system_prompt_file
    from core.evaluation import evaluate, load_model

    if not args.candidates.is_file():
        print(f"error: no file at {args.candidates}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    candidates = read_candidates(args.candidates)
    if not candidates:
        print(f"error: {args.candidates} holds no candidate prompt", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        app, choice, rows, markers, reward = _setup(args)
    except ModelNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    from dataclasses import asdict

    max_new = args.max_new_tokens or choice.config.training.max_new_tokens
    print(f"scoring {len(candidates)} candidate(s) with {choice.label} on {len(rows)} row(s) ({reward.label}, "
          f"ranked by {args.metric})", file=sys.stderr)
    model, tokenizer = load_model(choice.base, choice.adapter)
    scored = []
    for index, candidate in enumerate(candidates, 1):
        rendered = render_system_prompt(candidate, markers)
        result = evaluate(model, tokenizer, rows, rendered, markers, reward, max_new, args.batch_size)
        scored.append({"prompt": candidate, "rendered": rendered, "metrics": result["metrics"],
                       "examples": result["examples"]})
        print(f"  candidate {index}/{len(candidates)}: {args.metric}={fmt(result['metrics'].get(args.metric))}",
              file=sys.stderr)
    ranked = sorted(scored, key=_rank_key(args.metric), reverse=True)
    best = ranked[0]
    print_table(f"candidates ranked by {args.metric}", ("rank", args.metric, "normalised", "exact", "loss", "prompt"),
                [(i + 1, fmt(e["metrics"].get(args.metric)), fmt(e["metrics"]["normalised_match"]),
                  fmt(e["metrics"]["exact_match"]), fmt(e["metrics"]["loss"]),
                  e["prompt"] if len(e["prompt"]) <= 70 else e["prompt"][:67] + "...")
                 for i, e in enumerate(ranked)])
    target = system_prompt_file()
    if not args.dry_run:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(best["prompt"].rstrip("\n") + "\n", encoding="utf-8")
        print(f"best prompt written to {target} (new configs and the studio use it as the default system prompt)")
    output = _output_path(args, app, "optimize-prompt")
    _write(output, {"model": _model_info(choice), "file": str(args.file.resolve()), "metric": args.metric,
                    "reward": reward.label, "markers": asdict(markers), "best": best["prompt"],
                    "written_to": None if args.dry_run else str(target),
                    "candidates": [{k: v for k, v in e.items() if k != "examples" or args.examples}
                                   for e in ranked]})
    print(f"written: {output}")
    return EXIT_OK


# -- the command ------------------------------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="session id, adapter or model folder, or the bundled default's id "
                        "(default: the latest completed session)")
    parser.add_argument("--preset", help="reward preset (default: the session's reward section, else 'math')")
    parser.add_argument("--max-new-tokens", type=int, help="completion limit (default: the session's)")
    parser.add_argument("--max-rows", type=int, help="use only the first N rows")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--output", type=Path, help="JSON report path (default: "
                        "<outputs>/evaluations/<kind>-<file>-<time>.json)")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("learn", help="evaluate a model, or pick the best system prompt",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    evaluate = commands.add_parser("evaluate", help="score a model on a JSONL of {prompt, response}")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--system-prompt", help="system prompt (default: the session's)")
    _common(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    optimize = commands.add_parser("optimize-prompt", help="score candidate system prompts, save the best to "
                                   "prompts/system_prompt.txt")
    optimize.add_argument("candidates", type=Path, help="candidate prompts: one per line, or blocks separated by "
                          "lines holding only ---; {reasoning_start}-style marker placeholders are filled")
    optimize.add_argument("file", type=Path)
    optimize.add_argument("--metric", choices=METRICS, default="reward", help="what ranks the candidates (ties: "
                          "normalised match, exact match, then lower loss)")
    optimize.add_argument("--dry-run", action="store_true", help="rank only; do not write the prompt file")
    optimize.add_argument("--examples", action="store_true", help="keep every completion in the JSON report")
    _common(optimize)
    optimize.set_defaults(handler=_optimize)
