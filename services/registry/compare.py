"""Compare 2-4 registered versions: their metrics and configs side by side, their GRPO curves overlaid, and the
same prompts answered by each and scored with one reward.

Generation is synchronous and bounded (at most 8 prompts, and prompts x versions x max_tokens within
``TOKEN_BUDGET``): a comparison is something a person waits for, the Models page sends one prompt per request
and fills the table as answers arrive, and nothing is stored that would need a job table, recovery after a
restart or its own isolation rules. Scripts wanting hundreds of prompts use the batch API per version.

Every version is the caller's own (``RegistryService.resolve`` scopes by owner): another user's is a 404, as
in the Test step, since generating with a model uses it.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from extensions import db
from services.errors import ConflictError, ServiceError
from services.generation_input import clean_prompt, parse_request
from services.models.registry import ModelVersion
from services.models.training import TrainingMetric, TrainingSession

MIN_VERSIONS, MAX_VERSIONS = 2, 4
MAX_PROMPTS = 8
MAX_COMPARE_TOKENS = 512
# New tokens one request may ask for in all: 8 prompts x 4 versions x 128 tokens. About five minutes on two CPU
# cores at the worst (≈ 13 tok/s), seconds on a GPU.
TOKEN_BUDGET = 4096
# Curves overlaid by step: (label, metric keys tried in order).
CURVES = {"reward": ("reward",), "kl": ("kl",), "completion_length": ("completions/mean_length",)}
MISSING = object()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A config as dotted keys (``training.learning_rate``); lists stay whole values, so a changed list is one
    difference rather than one per position."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key in value:
            flat.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value} if prefix else {}


def config_diff(configs: list[dict[str, Any]], differences_only: bool = False) -> list[dict[str, Any]]:
    """One row per dotted key: each config's value (None where a config lacks the key, with ``present``
    saying which), and whether they differ."""
    flats = [flatten(config or {}) for config in configs]
    keys = sorted(set().union(*flats))
    rows = []
    for key in keys:
        raw = [flat.get(key, MISSING) for flat in flats]
        canonical = {json.dumps(v, sort_keys=True, default=str) if v is not MISSING else "\0missing" for v in raw}
        differs = len(canonical) > 1
        if differences_only and not differs:
            continue
        rows.append({"key": key, "values": [None if v is MISSING else v for v in raw],
                     "present": [v is not MISSING for v in raw], "differs": differs})
    return rows


def parse_refs(values: Any) -> list[str]:
    """2-4 distinct version references (``name:v3``, ``name@alias``); anything else is a 400 naming why."""
    if not isinstance(values, list) or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in values):
        raise ServiceError("versions: a list of version references such as name:v1.",
                           details=[{"path": "versions", "message": "a list of name:vN", "hint": ""}])
    if not MIN_VERSIONS <= len(values) <= MAX_VERSIONS:
        raise ServiceError(f"Compare {MIN_VERSIONS} to {MAX_VERSIONS} versions (got {len(values)}).",
                           details=[{"path": "versions", "message": f"{MIN_VERSIONS} to {MAX_VERSIONS} versions",
                                     "hint": ""}])
    return values


def resolve_versions(refs: list[str]) -> list[ModelVersion]:
    """The caller's versions, in order; a reference twice (even through an alias) is a 400."""
    from services.registry import get_registry

    rows = [get_registry().resolve(ref) for ref in parse_refs(refs)]
    if len({row.id for row in rows}) != len(rows):
        raise ServiceError("The same version is listed twice.",
                           details=[{"path": "versions", "message": "duplicate version", "hint": ""}])
    return rows


def curves(session_ids: list[str | None]) -> dict[str, list[list[list[float]] | None]]:
    """For each curve, per version, ``[[global_step, value], …]`` from the run's stored metrics (None: the run
    logged none, e.g. SFT or a version without a session)."""
    out: dict[str, list] = {name: [] for name in CURVES}
    for session_id in session_ids:
        rows = list(db.session.execute(select(TrainingMetric).filter_by(session_id=session_id)
                                       .order_by(TrainingMetric.global_step))) if session_id else []
        for name, keys in CURVES.items():
            points = []
            for (row,) in rows:
                value = next((row.values.get(k) for k in keys if isinstance(row.values.get(k), (int, float))), None)
                if value is not None:
                    points.append([row.global_step, float(value)])
            out[name].append(points or None)
    return out


def overview(refs: list[str], differences_only: bool = False) -> dict[str, Any]:
    """What the Compare page shows before any prompt: the versions (with metrics), the config diff and the
    curves."""
    from services.registry import get_registry

    registry = get_registry()
    rows = resolve_versions(refs)
    configs = [(row.lineage or {}).get("config") or {} for row in rows]
    return {"versions": [registry.version_dict(row, lineage=False) | {"config_hash": (row.lineage or {})
                                                                        .get("config_hash")} for row in rows],
            "config_diff": config_diff(configs, differences_only), "differences_only": differences_only,
            "curves": curves([row.session_id for row in rows])}


