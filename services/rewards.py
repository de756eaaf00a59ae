"""The reward workbench's service: presets and components, testing rewards on samples, recommendations from a
dataset's rows, saved custom rewards, and the reward-health alerts stored with a session."""
from __future__ import annotations

import ast
import logging
import re
from statistics import mean
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from core.datasets.prompts import Markers
from core.rewards import COMPONENTS, PRESETS, Sample, build_rewards, custom_reward, metric_name, score_samples
from core.rewards.health import reward_alerts, thresholds_dict
from core.rewards.structure import _APA_IN_TEXT, _MLA_IN_TEXT
from core.rewards.text import parse_number
from core.sandbox import isolation
from core.training.prompts import split_reasoning
from core.training_config import DatasetSection
from extensions import db
from services.errors import ConflictError, NotFoundError, ServiceError
from services.models.rewards import CustomReward, RewardHealthAlert

log = logging.getLogger(__name__)

MAX_TEST_SAMPLES = 50
MAX_TEXT = 20_000
MAX_CODE = 100_000
RECOMMEND_ROWS = 40


def _error(message: str, path: str, hint: str = "", status: int | None = None) -> ServiceError:
    return ServiceError(message, details=[{"path": path, "message": message, "hint": hint}], status_code=status)


# -- catalogue ---------------------------------------------------------------------------------------------------
def list_presets() -> list[dict[str, Any]]:
    return [p.describe() for p in PRESETS.values()]


def list_components() -> list[dict[str, Any]]:
    return [c.describe() for c in COMPONENTS.values()]


def sandbox_status() -> dict[str, Any]:
    iso = isolation()
    return {"available": iso.available, "reason": iso.reason}


# -- validation ----------------------------------------------------------------------------------------------------
def _components(raw: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _error("Give at least one component.", path, "Pick components from GET /api/rewards/components.")
    details, clean = [], []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or item.get("name") not in COMPONENTS:
            details.append({"path": f"{path}.{i}.name", "message": f"unknown component {item!r}"[:200],
                            "hint": f"Use one of: {', '.join(COMPONENTS)}."})
            continue
        weight = item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not -100 <= weight <= 100:
            details.append({"path": f"{path}.{i}.weight", "message": "weight must be a number in [-100, 100]",
                            "hint": ""})
            continue
        try:
            params = COMPONENTS[item["name"]].parse_params(item.get("params") or {}).model_dump()
        except ValidationError as exc:
            details += [{"path": ".".join([path, str(i), "params", *map(str, e["loc"])]), "message": e["msg"],
                         "hint": "See the component's parameter schema."} for e in exc.errors(include_url=False)]
            continue
        clean.append({"name": item["name"], "weight": float(weight), "params": params})
    if details:
        raise ServiceError("The reward components are not valid.", details=details)
    return clean


def _code(raw: Any, path: str = "code") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _error("Write the reward function.", path, "def reward(prompt, completion, **fields): return 1.0")
    if len(raw) > MAX_CODE:
        raise _error(f"The code is longer than {MAX_CODE} characters.", path)
    try:
        tree = ast.parse(raw)  # parsing only: the code itself never runs in the server
    except SyntaxError as exc:
        raise _error(f"Syntax error on line {exc.lineno}: {exc.msg}", path) from None
    if not any(isinstance(n, ast.FunctionDef) and n.name == "reward" for n in tree.body):
        raise _error("Define a top-level function named reward.", path,
                     "def reward(prompt, completion, **fields) -> float | None")
    return raw


def _require_sandbox(path: str) -> None:
    iso = isolation()
    if not iso.available:
        raise _error(f"Code rewards cannot run on this machine: {iso.reason}", path,
                     "Install bubblewrap (scripts/setup_sandbox.sh) or use a preset or no-code reward.", 503)


# -- custom rewards --------------------------------------------------------------------------------------------
def custom_to_dict(record: CustomReward) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "metric": metric_name(record.name), "kind": record.kind,
            "description": record.description, "components": record.components, "code": record.code,
            "created_at": record.created_at.isoformat() if record.created_at else None,
            "updated_at": record.updated_at.isoformat() if record.updated_at else None}


def list_custom() -> list[dict[str, Any]]:
    rows = db.session.execute(select(CustomReward).order_by(CustomReward.name)).scalars()
    return [custom_to_dict(r) for r in rows]


def get_custom(reward_id: Any) -> CustomReward:
    record = db.session.get(CustomReward, reward_id) if isinstance(reward_id, int) or str(reward_id).isdigit() \
        else None
    if record is None:
        raise NotFoundError(f"No custom reward {reward_id!r}.")
    return record


