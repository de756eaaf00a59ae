"""Batch tests and reward evaluations: many generations in the background, through the inference worker.

Scoring also runs in the worker, with exactly the reward the session trained with (components with their
params and weights, saved custom rewards as the run inlined them) through the reward library's one entry point
(``core.rewards.build_rewards``); the statistics (means, a paired t interval for fine-tuned minus base) are the
few lines scipy's t quantile needs. Every count a request sets is bounded; rows left ``running`` by a server
that died become ``interrupted`` when the next one starts.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import threading
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from core.inference.limits import MAX_NEW_TOKENS
from extensions import db
from services.auth.scope import new_owner_id, owned, visible_owner
from services.background_jobs import ACTIVE, INTERRUPTED_MESSAGE, orphaned, owner_tag
from services.errors import ConflictError, NotFoundError, ServiceError
from services.generation_input import clean_prompt, clean_settings, clean_system_prompt, parse_request
from services.ids import as_id
from services.models.base import utcnow
from services.models.exports import BatchRun, Evaluation
from services.auth import audit
from websockets.emit import safe_emit

log = logging.getLogger(__name__)

MAX_BATCH = 500
QUEUE_WAIT = 600.0  # seconds a background job waits for a place in the inference queue
PROMPT_KEYS = ("prompt", "instruction", "question", "input")
EXPECTED_KEYS = ("expected", "answer", "response", "output")


# -- batch ------------------------------------------------------------------------------------------------------
def parse_prompts(text: str, filename: str = "") -> list[dict]:
    """Prompts from one-per-line text, JSONL ({prompt, expected?}) or CSV (a prompt column, expected optional)."""
    text = text.lstrip("\ufeff")
    rows: list[dict] = []
    name = filename.lower()
    if name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        fields = {f.lower(): f for f in reader.fieldnames or []}
        prompt_key = next((fields[k] for k in PROMPT_KEYS if k in fields), None)
        if prompt_key is None:
            raise ServiceError("The CSV needs a prompt column.", details=[{"path": "file", "message": "no prompt column",
                                                                           "hint": "Name a column prompt."}])
        expected_key = next((fields[k] for k in EXPECTED_KEYS if k in fields), None)
        rows = [{"prompt": r[prompt_key], "expected": r.get(expected_key) if expected_key else None} for r in reader]
    elif name.endswith((".jsonl", ".json")) or text.strip().startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ServiceError(f"Line {number} is not JSON: {exc.msg}.",
                                   details=[{"path": "file", "message": f"line {number}", "hint": ""}]) from None
            prompt = next((obj[k] for k in PROMPT_KEYS if isinstance(obj, dict) and k in obj), None)
            if prompt is None:
                raise ServiceError(f"Line {number} has no prompt field.")
            rows.append({"prompt": str(prompt), "expected": next((str(obj[k]) for k in EXPECTED_KEYS if k in obj), None)})
    else:
        rows = [{"prompt": line.strip(), "expected": None} for line in text.splitlines() if line.strip()]
    rows = [r for r in rows if str(r["prompt"]).strip()]
    if len(rows) > MAX_BATCH:
        raise ServiceError(f"At most {MAX_BATCH} prompts per batch.",
                           details=[{"path": "prompts", "message": f"at most {MAX_BATCH}", "hint": ""}])
    rows = [{**r, "prompt": clean_prompt(str(r["prompt"]), f"prompts.{i}")} for i, r in enumerate(rows)]
    if not rows:
        raise ServiceError("No prompts found.", details=[{"path": "prompts", "message": "empty", "hint": ""}])
    return rows


def batch_dict(run: BatchRun, with_results: bool = True) -> dict:
    settings = {k: v for k, v in (run.settings or {}).items() if k != "owner"}
    out = {"id": run.id, "owner_id": run.owner_id, "model_id": run.model_id, "status": run.status,
           "total": run.total, "done": run.done,
           "settings": settings, "error": run.error, "created_at": run.created_at.isoformat()}
    if with_results:
        out["results"] = run.results
    return out


def batch_csv(run: BatchRun) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["index", "prompt", "expected", "output", "tokens", "seconds", "match"])
    writer.writeheader()
    for row in run.results:
        writer.writerow({k: row.get(k) for k in writer.fieldnames})
    return buffer.getvalue()


def held_out_rows(session, n: int) -> list[dict]:
    """The session's held-out split (its eval split, else "test"), falling back to its training split."""
    from core.datasets import load_examples
    from core.training_config import parse_config
    from services.training import get_training_service

    config = parse_config(session.config)
    service = get_training_service()
    for split in [s for s in (config.dataset.eval_split, "test") if s] + [config.dataset.split]:
        try:
            spec, _ = service._resolve_dataset(config, split)
            rows = load_examples(spec, n, config.training.seed)
        except Exception:
            continue
        if rows:
            return rows
    raise ServiceError("The session's dataset has no rows to evaluate on.")