class DatasetChoice(BaseModel):
    """Prompts from a dataset: by default the held-out rows of the first version's run; or a stored dataset
    (``dataset_id``) or a built-in (``source: builtin:<name>``) and its split."""

    model_config = ConfigDict(extra="forbid")
    dataset_id: int | None = Field(None, ge=1)
    source: str | None = Field(None, max_length=200, description="'held_out' (default) or builtin:<name>")
    split: str = Field("test", min_length=1, max_length=64)
    n: int = Field(4, ge=1, le=MAX_PROMPTS)


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    versions: list[str] = Field(..., min_length=MIN_VERSIONS, max_length=MAX_VERSIONS)
    prompts: list[str] | None = Field(None, min_length=1, max_length=MAX_PROMPTS)
    dataset: DatasetChoice | None = None
    max_tokens: int = Field(128, ge=1, le=MAX_COMPARE_TOKENS)
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0: greedy, so answers differ by model only")
    seed: int = Field(0, ge=0, le=2**31 - 1)


def _rows(request: CompareRequest, first: TrainingSession) -> list[dict[str, Any]]:
    if request.prompts is not None:
        if request.dataset is not None:
            raise ServiceError("Send prompts or a dataset, not both.",
                               details=[{"path": "dataset", "message": "prompts or dataset", "hint": ""}])
        return [{"instruction": clean_prompt(p, f"prompts.{i}")} for i, p in enumerate(request.prompts)]
    if request.dataset is None:
        raise ServiceError("Send prompts (typed) or a dataset split.",
                           details=[{"path": "prompts", "message": "prompts or dataset", "hint": ""}])
    choice = request.dataset
    if choice.dataset_id is None and choice.source in (None, "", "held_out"):
        from services.evaluation import held_out_rows

        return held_out_rows(first, choice.n)
    from core.datasets import DatasetFormatError, DatasetUnavailableError, load_examples
    from services.datasets import resolve_for_training

    spec = resolve_for_training(f"dataset:{choice.dataset_id}" if choice.dataset_id else str(choice.source),
                                choice.split)
    try:
        rows = load_examples(spec, choice.n, 0)
    except (DatasetUnavailableError, DatasetFormatError) as exc:
        raise ServiceError(f"The dataset cannot be read: {exc}") from None
    if not rows:
        raise ServiceError("That dataset split has no rows.")
    return rows


def _inference_model(playground, row: ModelVersion) -> dict[str, Any]:
    """The inference spec of a version: a GGUF or merged export generates from its own file; a session's
    weights (and an adapter export, the same adapter) through the session, which knows the base model."""
    if row.type == "rag_index":
        raise ConflictError(f"{row.ref} is a RAG index: it retrieves documents and does not generate text.")
    if row.export_id and row.framework in ("gguf", "transformers") and row.type != "lora_adapter":
        return playground.resolve(f"export:{row.export_id}")
    if not row.session_id:
        raise ConflictError(f"{row.ref} has no run to generate with.")
    return playground.resolve(session_id=row.session_id)


def generate(data: Any) -> dict[str, Any]:
    """Each prompt through each version (same settings and seed), every answer scored with the reward of the
    first version's run, so the scores are comparable."""
    from services.evaluation import score, session_reward
    from services.playground import get_playground
    from services.session_models import session_settings

    request = parse_request(CompareRequest, data)
    rows_v = resolve_versions(request.versions)
    playground = get_playground()
    models = [_inference_model(playground, row) for row in rows_v]
    first = playground._session(rows_v[0].session_id) if rows_v[0].session_id else None
    if first is None:
        raise ConflictError(f"{rows_v[0].ref} has no run whose reward could score the answers.")
    rows = _rows(request, first)
    asked = len(rows) * len(models) * request.max_tokens
    if asked > TOKEN_BUDGET:
        raise ServiceError(f"{len(rows)} prompts x {len(models)} versions x {request.max_tokens} tokens is "
                           f"{asked} new tokens; one comparison may ask for {TOKEN_BUDGET}.",
                           details=[{"path": "max_tokens", "message": f"at most {TOKEN_BUDGET} tokens in all",
                                     "hint": "Fewer prompts or fewer tokens."}])
    settings = {"temperature": request.temperature, "top_p": 1.0, "max_tokens": request.max_tokens,
                "seed": request.seed}
    reward_settings = session_settings(first)
    reward = session_reward(first.config, None)
    answers: list[list[dict[str, Any]]] = []
    for row, model in zip(rows_v, models):
        texts = []
        for example in rows:
            result = playground.generate(model["spec"], playground.messages(model, example["instruction"]), settings)
            playground.record("compare", model["id"], example["instruction"], settings, result)
            texts.append(result)
        scored = score(playground, [t["text"] for t in texts], rows, reward, reward_settings["markers"])
        answers.append([{"ref": row.ref, "model_id": model["id"], "text": t["text"], "tokens": t["tokens"],
                         "seconds": t["seconds"], "score": scored["totals"][i],
                         "components": {name: values[i] for name, values in scored["components"].items()}}
                        for i, t in enumerate(texts)])
    from core.training.prompts import split_reasoning

    return {"versions": [row.ref for row in rows_v], "settings": settings, "scored_with": rows_v[0].ref,
            "reward": reward,
            "rows": [{"prompt": example["instruction"],
                      "expected": split_reasoning(example)[1] if request.prompts is None else None,
                      "answers": [answers[v][i] for v in range(len(rows_v))]} for i, example in enumerate(rows)],
            "mean_scores": [round(sum(a["score"] for a in per) / len(per), 4) for per in answers]}