def _apply(record: CustomReward, body: dict[str, Any], creating: bool) -> None:
    unknown = set(body) - {"name", "kind", "components", "code", "description"}
    if unknown:
        raise _error(f"Unknown keys: {', '.join(sorted(unknown))}.", sorted(unknown)[0], "Remove them.")
    if creating or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            raise _error("Give the reward a name (1-100 characters).", "name")
        name = name.strip()
        clash = db.session.execute(select(CustomReward).filter_by(name=name)).scalar_one_or_none()
        if clash is not None and clash.id != record.id:
            raise ConflictError(f"A custom reward named {name!r} exists already.",
                                details=[{"path": "name", "message": "name taken", "hint": "Pick another name."}])
        record.name = name
    kind = body.get("kind", record.kind)
    if kind not in ("components", "code"):
        raise _error("kind must be 'components' or 'code'.", "kind")
    record.kind = kind
    if "description" in body:
        record.description = str(body["description"] or "")[:1000]
    if kind == "components" and (creating or "components" in body or "kind" in body):
        record.components, record.code = _components(body.get("components"), "components"), None
    if kind == "code" and (creating or "code" in body or "kind" in body):
        record.code, record.components = _code(body.get("code")), []


def create_custom(body: dict[str, Any]) -> CustomReward:
    record = CustomReward(description="", components=[])
    _apply(record, body, creating=True)
    db.session.add(record)
    db.session.commit()
    return record


def update_custom(reward_id: Any, body: dict[str, Any]) -> CustomReward:
    record = get_custom(reward_id)
    _apply(record, body, creating=False)
    db.session.commit()
    return record


def delete_custom(reward_id: Any) -> None:
    db.session.delete(get_custom(reward_id))
    db.session.commit()


def _definition(record: CustomReward) -> dict[str, Any]:
    return {"name": record.name, "kind": record.kind, "components": record.components, "code": record.code}


def resolve_config_rewards(config: dict[str, Any]) -> dict[str, Any]:
    """Before a run starts: fill each ``reward.custom`` use with the saved definition (the config then records
    exactly what ran, and the training child needs no database). Refuses unknown ids and code rewards on a
    machine without isolation."""
    uses = ((config.get("reward") or {}).get("custom") or [])
    for i, use in enumerate(uses):
        record = db.session.get(CustomReward, use.get("id"))
        if record is None:
            raise ServiceError("The training config is not valid.", details=[{
                "path": f"reward.custom.{i}.id", "message": f"no custom reward {use.get('id')!r}",
                "hint": "Pick one from GET /api/rewards/custom."}])
        if record.kind == "code":
            _require_sandbox(f"reward.custom.{i}.id")
        use.update(_definition(record))
    return config


# -- testing -----------------------------------------------------------------------------------------------------
def _samples(raw: Any) -> list[Sample]:
    if not isinstance(raw, list) or not raw:
        raise _error("Give at least one sample: {prompt, completion, fields}.", "samples")
    if len(raw) > MAX_TEST_SAMPLES:
        raise _error(f"At most {MAX_TEST_SAMPLES} samples per test.", "samples")
    samples = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("completion"), str):
            raise _error("Each sample needs a completion (text).", f"samples.{i}.completion")
        fields = item.get("fields") or {}
        if not isinstance(fields, dict):
            raise _error("fields must be an object.", f"samples.{i}.fields")
        samples.append(Sample(str(item.get("prompt") or "")[:MAX_TEXT], item["completion"][:MAX_TEXT],
                              {str(k): v for k, v in fields.items()}))
    return samples


def _markers(raw: Any) -> Markers:
    if raw is None:
        return Markers()
    try:
        section = DatasetSection.model_validate(raw if isinstance(raw, dict) else {})
    except ValidationError:
        raise _error("markers must hold reasoning_start, reasoning_end, solution_start, solution_end.",
                     "markers") from None
    return Markers(section.reasoning_start, section.reasoning_end, section.solution_start, section.solution_end)


def test_reward(body: dict[str, Any]) -> dict[str, Any]:
    """Score samples with a preset, a component list, a saved custom reward or unsaved code (the editor)."""
    samples = _samples(body.get("samples"))
    markers = _markers(body.get("markers"))
    if body.get("preset") is not None:
        if body["preset"] not in PRESETS:
            raise _error(f"Unknown preset {body['preset']!r}.", "preset", f"Use one of: {', '.join(PRESETS)}.")
        funcs, weights = build_rewards("preset", body["preset"], [], markers)
    elif body.get("components") is not None:
        funcs, weights = build_rewards("components", None, _components(body["components"], "components"), markers)
    elif body.get("custom_id") is not None:
        record = get_custom(body["custom_id"])
        if record.kind == "code":
            _require_sandbox("custom_id")
        funcs, weights = [custom_reward(_definition(record), markers)], [1.0]
    elif body.get("code") is not None:
        code = _code(body["code"])
        _require_sandbox("code")
        funcs, weights = [custom_reward({"name": "custom_code", "kind": "code", "code": code}, markers)], [1.0]
    else:
        raise _error("Say which reward to test: preset, components, custom_id or code.", "preset")
    result = score_samples(funcs, weights, samples)
    needed = sorted({f for fn in funcs for f in _needs(fn)})
    for name in needed:
        if all(s.field_text(name) is None for s in samples):
            result["warnings"].append({"reward": None, "kind": "missing_field",
                                       "message": f"No sample has the field {name!r} that this reward needs."})
    return result