class BatchOptions(BaseModel):
    """The counts a batch request sets (sampling settings go through ``clean_settings``)."""

    model_config = ConfigDict(extra="ignore")
    n: int = Field(20, ge=1, le=MAX_BATCH, description="Held-out rows when dataset_split is set.")


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    session_id: str = Field(..., min_length=1, max_length=64)
    reward: dict[str, Any] | None = Field(None, description="A config's reward section; None: the session's own.")
    n: int = Field(20, ge=2, le=MAX_BATCH, description="Held-out prompts scored per model.")
    max_tokens: int | None = Field(None, ge=1, le=MAX_NEW_TOKENS, description="None: the session's max_new_tokens.")


def recover_interrupted(app) -> int:
    """Batch runs and evaluations left queued or running by a server process that is gone become
    ``interrupted`` (a database fix-up at start-up; rows of a live process are left alone)."""
    changed = 0
    with app.app_context():
        for model, tag_of in ((BatchRun, lambda r: (r.settings or {}).get("owner")),
                              (Evaluation, lambda r: (r.result or {}).get("owner"))):
            for row in db.session.execute(select(model).where(model.status.in_(ACTIVE))).scalars():
                if orphaned(tag_of(row)):
                    row.status, row.error, row.finished_at = "interrupted", INTERRUPTED_MESSAGE, utcnow()
                    if model is Evaluation:
                        row.result = None
                    changed += 1
        db.session.commit()
    return changed


def _end_status(playground, exc: Exception) -> tuple[str, str]:
    if playground.worker.shutting_down:
        return "interrupted", "The server shut down while this ran; run it again."
    return "failed", str(getattr(exc, "message", exc))


def _check_deletable(row, tag) -> None:
    if row.status in ACTIVE and not orphaned(tag):
        raise ConflictError(f"It is {row.status}: wait for it to finish.")


class BatchService:
    def __init__(self, app):
        self.app = app

    def create(self, data: dict) -> BatchRun:
        from services.playground import get_playground

        playground = get_playground()
        options = parse_request(BatchOptions, data)
        settings = clean_settings(data)
        system_prompt = clean_system_prompt(data.get("system_prompt"))
        model = playground.resolve(data.get("model_id"), data.get("session_id"), data.get("model_path"))
        if data.get("dataset_split"):
            session = playground._session(model.get("session_id") or str(data.get("session_id", "")))
            rows = [{"prompt": r["instruction"], "expected": r.get("answer") or r.get("response")}
                    for r in held_out_rows(session, options.n)]
        elif isinstance(data.get("prompts"), list):
            if len(data["prompts"]) > MAX_BATCH:
                raise ServiceError(f"At most {MAX_BATCH} prompts per batch.",
                                   details=[{"path": "prompts", "message": f"at most {MAX_BATCH}", "hint": ""}])
            rows = [p if isinstance(p, dict) else {"prompt": str(p), "expected": None} for p in data["prompts"]]
            rows = parse_prompts("\n".join(json.dumps(r) for r in rows), "x.jsonl")
        else:
            rows = parse_prompts(str(data.get("text") or ""), str(data.get("filename") or ""))
        run = BatchRun(id=uuid.uuid4().hex[:12], owner_id=new_owner_id(), model_id=model["id"], status="queued",
                       total=len(rows), done=0,
                       settings={**settings, "system_prompt": system_prompt, "owner": owner_tag()}, results=[])
        db.session.add(run)
        db.session.commit()
        threading.Thread(target=self._run, args=(run.id, model, rows), daemon=True, name=f"batch-{run.id}").start()
        return run

    def get(self, batch_id: str, *, admin_ok: bool = False) -> BatchRun:
        """The caller's batch run (``admin_ok``: an admin reads anyone's); another user's is a 404."""
        run = db.session.get(BatchRun, batch_id) if batch_id and batch_id.isalnum() and len(batch_id) <= 32 else None
        if run is None or not visible_owner(run.owner_id, admin_ok=admin_ok):
            raise NotFoundError(f"No batch run {batch_id!r}.")
        return run

    def delete(self, batch_id: str) -> None:
        run = self.get(batch_id)
        _check_deletable(run, (run.settings or {}).get("owner"))
        audit.record("batch.deleted", target=f"batch:{batch_id}", commit=False)
        db.session.delete(run)
        db.session.commit()

    def _run(self, batch_id: str, model: dict, rows: list[dict]) -> None:
        from core.training.rewards import answers_match
        from services.playground import Playground

        with self.app.app_context():
            playground: Playground = self.app.extensions["tunewright.playground"]
            run = db.session.get(BatchRun, batch_id)
            run.status = "running"
            db.session.commit()
            settings = {k: v for k, v in run.settings.items() if k not in ("system_prompt", "owner")}
            results: list[dict] = []
            try:
                for index, row in enumerate(rows):
                    result = playground.generate(model["spec"], playground.messages(
                        model, row["prompt"], run.settings.get("system_prompt")), settings, wait=QUEUE_WAIT)
                    expected = row.get("expected")
                    results.append({"index": index, "prompt": row["prompt"], "expected": expected,
                                    "output": result["text"], "tokens": result["tokens"],
                                    "seconds": result["seconds"],
                                    "match": None if expected in (None, "") else
                                    bool(expected.strip() and (answers_match(result["text"], expected)
                                                               or expected.strip() in result["text"]))})
                    run.results, run.done = list(results), len(results)
                    db.session.commit()
                    safe_emit("batch_progress", {"batch_id": batch_id, "done": run.done, "total": run.total,
                                                 "owner_id": run.owner_id})
                run.status = "completed"
            except Exception as exc:
                log.exception("batch %s failed", batch_id)
                run.status, run.error = _end_status(playground, exc)
            run.finished_at = utcnow()
            db.session.commit()
            safe_emit("batch_complete", batch_dict(run, with_results=False))