def _needs(fn) -> tuple[str, ...]:
    component = getattr(fn, "component", None)
    if component is not None:
        return component.needed(fn.params)
    return tuple(f for part, _ in getattr(fn, "parts", []) for f in _needs(part))


def sample_rows(body: dict[str, Any]) -> dict[str, Any]:
    """Rows of a dataset as reward-test samples, with the fields training gives the rewards (``answer``,
    ``response`` and the row's extra keys), a good completion (the reference in the marker format) and a
    deliberately bad one."""
    count = body.get("count", 3)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 20:
        raise _error("count must be 1-20.", "count")
    markers = _markers(body.get("markers"))
    rows = _rows_for(body)[:count]
    samples = []
    for row in rows:
        reasoning, answer = split_reasoning(row)
        extras = {k: v for k, v in row.items() if k not in ("instruction", "system", "response", "answer")}
        fields = {**extras, "answer": answer, "response": str(row.get("response", ""))}
        samples.append({"prompt": str(row.get("instruction", "")), "fields": fields,
                        "good": markers.wrap(reasoning or "Working it out step by step.", answer),
                        "bad": "I am not sure."})
    return {"samples": samples}


# -- recommendations -----------------------------------------------------------------------------------------------
def _rows_for(body: dict[str, Any]) -> list[dict]:
    from core.datasets import DatasetFormatError, DatasetUnavailableError, load_examples
    from services.datasets.training import resolve_for_training

    source = body.get("source")
    if body.get("dataset_id") is not None:
        source = f"dataset:{body['dataset_id']}"
    if not source:
        raise _error("Give dataset_id or source.", "dataset_id", "e.g. {\"source\": \"builtin:arithmetic\"}")
    spec = resolve_for_training(str(source), str(body.get("split") or "train"), body.get("instruction_field"),
                                body.get("response_field"))
    try:
        return load_examples(spec, RECOMMEND_ROWS)
    except (DatasetUnavailableError, DatasetFormatError) as exc:
        raise _error(f"Cannot read the dataset: {exc}", "dataset_id") from None


_CODE = re.compile(r"```|^\s*(def|class|function|public|#include|import)\b|=>|;\s*$", re.M)
_STEPS = re.compile(r"^\s*(?:step\s*)?\d+[.)]\s+\S", re.I | re.M)