# -- evaluation -------------------------------------------------------------------------------------------------
def mean_ci(values: list[float], confidence: float = 0.95) -> dict:
    """Mean with a t interval (n - 1 degrees of freedom); the interval is empty for n < 2."""
    from scipy.stats import t

    n = len(values)
    mean = sum(values) / n if n else 0.0
    if n < 2:
        return {"mean": round(mean, 4), "ci_low": None, "ci_high": None, "n": n}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": round(mean, 4), "ci_low": round(mean - half, 4), "ci_high": round(mean + half, 4), "n": n,
            "sd": round(sd, 4)}


def score(playground, completions: list[str], rows: list[dict], reward: dict, markers) -> dict:
    """Per-component scores and the weighted total for each completion, computed in the inference worker (a
    component that does not apply counts 0 in the total). Each sample carries the row's fields as training
    gives them to the rewards (``answer``, ``response`` and the row's extra columns)."""
    from core.training.prompts import split_reasoning

    samples = []
    for row, completion in zip(rows, completions):
        extras = {k: v for k, v in row.items() if k not in ("instruction", "system", "response", "answer")}
        fields = {**extras, "answer": split_reasoning(row)[1], "response": str(row.get("response", ""))}
        samples.append({"prompt": str(row.get("instruction", "")), "completion": completion, "fields": fields})
    scored = playground.score(reward, markers, samples, wait=QUEUE_WAIT)
    components: dict[str, list] = {}
    for sample in scored["samples"]:
        for part in sample["components"]:
            components.setdefault(part["name"], []).append(part["score"])
    return {"components": components, "totals": [sample["total"] or 0.0 for sample in scored["samples"]]}


def session_reward(config: dict, override: dict | None) -> dict:
    """The reward an evaluation scores with: the session's own reward section exactly as the run stored it
    (saved custom rewards were inlined when it started), or ``override`` validated by the config schema.
    Custom uses not inlined yet are resolved from the saved definitions."""
    from core.training_config import ConfigValidationError, parse_config
    from services.rewards.custom import resolve_config_rewards

    try:
        section = parse_config({"reward": override} if override is not None else
                               {"reward": (config or {}).get("reward") or {}}).reward
    except ConfigValidationError as exc:
        raise ServiceError("The reward is not valid.", details=exc.errors) from None
    reward = section.model_dump(mode="json")
    if any(use.get("kind") is None for use in reward["custom"]):
        reward = resolve_config_rewards({"reward": reward})["reward"]
    return reward


def evaluation_dict(row: Evaluation) -> dict:
    result = row.result if row.status == "completed" else None  # a running row's result holds its owner only
    return {"id": row.id, "session_id": row.session_id, "owner_id": row.owner_id, "status": row.status,
            "reward": row.reward, "n": row.n,
            "result": result, "error": row.error, "created_at": row.created_at.isoformat()}