def recommend(body: dict[str, Any]) -> dict[str, Any]:
    """Presets ranked for the dataset's rows, each with the reason, from what the answers look like."""
    rows = _rows_for(body)
    if not rows:
        raise _error("The dataset has no usable rows.", "dataset_id")
    responses = [str(r.get("response", "")) for r in rows]
    instructions = [str(r.get("instruction", "")).lower() for r in rows]
    answers = [split_reasoning(r)[1] for r in rows]

    def share(flags) -> float:
        flags = list(flags)
        return sum(map(bool, flags)) / len(flags)

    def is_number(answer: str) -> bool:  # '42', '1,234', '3/4', '12 cm'; not 'City0'
        return parse_number(answer) is not None and len(answer.split()) <= 4 and \
            not re.search(r"[A-Za-z]{3,}", answer)

    numeric = share(is_number(a) for a in answers)
    code = share(_CODE.search(r) for r in responses)
    cites = share(_APA_IN_TEXT.search(r) or _MLA_IN_TEXT.search(r) for r in responses)
    length = mean(len(r.split()) for r in responses)
    summary_asked = share("summar" in i or "tl;dr" in i for i in instructions)
    creative = share(re.search(r"\b(story|poem|creative|haiku|imagine)\b", i) for i in instructions)
    steps = share(len(_STEPS.findall(r)) >= 2 for r in responses)
    markdown = share(re.search(r"^#{1,6}\s", r, re.M) for r in responses)
    json_like = share(r.strip()[:1] in "{[" and r.strip()[-1:] in "}]" for r in responses if r.strip())
    short_text = share(len(a.split()) <= 6 and not is_number(a) for a in answers)
    has_tests = share(r.get("tests") for r in rows)
    scientific = share(re.search(r"\b(speed|velocity|mass|energy|force|mol|kg|km|m/s|°c|joule|volt)\b", i)
                       for i in instructions)

    found: dict[str, tuple[float, str]] = {}

    def add(preset: str, score: float, reason: str) -> None:
        if score > found.get(preset, (0.0, ""))[0]:
            found[preset] = (round(score, 3), reason)

    if numeric >= 0.5:
        add("math", 0.5 + 0.5 * numeric, f"{numeric:.0%} of the answers are numbers: an exact numeric answer "
                                          "plus the marker format")
        add("chain_of_thought", 0.4 + 0.3 * numeric, "numeric answers reached by worked steps")
        if scientific >= 0.2:
            add("scientific_calculation", 0.55 + 0.4 * scientific, f"{scientific:.0%} of the prompts mention physical "
                                                                   "quantities or units: tolerance and partial credit")
    if code >= 0.3:
        add("code_generation", 0.5 + 0.45 * code, f"{code:.0%} of the answers hold code (fences or signatures)")
        if has_tests:
            add("programming", 0.6 + 0.4 * has_tests, "the rows carry test cases: run them in the sandbox")
            add("algorithm", 0.5 + 0.3 * has_tests, "code with tests, where the approach should be explained")
    if cites >= 0.2:
        add("citation", 0.5 + 0.5 * cites, f"{cites:.0%} of the answers cite sources (APA/MLA patterns)")
    if summary_asked >= 0.3 or length >= 120:
        add("summarization", 0.45 + 0.5 * max(summary_asked, min(1.0, length / 300)) * (1 if summary_asked else 0.6),
            "the prompts ask for summaries" if summary_asked >= 0.3 else
            f"long references ({length:.0f} words on average): reward coverage in fewer words")
    if creative >= 0.2:
        add("creative_writing", 0.5 + 0.45 * creative, f"{creative:.0%} of the prompts ask for creative writing")
    if steps >= 0.3:
        add("step_by_step", 0.5 + 0.4 * steps, f"{steps:.0%} of the answers are numbered steps")
    if markdown >= 0.3:
        add("markdown", 0.5 + 0.4 * markdown, f"{markdown:.0%} of the answers use markdown headings")
    if json_like >= 0.5:
        add("json_output", 0.5 + 0.45 * json_like, f"{json_like:.0%} of the answers are JSON")
    if short_text >= 0.5:
        add("question_answering", 0.5 + 0.4 * short_text, f"{short_text:.0%} of the answers are short texts: "
                                                            "exact (normalised) match")
        add("reasoning", 0.3 + 0.3 * short_text, "short answers that benefit from visible reasoning")
    add("format", 0.2, "always applicable: teaches the reasoning/answer markers")
    ranked = sorted(found.items(), key=lambda item: -item[1][0])
    return {"rows_examined": len(rows), "recommendations": [
        {"preset_id": pid, "name": PRESETS[pid].name, "category": PRESETS[pid].category, "score": score,
         "reason": reason, "algorithm": PRESETS[pid].algorithm} for pid, (score, reason) in ranked]}


# -- reward health ---------------------------------------------------------------------------------------------
def update_health(session_id: str) -> list[dict[str, Any]]:
    """Re-evaluate the session's alerts from its metric rows; store them; return the alerts that are new."""
    from services.training.records import metric_history

    current = reward_alerts(metric_history(session_id))
    stored = {(a.code, a.component): a for a in db.session.execute(
        select(RewardHealthAlert).filter_by(session_id=session_id)).scalars()}
    new = []
    for alert in current:
        key = (alert["code"], alert["component"] or "")
        row = stored.pop(key, None)
        if row is None:
            db.session.add(RewardHealthAlert(session_id=session_id, code=alert["code"], component=key[1],
                                             first_step=alert["step"], last_step=alert["step"], active=True,
                                             message=alert["message"], hint=alert["hint"]))
            new.append(alert)
        else:
            if not row.active:
                new.append(alert)
            row.active, row.last_step, row.message = True, alert["step"], alert["message"]
    for row in stored.values():
        row.active = False
    return new


def health(session_id: str) -> dict[str, Any]:
    rows = db.session.execute(select(RewardHealthAlert).filter_by(session_id=session_id)
                              .order_by(RewardHealthAlert.id)).scalars()
    return {"session_id": session_id, "thresholds": thresholds_dict(), "alerts": [
        {"code": r.code, "component": r.component or None, "first_step": r.first_step, "last_step": r.last_step,
         "active": r.active, "message": r.message, "hint": r.hint} for r in rows]}