class EvaluationService:
    def __init__(self, app):
        self.app = app

    def create(self, data: dict) -> Evaluation:
        from core.training_config import parse_config
        from services.playground import get_playground

        request = parse_request(EvaluateRequest, data)
        playground = get_playground()
        tuned = playground.resolve(session_id=request.session_id)
        session = playground._session(request.session_id)
        reward = session_reward(session.config, request.reward)
        config = parse_config(session.config)
        row = Evaluation(session_id=request.session_id, owner_id=new_owner_id(), status="running", reward=reward,
                         n=request.n,
                         result={"owner": owner_tag()})
        db.session.add(row)
        db.session.commit()
        max_tokens = min(request.max_tokens or config.training.max_new_tokens, MAX_NEW_TOKENS)
        threading.Thread(target=self._run, args=(row.id, tuned, request.n, max_tokens), daemon=True,
                         name=f"evaluation-{row.id}").start()
        return row

    def list(self, session_id: str) -> list[dict]:
        """The caller's evaluations of a session (admins too)."""
        rows = db.session.execute(owned(select(Evaluation), Evaluation).where(Evaluation.session_id == session_id)
                                  .order_by(Evaluation.id.desc())).scalars()
        return [evaluation_dict(r) for r in rows]

    def get(self, evaluation_id: int, *, admin_ok: bool = False) -> Evaluation:
        """The caller's evaluation (``admin_ok``: an admin reads anyone's); another user's is a 404."""
        row = db.session.get(Evaluation, evaluation_id) if as_id(evaluation_id) else None
        if row is None or not visible_owner(row.owner_id, admin_ok=admin_ok):
            raise NotFoundError(f"No evaluation {evaluation_id}.")
        return row

    def delete(self, evaluation_id: int) -> None:
        row = self.get(evaluation_id)
        _check_deletable(row, (row.result or {}).get("owner"))
        audit.record("evaluation.deleted", target=f"evaluation:{evaluation_id}", commit=False)
        db.session.delete(row)
        db.session.commit()

    def _run(self, evaluation_id: int, tuned: dict, n: int, max_tokens: int) -> None:
        from core.training.prompts import split_reasoning
        from services.session_models import session_settings

        with self.app.app_context():
            row = db.session.get(Evaluation, evaluation_id)
            playground = self.app.extensions["tunewright.playground"]
            try:
                session = playground._session(row.session_id)
                settings_info = session_settings(session)
                rows = held_out_rows(session, n)
                base = playground.resolve(tuned["base_id"])
                settings = {"temperature": 0.0, "top_p": 1.0, "max_tokens": max_tokens, "seed": 0}
                prompts = [r["instruction"] for r in rows]
                answers = [split_reasoning(r)[1] for r in rows]
                outputs: dict[str, list[str]] = {"base": [], "fine_tuned": []}
                for label, model in (("base", base), ("fine_tuned", tuned)):
                    for prompt in prompts:
                        messages = playground.messages(model, prompt, settings_info["system_prompt"])
                        outputs[label].append(playground.generate(model["spec"], messages, settings,
                                                                  wait=QUEUE_WAIT)["text"])
                scored = {label: score(playground, texts, rows, row.reward, settings_info["markers"])
                          for label, texts in outputs.items()}
                diff = [t - b for b, t in zip(scored["base"]["totals"], scored["fine_tuned"]["totals"])]
                result = {label: {"total": mean_ci(s["totals"]),
                                  "components": {name: mean_ci([v or 0.0 for v in values])
                                                 for name, values in s["components"].items()}}
                          for label, s in scored.items()}
                result["difference"] = mean_ci(diff)
                low = result["difference"]["ci_low"]
                result["verdict"] = ("improved" if low is not None and low > 0 else
                                     "worse" if result["difference"]["ci_high"] is not None and
                                     result["difference"]["ci_high"] < 0 else "no clear difference")
                result["confidence"] = 0.95
                result["examples"] = [{"prompt": p, "answer": a, "base": b, "fine_tuned": t}
                                      for p, a, b, t in list(zip(prompts, answers, outputs["base"],
                                                                 outputs["fine_tuned"]))[:10]]
                row.result, row.n, row.status = result, len(prompts), "completed"
            except Exception as exc:
                log.exception("evaluation %s failed", evaluation_id)
                row.status, row.error = _end_status(playground, exc)
                row.result = None
            row.finished_at = utcnow()
            db.session.commit()
            safe_emit("evaluation_complete", evaluation_dict(row))


def init_app(app) -> None:
    """Register both services; with the schema in place, mark jobs orphaned by a dead server interrupted."""
    app.extensions["tunewright.batch"] = BatchService(app)
    app.extensions["tunewright.evaluation"] = EvaluationService(app)
    if app.config.get("AUTO_MIGRATE"):
        recover_interrupted(app)


def get_batch_service() -> BatchService:
    from flask import current_app

    return current_app.extensions["tunewright.batch"]


def get_evaluation_service() -> EvaluationService:
    from flask import current_app

    return current_app.extensions["tunewright.evaluation"]
